"""Inactive members' findings: a reminder published on SNS (no SES sender), a room's activity
report, an address SES refused, and a monitored room that no longer exists."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from ...docspace.models import Room, User
from ...findings.errors import RecipientRefused
from ...findings.finding import Finding, RoomRef, Severity, UserRef
from .rules import RoomRoster

log = logging.getLogger(__name__)

WORKFLOW = "inactive_members"


def reminder_finding(
    user: User,
    due: list[tuple[RoomRoster, int]],
    text: str,
    portal_url: str,
    start: datetime,
    end: datetime,
) -> Finding:
    """A reminder for ``user`` of the ``due`` rooms (with their counts), when it is not mailed."""
    return Finding(
        workflow=WORKFLOW,
        kind="inactive_member_reminder",
        severity=Severity.LOW,
        title=f"Reminder for {user.label}: {len(due)} quiet room(s)",
        summary=text,
        dedup=(
            "reminder",
            user.id.lower(),
            *sorted(str(r.room.id) for r, _ in due),
            end.strftime("%Y-%m-%d"),
        ),
        portal_url=portal_url,
        user=UserRef(user.id.lower(), user.label, user.email),
        period_start=start,
        period_end=end,
        evidence={
            "rooms": [{"id": r.room.id, "title": r.room.title, "activity": c} for r, c in due]
        },
    )


def report_finding(
    roster: RoomRoster,
    activity: Counter[tuple[str, int]],
    inactive: set[str],
    active: list[tuple[str, int]],
    reminded: list[str],
    refused: list[str],
    summary: str,
    portal_url: str,
    start: datetime,
    end: datetime,
) -> Finding:
    """A room's activity report: its inactive members (reminded now, or refused), its active
    ones and its managers."""
    room = roster.room
    return Finding(
        workflow=WORKFLOW,
        kind="room_activity_report",
        severity=Severity.LOW,
        title=f"Room activity report: {room.title} ({len(inactive)} inactive)",
        summary=summary,
        dedup=("report", str(room.id), end.strftime("%Y-%m-%d")),
        portal_url=portal_url,
        room=RoomRef(room.id, room.title),
        period_start=start,
        period_end=end,
        evidence={
            "inactive": [
                {
                    "userId": u,
                    "name": roster.members[u].label,
                    "email": roster.members[u].email,
                    "activity": activity[(u, room.id)],
                    "remindedNow": u in reminded,
                    **({"reminderRefused": True} if u in refused else {}),
                }
                for u in sorted(inactive)
            ],
            "active": [
                {"userId": u, "name": roster.members[u].label, "activity": c} for u, c in active
            ],
            "managers": sorted(u.label for u in roster.managers.values()),
        },
    )


def refused_finding(
    refused: RecipientRefused,
    rooms: list[Room],
    user: User | None,
    portal_url: str,
    start: datetime,
    end: datetime,
) -> Finding:
    """The finding for an address SES refused: who (member or report recipient), which rooms."""
    what = "Reminder" if user is not None else "Room report"
    who = user.label if user is not None else refused.recipient
    room_names = ", ".join(r.title or f"room {r.id}" for r in rooms)
    log.warning("SES refused %s for %s (%s): skipped", what.lower(), who, refused.code)
    return Finding(
        workflow=WORKFLOW,
        kind="mail_recipient_refused",
        severity=Severity.MEDIUM,
        title=f"{what} to {who} not delivered: SES refused the address",
        summary=(
            f"SES refused {refused.recipient} ({refused.code}) for the {what.lower()} about "
            f"{room_names}; it was skipped and will be tried again after the cooldown. Check "
            "the address in DocSpace, the SES sandbox and the suppression list."
        ),
        dedup=(
            "refused",
            what.lower(),
            (user.id.lower() if user is not None else refused.recipient.lower()),
            *sorted(str(r.id) for r in rooms),
            end.strftime("%Y-%m-%d"),
        ),
        portal_url=portal_url,
        user=UserRef(user.id.lower(), user.label, user.email) if user is not None else None,
        room=RoomRef(rooms[0].id, rooms[0].title) if len(rooms) == 1 else None,
        period_start=start,
        period_end=end,
        evidence={
            "recipient": refused.recipient,
            "sesError": refused.code,
            "sesMessage": refused.detail,
            "rooms": [{"id": r.id, "title": r.title} for r in rooms],
        },
    )


def missing_room_finding(room_id: int, portal_url: str) -> Finding:
    return Finding(
        workflow=WORKFLOW,
        kind="room_missing",
        severity=Severity.MEDIUM,
        title=f"Monitored room {room_id} no longer exists",
        summary=f"Room {room_id} is in ROOM_IDS but the portal answers 404: remove it from the setting.",
        dedup=("missing", str(room_id)),
        portal_url=portal_url,
        room=RoomRef(room_id),
    )
