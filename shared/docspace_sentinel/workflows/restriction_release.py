"""Lifting temporary restrictions when they expire, and reconciling unfinished ones.

Every few minutes: each restriction past its ``liftAt`` is lifted with ``PUT /people/status/1``,
but only if the user is still disabled and our record says we disabled them; the record is
closed and a "restriction lifted" notice published. A user an administrator re-enabled or
deleted meanwhile closes the record without a call. A lift that fails stays due and is retried
on the next run; a lift that succeeded is never repeated (the record's state says so).

A record left ``restricting`` (the disable call's outcome was unknown: a 5xx or a timeout) is
reconciled against the user's real status: disabled means the restriction holds; not disabled
means it never happened, and the record is marked failed (reported, not retried blindly).

The transitions themselves are ``disabling.lift`` and ``disabling.reconcile``; this module
schedules them and publishes their notices. Each run also checks the real-time guard's webhook
(``webhook_health``): this is the scheduled function that runs most often.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ..docspace.client import DocSpaceClient
from ..docspace.dates import format_utc
from ..enforcement import disabling
from ..enforcement.disabling import Settled, reconcile
from ..findings.finding import ActionTaken, Finding, FollowRef, Severity, UserRef
from ..runtime.runner import RunContext, RunOutcome
from ..state.restrictions import RESTRICTING, Restriction, RestrictionStore
from . import webhook_health
from .webhook_health import WebhookHealthSettings

log = logging.getLogger(__name__)

WORKFLOW = "restriction_release"
LIFT = "enable_user"
#: How long a "restricting" record may sit before it is reconciled (the disabling run may still
#: be in flight before that).
SETTLE = timedelta(minutes=2)
#: The webhook health check's setting; the run and client settings say the rest.
Settings = WebhookHealthSettings


def settle_time(client: DocSpaceClient) -> timedelta:
    """How old a "restricting" record must be before it is reconciled: a disable call may still
    be retrying for its whole budget, so longer than that."""
    settings = client.settings
    return max(SETTLE, timedelta(seconds=settings.retry.total_budget + settings.timeout + 60))


def run(context: RunContext, settings: WebhookHealthSettings) -> RunOutcome:
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
            _, notice = _with_notice(
                context.client, record, reconcile(context.client, records, record)
            )
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
    health = webhook_health.check(context.client, settings, WORKFLOW, context.store)
    findings += health
    details: dict[str, object] = {**counts}
    if settings.receiver_url:
        details["webhook"] = (health[0].evidence.get("problem") if health else None) or "healthy"
    return RunOutcome(findings=findings, details=details, advances_cursor=False)


def lift(
    client: DocSpaceClient, records: RestrictionStore, record: Restriction
) -> tuple[str, Finding | None]:
    """Lift one held restriction now (also what the admin CLI's ``lift`` does).

    Returns the outcome (``lifted``, ``closed``, ``failed`` or ``skipped``) and the notice to
    publish, if any.
    """
    return _with_notice(client, record, disabling.lift(client, records, record))


def _with_notice(
    client: DocSpaceClient, record: Restriction, settled: Settled
) -> tuple[str, Finding | None]:
    if settled.notice is None:
        return settled.outcome, None
    notice = _notice(client.portal_url, record, settled.notice, settled.what, settled.status)
    return settled.outcome, notice


def changed_notice(portal_url: str, record: Restriction, what: str) -> Finding:
    """The follow-up of an administrator's change to a held restriction (``restrictions
    extend`` or ``permanent`` in the CLI): ``what`` says what changed, e.g. "extended until
    2026-12-01 08:00 UTC"."""
    return _notice(portal_url, record, "restriction_extended", what, "done", action="extend")


def _notice(
    portal_url: str,
    record: Restriction,
    kind: str,
    what: str,
    status: str,
    *,
    action: str = LIFT,
) -> Finding:
    name = record.user_name or record.user_id
    restricted = format_utc(record.restricted_at) if record.restricted_at else "?"
    # The finding that caused the restriction: a follow-up names it, and its chat message joins
    # that finding's thread (records from before titles were kept name the reason instead).
    follows = (
        FollowRef(record.finding_id, record.finding_title or f"{record.source}: {record.reason}")
        if record.finding_id
        else None
    )
    return Finding(
        workflow=WORKFLOW,
        kind=kind,
        severity=Severity.MEDIUM if kind == "restriction_failed" else Severity.LOW,
        title=f"{name}: {what}",
        summary=f"{name} was restricted by {record.source} at {restricted} ({record.reason}); {what}.",
        dedup=(
            kind,
            record.user_id,
            restricted,
            *((what,) if kind == "restriction_extended" else ()),
        ),
        portal_url=portal_url,
        user=UserRef(record.user_id, record.user_name),
        evidence={"restriction": record.to_dict()},
        actions=(ActionTaken(action, record.user_id, status, what),),
        follows=follows,
    )
