"""VDR activity monitor: users with unusually high activity in Virtual Data Rooms.

Per user, per monitored room, per UTC day, the number of distinct audit events is kept in the
state table as hourly counts (overwritten from whole-hour re-scans, so retries and overlapping
windows never double count). A day is flagged when its count exceeds ``MAX_EVENTS_PER_USER``, or
when it stands out against the user's own history in that room (a z-score over up to
``BASELINE_DAYS`` days; users with less than ``BASELINE_MIN_DAYS`` days of history are judged by
the absolute threshold alone). Flagged users get their login history for the same period,
gathered in one login scan for all of them.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

from ..docspace.errors import NotFound
from ..docspace.logins import LoginHistory, group_logins
from ..docspace.message_actions import KNOWN, activity_kind
from ..docspace.models import AuditEvent, Room
from ..docspace.rooms import RoomResolver
from ..findings.finding import Finding, RoomRef, Severity, UserRef
from ..runtime.env import Env, env_float, env_ids, env_int
from ..runtime.runner import RunContext, RunOutcome

log = logging.getLogger(__name__)

WORKFLOW = "vdr_activity"
KNOWN_ACTIONS = KNOWN
SAMPLE = 20


class _VdrValues(NamedTuple):
    room_ids: tuple[int, ...] = ()
    max_events: int = 100
    baseline_days: int = 30
    baseline_min_days: int = 7
    baseline_z: float = 3.0
    baseline_min_events: int = 20


class VdrSettings(_VdrValues):
    """The VDR monitor's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    ROOM_IDS = "ROOM_IDS"
    #: The older name of ``ROOM_IDS``, still accepted (stacks deployed before the rename set it).
    DEPRECATED_ROOM_IDS = "MONITORED_ROOM_IDS"
    MAX_EVENTS_PER_USER = "MAX_EVENTS_PER_USER"
    BASELINE_DAYS = "BASELINE_DAYS"
    BASELINE_MIN_DAYS = "BASELINE_MIN_DAYS"
    BASELINE_Z = "BASELINE_Z"
    BASELINE_MIN_EVENTS = "BASELINE_MIN_EVENTS"

    @classmethod
    def from_env(cls, env: Env | None = None) -> VdrSettings:
        return cls(
            room_ids=env_ids(cls.ROOM_IDS, alias=cls.DEPRECATED_ROOM_IDS, env=env),
            max_events=env_int(cls.MAX_EVENTS_PER_USER, 100, minimum=1, env=env),
            baseline_days=env_int(cls.BASELINE_DAYS, 30, minimum=1, maximum=180, env=env),
            baseline_min_days=env_int(cls.BASELINE_MIN_DAYS, 7, minimum=1, maximum=180, env=env),
            baseline_z=env_float(cls.BASELINE_Z, 3.0, minimum=0.5, maximum=50, env=env),
            baseline_min_events=env_int(cls.BASELINE_MIN_EVENTS, 20, minimum=1, env=env),
        )


Settings = VdrSettings


class Judgement(NamedTuple):
    flagged: bool
    reason: str
    mean: float | None = None
    std: float | None = None
    z: float | None = None


def judge(today: int, history: list[int], settings: VdrSettings) -> Judgement:
    """Pure rule: absolute threshold, then the user's own baseline when there is enough of it."""
    if today > settings.max_events:
        return Judgement(True, f"{today} events exceed the threshold of {settings.max_events}")
    if len(history) < settings.baseline_min_days or today < settings.baseline_min_events:
        return Judgement(False, "within threshold")
    mean = sum(history) / len(history)
    std = math.sqrt(sum((x - mean) ** 2 for x in history) / len(history))
    # A floor of 1 on the spread: a user who always does exactly 2 events a day is not flagged at 4.
    z = (today - mean) / max(std, 1.0)
    if z >= settings.baseline_z:
        return Judgement(
            True,
            f"{today} events against a usual {mean:.1f} ± {std:.1f} a day (z = {z:.1f})",
            mean,
            std,
            z,
        )
    return Judgement(False, "within baseline", mean, std, z)


