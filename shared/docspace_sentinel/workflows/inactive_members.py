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
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..docspace.errors import NotFound
from ..docspace.message_actions import FILE_CHANGE, MessageAction
from ..docspace.models import STATUS_ACTIVE, AuditEvent, Room, User
from ..docspace.rooms import RoomResolver
from ..findings.errors import RecipientRefused
from ..findings.finding import Finding, RoomRef, Severity, UserRef
from ..findings.mail import Email, Mailer, html_page
from ..findings.untrusted import one_line, table_cell
from ..runtime.env import Env, env_bool, env_ids, env_int, env_list, env_str
from ..runtime.errors import ConfigError, RunOutOfTime
from ..runtime.invocation import Invocation
from ..runtime.runner import RunContext, RunOutcome
from ..state import keys as state_keys
from ..state.keys import Key

log = logging.getLogger(__name__)

WORKFLOW = "inactive_members"
A = MessageAction

#: What counts as taking part in a room: opening, reading, downloading, editing, uploading,
#: commenting (version comments), filling and submitting forms, and every file change.
DEFAULT_ACTIVITY: frozenset[int] = FILE_CHANGE | {
    A.FILE_OPENED_FOR_CHANGE,
    A.FILE_READED,
    A.FILE_DOWNLOADED,
    A.FILE_DOWNLOADED_AS,
    A.FOLDER_DOWNLOADED,
    A.FILE_UPDATED_REVISION_COMMENT,
    A.FILE_REVISION_DOWNLOADED,
    A.FOLDER_CREATED,
    A.FORM_SUBMIT,
    A.FORM_OPENED_FOR_FILLING,
    A.DOCUMENT_SIGN_COMPLETE,
}


class _InactiveValues(NamedTuple):
    room_ids: tuple[int, ...] = ()
    room_types: tuple[int, ...] = (8, 2)
    period: timedelta = timedelta(days=30)
    min_activity: int = 1
    activity_actions: frozenset[int] = DEFAULT_ACTIVITY
    cooldown: timedelta = timedelta(days=30)
    expand_groups: bool = False
    skip_owner: bool = True
    sender: str | None = None
    manager_email: str | None = None


