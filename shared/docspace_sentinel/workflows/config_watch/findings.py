"""The configuration watch's findings: a change from the audit trail (``config_change``), one
only a settings snapshot saw (``config_snapshot_change``), Sentinel's own change
(``config_change_by_sentinel``).

Every portal string (the actor's name, DocSpace's own words for the change in the portal's
language, webhook names) goes into the finding as it came; the renderers neutralise it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ...docspace.dates import format_utc
from ...docspace.models import User
from ...findings.finding import Finding, Severity, UserRef
from ...findings.normalize import shorten
from ...state.journal import OwnAction
from .audit import AuditChange
from .catalogue import Subject
from .snapshot import SnapshotChange

WORKFLOW = "config_watch"
#: Portal text kept in a title or summary, and in the evidence (a hostile portal can write
#: a megabyte into one audit event's text).
TEXT_CHARS = 300
EVIDENCE_CHARS = 2000

#: The ``actionId`` a snapshot change stands for, so ``SEVERITY_OVERRIDES`` tunes both paths.
SNAPSHOT_ACTIONS: dict[tuple[str, str], int] = {
    (Subject.WEBHOOK, "created"): 6055,
    (Subject.WEBHOOK, "changed"): 6056,
    (Subject.WEBHOOK, "enabled"): 6056,
    (Subject.WEBHOOK, "disabled"): 6056,
    (Subject.WEBHOOK, "deleted"): 6057,
    (Subject.ADMINS, "added"): 6010,  # AdministratorOpenedFullAccess: what the API writes
    (Subject.ADMINS, "removed"): 6011,
    (Subject.OWNER, "changed"): 6022,
    (Subject.IP_RESTRICTIONS, "disabled"): 6094,
    (Subject.IP_RESTRICTIONS, "enabled"): 6094,
    (Subject.IP_RESTRICTIONS, "changed"): 6094,
    (Subject.IP_RESTRICTIONS, "removed"): 6094,
    (Subject.TFA, "disabled"): 6036,
    (Subject.PASSWORD, "weakened"): 6004,
    (Subject.PASSWORD, "changed"): 6004,
}


class Person(NamedTuple):
    """A user as read back from ``GET people/{id}`` (``role`` None: could not be read)."""

    id: str
    name: str | None = None
    role: str | None = None

    @property
    def is_admin(self) -> bool | None:
        return None if self.role is None else self.role in (OWNER, ADMIN)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role or "unknown"}


OWNER = "owner"
ADMIN = "DocSpace admin"


def role_of(user: User) -> str:
    """The user's type in DocSpace's own terms, and whether the account is disabled."""
    if user.is_owner:
        role = OWNER
    elif user.is_admin:
        role = ADMIN
    elif user.is_room_admin:
        role = "room admin"
    elif user.is_visitor:
        role = "guest"
    else:
        role = "user"
    return role + (" (disabled)" if user.is_disabled else "")


def _higher(a: Severity, b: Severity) -> Severity:
    return a if a.rank >= b.rank else b


def _name(person: Person) -> str:
    return shorten(person.name or person.id or "an unknown user", 120)


def _actor_label(actor: Person) -> str:
    name = _name(actor)
    return f"{name} ({actor.role})" if actor.role else name


def _when(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def audit_finding(
    change: AuditChange,
    *,
    actor: Person,
    targets: Sequence[Person],
    confirmed: Sequence[SnapshotChange],
    webhook: Mapping[str, Any] | None,
    with_our_key: bool,
    overrides: Mapping[int, Severity],
    portal_url: str,
) -> Finding:
    """A change the audit trail recorded, with what the snapshot says of it now."""
    event, watched = change.event, change.watched
    severity = change.severity
    reasons: list[str] = []

    def raise_to(level: Severity, reason: str) -> None:
        nonlocal severity
        if level.rank > severity.rank:
            severity = level
            reasons.append(reason)

    if watched.actor_must_be_admin and actor.is_admin is False:
        raise_to(Severity.HIGH, "made by someone who is not a DocSpace admin")
    if watched.raises_privilege and any(t.is_admin for t in targets):
        # A type change (4019) does not say which way it went: the role read back does.
        raise_to(Severity.HIGH, "the target user is now a DocSpace admin or the owner")
    if with_our_key:
        raise_to(
            Severity.MEDIUM, "made with Sentinel's own API key, and Sentinel has no record of it"
        )
    for seen in confirmed:
        severity = _higher(severity, snapshot_severity(seen, overrides))
    words = shorten(event.action or watched.name, TEXT_CHARS)
    what = _sentence(confirmed[0].summary) if confirmed else words
    title = f"{what} (by {_name(actor)})"
    if not change.known:
        title = f"Unknown settings action {event.action_id}: {title}"
    summary = [f"DocSpace recorded: {words} (by {_actor_label(actor)})."]
    summary.append(_sentence(watched.meaning.rstrip(".")) + ".")
    summary.extend(f"Now: {seen.summary}." for seen in confirmed[1:] if seen.summary != what)
    if targets:
        summary.append(
            "Target: "
            + "; ".join(f"{t.name or t.id} is now {t.role or 'unknown'}" for t in targets)
            + "."
        )
    if reasons:
        summary.append("Severity raised: " + "; ".join(reasons) + ".")
    evidence: dict[str, Any] = {
        "actionId": event.action_id,
        "actionName": watched.name,
        "action": shorten(event.action, EVIDENCE_CHARS) if event.action else None,
        "subject": watched.subject,
        "eventId": event.id,
        "date": format_utc(event.date),
        "ip": event.ip,
        "actor": actor.to_dict(),
        "target": list(event.target),
    }
    if targets:
        evidence["targetUsers"] = [t.to_dict() for t in targets]
    if confirmed:
        evidence["settingsNow"] = [_change_dict(c) for c in confirmed]
    if webhook:
        evidence["webhook"] = dict(webhook)
    if reasons:
        evidence["severityRaised"] = reasons
    return Finding(
        workflow=WORKFLOW,
        kind="config_change",
        severity=severity,
        title=title,
        summary=" ".join(summary),
        dedup=("event", str(event.id)),
        portal_url=portal_url,
        user=UserRef(actor.id, actor.name) if actor.id else None,
        period_start=event.date,
        period_end=event.date,
        evidence=evidence,
    )


def snapshot_finding(
    pending_change: SnapshotChange,
    *,
    since: datetime | None,
    seen_at: datetime,
    audit_available: bool,
    actor: Person | None,
    overrides: Mapping[int, Severity],
    portal_url: str,
) -> Finding:
    """A change only the settings snapshots saw."""
    change = pending_change
    code = SNAPSHOT_ACTIONS.get((change.subject, change.change))
    severity = snapshot_severity(change, overrides)
    window = f"between {_when(since)} and {_when(seen_at)}" if since else f"by {_when(seen_at)}"
    summary = [f"{_sentence(change.summary)}: seen in the portal's settings {window}."]
    if actor is not None:
        summary.append(f"Created by {_actor_label(actor)}.")
    summary.append(
        "No audit event recorded it within the scan lag."
        if audit_available
        else "The portal has no audit trail (Audit option missing): who made it is not recorded."
    )
    evidence: dict[str, Any] = _change_dict(change) | {
        "seenBetween": [format_utc(since) if since else None, format_utc(seen_at)],
        "auditTrail": audit_available,
    }
    if code is not None:
        evidence["actionId"] = code
    if actor is not None:
        evidence["actor"] = actor.to_dict()
    return Finding(
        workflow=WORKFLOW,
        kind="config_snapshot_change",
        severity=severity,
        title=_sentence(change.summary),
        summary=" ".join(summary),
        # ``since`` tells a repeated change (off, on, off again the same day) from a retry of
        # the run that saw it (which compares the same two snapshots).
        dedup=(
            "snapshot",
            change.subject,
            change.key,
            change.change,
            _digest(change.after),
            format_utc(since) if since else "first",
        ),
        portal_url=portal_url,
        user=UserRef(actor.id, actor.name) if actor is not None and actor.id else None,
        period_start=since,
        period_end=seen_at,
        evidence=evidence,
    )


def snapshot_severity(change: SnapshotChange, overrides: Mapping[int, Severity]) -> Severity:
    """The snapshot change's severity, or the override of the action it stands for."""
    code = SNAPSHOT_ACTIONS.get((change.subject, change.change))
    return overrides.get(code, change.severity) if code is not None else change.severity


