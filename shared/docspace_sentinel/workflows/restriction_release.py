"""Lifting temporary restrictions when they expire, and reconciling unfinished ones.

Every few minutes: each restriction past its ``liftAt`` is lifted with ``PUT /people/status/1``,
but only if the user is still disabled and our record says we disabled them; the record is
closed and a "restriction lifted" notice published. A user an administrator re-enabled or
deleted meanwhile closes the record without a call. A lift that fails stays due and is retried
on the next run; a lift that succeeded is never repeated (the record's state says so).

A record left ``restricting`` (the disable call's outcome was unknown: a 5xx or a timeout) is
reconciled against the user's real status: disabled means the restriction holds; not disabled
means it never happened, and the record is marked failed (reported, not retried blindly).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ..client import DocSpaceClient
from ..config import NoSettings
from ..errors import DocSpaceError, NotFound
from ..findings import ActionTaken, Finding, Severity, UserRef
from ..models import STATUS_ACTIVE, STATUS_PENDING, STATUS_TERMINATED
from ..restrictions import (
    ACTIVE,
    CLOSED,
    FAILED,
    LIFTED,
    LIFTING,
    RESTRICTING,
    Restriction,
    RestrictionStore,
)
from ..runner import RunContext, RunOutcome

log = logging.getLogger(__name__)

WORKFLOW = "restriction_release"
LIFT = "enable_user"
#: How long a "restricting" record may sit before it is reconciled (the disabling run may still
#: be in flight before that).
SETTLE = timedelta(minutes=2)
#: Nothing of its own: the run and client settings say all it needs.
Settings = NoSettings


def settle_time(client: DocSpaceClient) -> timedelta:
    """How old a "restricting" record must be before it is reconciled: a disable call may still
    be retrying for its whole budget, so longer than that."""
    settings = client.settings
    return max(SETTLE, timedelta(seconds=settings.retry.total_budget + settings.timeout + 60))


def run(context: RunContext, settings: NoSettings) -> RunOutcome:
    records = RestrictionStore(context.store)
    now = context.store.now()
    findings: list[Finding] = []
    counts = {"lifted": 0, "closed": 0, "failed": 0, "skipped": 0, "reconciled": 0, "pending": 0}
    settle = settle_time(context.client)
    for record in records.all():
        if (
            record.state == RESTRICTING
            and record.restricted_at
            and now - record.restricted_at > settle
        ):
            counts["reconciled"] += 1
            notice = _reconcile(context, records, record)
            if notice is not None:
                findings.append(notice)
            continue
        if not record.due(now):
            counts["pending"] += record.held
            continue
        outcome, notice = lift(context.client, records, record)
        counts[outcome] += 1
        if notice is not None:
            findings.append(notice)
    return RunOutcome(findings=findings, details=counts, advances_cursor=False)


def lift(
    client: DocSpaceClient, records: RestrictionStore, record: Restriction
) -> tuple[str, Finding | None]:
    """Lift one held restriction now (also what the admin CLI's ``lift`` does).

    Returns the outcome (``lifted``, ``closed``, ``failed`` or ``skipped``) and the notice to
    publish, if any.
    """
    user_id = record.user_id
    if record.state == ACTIVE and not records.transition(user_id, ACTIVE, LIFTING):
        return "skipped", None  # another run took it
    if record.state not in (ACTIVE, LIFTING):
        return "skipped", None
    try:
        user = client.user(user_id)
    except NotFound:
        records.transition(user_id, LIFTING, CLOSED, closedReason="the user was deleted")
        return "closed", _notice(
            client, record, "restriction_closed", "the user was deleted meanwhile", "skipped"
        )
    if user.status != STATUS_TERMINATED:
        records.transition(user_id, LIFTING, CLOSED, closedReason="re-enabled by an administrator")
        return "closed", _notice(
            client,
            record,
            "restriction_closed",
            "an administrator re-enabled the user meanwhile",
            "skipped",
        )
    if record.terminated_at and user.terminated and user.terminated != record.terminated_at:
        # Re-enabled and disabled again by someone else meanwhile: that disable is not ours.
        records.transition(
            user_id, LIFTING, CLOSED, closedReason="disabled again by an administrator"
        )
        return "closed", _notice(
            client,
            record,
            "restriction_closed",
            "an administrator disabled the user again meanwhile; left disabled",
            "skipped",
        )
    try:
        updated = client.set_user_status([user_id], STATUS_ACTIVE)
    except DocSpaceError as exc:
        records.note_failure(user_id, LIFTING, str(exc))
        log.warning("could not lift the restriction of %s: %s (retried next run)", user_id, exc)
        return "failed", None
    status = next((u.status for u in updated if u.id.lower() == user_id), None)
    if status not in (STATUS_ACTIVE, STATUS_PENDING):
        records.note_failure(user_id, LIFTING, f"status after the call: {status}")
        return "failed", None
    lifted_at = records.store.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    records.transition(user_id, LIFTING, LIFTED, liftedAt=lifted_at)
    return "lifted", _notice(
        client, record, "restriction_lifted", "the restriction was lifted", "done"
    )


def _reconcile(
    context: RunContext, records: RestrictionStore, record: Restriction
) -> Finding | None:
    try:
        user = context.client.user(record.user_id)
    except NotFound:
        records.transition(record.user_id, RESTRICTING, CLOSED, closedReason="the user was deleted")
        return None
    if user.status == STATUS_TERMINATED:
        records.transition(record.user_id, RESTRICTING, ACTIVE)
        return None
    records.transition(
        record.user_id,
        RESTRICTING,
        FAILED,
        lastError=record.last_error or "the disable did not happen",
    )
    return _notice(
        context.client,
        record,
        "restriction_failed",
        "the disable call did not take effect; the user stays enabled",
        "failed",
    )


def _notice(
    client: DocSpaceClient, record: Restriction, kind: str, what: str, status: str
) -> Finding:
    name = record.user_name or record.user_id
    restricted = (
        record.restricted_at.strftime("%Y-%m-%dT%H:%M:%SZ") if record.restricted_at else "?"
    )
    return Finding(
        workflow=WORKFLOW,
        kind=kind,
        severity=Severity.MEDIUM if kind == "restriction_failed" else Severity.LOW,
        title=f"Restriction of {name}: {what}",
        summary=f"{name} was restricted by {record.source} at {restricted} ({record.reason}); {what}.",
        dedup=(kind, record.user_id, restricted),
        portal_url=client.portal_url,
        user=UserRef(record.user_id, record.user_name),
        evidence={"restriction": record.to_dict()},
        actions=(ActionTaken(LIFT, record.user_id, status, what),),
    )
