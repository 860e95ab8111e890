"""The per-patient digest: which of a patient's resources a census row is built from, and
where the patient is, kept current at write time (docs/store.md#the-patient-digest).

Why: a census of a 32-bed unit read each patient's compartment (the census types), then
searched their code-status / weight / height Observations and their last day of
MedicationAdministrations: three indexed reads per patient, ~100 per census, each
resource parsed on the way. The digest turns that into one indexed read for the whole
unit (`census_resources`), handing the one summary builder
(`standby.clinical.summary.build_summary`) exactly the resources it read before.

Two tables, both written in the same transaction as the resources they summarise (the
hook is `keep`, called by `SQLStore._write_unique` after the index rows):

* `digest_member (rid, patient_id, type, until)`: one row per current resource that a
  census row reads, decided from the resource alone (`member`): the Patient, every
  Encounter, AllergyIntolerance, Flag and MedicationRequest of the patient, their
  Observations coded (LOINC) code status, weight or height, and every
  MedicationAdministration with `until`, the latest instant (epoch ms) of its `date` —
  the same value the date index holds. What is due is a matter of the clock: the digest
  stores only what is clock-independent, and the reader keeps the administrations with
  `until >= now − 24 h` (what the census row's search by date returned), so the digest
  never goes stale as time passes.
* `patient_digest (patient_id, location_id)`: one row per patient with any member; the
  Location of their current encounter's active location (`standby.fhir.header`:
  `current_encounter`, `encounter_bed`), indexed, so a unit's patients are one lookup by
  the Locations of its subtree.

It never disagrees with the resources: a member is a function of one resource, the
location a function of the patient's encounters, both recomputed whenever one of those is
written, moved to another patient or deleted. `expected` rebuilds every digest from
scratch from the store's public reads (the tests compare it with the tables after random
writes); `rebuild` fills the tables of a replica that predates them (the migration).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from standby.fhir import tolerant_json
from standby.fhir.header import current_encounter, encounter_bed
from standby.fhir.search_params import Extracted, date_range, extract, patient_compartment
from standby.store import migrations as migrations_mod
from standby.store.base import Migration, Store

if TYPE_CHECKING:
    from standby.store.connections import Cursor
    from standby.store.sql_store import SQLStore

NAMESPACE = "digest"
LOINC = "http://loinc.org"
# code status, weight, height: what the census row shows of Observations
CENSUS_LOINC = frozenset({"100822-6", "29463-7", "8302-2"})
_CENSUS_TOKENS = frozenset(("code", LOINC, c) for c in CENSUS_LOINC)  # (param, system, code)
# the types a census row reads whole (`standby.clinical.summary.CENSUS_TYPES`)
WHOLE_TYPES = frozenset({"Patient", "Encounter", "AllergyIntolerance", "Flag", "MedicationRequest"})
TIMED_TYPE = "MedicationAdministration"  # read by its date: the last day of them
DIGEST_TYPES = WHOLE_TYPES | {TIMED_TYPE, "Observation"}
DAY = timedelta(hours=24)
CHUNK = 500

_TABLES = (
    "CREATE TABLE digest_member (rid BIGINT PRIMARY KEY, patient_id TEXT NOT NULL,"
    " type TEXT NOT NULL, until BIGINT);"
    " CREATE INDEX digest_member_patient ON digest_member (patient_id, type);"
    " CREATE TABLE patient_digest (patient_id TEXT PRIMARY KEY, location_id TEXT);"
    " CREATE INDEX patient_digest_location ON patient_digest (location_id)"
    " WHERE location_id IS NOT NULL"
)
MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "per-patient digest: the resources a census row reads, and where each patient is"
        " (built from the resources held when applied)",
        _TABLES,
    ),
]


# ---- what a member is (pure) -----------------------------------------------------------
def member(rtype: str, patient_id: str | None, ex: Extracted | None) -> tuple[bool, int | None]:
    """Whether a current resource of `rtype` in `patient_id`'s compartment, with index
    values `ex` (None: a tombstone), belongs to that patient's digest, and its `until`."""
    if patient_id is None or ex is None or rtype not in DIGEST_TYPES:
        return False, None
    if rtype in WHOLE_TYPES:
        return True, None
    if rtype == TIMED_TYPE:
        his = [hi for name, _lo, hi in ex.date if name == "date"]
        return True, max(his) if his else None
    # an Observation: the census row's search is by subject (or patient) and LOINC code
    # (set operations: this runs for every Observation written, and a walk of its values
    # in Python was ~3 % of an ingest)
    if _CENSUS_TOKENS.isdisjoint(ex.token):
        return False, None
    refs = ex.reference
    return (
        ("subject", "Patient", patient_id) in refs or ("patient", "Patient", patient_id) in refs
    ), None


def location_of(encounters: Iterable[Mapping[str, Any]]) -> str | None:
    """The Location of the current encounter's active location (None: not admitted)."""
    enc = current_encounter(list(encounters))
    return encounter_bed(enc) if enc is not None else None


