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
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from ..actions import MessageAction
from ..config import Env, env_float, env_ids, env_int
from ..errors import NotFound
from ..findings import Finding, RoomRef, Severity, UserRef
from ..logins import group_logins
from ..models import Room
from ..rooms import RoomResolver
from ..runner import RunContext, RunOutcome

log = logging.getLogger(__name__)

WORKFLOW = "vdr_activity"
KNOWN_ACTIONS = frozenset(int(a) for a in MessageAction)
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


def run(context: RunContext, settings: VdrSettings) -> RunOutcome:
    all_rooms, monitored, missing = monitored_rooms(context, settings)
    resolver = RoomResolver(context.client, all_rooms)
    keep_until = context.now + timedelta(days=settings.baseline_days + 5)
    names: dict[str, str] = {}
    samples: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    # Slices are disjoint in time and each is deduplicated by id, so counts are distinct events.
    hours: dict[tuple[str, int, str], Counter[str]] = defaultdict(Counter)
    scanned = skipped = 0
    for event in context.scan.audit_events():
        scanned += 1
        if not event.user_id or event.action_id not in KNOWN_ACTIONS:
            skipped += 1
            continue
        room_id = resolver.room_id(event)
        if room_id not in monitored:
            continue
        stamp = event.date.isoformat()  # UTC: "2025-06-02T11:55:35+00:00", a third of strftime
        key = (event.user_id.lower(), room_id, stamp[:10])
        hours[key][stamp[11:13]] += 1
        if event.user:
            names[key[0]] = event.user
        if len(samples[key]) < SAMPLE:
            samples[key].append(event.id)
    # Only hours read whole are written: all of them, as the scan hands over whole slices.
    for (user_id, room_id, day), counts in hours.items():
        context.store.set_activity_hours(user_id, room_id, day, counts, keep_until=keep_until)

    # Every day this run saw activity on is judged (on a first run, the whole initial look-back);
    # the fingerprint (user, room, day) keeps a day from being reported twice.
    flagged: list[tuple[str, int, str, int, Judgement]] = []
    by_user: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for user_id, room_id, day in hours:
        by_user[user_id].append((room_id, day))
    for user_id, keys in sorted(by_user.items()):
        totals = context.store.activity_totals(user_id)
        for room_id, day in sorted(keys):
            today = date.fromisoformat(day)
            first = (today - timedelta(days=settings.baseline_days)).isoformat()
            history = _history(
                {d: n for (r, d), n in totals.items() if r == room_id and d >= first}, today
            )
            count = totals.get((room_id, day), 0)
            verdict = judge(count, history, settings)
            if verdict.flagged:
                flagged.append((user_id, room_id, day, count, verdict))

    findings: list[Finding] = []
    if flagged:
        since = min(_day_start(day) for _, _, day, _, _ in flagged)
        logins = group_logins(
            context.client.login_events(since, context.plan.end), {f[0] for f in flagged}
        )
        for user_id, room_id, day, count, verdict in flagged:
            room = monitored[room_id]
            start = _day_start(day)
            findings.append(
                Finding(
                    workflow=WORKFLOW,
                    kind="vdr_high_activity",
                    severity=Severity.HIGH if count > 2 * settings.max_events else Severity.MEDIUM,
                    title=f"Unusually high activity in VDR '{room.title}' by {names.get(user_id, user_id)}",
                    summary=f"{verdict.reason} in Virtual Data Room '{room.title}' on {day} (UTC).",
                    dedup=(user_id, str(room_id), day),
                    portal_url=context.client.portal_url,
                    user=UserRef(user_id, names.get(user_id)),
                    room=RoomRef(room_id, room.title),
                    period_start=start,
                    period_end=min(start + timedelta(days=1), context.plan.end),
                    evidence=_evidence(
                        count, verdict, settings, samples.get((user_id, room_id, day), [])
                    ),
                    context={"logins": logins[user_id].to_dict()},
                )
            )
    details: dict[str, Any] = {
        "monitoredRooms": sorted(monitored),
        "roomLookups": resolver.lookups,
        "usersFlagged": len(flagged),
    }
    if missing:
        details["missingRooms"] = missing
        log.warning("monitored rooms not found: %s", missing)
    return RunOutcome(
        findings=findings, events_scanned=scanned, events_skipped=skipped, details=details
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
    count: int, verdict: Judgement, settings: VdrSettings, sample: list[int]
) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "distinctEvents": count,
        "threshold": settings.max_events,
        "reason": verdict.reason,
        "sampleEventIds": sample,
    }
    if verdict.mean is not None:
        evidence |= {
            "baselineMean": round(verdict.mean, 2),
            "baselineStd": round(verdict.std or 0.0, 2),
            "zScore": round(verdict.z or 0.0, 2),
        }
    return evidence
