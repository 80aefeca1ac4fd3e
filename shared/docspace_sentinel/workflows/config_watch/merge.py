"""One change reported once: settings-snapshot changes matched to the audit events behind them.

The audit trail says who changed what; a snapshot says what the setting is now (whether IP
restrictions were switched off, not only "updated"). When both see a change, the audit event's
finding carries the snapshot's words and no second finding is sent. Audit events are written
asynchronously, so a change a snapshot sees may reach the audit trail only after this run's
scan: such a change waits (in the snapshot record) until the audit trail has been read past the
time it was seen plus the scan lag, and is reported alone only if no event turned up by then,
or at once when the portal has no audit trail to wait for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ...docspace.models.ip_restrictions import list_digest
from .audit import AuditChange
from .catalogue import Subject
from .snapshot import SnapshotChange

#: Audit subjects whose events explain snapshot changes of another subject.
_FAMILY = {Subject.USER_TYPE: Subject.ADMINS}
#: Clock skew allowed between the portal's event dates and our snapshot times.
SKEW = timedelta(minutes=2)


class Pending(NamedTuple):
    """A snapshot change not reported yet."""

    change: SnapshotChange
    #: When the snapshot before it was taken: the change was made after this (None: unknown).
    since: datetime | None
    #: When the snapshot that saw it was taken.
    seen_at: datetime


class Merged(NamedTuple):
    #: Snapshot changes confirming an audit event, by the event's id.
    confirmed: dict[int, list[SnapshotChange]]
    #: Changes to report on their own now.
    alone: list[Pending]
    #: Changes still waiting for their audit event.
    waiting: list[Pending]


def family(subject: str) -> str:
    return _FAMILY.get(subject, subject)


def audit_keys(change: AuditChange) -> frozenset[str]:
    """What an audit event names (users, webhooks, keys), lower-cased for comparison."""
    return frozenset(t.strip().lower() for t in change.event.target if t.strip())


def explains(audit: AuditChange, pending: Pending) -> bool:
    """The event is of the change's subject (and names its target, if it names any) and was
    made between the snapshot before and the one that saw the change: never a change made
    earlier, nor one made after it was seen (a later change back would take the blame)."""
    if family(audit.watched.subject) != family(pending.change.subject):
        return False
    # An event that names its targets must name this one; one that names none (the owner
    # change, most settings) explains any change of its subject.
    key, named = pending.change.key.lower(), audit_keys(audit)
    if key and named and key not in named:
        return False
    if audit.event.date > pending.seen_at + SKEW:
        return False
    return pending.since is None or audit.event.date >= pending.since - SKEW


def merge(
    audit: Iterable[AuditChange] | None,
    pending: Iterable[Pending],
    *,
    audit_read_until: datetime | None,
    lag: timedelta,
) -> Merged:
    """Pure. ``audit`` is None when the portal has no audit trail (each change is reported
    alone at once); ``audit_read_until`` is how far this run's scan read it."""
    changes = list(audit) if audit is not None else None
    merged = Merged({}, [], [])
    for item in pending:
        match = None
        if changes is not None:
            # The newest event that explains it: the one that left the setting as it is now.
            candidates = [a for a in changes if explains(a, item)]
            match = max(candidates, key=lambda a: (a.event.date, a.event.id), default=None)
        if match is not None:
            merged.confirmed.setdefault(match.event.id, []).append(item.change)
        elif changes is None or (
            audit_read_until is not None and audit_read_until >= item.seen_at + lag
        ):
            merged.alone.append(item)
        else:
            merged.waiting.append(item)
    return merged


def ip_state(after: Any) -> str | None:
    """The digest of an IP-restriction section (``list_digest``), or the one kept when the
    value was compacted to fit the state table (``ipState``); None when it cannot be told."""
    if not isinstance(after, dict):
        return None
    kept = after.get("ipState")
    if isinstance(kept, str):
        return kept
    entries = after.get("entries")
    if not isinstance(entries, list):
        return None
    try:
        return list_digest(bool(after.get("enabled")), ((e[0], e[1]) for e in entries))
    except (IndexError, KeyError, TypeError):
        return None
