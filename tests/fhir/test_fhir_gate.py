"""The gate (standby.fhir.gate): bytes in, the parsed resource or the reason out."""

from __future__ import annotations

import orjson
import pytest

from standby.fhir.gate import ReceivedResource, Refusal, admit


def reason(raw: bytes, **kw: object) -> str:
    got = admit(raw, max_bytes=kw.pop("max_bytes", 1000), **kw)  # type: ignore[arg-type]
    assert isinstance(got, Refusal), got
    return got.reason


def test_checks_name_what_is_wrong() -> None:
    ok = orjson.dumps({"resourceType": "Observation", "id": "o1"})
    assert isinstance(admit(ok, max_bytes=100), ReceivedResource)
    assert "larger than" in reason(ok, max_bytes=100, size=1000)
    assert reason(ok, max_bytes=100, expected_type="Patient") == (
        "resourceType Observation in a file of Patient"
    )
    assert reason(b'{"resourceType": "Patient"}', max_bytes=100) == "no valid id"
    assert reason(b"[1]", max_bytes=100) == "not a JSON object"


def test_every_refusal_has_a_reason_and_what_could_be_read() -> None:
    assert reason(b"x" * 20, max_bytes=10) == (
        "resource of 20 bytes is larger than the limit of 10 bytes"
    )
    assert reason(b"{not json").startswith("malformed JSON")
    assert reason(b'{"resourceType":"Patient","id":"\xff\xfe"}') == "invalid UTF-8 at byte 32"
    assert reason(b'"Patient"') == "not a JSON object"
    assert reason(b'{"id":"x"}') == "no resourceType"
    assert reason(b'{"resourceType":""}') == "no resourceType"
    spaceship = admit(b'{"resourceType":"Spaceship","id":"x"}', max_bytes=1000)
    assert spaceship == Refusal("unknown resourceType 'Spaceship'", "Spaceship", "x")
    assert reason(b'{"resourceType":"Patient","id":""}') == "no valid id"
    assert reason(b'{"resourceType":"Patient","id":7}') == "no valid id"
    bad_id = admit(b'{"resourceType":"Patient","id":"a b"}', max_bytes=1000)
    assert isinstance(bad_id, Refusal) and bad_id.id == "a b"
    assert "not a valid FHIR id" in bad_id.reason
    assert reason(orjson.dumps({"resourceType": "Patient", "id": "x" * 65})).startswith("id ")
    meta = admit(b'{"resourceType":"Patient","id":"p","meta":[]}', max_bytes=1000)
    assert meta == Refusal("meta is not an object", "Patient", "p")


def test_what_passes_keeps_its_exact_text_and_its_version() -> None:
    raw = (
        b'{"resourceType":"Observation","id":"o-1.a",'
        b'"meta":{"versionId":"3","lastUpdated":"2026-11-28T10:00:00.000Z"},'
        b'"valueQuantity":{"value":1.50}}'
    )
    got = admit(raw, max_bytes=1000, expected_type="Observation")
    assert isinstance(got, ReceivedResource)
    assert got.raw is raw  # the verbatim bytes: 1.50 stays 1.50
    assert got.json["valueQuantity"]["value"] == 1.5
    assert (got.resource_type, got.id, got.reference) == (
        "Observation",
        "o-1.a",
        "Observation/o-1.a",
    )
    assert (got.version_id, got.last_updated) == ("3", "2026-11-28T10:00:00.000Z")
    plain = admit(b'{"resourceType":"Patient","id":"p","meta":{"versionId":2}}', max_bytes=100)
    assert isinstance(plain, ReceivedResource)
    assert (plain.version_id, plain.last_updated) == (None, None)


def test_a_resource_parsed_with_its_bundle_is_not_parsed_again() -> None:
    parsed = {"resourceType": "Patient", "id": "p"}
    got = admit(b"not parsed again", max_bytes=100, parsed=parsed)
    assert isinstance(got, ReceivedResource) and got.json is parsed
    assert reason(b"[]", parsed=[]) == "not a JSON object"


@pytest.mark.parametrize("rtype", ["Bundle", "Patient", "MedicationAdministration"])
def test_every_r4_type_passes(rtype: str) -> None:
    assert isinstance(
        admit(orjson.dumps({"resourceType": rtype, "id": "x"}), max_bytes=99), ReceivedResource
    )