def monitored_rooms(
    context: RunContext, settings: VdrSettings
) -> tuple[list[Room], dict[int, Room], list[int]]:
    """All active rooms (for title look-ups) and the monitored ones; configured ids that no
    longer exist are reported, not fatal."""
    all_rooms = list(context.client.rooms())
    by_id = {room.id: room for room in all_rooms}
    missing: list[int] = []
    if not settings.room_ids:
        return all_rooms, {r.id: r for r in all_rooms if r.is_vdr}, missing
    monitored: dict[int, Room] = {}
    for room_id in settings.room_ids:
        room = by_id.get(room_id)
        if room is None:
            try:
                room = context.client.room(room_id)  # archived rooms are not in the active list
            except NotFound:
                missing.append(room_id)
                continue
            all_rooms.append(room)
        monitored[room_id] = room
    return all_rooms, monitored, missing


HourKey = tuple[str, int, str]  # (user id lower-cased, room id, UTC day "YYYY-MM-DD")


class Seen(NamedTuple):
    """What a scan's events say of the monitored rooms, per (user, room, UTC day)."""

    #: Distinct events per UTC hour ("00".."23").
    hours: dict[HourKey, Counter[str]]
    #: The display name last seen for each user.
    names: dict[str, str]
    #: The first ``SAMPLE`` event ids of each day.
    samples: dict[HourKey, list[int]]
    scanned: int
    #: Events with no user or an action code this version does not know.
    skipped: int
    #: Of the events this scan saw, how many of each kind (``message_actions.activity_kind``).
    kinds: Mapping[HourKey, Counter[str]] = MappingProxyType({})


def count_hours(
    events: Iterable[AuditEvent],
    room_of: Callable[[AuditEvent], int | None],
    monitored: Container[int],
) -> Seen:
    """Pure rule, part one: per user, monitored room and UTC day, the events of each hour.

    Slices are disjoint in time and each is deduplicated by id, so counts are distinct events."""
    names: dict[str, str] = {}
    samples: dict[HourKey, list[int]] = defaultdict(list)
    hours: dict[HourKey, Counter[str]] = defaultdict(Counter)
    kinds: dict[HourKey, Counter[str]] = defaultdict(Counter)
    scanned = skipped = 0
    for event in events:
        scanned += 1
        if not event.user_id or event.action_id not in KNOWN_ACTIONS:
            skipped += 1
            continue
        room_id = room_of(event)
        if room_id is None or room_id not in monitored:
            continue
        stamp = event.date.isoformat()  # UTC: "2025-06-02T11:55:35+00:00", a third of strftime
        key = (event.user_id.lower(), room_id, stamp[:10])
        hours[key][stamp[11:13]] += 1
        kinds[key][activity_kind(event.action_id)] += 1
        if event.user:
            names[key[0]] = event.user
        if len(samples[key]) < SAMPLE:
            samples[key].append(event.id)
    return Seen(hours, names, samples, scanned, skipped, kinds)


class Flag(NamedTuple):
    user_id: str
    room_id: int
    day: str
    #: The day's distinct events (``count`` is a tuple's method).
    events: int
    verdict: Judgement
    #: The user's daily events in the room before that day (the baseline window).
    history: tuple[int, ...] = ()


Totals = Mapping[tuple[int, str], int]  # (room id, day) -> distinct events, from the store


def flag_days(
    days: Iterable[HourKey], totals: Mapping[str, Totals], settings: VdrSettings
) -> list[Flag]:
    """Pure rule, part two: each (user, room, day) judged on the stored daily totals of that user
    (``totals``, per user), against the user's history in that room. Ordered by user, room, day.

    Every day this run saw activity on is judged (on a first run, the whole initial look-back);
    the fingerprint (user, room, day) keeps a day from being reported twice."""
    by_user: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for user_id, room_id, day in days:
        by_user[user_id].append((room_id, day))
    flagged: list[Flag] = []
    for user_id, keys in sorted(by_user.items()):
        mine = totals.get(user_id, {})
        for room_id, day in sorted(keys):
            today = date.fromisoformat(day)
            first = (today - timedelta(days=settings.baseline_days)).isoformat()
            history = _history(
                {d: n for (r, d), n in mine.items() if r == room_id and d >= first}, today
            )
            count = mine.get((room_id, day), 0)
            verdict = judge(count, history, settings)
            if verdict.flagged:
                flagged.append(Flag(user_id, room_id, day, count, verdict, tuple(history)))
    return flagged


