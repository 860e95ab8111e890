"""The MLLP listener over real sockets and a real SQLite replica: ACKs with the original
control id, only what was committed, duplicates answered once, the feed going on past what
cannot be mapped, several senders at once, TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from standby.hl7 import synthetic
from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter
from standby.hl7.listener import Listener, server_tls
from standby.hl7.mllp import END, frame, unframe
from standby.hl7.sender import SendReport, send
from standby.store.sqlite import SQLiteStore
from support import hl7_messages as M

MRN = "https://standby.example.org/fhir/sid/mrn"
T0 = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = SQLiteStore(tmp_path / "replica.db")
    yield s
    s.close()


def run(
    store: SQLiteStore,
    body: Callable[[int], Awaitable[Any]],
    tls: ssl.SSLContext | None = None,
) -> Any:
    """Start a listener on a free port, run `body(port)`, stop the listener."""

    async def main() -> Any:
        listener = Listener(FeedWriter(store, Context()))
        server = await listener.start("127.0.0.1", 0, tls=tls)
        port = server.sockets[0].getsockname()[1]
        try:
            return await body(port)
        finally:
            server.close()
            await listener.stop()

    return asyncio.run(main())


def b(text: str) -> bytes:
    return text.encode()


def unknown_patient() -> str:
    return M.ORU_R01.replace("10000007^^^SGH^MR", "77777777^^^SGH^MR").replace(
        "LAB00001", "LAB00099"
    )


def test_the_feed_goes_on_past_garbage_unknown_patients_and_unmapped_types(
    store: SQLiteStore,
) -> None:
    messages = [
        b(M.ADT_A01),
        b"THIS IS NOT HL7\rPID|1",
        b(unknown_patient()),
        b(M.UNKNOWN_TYPE),
        b(M.ORU_R01),
    ]
    report: SendReport = run(store, lambda port: send(messages, "127.0.0.1", port, timeout=10))
    codes = [(code, cid) for code, cid, _ in report.acks]
    assert codes == [
        ("AA", "ADT0001"),
        ("AR", ""),
        ("AE", "LAB00099"),
        ("AR", "BILL0001"),
        ("AA", "LAB00001"),
    ]
    texts = [text for _, _, text in report.acks]
    assert "MSH" in texts[1]
    assert "no patient with MRN 77777777" in texts[2]
    assert "DFT^P03" in texts[3]
    # set aside with the raw message and the reason
    reasons = {q.reason: q.excerpt for q in store.quarantined()}
    assert len(reasons) == 3
    assert any("no patient with MRN 77777777" in r for r in reasons)
    assert any(e.startswith("THIS IS NOT HL7") for e in reasons.values())
    # and what came after them is stored
    assert store.counts_by_type()["Observation"] == 6
    page = store.search("DiagnosticReport", [("identifier", "F-5555")])
    assert len(page.resources) == 1


def test_duplicates_are_answered_again_and_stored_once(store: SQLiteStore) -> None:
    first = b(M.ADT_A01)
    again_changed = b(M.ADT_A01.replace("MARY^ANN", "MARIE^ANN"))  # same control id
    report = run(
        store, lambda port: send([first, first, again_changed], "127.0.0.1", port, window=3)
    )
    assert [a[0] for a in report.acks] == ["AA", "AA", "AA"]
    with store.read_transaction() as tx:
        assert tx.query("SELECT count(*) FROM hl7_received")[0][0] == 1
    (pt,) = store.search("Patient", [("identifier", f"{MRN}|10000007")]).resources
    assert pt.json()["name"][0]["given"] == ["MARY", "ANN"]  # the repeat was not applied
    assert len(store.history("Patient", pt.id)) == 1


def test_a_patient_from_fhir_sync_keeps_its_id(store: SQLiteStore) -> None:
    store.upsert(
        orjson.dumps(
            {
                "resourceType": "Patient",
                "id": "pt42",
                "meta": {"versionId": "1", "lastUpdated": "2026-11-01T00:00:00Z"},
                "identifier": [{"system": MRN, "value": "10000007"}],
                "name": [{"family": "OBrien", "given": ["Mary"]}],
            }
        )
    )
    report = run(store, lambda port: send([b(M.ORU_R01)], "127.0.0.1", port))
    assert report.acks[0][0] == "AA"  # the patient is known: by MRN, under the sync's id
    obs = store.search("Observation", [("subject", "Patient/pt42")]).resources
    assert len(obs) == 6
    assert store.counts_by_type()["Patient"] == 1


def test_each_senders_order_is_kept(store: SQLiteStore) -> None:
    """Admit, transfer, discharge with the same MSH-7: only the arrival order says which is
    the latest, and the discharge must win."""
    same = "20261130120000-0500"
    msgs = [
        b(M.ADT_A01.replace("20261130081500-0500", same)),
        b(M.ADT_A02.replace("20261130120000-0500", same)),
        b(M.ADT_A03.replace("20261130120000-0500", same)),
    ]
    run(store, lambda port: send(msgs, "127.0.0.1", port, window=3))
    (enc,) = store.search("Encounter", [("identifier", "V000123")]).resources
    assert enc.json()["status"] == "finished"
    assert enc.json()["location"][-1]["location"]["reference"] == "Location/loc-icu-201-a"


def test_several_senders_at_once(store: SQLiteStore) -> None:
    admits = [synthetic.admit(k, T0) for k in range(5)]
    feeds = [
        [synthetic.result(s * 100 + n, n % 5, T0, sender=f"LAB{s}") for n in range(40)]
        for s in range(3)
    ]

    async def body(port: int) -> list[SendReport]:
        await send(admits, "127.0.0.1", port)
        return await asyncio.gather(*(send(f, "127.0.0.1", port, window=8) for f in feeds))

    reports = run(store, body)
    assert [r.count("AA") for r in reports] == [40, 40, 40]
    assert store.counts_by_type()["DiagnosticReport"] == 120
    assert store.counts_by_type()["Observation"] == 360


def test_ack_names_the_original_message(store: SQLiteStore) -> None:
    async def body(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(b(M.ADT_A01)))
        block = await reader.readuntil(END)
        writer.close()
        return unframe(block)

    segs = run(store, body).decode().split("\r")
    msh = segs[0].split("|")
    assert (msh[2], msh[4], msh[5]) == ("STANDBY", "EPICADT", "SGH")  # sender and receiver swapped
    assert msh[8] == "ACK^A01^ACK" and msh[11] == "2.5.1"
    assert segs[1] == "MSA|AA|ADT0001"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    c, k = tmp / "cert.pem", tmp / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return c, k


def test_tls(store: SQLiteStore, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    client = ssl.create_default_context(cafile=str(cert))
    report = run(
        store,
        lambda port: send([b(M.ADT_A01)], "127.0.0.1", port, tls=client),
        tls=server_tls(cert, key),
    )
    assert report.acks[0][:2] == ("AA", "ADT0001")

    async def plain(port: int) -> bytes:  # a sender without TLS gets no ACK
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(b(M.ADT_A02)))
        try:
            return await asyncio.wait_for(reader.read(), 5)
        finally:
            writer.close()

    assert b"MSA" not in run(store, plain, tls=server_tls(cert, key))