def own_finding(change: AuditChange, entry: OwnAction, portal_url: str) -> Finding:
    """One of Sentinel's own writes, as the audit trail shows it: reported as ours, LOW."""
    event = change.event
    by = entry.workflow or "Sentinel"
    return Finding(
        workflow=WORKFLOW,
        kind="config_change_by_sentinel",
        severity=Severity.LOW,
        title=f"Sentinel's own change: {shorten(event.action or change.watched.name, TEXT_CHARS)}",
        summary=(
            f"The audit trail shows {by}'s own {entry.kind.replace('_', ' ')} "
            f"({entry.target}) at {_when(event.date)}, made with Sentinel's API key. "
            "No action needed; listed so every change to the portal's protection is accounted for."
        ),
        dedup=("own", str(event.id)),
        portal_url=portal_url,
        period_start=event.date,
        period_end=event.date,
        evidence={
            "actionId": event.action_id,
            "action": shorten(event.action, EVIDENCE_CHARS) if event.action else None,
            "eventId": event.id,
            "date": format_utc(event.date),
            "journal": {"kind": entry.kind, "target": entry.target, "at": format_utc(entry.at)},
        },
    )


def _sentence(text: str) -> str:
    text = shorten(text, TEXT_CHARS)
    return text[:1].upper() + text[1:]


def _change_dict(change: SnapshotChange) -> dict[str, Any]:
    return {
        "subject": change.subject,
        "key": change.key,
        "change": change.change,
        "summary": change.summary,
        "before": change.before,
        "after": change.after,
    }


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