def since_ms(now: datetime) -> int:
    """The lower bound of `until` for a census row at `now`: the census row's search
    `date=ge<now − 24 h>` (to the second, as `clinical.summary` writes it)."""
    text = (now - DAY).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rng = date_range(text)
    assert rng is not None
    return rng[0]


# ---- the write path ----------------------------------------------------------------------
Change = tuple[int, str, str | None, Extracted | None, bool]  # rid, type, patient, ex, held


def keep(cur: Cursor, changes: Sequence[Change]) -> None:
    """Bring the digest up to date with `changes` (resources just written in this
    transaction: rid, type, compartment patient, index values or None for a tombstone,
    whether a row was held before)."""
    relevant = [c for c in changes if c[1] in DIGEST_TYPES]
    if not relevant:
        return
    was: dict[int, tuple[str, str]] = {}  # rid → (patient, type) of members replaced
    held = [c[0] for c in relevant if c[4]]
    for k in range(0, len(held), CHUNK):
        chunk = held[k : k + CHUNK]
        for rid, pid, rtype in cur.query(
            f"SELECT rid, patient_id, type FROM digest_member WHERE rid IN"
            f" ({','.join('?' * len(chunk))})",
            chunk,
        ):
            was[int(rid)] = (str(pid), str(rtype))
    if was:
        cur.executemany("DELETE FROM digest_member WHERE rid = ?", [(r,) for r in was])
    new: list[tuple[int, str, str, int | None]] = []
    for rid, rtype, pid, ex, _held in relevant:
        keep_it, until = member(rtype, pid, ex)
        if keep_it and pid is not None:
            new.append((rid, pid, rtype, until))
    if new:
        cur.insert_rows("digest_member", "rid, patient_id, type, until", new)
    gained = {pid for _rid, pid, _t, _u in new}
    lost = {pid for pid, _t in was.values()} - gained
    moved = {pid for _r, pid, rtype, _u in new if rtype == "Encounter"}
    moved |= {pid for pid, rtype in was.values() if rtype == "Encounter"}
    if gained:
        cur.executemany(
            "INSERT INTO patient_digest (patient_id) VALUES (?) ON CONFLICT DO NOTHING",
            [(p,) for p in sorted(gained)],
        )
    gone = [p for p in sorted(lost) if not _has_members(cur, p)]
    if gone:
        cur.executemany("DELETE FROM patient_digest WHERE patient_id = ?", [(p,) for p in gone])
    _locate(cur, sorted(moved - set(gone)))


def _has_members(cur: Cursor, patient_id: str) -> bool:
    return bool(
        cur.query("SELECT 1 FROM digest_member WHERE patient_id = ? LIMIT 1", (patient_id,))
    )


def _locate(cur: Cursor, patients: Sequence[str]) -> None:
    """Recompute the location of `patients` from their Encounter members."""
    for k in range(0, len(patients), CHUNK):
        chunk = patients[k : k + CHUNK]
        encounters: dict[str, list[Any]] = {p: [] for p in chunk}
        for pid, body in cur.query(
            "SELECT m.patient_id, r.body FROM digest_member m JOIN resource r ON r.rid = m.rid"
            f" WHERE m.type = 'Encounter' AND m.patient_id IN ({','.join('?' * len(chunk))})"
            " ORDER BY m.rid",
            chunk,
        ):
            encounters[str(pid)].append(tolerant_json.loads(bytes(body)))
        cur.executemany(
            "UPDATE patient_digest SET location_id = ? WHERE patient_id = ?",
            [(location_of(encs), p) for p, encs in encounters.items()],
        )


# ---- migration and rebuild -----------------------------------------------------------------
def migrate(store: SQLStore) -> None:
    """Create the digest tables and, when they are new, build every digest from the
    resources held (an existing replica upgraded), in one transaction."""
    with store._writer() as cur:
        if store.engine == "postgres":  # the same lock the engine's migrations take
            cur.execute("SELECT pg_advisory_xact_lock(?)", (727_001,))
        done = cur.query(
            "SELECT 1 FROM schema_migrations WHERE namespace = ? AND version = 1", (NAMESPACE,)
        )
        migrations_mod.apply(cur, NAMESPACE, MIGRATIONS, postgres=store.engine == "postgres")
        if not done:
            rebuild(cur)


