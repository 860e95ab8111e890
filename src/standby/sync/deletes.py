"""Deletes at the source reach the replica: by `_history` where the server offers it, else
by a periodic reconciliation of ids (`standby.sync.reconcile`).

Searches never return a deleted resource, so they cannot see deletes. Each round,
`HistoryDeletes.run` asks the source's history since the last mark (less the overlap):
system level (`GET [base]/_history?_since=`) where offered, else type level
(`GET [base]/[type]/_history?_since=`) for each synchronised type
(https://hl7.org/fhir/R4/http.html#history). In a history Bundle a delete is an entry
whose `request.method` is DELETE, or which has no resource and a `response.status` of 410
(https://hl7.org/fhir/R4/bundle.html#bundle-unique): each one the replica holds becomes a
tombstone with the version and time the source gave (`response.etag`,
`response.lastModified`), so a resource created again later is not hidden. Other entries
are left to the searches.

Which level the source offers is found once (`sync:<source>:history:level` = system,
type or none): a 4xx or 501 answer, or an answer that is not a Bundle of type `history`
(a server may take `_history` for a search of an unknown type), means not offered. The
mark (`sync:<source>:history`) moves to the source's clock (its `Date`, less 1 s) at the
start of a run only when every page of the run was read.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standby.fhir.resource_types import RESOURCE_TYPES
from standby.store.base import Store
from standby.sync.bundles import BundleReader, Entry
from standby.sync.census import instant, parse_instant
from standby.sync.http import FhirClient, SourceError, SourceUnreachable
from standby.sync.replica_writer import ReplicaWriter

log = logging.getLogger("standby.sync.deletes")

SYSTEM, TYPE, NONE = "system", "type", "none"


@dataclass
class DeletesResult:
    level: str  # system, type or none (then reconciliation finds deletes)
    ok: bool = True
    tombstoned: int = 0
    error: str | None = None


def is_delete(e: Entry) -> bool:
    if (e.method or "").upper() == "DELETE":
        return True
    return e.resource is None and (e.status or "").strip().startswith("410")


def deleted_target(e: Entry) -> tuple[str, str] | None:
    """(type, id) of the resource a history entry deletes, from `request.url`
    (`Observation/123`, an absolute URL, or one ending in `/_history/4`)."""
    parts = [p for p in (e.url or "").split("?", 1)[0].split("/") if p]
    for i in range(len(parts) - 1, 0, -1):
        if parts[i - 1] in RESOURCE_TYPES and parts[i] != "_history":
            return parts[i - 1], parts[i]
    return None


def version_of(etag: str | None) -> str | None:
    """The version an ETag names (`W/"3"` → "3")."""
    if not etag:
        return None
    v = etag.strip()
    v = v[2:] if v.startswith("W/") else v
    v = v.strip('"')
    return v or None


def _server_date(value: str | None) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(UTC) if value else None
    except (TypeError, ValueError):
        return None


class HistoryDeletes:
    def __init__(
        self,
        client: FhirClient,
        store: Store,
        writer: ReplicaWriter,
        source: str,
        types: Sequence[str],
        *,
        overlap_seconds: float = 60.0,
        page_size: int = 200,
    ) -> None:
        self.client = client
        self.store = store
        self.writer = writer
        self.types = tuple(types)
        self.level_stream = f"sync:{source}:history:level"
        self.mark_stream = f"sync:{source}:history"
        self.bulk_since = f"sync:{source}:bulk:since"
        self.overlap = timedelta(seconds=overlap_seconds)
        self.page_size = page_size

    @property
    def level(self) -> str | None:
        return self.store.get_checkpoint(self.level_stream)

    def run(self, round_start: datetime) -> DeletesResult:
        """Tombstone what the source deleted since the mark. `round_start`: the source's
        clock at the start of this round (the first mark, when there is none yet)."""
        level = self.level
        if level == NONE:
            return DeletesResult(NONE)
        mark = self.store.get_checkpoint(self.mark_stream) or self.store.get_checkpoint(
            self.bulk_since
        )
        since = parse_instant(mark)
        if since is None:  # nothing held before this round can have been deleted unseen
            self._set(self.mark_stream, instant(round_start - timedelta(seconds=1)))
            return DeletesResult(level or "unknown")
        params = [("_since", instant(since - self.overlap)), ("_count", str(self.page_size))]
        result = DeletesResult(level or SYSTEM)
        try:
            if level in (None, SYSTEM):
                date = self._read("_history", params, result, probe=level is None)
                if date is not None:
                    self._set(self.level_stream, SYSTEM)
                elif level is None:
                    level = TYPE
            if level == TYPE:
                result.level = TYPE
                date = None
                for i, rtype in enumerate(self.types):
                    got = self._read(f"{rtype}/_history", params, result, probe=i == 0)
                    if got is None:  # the first type refused: no history at all
                        self._set(self.level_stream, NONE)
                        log.info("the source offers no _history: deletes come by reconciliation")
                        return DeletesResult(NONE)
                    date = date or got
                self._set(self.level_stream, TYPE)
        except SourceUnreachable as e:
            return DeletesResult(result.level, ok=False, error=str(e), tombstoned=result.tombstoned)
        except (SourceError, ValueError) as e:
            return DeletesResult(
                result.level, ok=False, error=f"_history: {e}", tombstoned=result.tombstoned
            )
        if date is not None:
            self._set(self.mark_stream, instant(date - timedelta(seconds=1)))
        return result

    def _set(self, stream: str, value: str) -> None:
        with self.writer.lock:
            self.store.set_checkpoint(stream, value)

    def _read(
        self, path: str, params: list[tuple[str, str]], result: DeletesResult, *, probe: bool
    ) -> datetime | None:
        """Every page of one history; its `Date`. None when `probe` and the source does
        not offer it (a 4xx, or not a Bundle)."""
        url: str | None = path
        q: list[tuple[str, str]] | None = params
        first: datetime | None = None
        while url:
            try:
                r = self.client.request("GET", url, params=q)
            except SourceUnreachable:
                raise
            except SourceError as e:
                if (
                    probe
                    and first is None
                    and e.status is not None
                    and (400 <= e.status < 500 or e.status == 501)
                ):
                    return None
                raise
            q = None
            try:
                reader = BundleReader(r.content)
            except ValueError:
                if probe and first is None:
                    return None
                raise
            if probe and first is None and reader.bundle_type != "history":
                return None  # e.g. `_history` taken for a search of an unknown type
            first = first or _server_date(r.headers.get("Date")) or datetime.now(UTC)
            for entry in reader.entries():
                if entry.error is None and is_delete(entry):
                    result.tombstoned += self._tombstone(entry)
            if reader.error:
                raise ValueError(f"a history page could not be read whole: {reader.error}")
            url = reader.next_url
        return first

    def _tombstone(self, e: Entry) -> int:
        target = deleted_target(e)
        if target is None:
            return 0
        rtype, rid = target
        held = self.store.read(rtype, rid)
        if held is None or held.deleted:
            return 0
        version = version_of(e.etag)
        if version == held.version_id:  # a server that deletes without a new version
            version = None
        self.writer.tombstone(rtype, rid, version_id=version, last_updated=e.last_modified)
        after = self.store.read(rtype, rid)
        return 1 if after is not None and after.deleted else 0
