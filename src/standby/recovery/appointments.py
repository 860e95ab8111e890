"""Write-back of rebooked surgeries and visits: each placement a scheduler accepted during
the downtime becomes an update of its Appointment in the EHR, exactly once
(docs/recovery.md#rebooked-appointments, docs/schedule.md#write-back).

Each accepted placement is a back-entry item of its own kind (`appointment-rebook`) in
`recovery_entries`, keyed `appointment-rebook:<seq>` (its row in `schedule_accepted`),
under its patient: so it has the journal entries' statuses, events, leases and review
queue. `recovery/` may not import `schedule/`, so the caller (the composition root)
hands the placements in as `Rebooked`, plain data.

For each placement still open, and always by reading first:

    GET Appointment/{id}
      holds the new start, end and room already ──────────────▶ confirmed (a resend after
                                                                 a lost answer sends nothing)
      version ≠ the one the proposal was made from ───────────▶ conflict (nothing sent)
      else PUT, If-Match: W/"<that version>" ─ 200 ─ read back ▶ confirmed
                                             ─ 409/412 ─ read ─▶ confirmed if it holds ours,
                                                                 else conflict
                                             ─ other 4xx ─────▶ rejected

A conflict keeps, as its `outcome`, what the scheduler proposed beside what the EHR has
now; nothing is ever overwritten.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

import httpx
import orjson

from standby import clock
from standby.clock import parse_instant
from standby.recovery import leases, state
from standby.recovery.answers import ANSWERS, CONFLICT_STATUSES, FHIR_JSON, outcome_of
from standby.recovery.state import BackEntry, Enrolment, Status, Written
from standby.store.base import Store
from standby.sync.auth import AuthError
from standby.sync.http import FhirClient, SourceError

KIND = "appointment-rebook"


def _fhir_instant(t: datetime) -> str:
    """A FHIR instant in UTC to the second (`2026-12-03T13:00:00Z`)."""
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Rebooked:
    """One accepted placement: the Appointment's new start, end and room."""

    key: str  # its back-entry id: appointment-rebook:<seq>
    appointment_id: str
    patient_id: str
    location_id: str  # the room's Location ("" leaves the Appointment's room as it is)
    start: datetime
    end: datetime
    base_version: str | None  # the Appointment version the proposal was made from
    accepted_at: datetime
    seq: int = 0  # its row in schedule_accepted

    def proposed(self) -> dict[str, Any]:
        return {
            "appointment": f"Appointment/{self.appointment_id}",
            "start": _fhir_instant(self.start),
            "end": _fhir_instant(self.end),
            "location": f"Location/{self.location_id}" if self.location_id else None,
            "fromVersion": self.base_version,
        }


