"""`standby audit verify`: recompute the audit chain held in the database and name the first
line that breaks it (docs/security.md#the-audit-log).

A line breaks the chain when it has no hash, when its content does not give its hash (it was
changed), or when it does not follow the line before it (a line before it was deleted or
inserted, or the order changed). The chain starts where the newest `web_audit_chain` record
says (the migration's start, or the last archive's last hash). The anchors written outside
the database (`audit_anchors`) are then checked against it: an anchor whose line now has
another hash, or that lies beyond the last line (lines deleted from the end), is named too.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from standby.accounts import audit_chain
from standby.accounts.audit_anchors import Anchor
from standby.store.base import Store


@dataclass(frozen=True, slots=True)
class Break:
    row_id: int | None  # the first broken line (None: not a line, e.g. an anchor past the end)
    reason: str


@dataclass
class Verdict:
    lines: int = 0  # lines checked
    first_id: int | None = None
    last_id: int | None = None
    head_hash: str = audit_chain.GENESIS
    start: audit_chain.ChainStart | None = None
    archives: list[audit_chain.ChainStart] = field(default_factory=list)
    anchors_checked: int = 0
    anchors_archived: int = 0  # anchors on lines that an archive now holds
    archives_signed: bool | None = None  # archive records' signatures checked (None: no key)
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(
    store: Store, anchors: list[Anchor] | None = None, *, key: bytes | None = None
) -> Verdict:
    """Check the chain in the database (and against `anchors`; with the audit `key`, the
    signatures of the archive records too); stop at the first break."""
    with store.read_transaction() as tx:
        records = audit_chain.chain_records(tx)
    v = Verdict(archives=[r for r in records if r.kind == "archive"])
    v.broken = _check_records(records, key)
    if key is not None and v.archives:
        v.archives_signed = True
    if v.broken is not None:
        return v
    v.start = start = records[-1]
    prev_id, prev = start.last_id, start.last_hash
    seen: dict[int, str] = {}
    wanted = {a.id for a in anchors or []}
    for row in audit_chain.rows_after(store, -(2**62)):
        v.lines += 1
        if v.first_id is None:
            v.first_id = row.id
        v.last_id = row.id
        if row.id <= start.last_id:
            v.broken = Break(
                row.id,
                f"line {row.id} lies before the start of the chain (after line"
                f" {start.last_id}): it was inserted, or an archive left it behind",
            )
            return v
        if row.hash is None or row.prev_hash is None:
            v.broken = Break(
                row.id, f"line {row.id} has no hash: it was inserted outside the chain"
            )
            return v
        if audit_chain.link(row.prev_hash, row.id, row.event) != row.hash:
            v.broken = Break(
                row.id, f"line {row.id} does not match its hash: its content was changed"
            )
            return v
        if row.prev_hash != prev:
            v.broken = Break(
                row.id,
                f"line {row.id} does not follow line {prev_id or 'the chain start'}: a line"
                " between them was deleted or inserted, or one of them was rewritten",
            )
            return v
        if row.id in wanted:
            seen[row.id] = row.hash
        prev_id, prev = row.id, row.hash
    v.head_hash = prev
    archived_ends = {r.last_id: r.last_hash for r in v.archives}
    for a in anchors or []:
        v.anchors_checked += 1
        if a.id <= start.last_id:
            if a.id in archived_ends and a.hash != archived_ends[a.id]:
                v.broken = Break(
                    a.id,
                    f"the anchor of line {a.id} written at {a.at} does not match the end of"
                    " the archive that holds it: the archived chain was rewritten",
                )
                return v
            if a.id == 0 and a.hash != audit_chain.GENESIS:
                v.broken = Break(
                    None, f"the anchor written at {a.at} of an empty log is not genesis"
                )
                return v
            v.anchors_archived += a.id > 0
            continue
        if a.id not in seen:
            last = v.last_id if v.last_id is not None else start.last_id
            v.broken = Break(
                None,
                f"the anchor written at {a.at} names line {a.id}, which is no longer in the"
                f" log (the last line is {last}): lines were deleted"
                + (" from the end" if a.id > last else ""),
            )
            return v
        if seen[a.id] != a.hash:
            v.broken = Break(
                a.id,
                f"line {a.id} is not the one anchored at {a.at}: the chain was rewritten"
                f" up to line {a.id}",
            )
            return v
    return v


def _check_records(records: list[audit_chain.ChainStart], key: bytes | None) -> Break | None:
    """The chain's start records: one `start` first, from genesis; then archives, each
    further along, each signed with the audit key (checked when the key is given)."""
    if not records:
        return Break(None, "the audit log has no chain start (web_audit_chain is empty)")
    first = records[0]
    if first.kind != "start" or (first.last_id, first.last_hash) != (0, audit_chain.GENESIS):
        return Break(None, f"the chain's start record {first.seq} is not a start from genesis")
    last_id = 0
    for r in records[1:]:
        if r.kind != "archive" or r.last_id <= last_id:
            return Break(
                r.last_id,
                f"chain record {r.seq} ({r.kind}, up to line {r.last_id}) is not an archive"
                " further along than the one before it: it was forged",
            )
        if key is not None:
            want = audit_chain.record_mac(
                key,
                r.kind,
                r.at,
                r.last_id,
                r.last_hash,
                r.line_count,
                r.file,
                r.first_at,
                r.last_at,
            )
            if not hmac.compare_digest(want, r.mac or ""):
                return Break(
                    r.last_id,
                    f"the archive record up to line {r.last_id} ({r.file}) is not signed with"
                    " the audit key: it was forged or changed, and the lines it covers may"
                    " have been deleted without an archive",
                )
        last_id = r.last_id
    return None
