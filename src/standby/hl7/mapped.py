"""What a mapping returns, and why a message could not be mapped (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Lookup:
    """A resource the mapping named by a deterministic id that the replica may already hold
    under another id (from FHIR sync): found by this identifier, the held id is used."""

    resource_type: str
    id: str
    system: str
    value: str


@dataclass(slots=True)
class Mapped:
    """The FHIR resources one message becomes.

    `resources` are written as new versions; `create_only` only when nothing is held under
    their id (a bed named in a PV1 must not overwrite the richer Location from FHIR sync).
    `patient_id` is the subject; unless `registers_patient` (ADT carries the whole PID),
    the replica must already know that patient or the message is set aside.
    """

    resources: list[JSON] = field(default_factory=list)
    create_only: list[JSON] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    patient_id: str | None = None
    patient_mrn: str | None = None
    registers_patient: bool = False


class MappingError(Exception):
    """A message that cannot be turned into FHIR: the ACK code (AE or AR, HL7 table 0008), the
    HL7 error code (table 0357) and a reason an interface analyst can act on."""

    def __init__(self, ack_code: str, error_code: str, reason: str) -> None:
        super().__init__(reason)
        self.ack_code = ack_code
        self.error_code = error_code
        self.reason = reason


def required(reason: str) -> MappingError:
    """A required segment or field is missing (AE, 101)."""
    return MappingError("AE", "101", reason)


def unsupported(reason: str) -> MappingError:
    """A message type or event Standby does not take (AR, 200)."""
    return MappingError("AR", "200", reason)


def unknown_key(reason: str) -> MappingError:
    """A message about a patient (or order) the replica does not know (AE, 204)."""
    return MappingError("AE", "204", reason)
