"""Synthetic HL7 v2 messages (no real person in them) for benches, tests and demos: an
admission per patient, then lab results, as an interface engine would send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MRN_BASE = 30_000_000


def _ts(t: datetime) -> str:
    return t.strftime("%Y%m%d%H%M%S+0000")


def admit(k: int, at: datetime, *, sender: str = "ADT", control_id: str | None = None) -> bytes:
    """ADT^A01 for synthetic patient `k` (MRN 30000000 + k) into a bed of unit 5N."""
    mrn = MRN_BASE + k
    return (
        f"MSH|^~\\&|{sender}|SGH|STANDBY|SGH|{_ts(at)}||ADT^A01^ADT_A01|"
        f"{control_id or f'A{k:08d}'}|P|2.5.1\r"
        f"EVN|A01|{_ts(at)}\r"
        f"PID|1||{mrn}^^^SGH^MR||TESTPATIENT^SYNTH{k}||19700101|F\r"
        f"PV1|1|I|5N^{500 + k % 40}^A^SGH||||||||||||||||V{mrn}^^^SGH^VN"
        f"|||||||||||||||||||||||||{_ts(at)}\r"
    ).encode()


def result(n: int, k: int, at: datetime, *, sender: str = "LAB", potassium: float = 4.1) -> bytes:
    """ORU^R01 number `n` for synthetic patient `k`: a basic panel (potassium, sodium,
    creatinine) under filler order number F{n}."""
    mrn = MRN_BASE + k
    flag = "HH" if potassium >= 6 else "H" if potassium > 5.1 else "N"
    t = _ts(at)
    return (
        f"MSH|^~\\&|{sender}|SGH|STANDBY|SGH|{t}||ORU^R01^ORU_R01|R{n:09d}|P|2.5.1\r"
        f"PID|1||{mrn}^^^SGH^MR||TESTPATIENT^SYNTH{k}\r"
        f"PV1|1|I|5N^{500 + k % 40}^A||||||||||||||||V{mrn}^^^SGH^VN\r"
        f"ORC|RE|P{n}^EPIC|F{n}^LAB\r"
        f"OBR|1|P{n}^EPIC|F{n}^LAB|80048^Basic metabolic panel^CPT|||{t}"
        f"|||||||||||||||{t}||CH|F\r"
        f"OBX|1|NM|2823-3^Potassium^LN||{potassium}|mmol/L|3.5-5.1|{flag}|||F|||{t}\r"
        f"OBX|2|NM|2951-2^Sodium^LN||139|mmol/L|136-145|N|||F|||{t}\r"
        f"OBX|3|NM|2160-0^Creatinine^LN||0.9|mg/dL|0.6-1.2|N|||F|||{t}\r"
    ).encode()


def feed(patients: int, results: int, *, start: datetime | None = None) -> list[bytes]:
    """Admissions of `patients` patients, then `results` results spread over them, one
    second apart."""
    t0 = start or datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    out = [admit(k, t0) for k in range(patients)]
    for n in range(results):
        out.append(result(n, n % patients, t0 + timedelta(seconds=n + 1)))
    return out