def rebuild(cur: Cursor) -> None:
    """Every digest from scratch, from the current resources (inside the caller's write
    transaction)."""
    cur.execute("DELETE FROM digest_member")
    cur.execute("DELETE FROM patient_digest")
    types = sorted(WHOLE_TYPES | {TIMED_TYPE})
    rows = cur.query(
        "SELECT rid, type, patient_id, body FROM resource WHERE deleted = 0"
        f" AND patient_id IS NOT NULL AND type IN ({','.join('?' * len(types))})",
        types,
    )
    # Observations: only those the token index says are coded with a census code (most
    # Observations are vital signs and labs: not parsed here)
    pid_rows = cur.query(
        "SELECT pid FROM search_param WHERE type = 'Observation' AND name = 'code'"
    )
    sid_rows = cur.query("SELECT sid FROM token_system WHERE uri = ?", (LOINC,))
    if pid_rows and sid_rows:
        codes = sorted(CENSUS_LOINC)
        rows += cur.query(
            "SELECT DISTINCT r.rid, r.type, r.patient_id, r.body FROM idx_token t"
            " JOIN resource r ON r.rid = t.rid WHERE t.pid = ? AND t.sid = ?"
            f" AND t.code IN ({','.join('?' * len(codes))}) AND r.deleted = 0"
            " AND r.patient_id IS NOT NULL",
            [pid_rows[0][0], sid_rows[0][0], *codes],
        )
    changes: list[Change] = []
    for rid, rtype, _pid, body in rows:
        res = tolerant_json.loads(bytes(body))
        changes.append((int(rid), str(rtype), patient_compartment(res), extract(res), False))
    for k in range(0, len(changes), 5000):
        keep(cur, changes[k : k + 5000])


def expected(store: Store) -> tuple[dict[int, tuple[str, str, int | None]], dict[str, str | None]]:
    """Every digest rebuilt from the store's public reads, in the form `stored` returns:
    members by rid → (patient, type, until) and patients → location. Test oracle."""
    members: dict[int, tuple[str, str, int | None]] = {}
    encounters: dict[str, list[Any]] = {}
    rids = _rids(store)
    for rtype in sorted(DIGEST_TYPES):
        for sr in store.iter_type(rtype):
            res = sr.json()
            pid = patient_compartment(res)
            ok, until = member(rtype, pid, extract(res))
            if ok and pid is not None:
                members[rids[(rtype, sr.id)]] = (pid, rtype, until)
                if rtype == "Encounter":
                    encounters.setdefault(pid, []).append((rids[(rtype, sr.id)], res))
    patients = {pid for pid, _t, _u in members.values()}
    located = {
        p: location_of(r for _rid, r in sorted(encounters.get(p, []), key=lambda x: x[0]))
        for p in patients
    }
    return members, located


def _rids(store: Store) -> dict[tuple[str, str], int]:
    with store.read_transaction() as tx:
        rows = tx.query("SELECT rid, type, id FROM resource")
    return {(str(t), str(i)): int(r) for r, t, i in rows}


def stored(store: Store) -> tuple[dict[int, tuple[str, str, int | None]], dict[str, str | None]]:
    """The digest tables as they are."""
    with store.read_transaction() as tx:
        members = {
            int(r): (str(p), str(t), None if u is None else int(u))
            for r, p, t, u in tx.query("SELECT rid, patient_id, type, until FROM digest_member")
        }
        located = {
            str(p): (None if loc is None else str(loc))
            for p, loc in tx.query("SELECT patient_id, location_id FROM patient_digest")
        }
    return members, located


# ---- the read ---------------------------------------------------------------------------------
def census_resources(
    store: Store, location_ids: Sequence[str], now: datetime
) -> dict[str, tuple[str, list[Any]]] | None:
    """The patients whose current location is one of `location_ids`, each with their
    location and the resources a census row at `now` reads (parsed; the types a census
    row reads whole first, then the Observations, then the administrations of the last
    day): one indexed read. None when the store keeps no digest."""
    reader = getattr(store, "_reader", None)
    if reader is None or not store.keeps_digest:
        return None
    since = since_ms(now)
    out: dict[str, tuple[str, list[Any]]] = {}
    late: dict[str, list[tuple[int, Any]]] = {}
    rank = {"Observation": 0, TIMED_TYPE: 1}
    with reader() as cur:
        for k in range(0, len(location_ids), CHUNK):
            chunk = list(location_ids[k : k + CHUNK])
            rows = cur.query(
                "SELECT d.patient_id, d.location_id, m.type, r.body FROM patient_digest d"
                " JOIN digest_member m ON m.patient_id = d.patient_id"
                " JOIN resource r ON r.rid = m.rid"
                f" WHERE d.location_id IN ({','.join('?' * len(chunk))})"
                " AND (m.until IS NULL OR m.until >= ?)"
                " ORDER BY d.patient_id, m.type, m.rid",
                [*chunk, since],
            )
            # rows come by patient: each patient's entry is looked up once, not per row
            last: str | None = None
            mine: list[Any] = []
            later: list[tuple[int, Any]] = []
            for pid, loc, rtype, body in rows:
                if pid != last:
                    last = pid
                    key = str(pid)
                    got = out.get(key)
                    if got is None:
                        got = out[key] = (str(loc), [])
                    mine = got[1]
                    later = late.setdefault(key, [])
                res = tolerant_json.loads(body if type(body) is bytes else bytes(body))
                order = rank.get(rtype)
                if order is None:
                    mine.append(res)
                else:
                    later.append((order, res))
    for pid, extra in late.items():
        out[pid][1].extend(r for _k, r in sorted(extra, key=lambda x: x[0]))
    return out
