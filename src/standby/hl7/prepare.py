"""The pure half of receiving a message: bytes -> header and mapped resources, or the
reason it cannot be (no store, no clock: it runs in worker processes when the listener
has them, docs/hl7.md)."""

from __future__ import annotations

from dataclasses import dataclass

from standby.hl7.datatypes import Context
from standby.hl7.mapped import Mapped, MappingError
from standby.hl7.mapping import map_message
from standby.hl7.v2 import V2Error, parse


@dataclass(frozen=True, slots=True)
class Header:
    """What MSH says that the duplicate check and the ACK need."""

    sending_application: str  # MSH-3
    sending_facility: str  # MSH-4
    receiving_facility: str  # MSH-6
    message_type: str  # MSH-9.1
    trigger: str  # MSH-9.2
    control_id: str  # MSH-10
    processing_id: str  # MSH-11
    version: str  # MSH-12

    @property
    def sender(self) -> str:
        return f"{self.sending_application}^{self.sending_facility}"

    @property
    def kind(self) -> str:
        return f"{self.message_type}^{self.trigger}"


@dataclass(frozen=True, slots=True)
class Prepared:
    """One received message after the pure stage: `mapped`, or `error` as (ACK code, HL7
    error code, reason); `header` is None when the bytes are not HL7 v2."""

    raw: bytes
    peer: str
    header: Header | None
    mapped: Mapped | None
    error: tuple[str, str, str] | None


def decode(raw: bytes) -> str:
    """Feeds are ASCII or UTF-8 (MSH-18); an engine that sends Latin-1 is read as such."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def control_id_of(text: str) -> str:
    """MSH-10 read without the parser, for the ACK of a message it refused."""
    if not text.startswith("MSH") or len(text) < 4:
        return ""
    fields = text.split("\r", 1)[0].split("\n", 1)[0].split(text[3])
    return fields[9] if len(fields) > 9 else ""


def prepare(raw: bytes, peer: str, ctx: Context, received_at: str) -> Prepared:
    text = decode(raw)
    try:
        msg = parse(text)
    except V2Error as e:
        return Prepared(raw, peer, None, None, ("AR", "100", str(e)))
    msh = msg.msh
    header = Header(
        msg.sending_application,
        msg.sending_facility,
        msh.get(6),
        msg.message_type,
        msg.trigger,
        msg.control_id,
        msh.get(11) or "P",
        msg.version,
    )
    try:
        mapped = map_message(msg, ctx, received_at=received_at)
    except MappingError as e:
        return Prepared(raw, peer, header, None, (e.ack_code, e.error_code, e.reason))
    return Prepared(raw, peer, header, mapped, None)


def prepare_all(items: list[tuple[bytes, str]], ctx: Context, received_at: str) -> list[Prepared]:
    """`prepare` over a batch (what a worker process is handed)."""
    return [prepare(raw, peer, ctx, received_at) for raw, peer in items]