def run(context: RunContext, settings: VdrSettings) -> RunOutcome:
    all_rooms, monitored, missing = monitored_rooms(context, settings)
    resolver = RoomResolver(context.client, all_rooms)
    seen = count_hours(context.scan.audit_events(), resolver.room_id, monitored)
    keep_until = context.now + timedelta(days=settings.baseline_days + 5)
    # Only hours read whole are written: all of them, as the scan hands over whole slices.
    for (user_id, room_id, day), counts in seen.hours.items():
        context.store.set_activity_hours(user_id, room_id, day, counts, keep_until=keep_until)
    users = sorted({user_id for user_id, _, _ in seen.hours})
    totals = {user_id: context.store.activity_totals(user_id) for user_id in users}
    flagged = flag_days(seen.hours, totals, settings)
    logins = _login_context(context, flagged)
    findings = [_finding(context, settings, monitored[f.room_id], seen, f, logins) for f in flagged]
    details: dict[str, Any] = {
        "monitoredRooms": sorted(monitored),
        "roomLookups": resolver.lookups,
        "usersFlagged": len(flagged),
    }
    if missing:
        details["missingRooms"] = missing
        log.warning("monitored rooms not found: %s", missing)
    return RunOutcome(
        findings=findings,
        events_scanned=seen.scanned,
        events_skipped=seen.skipped,
        details=details,
    )


def _login_context(context: RunContext, flagged: list[Flag]) -> Mapping[str, LoginHistory]:
    """The login history of the flagged users from their first flagged day: one login scan."""
    if not flagged:
        return {}
    since = min(_day_start(f.day) for f in flagged)
    events = context.client.login_events(since, context.plan.end)
    return group_logins(events, {f.user_id for f in flagged})


def _finding(
    context: RunContext,
    settings: VdrSettings,
    room: Room,
    seen: Seen,
    flag: Flag,
    logins: Mapping[str, LoginHistory],
) -> Finding:
    user_id, room_id, day, count, verdict, _ = flag
    name = seen.names.get(user_id)
    start = _day_start(day)
    return Finding(
        workflow=WORKFLOW,
        kind="vdr_high_activity",
        severity=Severity.HIGH if count > 2 * settings.max_events else Severity.MEDIUM,
        title=f"Unusually high activity in VDR '{room.title}' by {name or user_id}",
        summary=f"{verdict.reason} in Virtual Data Room '{room.title}' on {day} (UTC).",
        dedup=(user_id, str(room_id), day),
        portal_url=context.client.portal_url,
        user=UserRef(user_id, name),
        room=RoomRef(room_id, room.title),
        period_start=start,
        period_end=min(start + timedelta(days=1), context.plan.end),
        evidence=_evidence(
            count,
            verdict,
            settings,
            seen.samples.get((user_id, room_id, day), []),
            seen.kinds.get((user_id, room_id, day), Counter()),
            flag.history,
        ),
        context={"logins": logins[user_id].to_dict()},
    )


def _history(totals: dict[str, int], today: date) -> list[int]:
    """Daily counts before ``today``, from the first day the user was seen (absent days are 0)."""
    earlier = sorted(d for d in totals if d < today.isoformat())
    if not earlier:
        return []
    first = date.fromisoformat(earlier[0])
    return [
        totals.get((first + timedelta(days=i)).isoformat(), 0) for i in range((today - first).days)
    ]


def _day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(0), tzinfo=UTC)


def _evidence(
    count: int,
    verdict: Judgement,
    settings: VdrSettings,
    sample: list[int],
    kinds: Counter[str],
    history: Sequence[int],
) -> dict[str, Any]:
    """The day's count beside the user's usual level in this room, what kind of activity it was,
    and the rule that flagged it."""
    evidence: dict[str, Any] = {
        "distinctEvents": count,
        "usualLevel": _usual(history),
        "threshold": settings.max_events,
        "reason": verdict.reason,
    }
    if kinds:
        # of the events this run read (a day read over several runs: its latest part)
        evidence["activityKinds"] = {k: kinds[k] for k in _KIND_ORDER if kinds.get(k)}
    evidence["sampleEventIds"] = sample
    if verdict.mean is not None:
        evidence |= {
            "baselineMean": round(verdict.mean, 2),
            "baselineStd": round(verdict.std or 0.0, 2),
            "zScore": round(verdict.z or 0.0, 2),
        }
    return evidence


_KIND_ORDER = ("downloads", "views", "edits", "other")


def _usual(history: Sequence[int]) -> str:
    """The user's usual daily events in the room, in words (sentinel text)."""
    if not history:
        return "no earlier activity in this room"
    mean = sum(history) / len(history)
    std = math.sqrt(sum((x - mean) ** 2 for x in history) / len(history))
    return f"{mean:.1f} ± {std:.1f} events a day over {len(history)} day(s)"
