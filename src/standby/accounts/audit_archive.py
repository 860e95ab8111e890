"""Archives of old audit lines: signed files that keep the chain verifiable
(docs/security.md#the-audit-log).

`archive(store, before=..., out_dir=..., key=...)` moves the lines older than `before`, a
prefix of the chain, into one JSON-lines file:

    {"format": "standby-audit-archive/1", "created_at": ..., "before": ...,
     "start_after_id": N, "start_hash": H}                      the chain it continues
    {"id": ..., "at": ..., ..., "detail": ..., "prev_hash": ..., "hash": ...}   one per line
    {"lines": n, "first_id": ..., "last_id": ..., "last_hash": ...}
    {"hmac_sha256": ...}       HMAC-SHA256 of every byte above, with the audit key

The key is a file outside the database (`STANDBY_AUDIT_KEY_FILE`, 0600). The file is
written and flushed to disk first; then, in one transaction, the database records the
archive (range, times, file name and the hash of its last line, in `web_audit_chain`) and
deletes the archived lines, which the database allows for lines an archive record covers
and for no others. The chain left in the database starts from that last hash, so
`standby audit verify` still checks it, and `verify_archive` checks a file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from standby.accounts import audit_chain
from standby.accounts.records import AuditEvent
from standby.clock import instant, now
from standby.private_files import private_dir
from standby.store.base import Store

FORMAT = "standby-audit-archive/1"
_FIELDS = ("id", "at", "username", "role", "action", "patient_id", "page", "address", "detail")


# ---- the key ------------------------------------------------------------------------------
def read_key(path: Path, *, create: bool = False) -> bytes:
    """The audit key (64 hex characters) from its file; created 0600 when `create` and
    missing. ValueError when it is missing, malformed, or readable by others."""
    if not path.exists():
        if not create:
            raise ValueError(f"no audit key file at {path} (STANDBY_AUDIT_KEY_FILE)")
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ValueError(
            f"the audit key file {path} can be read by others (mode {mode:o}): chmod 600 it"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise ValueError(f"the audit key file {path} does not hold 64 hex characters")
    return key


# ---- writing ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Archived:
    file: Path
    lines: int
    first_id: int
    last_id: int
    last_hash: str


def _line(d: dict[str, Any]) -> bytes:
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _row_dict(r: audit_chain.ChainedRow) -> dict[str, Any]:
    e = r.event
    values = (r.id, e.at, e.username, e.role, e.action, e.patient_id, e.page, e.address)
    d: dict[str, Any] = dict(zip(_FIELDS, (*values, e.detail), strict=True))
    d["prev_hash"], d["hash"] = r.prev_hash, r.hash
    return d


def archive(store: Store, *, before: str, out_dir: Path, key: bytes) -> Archived | None:
    """Move the lines older than `before` (an instant or a date, exclusive) into a signed
    file in `out_dir`; None when there is none. ValueError, with nothing archived, when the
    chain to be archived is broken (run `standby audit verify`)."""
    with store.read_transaction() as tx:
        start = audit_chain.chain_start(tx)
    if start is None:
        raise ValueError("the audit log has no chain start: open it with standby first")
    private_dir(out_dir)
    tmp = out_dir / f".standby-audit-{secrets.token_hex(4)}.partial"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    signer = hmac.new(key, digestmod=hashlib.sha256)
    try:
        with os.fdopen(fd, "wb") as f:
            got = _write_rows(store, start, before, f, signer)
            if got is None:
                tmp.unlink()
                return None
            f.write(b'{"hmac_sha256":"' + signer.hexdigest().encode("ascii") + b'"}\n')
            f.flush()
            os.fsync(f.fileno())
        first_id, last_id, lines, last_hash, first_at, last_at = got
        final = out_dir / f"standby-audit-{first_id:012d}-{last_id:012d}.jsonl"
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(out_dir)
    with store.transaction() as tx:
        audit_chain.lock(tx, store.engine)
        held = tx.query("SELECT hash FROM web_audit WHERE id = ?", (last_id,))
        current = audit_chain.chain_start(tx)
        if not held or held[0][0] != last_hash or current is None or current.seq != start.seq:
            raise ValueError(
                f"the audit log changed while {final} was written; nothing was deleted"
            )
        record = ("archive", instant(now()), last_id, last_hash, lines, final.name)
        mac = audit_chain.record_mac(key, *record, first_at, last_at)
        tx.execute(
            "INSERT INTO web_audit_chain (kind, at, last_id, last_hash, line_count, file,"
            " first_at, last_at, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*record, first_at, last_at, mac),
        )
        tx.execute("DELETE FROM web_audit WHERE id <= ?", (last_id,))
    return Archived(final, lines, first_id, last_id, last_hash)


def _write_rows(
    store: Store, start: audit_chain.ChainStart, before: str, f: IO[bytes], mac: Any
) -> tuple[int, int, int, str, str, str] | None:
    def put(d: dict[str, Any]) -> None:
        b = _line(d)
        mac.update(b)
        f.write(b)

    put(
        {
            "format": FORMAT,
            "created_at": instant(now()),
            "before": before,
            "start_after_id": start.last_id,
            "start_hash": start.last_hash,
        }
    )
    prev, n = start.last_hash, 0
    first: audit_chain.ChainedRow | None = None
    last: audit_chain.ChainedRow | None = None
    for r in audit_chain.rows_after(store, start.last_id):
        if r.event.at >= before:
            break
        if r.hash is None or r.prev_hash != prev or audit_chain.link(prev, r.id, r.event) != r.hash:
            raise ValueError(
                f"the audit chain is broken at line {r.id}: run `standby audit verify`;"
                " nothing was archived"
            )
        put(_row_dict(r))
        prev, n = r.hash, n + 1
        first = first or r
        last = r
    if first is None or last is None:
        return None
    put({"lines": n, "first_id": first.id, "last_id": last.id, "last_hash": prev})
    return first.id, last.id, n, prev, first.event.at, last.event.at


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- verifying ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ArchiveVerdict:
    file: Path
    lines: int = 0
    first_id: int | None = None
    last_id: int | None = None
    last_hash: str | None = None
    recorded: bool | None = None  # the database's record of it matches (None: not asked)
    broken: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None and self.recorded is not False


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as f:
        yield from enumerate(f, 1)


def verify_archive(path: Path, key: bytes, store: Store | None = None) -> ArchiveVerdict:
    """Check the file's signature, then the chain inside it; with `store`, that the
    database recorded this archive (same last line, same hash)."""
    raw = list(_lines(path))
    if len(raw) < 3:
        return ArchiveVerdict(path, broken=f"{path} is not an audit archive (too short)")
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for _, b in raw[:-1]:
        mac.update(b)
    try:
        signed = json.loads(raw[-1][1])["hmac_sha256"]
        header = json.loads(raw[0][1])
        summary = json.loads(raw[-2][1])
    except (ValueError, KeyError, TypeError):
        return ArchiveVerdict(path, broken=f"{path} is not an audit archive (unreadable)")
    if not isinstance(signed, str) or not hmac.compare_digest(signed, mac.hexdigest()):
        return ArchiveVerdict(
            path,
            broken=f"{path}: the signature does not match (the file was changed, or another"
            " key signed it)",
        )
    if not isinstance(header, dict) or not isinstance(summary, dict):
        return ArchiveVerdict(path, broken=f"{path} is not an audit archive (unreadable)")
    if header.get("format") != FORMAT:
        return ArchiveVerdict(path, broken=f"{path}: unknown format {header.get('format')!r}")
    prev, n, first_id, last_id = str(header.get("start_hash")), 0, None, None
    for number, b in raw[1:-2]:
        try:
            d = json.loads(b)
            row_id = int(d["id"])
            e = AuditEvent(
                d["at"],
                d["username"],
                d["role"],
                d["action"],
                d["patient_id"],
                d["page"],
                d["address"],
                d["detail"],
                row_id,
            )
            linked = d["prev_hash"] == prev and audit_chain.link(prev, row_id, e) == d["hash"]
        except (ValueError, KeyError, TypeError, AttributeError):
            linked = False
        if not linked:
            return ArchiveVerdict(
                path,
                n,
                first_id,
                last_id,
                prev,
                broken=f"{path}, line {number}: breaks the chain inside the archive",
            )
        prev, n = d["hash"], n + 1
        first_id = first_id if first_id is not None else row_id
        last_id = row_id
    if (summary.get("lines"), summary.get("last_hash")) != (n, prev):
        return ArchiveVerdict(path, n, first_id, last_id, prev, broken=f"{path}: summary differs")
    recorded = None
    if store is not None:
        with store.read_transaction() as tx:
            rows = tx.query(
                "SELECT last_hash FROM web_audit_chain WHERE kind = 'archive' AND last_id = ?",
                (last_id,),
            )
        recorded = bool(rows) and rows[0][0] == prev
    return ArchiveVerdict(path, n, first_id, last_id, prev, recorded)
