"""Inactive member reminders and the room managers' report.

For each monitored room (``ROOM_IDS``, or every room of ``ROOM_TYPES``), the members from
``/files/rooms/{id}/share`` (users; groups expanded when ``EXPAND_GROUPS``; links never; disabled
and pending users, the room owner when ``SKIP_OWNER``, and the API key's own user skipped) are
measured against the audit trail of the last ``PERIOD_DAYS``: events whose code is in
``ACTIVITY_ACTIONS``, attributed to rooms exactly as the VDR monitor does (``docspace/rooms.py``).
Members below ``MIN_ACTIVITY`` in a room get one reminder listing their quiet rooms — by SES when
``REMINDER_SENDER`` is set, otherwise as a finding on SNS — at most once per room every
``REMINDER_COOLDOWN_DAYS``. Each room's managers get a report of who was reminded and who was
active (by SES when configured, to them and ``MANAGER_EMAIL``), and the report is always
published on SNS.

An address SES refuses (``RecipientRefused``: malformed, not verified in the sandbox, suppressed)
is reported as a finding naming the room and the member or manager, and skipped: its claim is
confirmed with ``outcome=refused`` like a sent mail, so neither a retry of the run nor the next
run within the cooldown tries it again, and the other reminders and reports still go out. Only
account-level SES failures fail the run.

Room titles and names are portal text: in mail they stay inside the line or table cell they
belong to (``untrusted``).

The package: ``settings`` (the environment), ``rosters`` (the rooms and members, from the
portal), ``rules`` (the pure quiet-member rule), ``reminders`` (reminders and room reports, by
SES or SNS, once each), ``findings`` (what is published); ``run`` here wires them.
"""

from __future__ import annotations

from ...docspace.rooms import RoomResolver
from ...findings.mail import Mailer
from ...runtime.errors import RunOutOfTime
from ...runtime.runner import RunContext, RunOutcome
from .findings import WORKFLOW, missing_room_finding
from .reminders import room_report, send_reminders
from .rosters import rosters
from .rules import count_activity, quiet_members
from .settings import InactiveSettings

__all__ = ["WORKFLOW", "InactiveSettings", "Settings", "rosters", "run"]

Settings = InactiveSettings


def run(context: RunContext, settings: InactiveSettings) -> RunOutcome:
    rooms, missing = rosters(context, settings)
    start, end = context.plan.start, context.plan.end  # the window ``scan_window`` declared
    resolver = RoomResolver(context.client, context.client.rooms())
    activity = count_activity(
        context.scan.audit_events(),
        resolver.room_id,
        {r.room.id for r in rooms},
        settings.activity_actions,
    )
    if context.scan.stopped_early:
        # Judging on a partial read would remind people who were active: stop instead.
        raise RunOutOfTime(
            f"the audit trail of {settings.period.days} days could not be read before the time "
            f"limit (read up to {context.scan.completed_until}); no reminders were sent"
        )
    quiet = quiet_members(rooms, activity.counts, settings.min_activity)
    mailer = Mailer(settings.sender) if settings.sender else None
    url = context.client.portal_url
    reminded, refused = send_reminders(context, settings, mailer, quiet, start, end)
    findings = [missing_room_finding(room_id, url) for room_id in missing]
    findings += [
        room_report(
            context, settings, mailer, r, activity.counts, quiet, reminded, refused, start, end
        )
        for r in rooms
    ]
    return RunOutcome(
        findings=findings,
        events_scanned=activity.scanned,
        events_skipped=activity.skipped,  # the runner adds the scan's malformed rows
        details={
            "rooms": len(rooms),
            "missingRooms": missing,
            "membersReminded": sum(len(v) for v in reminded.values()),
            "recipientsRefused": len({u for v in refused.values() for u in v}),
            "emailsSent": mailer.sent if mailer else 0,
        },
        advances_cursor=False,
    )
