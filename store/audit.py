"""The audit log's values and its hash chain (the store's `audit` table; migrations/0004_audit.sql).

Row `seq` (1, 2, 3, … without gaps) holds `hash = sha256(prev_hash + canonical JSON of [seq, t, actor, action,
target, detail, remote])`, where `prev_hash` is row seq-1's hash (64 zeros for seq 1). Editing a row changes its hash;
deleting one leaves a gap in seq; recomputing an edited row's hash breaks the next row's `prev_hash`. Only deleting
the newest rows leaves a shorter chain that is intact: compare the head (`AuditCheck.head_seq`, `head_hash`) with
one recorded outside the database to catch that (`check_chain(rows, expect_head=…)`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64  # prev_hash of the first row
AUDIT_COLUMNS = ("seq", "t", "actor", "action", "target", "detail", "remote", "prev_hash", "hash")


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text (what is hashed). Values JSON
    lacks become their str(); NaN and infinities are a ValueError."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


def entry_hash(prev_hash: str, seq: int, t: float, actor: str, action: str, target: str, detail: dict,
               remote: str | None) -> str:
    """sha256 hex of prev_hash + canonical JSON of [seq, t, actor, action, target, detail, remote]."""
    payload = prev_hash + canonical([seq, t, actor, action, target, detail, remote])
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log: who (a token's name, never the token), what, which target, when, from where."""

    seq: int
    t: float
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    remote: str | None
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in AUDIT_COLUMNS}

    @classmethod
    def from_row(cls, row: tuple) -> AuditEntry:
        """A stored row (AUDIT_COLUMNS order, detail as JSON text); ValueError when detail is not a JSON object."""
        seq, t, actor, action, target, detail, remote, prev_hash, hash_ = row
        parsed = json.loads(detail)
        if not isinstance(parsed, dict):
            raise ValueError("detail is not a JSON object")
        return cls(int(seq), float(t), actor, action, target, parsed, remote, prev_hash, hash_)

    def expected_hash(self) -> str:
        return entry_hash(self.prev_hash, self.seq, self.t, self.actor, self.action, self.target, self.detail,
                          self.remote)


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry] = field(default_factory=list)
    next_cursor: str | None = None  # None on the last page


@dataclass(frozen=True)
class AuditCheck:
    """What `audit_verify` found: `ok` and the rows checked, else the first bad seq and why. `head_seq`/`head_hash`:
    the newest row (0 and GENESIS for an empty log), to record outside the database and check later; when not ok,
    the last row that checked out."""

    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS


def new_entry(last: tuple[int, str] | None, t: float, actor: str, action: str, target: str, detail: dict,
              remote: str | None) -> AuditEntry:
    """The entry that follows `last` ((seq, hash) of the newest row; None for an empty log)."""
    if not math.isfinite(t):
        raise ValueError("t must be a finite epoch time")
    seq, prev_hash = (int(last[0]) + 1, last[1]) if last else (1, GENESIS)
    detail = json.loads(canonical(detail))  # as it will read back: what verify will hash
    return AuditEntry(seq, t, actor, action, target, detail, remote, prev_hash,
                      entry_hash(prev_hash, seq, t, actor, action, target, detail, remote))


def parse_head(text: str) -> tuple[int, str]:
    """`SEQ:HASH` (as `matakota audit verify` prints a head) → (seq, hash); ValueError otherwise."""
    seq, _, hash_ = text.partition(":")
    if not (seq.isascii() and seq.isdigit() and len(hash_) == 64 and all(c in "0123456789abcdef" for c in hash_)):
        raise ValueError(f"a head is SEQ:HASH (a number, a colon, 64 lowercase hex digits), got {text!r}")
    return int(seq), hash_


def _rows(first: int, last: int) -> str:
    return f"row {first} is" if first == last else f"rows {first}..{last} are"


def check_chain(rows: Iterable[tuple], expect_head: tuple[int, str] | None = None) -> AuditCheck:
    """Walk stored rows in seq order (any iterable: the store reads them in chunks) and report the first break.
    `expect_head`: (seq, hash) of a head recorded earlier; that row must still be there, with that hash."""
    count, last = 0, None

    def bad(seq: int, reason: str) -> AuditCheck:
        return AuditCheck(False, count, seq, reason, *(last or (0, GENESIS)))

    for row in rows:
        seq = int(row[0])
        expected_seq, expected_prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        if seq != expected_seq:
            if seq < expected_seq:  # ORDER BY seq never gives this; a store that does is not one we wrote
                return bad(seq, f"row {seq} is out of order (after {expected_seq - 1})")
            return bad(expected_seq, f"{_rows(expected_seq, seq - 1)} missing (deleted): seq {seq} follows "
                                     f"{last[0] if last else 'nothing'}")
        try:
            entry = AuditEntry.from_row(row)
        except (ValueError, TypeError) as error:
            return bad(seq, f"row {seq} was changed: {error}")
        if entry.expected_hash() != entry.hash:
            return bad(seq, f"row {seq} was changed: its content does not match its hash")
        if entry.prev_hash != expected_prev:
            if seq == 1:
                return bad(1, "row 1's prev_hash is not the genesis hash (64 zeros): the first row was replaced")
            return bad(seq, f"row {seq}'s prev_hash is not row {seq - 1}'s hash: row {seq - 1} was rewritten with "
                            f"its hash recomputed, or row {seq} with another prev_hash")
        if expect_head is not None and seq == expect_head[0] and entry.hash != expect_head[1]:
            return bad(seq, f"row {seq} is not the recorded head: its hash is {entry.hash}, {expect_head[1]} was "
                            "recorded (the log was rewritten from here or before)")
        count, last = count + 1, (seq, entry.hash)
    if expect_head is not None:
        head_seq = last[0] if last else 0
        if head_seq < expect_head[0]:
            return bad(head_seq + 1, f"{_rows(head_seq + 1, expect_head[0])} missing: the recorded head is seq "
                                     f"{expect_head[0]} but the log ends at {head_seq} (its newest rows were deleted)")
        if expect_head[0] == 0 and expect_head[1] != GENESIS:
            return bad(0, "a head of seq 0 is the genesis hash (64 zeros)")
    return AuditCheck(True, count, None, "", *(last or (0, GENESIS)))
