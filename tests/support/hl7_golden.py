"""The mapping output and the field view of every sample message, as one JSON document:
`test_hl7_golden` compares it with tests/hl7/data/mapping_golden.json, written by this
module (`cd tests && python -m support.hl7_golden`) from the code before the reader was made
faster, so that a faster reader cannot change what a message becomes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from standby.hl7 import synthetic
from standby.hl7.datatypes import Context
from standby.hl7.mapped import MappingError
from standby.hl7.mapping import map_message
from standby.hl7.v2 import V2Error, parse
from support import hl7_messages as M

GOLDEN = Path(__file__).resolve().parents[1] / "hl7" / "data" / "mapping_golden.json"
CTX = Context(tz=ZoneInfo("America/Chicago"))


def samples() -> dict[str, str]:
    out = {n: getattr(M, n) for n in dir(M) if n.isupper()}
    t0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    out["SYNTHETIC_ADMIT"] = synthetic.admit(7, t0).decode()
    out["SYNTHETIC_RESULT"] = synthetic.result(3, 7, t0, potassium=6.9).decode()
    # escapes, repetitions and subcomponents in the fields the view reads
    out["ESCAPES"] = (
        "MSH|^~\\&|LAB|SGH|STANDBY|SGH|20261130061500||ORU^R01|ESC1|P|2.5.1\r"
        "PID|1||123^^^SGH^MR~456^^^SSA^SS||O\\T\\BRIEN^ANN\\S\\X&Y&Z||19700101|F\r"
        "OBX|1|FT|11526-1^Note^LN||line one\\.br\\line two \\F\\ \\R\\ \\E\\|||A|||F\r"
        "OBX|2|ST|X^Y||~^&||||||F\r"
    )
    return out


def view(text: str) -> Any:
    """Every field of every segment as the reader gives it, and what the message maps to."""
    try:
        msg = parse(text)
    except V2Error as e:
        return {"error": str(e)}
    fields = [[s.name, [s.field(n) for n in range(1, 80)]] for s in msg.segments]
    head = [msg.message_type, msg.trigger, msg.control_id, msg.version, msg.sender, msg.sent_at]
    try:
        m = map_message(msg, CTX, received_at="2026-11-30T00:00:00.000Z")
        mapped: Any = asdict(m)
    except MappingError as e:
        mapped = {"error": [e.ack_code, e.error_code, e.reason]}
    return {"head": head, "fields": fields, "mapped": mapped}


def document() -> Any:
    return {name: view(text) for name, text in sorted(samples().items())}


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_bytes(orjson.dumps(document(), option=orjson.OPT_SORT_KEYS))
    print(f"wrote {GOLDEN}")