class InactiveSettings(_InactiveValues):
    """Inactive members' settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    ROOM_IDS = "ROOM_IDS"
    ROOM_TYPES = "ROOM_TYPES"
    PERIOD_DAYS = "PERIOD_DAYS"
    MIN_ACTIVITY = "MIN_ACTIVITY"
    ACTIVITY_ACTIONS = "ACTIVITY_ACTIONS"
    REMINDER_COOLDOWN_DAYS = "REMINDER_COOLDOWN_DAYS"
    EXPAND_GROUPS = "EXPAND_GROUPS"
    SKIP_OWNER = "SKIP_OWNER"
    REMINDER_SENDER = "REMINDER_SENDER"
    MANAGER_EMAIL = "MANAGER_EMAIL"

    @classmethod
    def from_env(cls, env: Env | None = None) -> InactiveSettings:
        actions = env_list(cls.ACTIVITY_ACTIONS, env=env)
        try:
            codes = (
                frozenset(MessageAction.lookup(a) for a in actions) if actions else DEFAULT_ACTIVITY
            )
        except ValueError as exc:
            raise ConfigError(cls.ACTIVITY_ACTIONS, str(exc)) from None
        return cls(
            room_ids=env_ids(cls.ROOM_IDS, env=env),
            room_types=env_ids(cls.ROOM_TYPES, env=env) or (8, 2),
            period=timedelta(days=env_int(cls.PERIOD_DAYS, 30, minimum=1, maximum=365, env=env)),
            min_activity=env_int(cls.MIN_ACTIVITY, 1, minimum=1, env=env),
            activity_actions=codes,
            cooldown=timedelta(
                days=env_int(cls.REMINDER_COOLDOWN_DAYS, 30, minimum=0, maximum=365, env=env)
            ),
            expand_groups=env_bool(cls.EXPAND_GROUPS, False, env=env),
            skip_owner=env_bool(cls.SKIP_OWNER, True, env=env),
            sender=_email(cls.REMINDER_SENDER, env),
            manager_email=_email(cls.MANAGER_EMAIL, env),
        )

    def scan_window(self, invocation: Invocation) -> tuple[datetime, datetime]:
        """The audit trail the rule reads: an on-demand window as given, else the last
        ``PERIOD_DAYS`` up to the scheduled time (the runner plans this one scan; no cursor)."""
        if invocation.window is not None:
            return invocation.window
        end = invocation.scheduled_time
        return end - self.period, end


Settings = InactiveSettings


def _email(name: str, env: Env | None) -> str | None:
    value = env_str(name, env=env)
    if value is not None and ("@" not in value or " " in value):
        raise ConfigError(name, f"must be an email address, got {value!r}")
    return value


@dataclass
class RoomRoster:
    room: Room
    members: dict[str, User] = field(default_factory=dict)
    managers: dict[str, User] = field(default_factory=dict)


def rosters(context: RunContext, settings: InactiveSettings) -> tuple[list[RoomRoster], list[int]]:
    """The monitored rooms and the members judged in each; missing room ids are returned."""
    client = context.client
    me = client.me().id.lower()
    missing: list[int] = []
    if settings.room_ids:
        rooms: list[Room] = []
        for room_id in settings.room_ids:
            try:
                rooms.append(client.room(room_id))
            except NotFound:
                missing.append(room_id)
    else:
        rooms = list(client.rooms(room_types=settings.room_types))
    result: list[RoomRoster] = []
    for room in rooms:
        roster = RoomRoster(room)
        try:
            shares = list(client.room_members(room.id))
        except NotFound:
            missing.append(room.id)
            continue
        for share in shares:
            users: list[User] = []
            if share.is_user and share.user is not None:
                users = [share.user]
            elif share.is_group and share.group is not None and settings.expand_groups:
                users = list(client.group(share.group.id).members)
            for user in users:
                key = user.id.lower()
                if share.is_manager or share.is_owner:
                    roster.managers[key] = user
                skip = (
                    key == me
                    or (share.is_owner and settings.skip_owner)
                    or (user.status is not None and user.status != STATUS_ACTIVE)
                )
                if not skip:
                    roster.members.setdefault(key, user)
        result.append(roster)
    return result, missing


class Activity(NamedTuple):
    """What the audit trail says of the watched rooms: actions per (member, room)."""

    counts: Counter[tuple[str, int]]
    scanned: int
    #: Events with no user (not attributable to anyone).
    skipped: int


def count_activity(
    events: Iterable[AuditEvent],
    room_of: Callable[[AuditEvent], int | None],
    watched: set[int],
    actions: frozenset[int],
) -> Activity:
    """Pure rule, part one: the ``actions`` of each user in each ``watched`` room (user ids
    lower-cased; ``room_of`` attributes an event to its room, as the VDR monitor does)."""
    counts: Counter[tuple[str, int]] = Counter()
    scanned = skipped = 0
    for event in events:
        scanned += 1
        if not event.user_id:
            skipped += 1
            continue
        if event.action_id not in actions:
            continue
        room_id = room_of(event)
        if room_id in watched:
            counts[(event.user_id.lower(), room_id)] += 1
    return Activity(counts, scanned, skipped)


Quiet = dict[str, list[tuple[RoomRoster, int]]]


def quiet_members(
    rooms: Iterable[RoomRoster], activity: Mapping[tuple[str, int], int], min_activity: int
) -> Quiet:
    """Pure rule, part two: each member below ``min_activity`` in a room, with those rooms (in
    roster order) and the member's count there."""
    quiet: Quiet = defaultdict(list)
    for roster in rooms:
        for user_id in roster.members:
            count = activity.get((user_id, roster.room.id), 0)
            if count < min_activity:
                quiet[user_id].append((roster, count))
    return quiet


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
    reminded, refused = _send_reminders(context, settings, mailer, quiet, start, end)
    findings = [_missing_room(context, room_id) for room_id in missing]
    findings += [
        _report(context, settings, mailer, r, activity.counts, quiet, reminded, refused, start, end)
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


def _send_reminders(
    context: RunContext,
    settings: InactiveSettings,
    mailer: Mailer | None,
    quiet: Quiet,
    start: datetime,
    end: datetime,
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """One reminder per quiet member (once per room and cooldown): the members reminded and
    those whose address was refused, per room."""
    reminded: dict[int, list[str]] = defaultdict(list)
    refused: dict[int, list[str]] = defaultdict(list)
    for user_id, entries in sorted(quiet.items()):
        by_key = {state_keys.reminder(user_id, r.room.id): (r, c) for r, c in entries}

        def remind(
            claimed: tuple[Key, ...], user_id: str = user_id, due_of: Mapping[Key, Any] = by_key
        ) -> dict[str, Any] | None:
            due = [due_of[key] for key in claimed]
            return _remind_once(context, settings, mailer, user_id, due, start, end)

        done = context.store.once(
            by_key,
            context.invocation.run_key,
            remind,
            until=context.now + max(settings.cooldown, timedelta(minutes=1)),
            keep_until=context.now + settings.cooldown,
        )
        for key in done.claimed:
            room_id = by_key[key][0].room.id
            (refused if done.fields.get("outcome") == "refused" else reminded)[room_id].append(
                user_id
            )
    return reminded, refused


def _remind_once(
    context: RunContext,
    settings: InactiveSettings,
    mailer: Mailer | None,
    user_id: str,
    due: list[tuple[RoomRoster, int]],
    start: Any,
    end: Any,
) -> dict[str, Any] | None:
    """The act of a reminder's claims: remind the member of the rooms claimed."""
    user = due[0][0].members[user_id]
    try:
        _remind(context, settings, mailer, user, due, start, end)
    except RecipientRefused as exc:
        # This address only: report it (before confirming, so a failed publish leaves the
        # claim to a retry) and go on with the others. A refused address is settled like a
        # sent reminder: not retried by a retry of this run, nor before the cooldown ends.
        context.publish(_refused(context, exc, [r.room for r, _ in due], user, start, end))
        return _refusal(exc)
    return None


def _remind(
    context: RunContext,
    settings: InactiveSettings,
    mailer: Mailer | None,
    user: User,
    due: list[tuple[RoomRoster, int]],
    start: Any,
    end: Any,
) -> None:
    days = settings.period.days
    titles = [r.room.title or f"room {r.room.id}" for r, _ in due]
    # Portal text stays inside its line: a title or name cannot add lines to the mail.
    lines = [
        f"- {one_line(t)} ({c} actions in {days} days)"
        for t, (_, c) in zip(titles, due, strict=True)
    ]
    text = (
        f"Hello {one_line(user.label)},\n\nIn the last {days} days you have had little or no activity in "
        f"these DocSpace rooms:\n\n"
        + "\n".join(lines)
        + f"\n\nPortal: {context.client.portal_url}\n"
        "If you no longer need access, please tell the room's manager.\n"
    )
    if mailer is not None and user.email:
        mailer.send(
            Email(
                to=user.email,
                subject=f"Reminder: {len(due)} DocSpace room(s) waiting for you",
                text=text,
                html=html_page(
                    "DocSpace rooms waiting for you",
                    [
                        f"Hello {user.label},",
                        f"In the last {days} days you have had little or no activity in:",
                    ],
                    [["Room", f"Actions in {days} days"]]
                    + [[t, str(c)] for t, (_, c) in zip(titles, due, strict=True)],
                ),
            )
        )
        return
    finding = Finding(
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
        portal_url=context.client.portal_url,
        user=UserRef(user.id.lower(), user.label, user.email),
        period_start=start,
        period_end=end,
        evidence={
            "rooms": [{"id": r.room.id, "title": r.room.title, "activity": c} for r, c in due]
        },
    )
    if not context.publish(finding):
        log.info("reminder for %s was already published in this period", user.id)


def _report(
    context: RunContext,
    settings: InactiveSettings,
    mailer: Mailer | None,
    roster: RoomRoster,
    activity: Counter[tuple[str, int]],
    quiet: dict[str, list[tuple[RoomRoster, int]]],
    reminded: dict[int, list[str]],
    refused: dict[int, list[str]],
    start: Any,
    end: Any,
) -> Finding:
    room = roster.room
    inactive = {u for u, entries in quiet.items() if any(r.room.id == room.id for r, _ in entries)}
    active = sorted(
        ((u, activity[(u, room.id)]) for u in roster.members if u not in inactive),
        key=lambda x: -x[1],
    )
    rows = [["Member", "Email", f"Actions in {settings.period.days} days", "Reminded now"]]
    for user_id in sorted(inactive):
        user = roster.members[user_id]
        rows.append(
            [
                user.label,
                user.email or "",
                str(activity[(user_id, room.id)]),
                "yes"
                if user_id in reminded[room.id]
                else "no (address refused)"
                if user_id in refused[room.id]
                else "no (cooldown)",
            ]
        )
    for user_id, count in active:
        user = roster.members[user_id]
        rows.append([user.label, user.email or "", str(count), "-"])
    summary = (
        f"Room '{room.title}': {len(active)} active and {len(inactive)} inactive members over the last "
        f"{settings.period.days} days; {len(reminded[room.id])} reminded now."
    )
    if mailer is not None:
        # One table row per line whatever the names hold: a cell cannot end its row or add a
        # column.
        text = (
            one_line(summary)
            + "\n\n"
            + "\n".join(" | ".join(table_cell(c) for c in row) for row in rows)
        )
        page = html_page(f"Room activity: {room.title}", [summary], rows)
        recipients = {u.email for u in roster.managers.values() if u.email}
        if settings.manager_email:
            recipients.add(settings.manager_email)
        for to in sorted(recipients):
            _mail_once(
                context,
                mailer,
                state_keys.report_mail(room.id, f"{end:%Y-%m-%d}", to),
                Email(to, f"DocSpace room activity: {room.title}", text, page),
                lambda exc: context.publish(_refused(context, exc, [room], None, start, end)),
            )
    return Finding(
        workflow=WORKFLOW,
        kind="room_activity_report",
        severity=Severity.LOW,
        title=f"Room activity report: {room.title} ({len(inactive)} inactive)",
        summary=summary,
        dedup=("report", str(room.id), end.strftime("%Y-%m-%d")),
        portal_url=context.client.portal_url,
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
                    "remindedNow": u in reminded[room.id],
                    **({"reminderRefused": True} if u in refused[room.id] else {}),
                }
                for u in sorted(inactive)
            ],
            "active": [
                {"userId": u, "name": roster.members[u].label, "activity": c} for u, c in active
            ],
            "managers": sorted(u.label for u in roster.managers.values()),
        },
    )


