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
from collections.abc import Iterable, Sequence
from typing import Any

from ...docspace.errors import AuditUnavailable, DocSpaceError, NotFound
from ...findings.finding import Finding
from ...runtime.runner import RunContext, RunOutcome
from ...state.journal import OwnActions
from .audit import AuditChange, Classified, classify
from .findings import (
    WORKFLOW,
    Person,
    audit_finding,
    audit_unavailable_finding,
    own_finding,
    role_of,
    snapshot_finding,
)
from .merge import Merged, Pending, merge
from .ownership import Ownership
from .settings import ConfigWatchSettings
from .snapshot import Snapshot, diff, read_snapshot
from .state import SnapshotStore

__all__ = ["WORKFLOW", "ConfigWatchSettings", "Settings", "run"]

log = logging.getLogger(__name__)

Settings = ConfigWatchSettings


class People:
    """``GET people/{id}`` once per user per run; a user who cannot be read keeps no role."""

    def __init__(self, context: RunContext) -> None:
        self.client = context.client
        self._seen: dict[str, Person] = {}

    def get(self, user_id: str, name: str | None = None) -> Person:
        key = user_id.lower()
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


def run(context: RunContext, settings: ConfigWatchSettings) -> RunOutcome:
    url = context.client.portal_url
    key_user = context.client.me()
    details: dict[str, Any] = {}
    classified: Classified | None = None
    try:
        classified = classify(context.scan.audit_events(), settings.severity_overrides)
    except AuditUnavailable as exc:
        details["auditUnavailable"] = exc.message
        log.warning("audit trail unavailable: %s", exc.message)
    findings: list[Finding] = []
    if classified is None:
        day = context.plan.end.date().isoformat()
        findings.append(audit_unavailable_finding(_reason(details), settings.snapshots, url, day))
    people = People(context)
    # Snapshots belong to the schedule: an on-demand window re-reads the audit trail only.
    watch = settings.snapshots and context.plan.moves_cursor
    snapshots = SnapshotStore(context.store) if watch else None
    record = snapshots.load() if snapshots else None
    current: Snapshot | None = None
    merged = Merged({}, [], [])
    if snapshots is not None and record is not None:
        current = read_snapshot(context.client)
        fresh = diff(record.snapshot, current)
        pending = [*record.pending, *(Pending(c, record.taken_at, context.now) for c in fresh)]
        merged = merge(
            classified.changes if classified else None,
            pending,
            audit_read_until=context.scan.completed_until if classified else None,
            lag=context.settings.lag,
        )
        details |= {
            "snapshotDigest": current.digest(),
            "snapshotUnreadable": sorted(current.unreadable),
            "snapshotChanges": len(fresh),
            "waitingForAudit": len(merged.waiting),
        }
    if classified is not None:
        findings += _audit_findings(
            context, settings, classified, merged, current, people, key_user.id
        )
        details |= {"changes": len(classified.changes), "unknownActions": classified.unknown}
    for item in merged.alone:
        actor = people.get(item.change.actor) if item.change.actor else None
        findings.append(
            snapshot_finding(
                item.change,
                since=item.since,
                seen_at=item.seen_at,
                audit_available=classified is not None,
                actor=actor,
                overrides=settings.severity_overrides,
                portal_url=url,
            )
        )
    # Published before the snapshot is saved: a run that fails in between compares the same
    # snapshots again, and what was already sent is suppressed by its fingerprint.
    for finding in findings:
        context.publish(finding)
    if snapshots is not None and record is not None and current is not None:
        snapshots.save(current, context.now, merged.waiting, record.version)
    details["keyUser"] = key_user.id
    return RunOutcome(
        events_scanned=classified.scanned if classified else 0,
        events_skipped=(classified.malformed if classified else 0),
        details=details,
        # Without the audit trail nothing was read: the cursor stays for when it comes back.
        advances_cursor=classified is not None,
    )


def _reason(details: dict[str, Any]) -> str:
    return str(details.get("auditUnavailable") or "the audit trail is unavailable").rstrip(".")


def _audit_findings(
    context: RunContext,
    settings: ConfigWatchSettings,
    classified: Classified,
    merged: Merged,
    current: Snapshot | None,
    people: People,
    key_user_id: str,
) -> Iterable[Finding]:
    plan = context.plan
    tolerance = settings.own_action_tolerance
    journal = OwnActions(context.store).between(plan.start - tolerance, plan.end + tolerance)
    ownership = Ownership(key_user_id, journal, tolerance)
    url = context.client.portal_url
    for change in classified.changes:
        event = change.event
        entry = ownership.explain(event)
        if entry is not None:
            yield own_finding(change, entry, url)
            continue
        actor = people.get(event.user_id, event.user) if event.user_id else Person("", event.user)
        yield audit_finding(
            change,
            actor=actor,
            targets=_targets(change, people),
            confirmed=merged.confirmed.get(event.id, []),
            webhook=_webhook(change, current),
            with_our_key=ownership.by_key_user(event),
            portal_url=url,
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