class Accepted(Protocol):
    """What `schedule.repository.AcceptedPlacement` holds (handed in by the caller)."""

    @property
    def key(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def appointment_id(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def room_id(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def base_version(self) -> str | None: ...
    @property
    def accepted_at(self) -> datetime | None: ...


def from_accepted(a: Accepted) -> Rebooked:
    """An accepted placement as write-back sends it: its room is the Location before `#`
    (a clinician's room in a clinic is keyed "clinic#practitioner")."""
    return Rebooked(
        a.key,
        a.appointment_id,
        a.patient_id,
        a.room_id.partition("#")[0],
        a.start,
        a.end,
        a.base_version,
        a.accepted_at or a.start,
        a.seq,
    )


def write_back(
    store: Store,
    client: FhirClient,
    accepted: Iterable[Accepted],
    *,
    node: str,
    on_confirmed: Callable[[Rebooked], object] | None = None,
    now: Callable[[], datetime] = clock.now,
) -> WriteBackResult:
    """Send every accepted placement not yet confirmed (the body of `standby schedule
    writeback` and of the rebooking page's "send accepted to the EHR"). The caller checks
    first that the incident commander has ended the downtime."""
    writer = AppointmentWriter(store, client, node=node, on_confirmed=on_confirmed, now=now)
    return writer.run([from_accepted(a) for a in accepted])


@dataclass
class WriteBackResult:
    run_id: str
    enrolled: int = 0
    confirmed: list[str] = field(default_factory=list)  # keys
    conflict: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    sent: int = 0  # PUTs sent in this run
    stopped: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "enrolled": self.enrolled,
            "confirmed": len(self.confirmed),
            "conflict": len(self.conflict),
            "rejected": len(self.rejected),
            "sent": self.sent,
            "stopped": self.stopped,
        }


class _Stop(Exception):
    pass


def _location_of(appt: Mapping[str, Any]) -> str | None:
    for p in appt.get("participant") or []:
        ref = str(((p or {}).get("actor") or {}).get("reference") or "")
        if ref.startswith("Location/"):
            return ref
    return None


def holds(appt: Mapping[str, Any], r: Rebooked) -> bool:
    """Whether the EHR's Appointment already holds the placement: start, end, and the
    room among its participants (what write-back changes)."""
    try:
        start = parse_instant(appt.get("start"))
        end = parse_instant(appt.get("end"))
    except ValueError:
        return False
    if start != r.start or end != r.end:
        return False
    if not r.location_id:
        return True
    refs = {
        str(((p or {}).get("actor") or {}).get("reference") or "")
        for p in appt.get("participant") or []
    }
    return f"Location/{r.location_id}" in refs


def updated(appt: Mapping[str, Any], r: Rebooked) -> dict[str, Any]:
    """The Appointment with the placement's start, end, length and room; everything else
    as the EHR holds it (pure)."""
    body = orjson.loads(orjson.dumps(dict(appt)))
    body.pop("meta", None)
    body["start"] = _fhir_instant(r.start)
    body["end"] = _fhir_instant(r.end)
    body["minutesDuration"] = int((r.end - r.start).total_seconds() // 60)
    if r.location_id:
        new = f"Location/{r.location_id}"
        parts = body.get("participant") or []
        old = _location_of(body)
        if old is None:
            parts.append({"actor": {"reference": new}, "status": "accepted"})
        else:
            for p in parts:
                actor = (p or {}).get("actor") or {}
                if actor.get("reference") == old:
                    p["actor"] = {"reference": new}
                    break
        body["participant"] = parts
    return dict(body)


def _now_view(appt: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if appt is None:
        return None
    return {
        "versionId": (appt.get("meta") or {}).get("versionId"),
        "status": appt.get("status"),
        "start": appt.get("start"),
        "end": appt.get("end"),
        "location": _location_of(appt),
    }


class AppointmentWriter:
    """Sends the placements (one runner; a patient's lease is held while it works on it)."""

    def __init__(
        self,
        store: Store,
        client: FhirClient,
        *,
        node: str,
        lease: timedelta = timedelta(seconds=120),
        now: Callable[[], datetime] = clock.now,
        on_confirmed: Callable[[Rebooked], object] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.now = now
        self.lease = lease
        self.holder = f"{node}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self.on_confirmed = on_confirmed

    def run(self, placements: Iterable[Rebooked]) -> WriteBackResult:
        todo = list(placements)
        result = WriteBackResult(uuid.uuid4().hex)
        result.enrolled = state.enroll(
            self.store,
            [Enrolment(r.key, KIND, r.patient_id, r.accepted_at) for r in todo],
            self.now(),
            self.holder,
        )
        st = state.of_entries(self.store, [r.key for r in todo])
        for r in todo:
            b = st.get(r.key)
            if b is None:
                continue
            if b.status is Status.CONFIRMED:
                if self.on_confirmed:  # confirmed before the caller could stamp it
                    self.on_confirmed(r)
                continue
            if b.status not in state.OPEN:
                continue
            if not leases.claim(self.store, r.patient_id, self.holder, self.now(), self.lease):
                continue
            try:
                self._one(r, result)
            except _Stop as e:
                result.stopped = str(e)
                break
            finally:
                leases.release(self.store, r.patient_id, self.holder)
        return result

    # ---- one placement -------------------------------------------------------------------
    def _one(self, r: Rebooked, result: WriteBackResult) -> None:
        path = f"Appointment/{r.appointment_id}"
        got = self._request("GET", path)
        if got.status_code != 200:
            self._refuse(r, result, got, f"cannot read {path} at the EHR")
            return
        appt = got.json()
        version = str((appt.get("meta") or {}).get("versionId") or "")
        if holds(appt, r):
            self._confirm(r, result, appt)
            return
        if r.base_version is None or version != r.base_version:
            self._conflict(
                r,
                result,
                appt,
                f"{path} changed at the EHR since the proposal (version "
                f"{r.base_version or 'unknown'} then, {version or 'unknown'} now): not sent",
            )
            return
        state.mark_sent(self.store, r.key, self.now(), self.holder)
        result.sent += 1
        put = self._request(
            "PUT",
            path,
            body=updated(appt, r),
            headers={"If-Match": f'W/"{r.base_version}"'},
        )
        if put.status_code in (200, 201) or put.status_code in CONFLICT_STATUSES:
            back = self._request("GET", path)
            now_appt = back.json() if back.status_code == 200 else None
            if now_appt is not None and holds(now_appt, r):
                self._confirm(r, result, now_appt)
                return
            self._conflict(
                r,
                result,
                now_appt,
                f"the EHR answered {put.status_code} to the update of {path}"
                + ("" if put.status_code in (200, 201) else ": it changed since the proposal")
                + "; it does not hold the new time: nothing overwritten",
                put_outcome=outcome_of(put),
            )
            return
        self._refuse(r, result, put, f"the EHR refused the update of {path}")

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        h = {"Content-Type": FHIR_JSON, **(headers or {})} if body is not None else {}
        try:
            return self.client.request(
                method,
                path,
                content=orjson.dumps(body) if body is not None else None,
                headers=h,
                ok=ANSWERS,
            )
        except AuthError as e:
            raise _Stop(f"the EHR refused our credentials: {e}") from e
        except SourceError as e:
            raise _Stop(str(e)) from e

    def _confirm(self, r: Rebooked, result: WriteBackResult, appt: Mapping[str, Any]) -> None:
        w = Written(
            "Appointment",
            str(appt.get("id") or r.appointment_id),
            (appt.get("meta") or {}).get("versionId"),
            r.key,
        )
        # pending (already in place, e.g. after a lost answer) or sent
        state.mark_confirmed(self.store, r.key, [w], self.now(), self.holder)
        result.confirmed.append(r.key)
        if self.on_confirmed:
            self.on_confirmed(r)

    def _conflict(
        self,
        r: Rebooked,
        result: WriteBackResult,
        appt: Mapping[str, Any] | None,
        error: str,
        *,
        put_outcome: Mapping[str, Any] | None = None,
    ) -> None:
        doc: dict[str, Any] = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "conflict", "diagnostics": error}],
            "proposed": r.proposed(),
            "ehrNow": _now_view(appt),
        }
        if put_outcome is not None:
            doc["answer"] = dict(put_outcome)
        state.mark_conflict(self.store, r.key, error, self.now(), self.holder, outcome=doc)
        result.conflict.append(r.key)

    def _refuse(
        self, r: Rebooked, result: WriteBackResult, resp: httpx.Response, what: str
    ) -> None:
        out = outcome_of(resp)
        state.mark_rejected(
            self.store,
            r.key,
            f"{what}: HTTP {resp.status_code}",
            self.now(),
            self.holder,
            outcome=out,
        )
        result.rejected.append(r.key)


def target_of(b: BackEntry) -> str | None:
    """The Appointment a rebooking item updates ("Appointment/123"), for the review queue
    to read beside a conflict; None for other kinds."""
    if b.kind != KIND:
        return None
    if b.written:
        return b.written[0].reference
    proposed = (b.outcome or {}).get("proposed") or {}
    ref = proposed.get("appointment")
    return str(ref) if ref else None


def describe(b: BackEntry, zone: tzinfo) -> str:
    """The scheduler's proposal in words, times in the hospital's zone (the review
    queue's line), from what a conflict keeps."""
    proposed = (b.outcome or {}).get("proposed") or {}
    if not proposed:
        return "A rebooked appointment accepted by a scheduler (see the rebooking page)."
    start = parse_instant(proposed.get("start"))
    end = parse_instant(proposed.get("end"))
    when = (
        f"{start.astimezone(zone):%a %d %b %Y %H:%M}–{end.astimezone(zone):%H:%M}"
        if start and end
        else "time not kept"
    )
    room = proposed.get("location") or "room unchanged"
    now = (b.outcome or {}).get("ehrNow") or {}
    at_ehr = ""
    if now:
        s_now = parse_instant(now.get("start")) if now.get("start") else None
        e_now = parse_instant(now.get("end")) if now.get("end") else None
        at_ehr = (
            f"; the EHR has now version {now.get('versionId') or 'not stated'}, "
            f"status {now.get('status') or 'not stated'}, "
            + (
                f"{s_now.astimezone(zone):%a %d %b %Y %H:%M}–{e_now.astimezone(zone):%H:%M}"
                if s_now and e_now
                else "no time recorded"
            )
            + f", {now.get('location') or 'no room recorded'}"
        )
    return (
        f"{proposed.get('appointment')}: proposed {when} in {room} (from version "
        f"{proposed.get('fromVersion') or 'not recorded'}){at_ehr}."
    )


def statuses(store: Store, keys: Sequence[str]) -> dict[str, Status]:
    """Each placement's back-entry status (not enrolled yet: absent)."""
    return {k: b.status for k, b in state.of_entries(store, keys).items()}
