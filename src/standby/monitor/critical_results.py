"""Notices of critical results that arrive by HL7 v2 feed while the EHR is down.

During downtime the lab keeps resulting, but no one sees its results in the EHR: a unit
learns of a critical one by phone. Standby takes the feed (docs/hl7.md), and when a result
with a critical interpretation (HH, LL, AA: HL7's "critical" codes) arrives for a patient
on a unit, it queues a notice to that unit through the monitor's channels (the outbox,
delivered with retries like every downtime notice, docs/monitor.md#notifications).

Recipients: `monitor_event_recipients["critical-result:<unit Location id>"]`, else
`["critical-result"]`, else the monitor's recipients (in a drill: the drill's). The notice
names the unit, the bed, the test and "critical high/low", never the patient's name, number
or the value: the viewer, behind its login, shows the rest (notices go by email and pager,
which are not the place for patient data, docs/monitor.md#notifications). One notice per
result version (`message_id`), however often the message is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from standby.monitor import incidents, schema
from standby.monitor import state as sm
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.notify.messages import Notification
from standby.monitor.status import current_status
from standby.store import Store

JSON = dict[str, Any]
EVENT = "critical-result"
CRITICAL = frozenset({"HH", "LL", "AA"})
_WORDS = {"HH": "critical high", "LL": "critical low", "AA": "critical abnormal"}


def is_critical(observation: JSON) -> bool:
    """An Observation whose interpretation is critical (HH, LL, AA)."""
    return any(
        str(coding.get("code", "")).upper() in CRITICAL
        for concept in observation.get("interpretation") or []
        for coding in concept.get("coding") or []
    )


def _ref_id(ref: JSON | None) -> str:
    return str((ref or {}).get("reference", "")).rsplit("/", 1)[-1]


def _text(concept: JSON | None) -> str:
    concept = concept or {}
    codings = concept.get("coding") or [{}]
    return str(concept.get("text") or codings[0].get("display") or codings[0].get("code") or "")


def where_is(store: Store, patient_ref: str) -> tuple[str, str, str] | None:
    """(unit Location id, unit name, bed) of a patient in a bed now, else None."""
    page = store.search(
        "Encounter", [("subject", patient_ref), ("status", "in-progress")], count=20
    )
    for sr in page.resources:
        enc = sr.json()
        beds = [x for x in enc.get("location") or [] if x.get("status") != "completed"]
        if not beds:
            continue
        bed = beds[-1]["location"]
        loc = store.read("Location", _ref_id(bed))
        node = loc.json() if loc is not None else None
        while node is not None and node.get("physicalType", {}).get("coding", [{}])[0].get(
            "code"
        ) not in ("wi", "wa"):
            parent = node.get("partOf")
            up = store.read("Location", _ref_id(parent)) if parent else None
            node = up.json() if up is not None else None
        if node is not None:
            return str(node["id"]), str(node.get("name", node["id"])), str(bed.get("display", ""))
        return "", "", str(bed.get("display", ""))
    return None


def notify_critical_results(
    store: Store, cfg: MonitorConfig, resources: Iterable[JSON], sender: str, now: datetime
) -> int:
    """Queue a notice per critical result among `resources` (what a feed message has just
    committed) when the EHR is in downtime; returns how many were queued."""
    criticals = [r for r in resources if r.get("resourceType") == "Observation" and is_critical(r)]
    if not criticals:
        return 0
    schema.ensure(store)
    status = current_status(store)
    if not status.in_downtime:
        return 0
    queued = 0
    for obs in criticals:
        subject = str((obs.get("subject") or {}).get("reference", ""))
        place = where_is(store, subject) if subject else None
        unit_id, unit, bed = place or ("", "", "")
        flag = next(
            str(c.get("code")).upper()
            for i in obs.get("interpretation") or []
            for c in i.get("coding") or []
            if str(c.get("code", "")).upper() in CRITICAL
        )
        drill = "DRILL — " if status.drill else ""
        where = (
            f"{unit}, bed {bed}" if unit else (f"bed {bed}" if bed else "a patient not in a bed")
        )
        test = _text(obs.get("code"))
        n = Notification(
            message_id=f"{status.incident_id}:{EVENT}:{obs.get('id')}:"
            f"{(obs.get('meta') or {}).get('versionId', '')}",
            event=EVENT,
            incident_id=status.incident_id,
            subject=f"{drill}CRITICAL result during EHR downtime: {test} — {where}",
            body=(
                f"{drill}A critical result ({test}, {_WORDS.get(flag, flag)}) arrived from "
                f"{sender} for the patient in "
                f"{where}, received during downtime — not seen in the EHR.\n\n"
                f"Open the patient in Standby (results are marked 'received during downtime')"
                f" and act on it as your critical-result procedure says.\n\n"
                f"Status: {cfg.status_url}\n"
            ),
            drill=status.drill,
        )
        key = f"{EVENT}:{unit_id}"
        if status.drill:
            recipients = cfg.recipients_for(EVENT, True, False)
        else:
            recipients = list(
                cfg.event_recipients.get(key) or cfg.event_recipients.get(EVENT) or cfg.recipients
            )
        with store.transaction() as tx:
            added = outbox.enqueue(tx, n, recipients, now)
            if added:
                incidents.append(
                    tx,
                    status.incident_id,
                    now,
                    "notification",
                    sm.MONITOR,
                    f"{EVENT}: queued to {added} recipient(s): {n.subject}",
                )
        queued += added
    return queued
