"""Which findings are alerts and which are reports, in one place.

Every published finding carries a ``category`` message attribute: ``alert`` (someone should look
at it) or ``report`` (a digest, a reminder, a plan: read when convenient). The alert mailbox's
subscription (template.yaml, ``FindingsEmailSubscription``) filters on ``category = alert`` and
on ``severity`` at or above ``AlertEmailMinSeverity``, so reports never reach it; a subscription
of its own (e.g. a reports mailbox or an SQS queue) can take ``category = report``.

``quiet_period``: how long an unchanged finding of a kind is not re-sent. Most findings are
re-sent once their suppression period (``SUPPRESSION_HOURS``) is over; an unchanged dry-run sync
plan (its fingerprint hashes the plan's content) stays the same plan, and saying it again every
day teaches people to ignore the mailbox.
"""

from __future__ import annotations

from datetime import timedelta

from .finding import Finding

ALERT = "alert"
REPORT = "report"

#: Kinds that are reports, not alerts: never sent to the alert mailbox.
REPORT_KINDS: frozenset[str] = frozenset(
    {
        "login_digest",  # login_audit: the periodic sign-in digest
        "inactive_member_reminder",  # inactive_members: the reminder to a member
        "room_activity_report",  # inactive_members: the managers' monthly report
        "ip_sync_planned",  # ip_allowlist: a dry-run plan, nothing was changed
    }
)

#: Kinds whose unchanged finding (same fingerprint) is not re-sent for this long.
QUIET_PERIODS: dict[str, timedelta] = {
    "ip_sync_planned": timedelta(days=30),
    "ip_sync_refused": timedelta(days=30),
    "ip_sync_removal_held": timedelta(days=30),
}


def category(finding: Finding) -> str:
    """``report`` for the kinds in ``REPORT_KINDS``, else ``alert``."""
    return REPORT if finding.kind in REPORT_KINDS else ALERT


def quiet_period(finding: Finding, default: timedelta) -> timedelta:
    """How long the same finding is not published again: ``default`` (the suppression period)
    or longer for the kinds in ``QUIET_PERIODS``."""
    return max(default, QUIET_PERIODS.get(finding.kind, default))
