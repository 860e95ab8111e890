"""MLLP (the Minimal Lower Layer Protocol, HL7 v2.x Transport Specification: MLLP release 2):
each message framed as <VT> message <FS><CR> over TCP, each answered with an ACK in the
same framing. The framing and the ACK (HL7 v2.8 chapter 2, "original acknowledgment mode":
MSA-1 AA/AE/AR, MSA-2 the original MSH-10, ERR for the reason).
"""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime

from standby.hl7.prepare import Header

START = b"\x0b"
END = b"\x1c\r"
_ids = itertools.count(1)


def frame(message: bytes) -> bytes:
    return START + message + END


def unframe(block: bytes) -> bytes:
    """The message inside one block read up to <FS><CR> (bytes before <VT> are dropped)."""
    at = block.find(START)
    body = block[at + 1 :] if at >= 0 else block
    return body[: -len(END)] if body.endswith(END) else body


_stamp: tuple[int, str] = (0, "")


def _now_text() -> str:
    """The current second as MSH-7 text (made once a second: every ACK names it)."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, datetime.fromtimestamp(second, UTC).strftime("%Y%m%d%H%M%S+0000"))
    return _stamp[1]


_SPECIAL = re.compile(r"[|^~\\&\r\n]")
_ESCAPES = {
    "|": "\\F\\",
    "^": "\\S\\",
    "~": "\\R\\",
    "\\": "\\E\\",
    "&": "\\T\\",
    "\r": " ",
    "\n": " ",
}


def escape(text: str) -> str:
    """Text for a field of the ACK, with the standard separators escaped."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group(0)], text)


def ack(
    ack_code: str,
    control_id: str,
    header: Header | None,
    *,
    reason: str | None = None,
    error_code: str | None = None,
    application: str = "STANDBY",
) -> bytes:
    """The ACK of one message: MSH (sender and receiver swapped), MSA (the code and the
    original control id), and ERR with the HL7 error code and the reason for AE/AR."""
    now = _now_text()
    if header is not None:
        to_app, to_fac = escape(header.sending_application), escape(header.sending_facility)
        me_fac = escape(header.receiving_facility)
        trigger, version = escape(header.trigger), escape(header.version or "2.5.1")
        processing = escape(header.processing_id)
    else:
        to_app = to_fac = me_fac = trigger = ""
        version, processing = "2.5.1", "P"
    segments = [
        f"MSH|^~\\&|{application}|{me_fac}|{to_app}|{to_fac}|{now}||ACK^{trigger}^ACK"
        f"|ACK{now}{next(_ids):06d}|{processing}|{version}",
        f"MSA|{ack_code}|{escape(control_id)}" + (f"|{escape(reason[:200])}" if reason else ""),
    ]
    if reason:
        severity = "E"
        segments.append(
            f"ERR||||{severity}|{error_code or '207'}^{escape(reason[:80])}^HL70357"
            f"|||{escape(reason)}"
        )
    return ("\r".join(segments) + "\r").encode()


_UNESCAPES = re.compile(r"\\([FSRET])\\")
_UNESCAPED = {"F": "|", "S": "^", "R": "~", "E": "\\", "T": "&"}


def read_ack(message: bytes) -> tuple[str, str, str]:
    """(MSA-1, MSA-2, MSA-3 unescaped) of an ACK, read without the parser: what a sender
    needs."""
    text = message.decode("utf-8", "replace")
    for seg in re.split(r"[\r\n]+", text):
        if seg.startswith("MSA"):
            sep = seg[3] if len(seg) > 3 else "|"
            f = seg.split(sep)
            return (
                f[1] if len(f) > 1 else "",
                f[2] if len(f) > 2 else "",
                _UNESCAPES.sub(lambda m: _UNESCAPED[m.group(1)], f[3]) if len(f) > 3 else "",
            )
    return "", "", ""


def split_archive(data: bytes) -> list[bytes]:
    """The messages of an archive file: MLLP-framed blocks, or messages one after another
    (each begins with a line starting "MSH"; segments end in CR, LF or CRLF)."""
    if START in data:
        out = []
        for block in data.split(END):
            msg = unframe(block + END).strip(b"\r\n \t")
            if msg:
                out.append(msg)
        return out
    text = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    out = []
    current: list[bytes] = []
    for seg in text.split(b"\r"):
        if not seg.strip():
            continue
        if seg.startswith(b"MSH") and current:
            out.append(b"\r".join(current) + b"\r")
            current = []
        current.append(seg)
    if current:
        out.append(b"\r".join(current) + b"\r")
    return out
