"""Findings an operator closed (``python -m local.cli findings close``): who, when, why.

A closed finding's follow-ups (``Finding.follows`` naming it: a restriction lifted, failed or
extended) are not published any more: ``Runner.publish`` skips them and counts them in the run
summary (``followUpsOfClosed``), logging each. The record is kept ``KEEP`` (about as long as
Security Hub keeps a finding), in the state table at ``closed`` / ``<finding id>``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from ..state import keys as state_keys
from ..state.store import StateStore, to_epoch, to_iso

REASONS = ("false-positive", "resolved")
KEEP = timedelta(days=90)
NOTE_MAX = 500


class Closure(NamedTuple):
    finding_id: str
    reason: str
    by: str
    at: str
    note: str = ""


def close(
    store: StateStore, finding_id: str, reason: str, by: str, note: str = "", *, now: datetime
) -> Closure:
    """Record that ``finding_id`` is closed (again: the latest closure wins)."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}, got {reason!r}")
    closure = Closure(finding_id, reason, by, to_iso(now), note[:NOTE_MAX])
    store.put(
        {
            **state_keys.closed(finding_id).item(),
            "reason": reason,
            "by": by,
            "at": closure.at,
            "note": closure.note,
            "expiresAt": to_epoch(now + KEEP),
        }
    )
    return closure


def closure_of(store: StateStore, finding_id: str) -> Closure | None:
    item = store.get(*state_keys.closed(finding_id))
    try:
        expires = int(item.get("expiresAt") or 0) if item is not None else 0
    except (TypeError, ValueError):
        expires = 0  # a malformed record: as if absent (the follow-up is published)
    if item is None or expires < int(store.now().timestamp()):
        return None
    return Closure(
        finding_id,
        str(item.get("reason") or ""),
        str(item.get("by") or ""),
        str(item.get("at") or ""),
        str(item.get("note") or ""),
    )
