"""Configuration and privilege watch: who changed who may do what, and how the portal is
protected.

Two paths, one report per change:

* **The audit trail** (``audit``, ``catalogue``): the ``MessageAction`` codes that change
  privileges or protection (admins, owner, user types, API keys, webhooks, IP restrictions, 2FA,
  password, SSO, …), each with a default severity (``SEVERITY_OVERRIDES`` tunes it per
  ``actionId``); unknown codes of the settings product are reported at low severity. The actor is
  the event's ``userId``; the target user's role is read back from ``GET people/{id}``.
* **Settings snapshots** (``snapshot``): each scheduled run reads what the key may read of the
  portal's protection and compares it with the last run's. Without the Audit option this is the
  only path; with it, a snapshot change waits for its audit event (``merge``) and is reported
  with it, once.

Our own writes (a disable, a log-out, the IP allowlist's portal sync) are recognised from the
journal (``ownership``) and reported as ours, never as an intruder's change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ...docspace.errors import AuditUnavailable, DocSpaceError, NotFound
from ...findings.finding import Finding
from ...runtime.runner import RunContext, RunOutcome
from ...state import journal
from ...state.journal import OwnAction, OwnActions
from .audit import AuditChange, Classified, classify
from .catalogue import Subject
from .findings import (
    WORKFLOW,
    Person,
    audit_finding,
    own_finding,
    role_of,
    snapshot_finding,
)
from .merge import Merged, Pending, ip_state, merge
from .ownership import Ownership
from .settings import ConfigWatchSettings
from .side_effects import SideEffects
from .snapshot import Snapshot, SnapshotChange, carry_forward, diff, read_snapshot
from .state import SnapshotStore, comparable

__all__ = ["WORKFLOW", "ConfigWatchSettings", "Settings", "run"]

log = logging.getLogger(__name__)

Settings = ConfigWatchSettings


class People:
    """``GET people/{id}`` once per user per run, at most ``LOOKUPS`` in all (a flood of
    events naming many users must not turn into as many requests); a user who cannot be read,
    or is past the budget, keeps no role."""

    LOOKUPS = 200

    def __init__(self, context: RunContext) -> None:
        self.client = context.client
        self._seen: dict[str, Person] = {}

    def get(self, user_id: str, name: str | None = None) -> Person:
        key = user_id.lower()
        if key not in self._seen and len(self._seen) >= self.LOOKUPS:
            return Person(user_id, name, None)
        if key not in self._seen:
            try:
                user = self.client.user(user_id)
                self._seen[key] = Person(user.id, user.label, role_of(user))
            except NotFound:
                self._seen[key] = Person(user_id, name, "deleted")
            except (DocSpaceError, ValueError) as exc:
                # A forbidden or unreadable profile, or an id the client refuses to send.
                log.info("could not read user %s back: %s", user_id[:64], exc)
                self._seen[key] = Person(user_id, name, None)
        person = self._seen[key]
        return person if person.name or not name else person._replace(name=name)


class Sorted(NamedTuple):
    """The audit changes of a run, sorted by who made them."""

    #: Someone's changes: reported, and matched to the snapshot changes they explain.
    foreign: list[AuditChange]
    #: Our own writes, with the journal entry that shows it.
    own: list[tuple[AuditChange, OwnAction]]
    #: Side effects of something else (a password change's cookie reset): reported only when
    #: a settings change seen by the snapshot turns out to be theirs.
    quiet: list[AuditChange]
    #: Foreign changes made with our own API key (Sentinel has no record of them).
    with_our_key: frozenset[int]
    #: Events read after the window (``_with_tail``): reported only when they explain a change
    #: the snapshot saw; the next run's scan reports the others.
    tail: frozenset[int] = frozenset()


def sort_changes(
    context: RunContext,
    settings: ConfigWatchSettings,
    classified: Classified,
    side_effects: SideEffects,
    key_user_id: str,
    tail: frozenset[int] = frozenset(),
) -> Sorted:
    plan, tolerance = context.plan, settings.own_action_tolerance
    # Up to now: the changes may include some made after the window (``_with_tail``).
    until = max(plan.end, context.store.now()) + tolerance
    noted = OwnActions(context.store).between(plan.start - tolerance, until)
    ownership = Ownership(key_user_id, noted, tolerance)
    owned = ownership.explained(change.event for change in classified.changes)
    foreign: list[AuditChange] = []
    own: list[tuple[AuditChange, OwnAction]] = []
    quiet: list[AuditChange] = []
    for change in classified.changes:
        entry = owned.get(change.event.id)
        if entry is not None:
            own.append((change, entry))
        elif side_effects.explained(change.event):
            quiet.append(change)
        else:
            foreign.append(change)
    ours = frozenset(c.event.id for c in foreign if ownership.by_key_user(c.event))
    return Sorted(foreign, own, quiet, ours, tail)


def run(context: RunContext, settings: ConfigWatchSettings) -> RunOutcome:
    url = context.client.portal_url
    key_user = context.client.me()
    details: dict[str, Any] = {"keyUser": key_user.id}
    side_effects = SideEffects()
    classified: Classified | None = None
    try:
        events = side_effects.watch(context.scan.audit_events())
        classified = classify(events, settings.severity_overrides)
    except AuditUnavailable as exc:
        # Not a finding: without the option every run would say it again. The run summary
        # and the log say it; the snapshots below still watch the settings.
        details["auditUnavailable"] = exc.message
        log.warning("audit trail unavailable: %s", exc.message)
    # Snapshots belong to the schedule: an on-demand window re-reads the audit trail only.
    snapshots = (
        SnapshotStore(context.store) if settings.snapshots and context.plan.moves_cursor else None
    )
    record = snapshots.load() if snapshots is not None else None
    current: Snapshot | None = None
    fresh: list[SnapshotChange] = []
    tail: frozenset[int] = frozenset()
    read_at = context.now
    if record is not None:
        read_at = context.store.now()  # the changes were made before this, however long the scan
        current = read_snapshot(context.client)
        fresh = diff(record.snapshot, comparable(record.snapshot, current))
        if classified is not None and (fresh or record.pending):
            classified, tail = _with_tail(context, settings, classified, side_effects, read_at)
    sorted_ = (
        sort_changes(context, settings, classified, side_effects, key_user.id, tail)
        if classified is not None
        else None
    )
    merged = Merged({}, [], [])
    if record is not None and current is not None:
        pending = [*record.pending, *(Pending(c, record.taken_at, read_at) for c in fresh)]
        merged = _merge(context, sorted_, pending)
        details |= {
            "snapshotDigest": current.digest(),
            "snapshotUnreadable": sorted(current.unreadable),
            "snapshotChanges": len(fresh),
            "waitingForAudit": len(merged.waiting),
        }
    people = People(context)
    audit_findings = list(_audit_findings(sorted_, merged, current, people, settings, url))
    if classified is not None and sorted_ is not None:
        details |= {
            "changes": sum(1 for c in sorted_.foreign if _reported(c, sorted_, merged)),
            "ownChanges": sum(1 for c, _ in sorted_.own if _reported(c, sorted_, merged)),
            "sideEffects": sum(1 for c in sorted_.quiet if c.event.id not in tail),
            "unknownActions": classified.unknown,
        }
    findings = [
        *audit_findings,
        *_snapshot_findings(merged, sorted_ is not None, settings, people, url),
    ]
    # Published before the snapshot is saved: a run that fails in between compares the same
    # snapshots again, and what was already sent is suppressed by its fingerprint.
    for finding in findings:
        context.publish(finding)
    if snapshots is not None and record is not None and current is not None:
        kept = carry_forward(record.snapshot, current)
        snapshots.save(kept, read_at, merged.waiting, record.version)
    return RunOutcome(
        events_scanned=classified.scanned if classified is not None else 0,
        events_skipped=classified.malformed if classified is not None else 0,
        details=details,
        # Without the audit trail nothing was read: the cursor stays for when it comes back.
        advances_cursor=classified is not None,
    )


#: The audit trail after the window is read only when it is this short: in a catch-up (the
#: window days behind) the changes simply wait for the scan to reach them.
TAIL_MAX = timedelta(minutes=30)


def _with_tail(
    context: RunContext,
    settings: ConfigWatchSettings,
    classified: Classified,
    side_effects: SideEffects,
    read_at: datetime,
) -> tuple[Classified, frozenset[int]]:
    """``classified`` with the changes made after the scanned window, up to the settings read,
    and their event ids. The scan ends at the scheduled time and the settings are read after it:
    a change made in between is matched to its own event, not to an earlier one of its subject.
    Those events are read again by the next run's scan (and reported then, or suppressed)."""
    start = context.plan.end
    if read_at <= start or read_at - start > TAIL_MAX or context.scan.stopped_early:
        return classified, frozenset()
    try:
        events = side_effects.watch(context.client.audit_events(start, read_at))
        tail = classify(events, settings.severity_overrides)
    except DocSpaceError as exc:
        # The changes just wait for the next run's scan: nothing is lost.
        log.warning("could not read the audit trail after the window: %s", exc)
        return classified, frozenset()
    seen = {change.event.id for change in classified.changes}
    added = [change for change in tail.changes if change.event.id not in seen]
    return classified._replace(changes=[*classified.changes, *added]), frozenset(
        change.event.id for change in added
    )


