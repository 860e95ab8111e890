"""Printing a patient or a unit whose MRN, name or unit name came from the EHR with
characters an HTTP header cannot carry (non-Latin-1, line breaks, quotes): the PDF is
served, its filename is ASCII with the real name in RFC 6266's `filename*`, and the audit
line says the print succeeded (or, when it failed, that it failed)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import orjson
import pytest

from standby import clinical
from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.clinical import directory
from standby.web.routes import printing
from support.web_site import Hospital

HOSTILE = [
    "МРН-0042",  # Cyrillic
    "東京\n42",  # CJK and a line break
    'A"; filename=evil.exe',  # quotes and a header parameter
    "Zoë\r\nSet-Cookie: x=1",  # CR LF: a header injection attempt
]


def _rewrite(h: Hospital, rtype: str, rid: str, change: Any) -> None:
    sr = h.store.read(rtype, rid)
    assert sr is not None
    body = sr.json()
    change(body)
    meta = body.setdefault("meta", {})
    meta["versionId"] = str(int(meta.get("versionId", "1")) + 1)
    meta["lastUpdated"] = "2026-11-29T00:00:00Z"
    outcome = h.store.upsert(orjson.dumps(body))
    assert outcome.name in ("UPDATED", "CREATED"), outcome
    directory.invalidate(h.store)  # Locations are cached for a minute


def _set_mrn_and_name(value: str) -> Any:
    def change(p: dict[str, Any]) -> None:
        for ident in p.get("identifier", []):
            ident["value"] = value
        p["name"] = [{"family": value, "given": [value]}]

    return change


def _prints(h: Hospital) -> list[Any]:
    return repository.search_audit(h.store, AuditQuery(action="print"))


def _filename(disposition: str) -> tuple[str, str]:
    """(the ASCII `filename`, the decoded `filename*`)."""
    assert "\n" not in disposition and "\r" not in disposition
    disposition.encode("latin-1")  # a header the server could send
    parts = dict(p.strip().split("=", 1) for p in disposition.split(";")[1:] if "=" in p)
    plain = parts["filename"].strip('"')
    star = parts["filename*"]
    assert star.startswith("UTF-8''")
    return plain, urllib.parse.unquote(star[len("UTF-8''") :])


@pytest.mark.parametrize("value", HOSTILE)
def test_a_patient_with_a_hostile_mrn_and_name_prints(hospital: Hospital, value: str) -> None:
    p = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    _rewrite(hospital, "Patient", p.id, _set_mrn_and_name(value))
    r = hospital.login("nurse").get(printing.patient_pdf_url(p.id))
    assert r.status_code == 200, r.text[:300]
    assert r.content.startswith(b"%PDF")
    plain, full = _filename(r.headers["content-disposition"])
    assert plain.isascii() and plain.endswith(".pdf") and "/" not in plain and '"' not in plain
    assert full.endswith(".pdf") and "\n" not in full
    assert "set-cookie" not in {k.lower() for k in r.headers if k.lower() != "set-cookie"}


def test_a_unit_with_a_hostile_name_prints(hospital: Hospital) -> None:
    def change(loc: dict[str, Any]) -> None:
        loc["alias"] = ["東4\n西"]
        loc["name"] = "Étage 4 — 東"

    _rewrite(hospital, "Location", hospital.unit_id, change)
    r = hospital.login("nurse").get(printing.unit_pdf_url(hospital.unit_id))
    assert r.status_code == 200, r.text[:300]
    plain, full = _filename(r.headers["content-disposition"])
    assert plain.isascii() and "東" in full


def test_the_audit_line_says_whether_the_print_succeeded(
    hospital: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    c = hospital.login("nurse")
    assert c.get(printing.patient_pdf_url(p.id)).status_code == 200

    def broken(*_: Any, **__: Any) -> bytes:
        raise RuntimeError("the PDF could not be laid out")

    monkeypatch.setattr(printing.render, "patient_pdf", broken)
    r = c.get(printing.patient_pdf_url(p.id))
    assert r.status_code == 500 and "could not be printed" in r.text.replace("\n", " ")
    lines = [a for a in _prints(hospital) if a.patient_id == p.id]
    details = sorted(a.detail for a in lines)
    assert len(lines) == 2
    assert any(d.startswith("printed") for d in details)
    assert any(d.startswith("FAILED") for d in details)