def _mail_once(
    context: RunContext,
    mailer: Mailer,
    key: Key,
    email: Email,
    on_refused: Callable[[RecipientRefused], object],
) -> None:
    """Send once per run period, even when the run is retried.

    A refused address is handed to ``on_refused`` (which reports it) and then settled like a
    sent mail, so a retry does not try it again.
    """

    def send(_claimed: tuple[Key, ...]) -> dict[str, Any] | None:
        try:
            mailer.send(email)
        except RecipientRefused as exc:
            on_refused(exc)
            return _refusal(exc)
        return None

    context.store.once(
        [key], context.invocation.run_key, send, until=context.now + timedelta(days=2)
    )


def _refusal(exc: RecipientRefused) -> dict[str, Any]:
    """What a claim is confirmed with when the address was refused."""
    return {"outcome": "refused", "sesError": exc.code}


def _refused(
    context: RunContext,
    refused: RecipientRefused,
    rooms: list[Room],
    user: User | None,
    start: Any,
    end: Any,
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
        portal_url=context.client.portal_url,
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


def _missing_room(context: RunContext, room_id: int) -> Finding:
    return Finding(
        workflow=WORKFLOW,
        kind="room_missing",
        severity=Severity.MEDIUM,
        title=f"Monitored room {room_id} no longer exists",
        summary=f"Room {room_id} is in ROOM_IDS but the portal answers 404: remove it from the setting.",
        dedup=("missing", str(room_id)),
        portal_url=context.client.portal_url,
        room=RoomRef(room_id),
    )