def _reported(change: AuditChange, sorted_: Sorted, merged: Merged) -> bool:
    """Read after the window, a change is reported now only when it explains a settings change
    (with the snapshot's words); else the next run's scan reports it."""
    return change.event.id not in sorted_.tail or change.event.id in merged.confirmed


def _audit_findings(
    sorted_: Sorted | None,
    merged: Merged,
    current: Snapshot | None,
    people: People,
    settings: ConfigWatchSettings,
    url: str,
) -> Iterator[Finding]:
    if sorted_ is None:
        return
    for change, entry in sorted_.own:
        if _reported(change, sorted_, merged):
            yield own_finding(change, entry, url)
    # A seeming side effect that explains a settings change the snapshot saw is reported too:
    # an intruder cannot hide a session change behind a password change of their own.
    confirmed_quiet = [c for c in sorted_.quiet if c.event.id in merged.confirmed]
    for change in [*sorted_.foreign, *confirmed_quiet]:
        if not _reported(change, sorted_, merged):
            continue
        event = change.event
        yield audit_finding(
            change,
            actor=people.get(event.user_id, event.user)
            if event.user_id
            else Person("", event.user),
            targets=_targets(change, people),
            confirmed=merged.confirmed.get(event.id, []),
            webhook=_webhook(change, current),
            with_our_key=event.id in sorted_.with_our_key,
            overrides=settings.severity_overrides,
            portal_url=url,
        )


