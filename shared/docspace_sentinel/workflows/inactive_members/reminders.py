"""Inactive members' mail: one reminder per quiet member (by SES, or as a finding on SNS) at
most once per room and cooldown, and each room's report to its managers (once per period).

An address SES refuses is reported (``findings.refused_finding``) and its claim confirmed with
``outcome=refused``, like a sent mail: neither a retry nor a run within the cooldown tries it
again. Portal text stays inside the line or table cell it belongs to (``untrusted``).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ...docspace.models import User
from ...findings.errors import RecipientRefused
from ...findings.finding import Finding
from ...findings.mail import Email, Mailer, html_page
from ...findings.untrusted import one_line, table_cell
from ...runtime.runner import RunContext
from ...state import keys as state_keys
from ...state.keys import Key
from .findings import refused_finding, reminder_finding, report_finding
from .rules import Quiet, RoomRoster
from .settings import InactiveSettings

log = logging.getLogger(__name__)


def send_reminders(
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
    start: datetime,
    end: datetime,
) -> dict[str, Any] | None:
    """The act of a reminder's claims: remind the member of the rooms claimed."""
    user = due[0][0].members[user_id]
    try:
        _remind(context, settings, mailer, user, due, start, end)
    except RecipientRefused as exc:
        # This address only: report it (before confirming, so a failed publish leaves the
        # claim to a retry) and go on with the others. A refused address is settled like a
        # sent reminder: not retried by a retry of this run, nor before the cooldown ends.
        rooms = [r.room for r, _ in due]
        context.publish(refused_finding(exc, rooms, user, context.client.portal_url, start, end))
        return _refusal(exc)
    return None


def _remind(
    context: RunContext,
    settings: InactiveSettings,
    mailer: Mailer | None,
    user: User,
    due: list[tuple[RoomRoster, int]],
    start: datetime,
    end: datetime,
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
    finding = reminder_finding(user, due, text, context.client.portal_url, start, end)
    if not context.publish(finding):
        log.info("reminder for %s was already published in this period", user.id)


def room_report(
    context: RunContext,
    settings: InactiveSettings,
    mailer: Mailer | None,
    roster: RoomRoster,
    activity: Counter[tuple[str, int]],
    quiet: dict[str, list[tuple[RoomRoster, int]]],
    reminded: dict[int, list[str]],
    refused: dict[int, list[str]],
    start: datetime,
    end: datetime,
) -> Finding:
    """A room's report: mailed to its managers and ``MANAGER_EMAIL`` (when SES is configured),
    and returned as its finding (always published)."""
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
                lambda exc: context.publish(
                    refused_finding(exc, [room], None, context.client.portal_url, start, end)
                ),
            )
    return report_finding(
        roster,
        activity,
        inactive,
        active,
        reminded[room.id],
        refused[room.id],
        summary,
        context.client.portal_url,
        start,
        end,
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