def _snapshot_findings(
    merged: Merged, audit: bool, settings: ConfigWatchSettings, people: People, url: str
) -> Iterator[Finding]:
    for item in merged.alone:
        yield snapshot_finding(
            item.change,
            since=item.since,
            seen_at=item.seen_at,
            audit_available=audit,
            actor=people.get(item.change.actor) if item.change.actor else None,
            overrides=settings.severity_overrides,
            portal_url=url,
        )


def _merge(context: RunContext, sorted_: Sorted | None, pending: list[Pending]) -> Merged:
    """Someone's events explain the snapshot changes first. What is left and one of our own IP
    syncs wrote (the list it noted matches the list now) is dropped, never reported as an
    intrusion; any other change stays, even in the minutes of one of our writes."""
    read_until = context.scan.completed_until if sorted_ is not None else None
    lag = context.settings.lag
    if sorted_ is None:
        return merge(None, pending, audit_read_until=None, lag=lag)
    # Someone's own events first; a side effect (a password change's cookie reset) only for a
    # change no such event explains, so a password change never takes another's blame.
    first = merge(sorted_.foreign, pending, audit_read_until=read_until, lag=lag)
    second = merge(
        sorted_.quiet, [*first.alone, *first.waiting], audit_read_until=read_until, lag=lag
    )
    first = Merged({**first.confirmed, **second.confirmed}, second.alone, second.waiting)
    written = {entry.detail for _, entry in sorted_.own if entry.kind == journal.IP_SYNC}

    def ours(item: Pending) -> bool:
        change = item.change
        return change.subject == Subject.IP_RESTRICTIONS and ip_state(change.after) in written

    return Merged(
        first.confirmed,
        [p for p in first.alone if not ours(p)],
        [p for p in first.waiting if not ours(p)],
    )


def _targets(change: AuditChange, people: People) -> Sequence[Person]:
    """The target users' roles as they are now, for the changes that raise privileges."""
    if not change.watched.raises_privilege or change.watched.target not in ("user", "users"):
        return []
    return [people.get(t) for t in change.event.target[:10] if t.strip()]


def _webhook(change: AuditChange, current: Snapshot | None) -> dict[str, Any] | None:
    """The webhook an event names, as the snapshot shows it now (name, host, creator)."""
    if change.watched.target != "webhook" or current is None or not change.event.target:
        return None
    hooks = current.sections.get("webhook")
    found = hooks.get(change.event.target[0]) if isinstance(hooks, dict) else None
    return dict(found) if isinstance(found, dict) else None
