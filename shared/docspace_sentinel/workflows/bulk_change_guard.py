"""Bulk file-change guard: a user changing more than ``FILE_CHANGE_THRESHOLD`` distinct files
inside any sliding window of ``WINDOW_MINUTES`` is reported and, in ``enforce`` mode,
temporarily disabled (``functions/restriction_release`` lifts it when it expires).

The window slides over event times, not over runs: a run re-reads ``SCAN_LAG_MINUTES`` behind
its cursor, which must be at least the window, so a burst split across two scheduled runs is
seen whole by the second one. One file changed fifty times is one file.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..actions import FILE_CHANGE, action_label
from ..config import Env, env_int
from ..errors import ConfigError
from ..findings import ActionTaken, Finding, RoomRef, Severity, UserRef
from ..logins import group_logins
from ..models import AuditEvent
from ..response import DISABLE, ResponseSettings, Restrictor
from ..restrictions import RestrictionStore
from ..rooms import RoomResolver, context_title
from ..runner import RunContext, RunOutcome

WORKFLOW = "bulk_change_guard"
SAMPLE = 25
ACTED = frozenset({"done", "failed"})


class GuardSettings(NamedTuple):
    threshold: int = 20
    window: timedelta = timedelta(minutes=10)
    response: ResponseSettings = ResponseSettings()

    @classmethod
    def from_env(cls, env: Env | None = None, *, lag: timedelta | None = None) -> GuardSettings:
        window = timedelta(
            minutes=env_int("WINDOW_MINUTES", 10, minimum=1, maximum=24 * 60, env=env)
        )
        if lag is not None and lag < window:
            raise ConfigError(
                "SCAN_LAG_MINUTES",
                f"must be at least WINDOW_MINUTES ({int(window.total_seconds() // 60)}) so a burst "
                "split across two runs is seen whole",
            )
        return cls(
            threshold=env_int("FILE_CHANGE_THRESHOLD", 20, minimum=1, maximum=100_000, env=env),
            window=window,
            response=ResponseSettings.from_env(env),
        )


class Change(NamedTuple):
    date: datetime
    file_id: str
    event: AuditEvent


class BulkChange(NamedTuple):
    """The first window in which a user changed more than the threshold of distinct files."""

    user_id: str
    start: datetime
    end: datetime
    changes: tuple[Change, ...]  # the changes inside that window
    peak_files: int  # the most distinct files in any window of this user's history here

    @property
    def files(self) -> list[str]:
        return sorted({c.file_id for c in self.changes}, key=lambda f: (len(f), f))


def file_changes(events: Iterable[AuditEvent]) -> tuple[dict[str, list[Change]], int]:
    """File-change events per user (the file id is ``target[0]``); and how many were unusable."""
    per_user: dict[str, list[Change]] = defaultdict(list)
    skipped = 0
    for event in events:
        if event.action_id not in FILE_CHANGE:
            continue
        if not event.user_id or not event.target:
            skipped += 1
            continue
        per_user[event.user_id.lower()].append(Change(event.date, event.target[0], event))
    return per_user, skipped


@dataclass
class _UserWindow:
    """One user's sliding window: the changes inside it and how often each file appears."""

    changes: deque[Change] = field(default_factory=deque)
    counts: Counter[str] = field(default_factory=Counter)
    first: BulkChange | None = None
    peak: int = 0


class BulkDetector:
    """The sliding-window rule, streaming: feed changes in time order (slice by slice), read the
    bursts at the end. Memory holds each user's current window, never the whole history."""

    def __init__(self, threshold: int, window: timedelta) -> None:
        self.threshold = threshold
        self.window = window
        self._users: dict[str, _UserWindow] = {}
        self.skipped = 0

    def feed(self, events: Iterable[AuditEvent]) -> None:
        """Events of one slice (any order inside it; slices oldest first)."""
        per_user, skipped = file_changes(events)
        self.skipped += skipped
        for user_id, changes in per_user.items():
            changes.sort(key=lambda c: (c.date, c.event.id))
            state = self._users.setdefault(user_id, _UserWindow())
            for change in changes:
                self._push(user_id, state, change)

    def _push(self, user_id: str, state: _UserWindow, change: Change) -> None:
        state.changes.append(change)
        state.counts[change.file_id] += 1
        while change.date - state.changes[0].date > self.window:
            gone = state.changes.popleft().file_id
            state.counts[gone] -= 1
            if not state.counts[gone]:
                del state.counts[gone]
        distinct = len(state.counts)
        state.peak = max(state.peak, distinct)
        if state.first is None and distinct > self.threshold:
            inside = tuple(state.changes)
            state.first = BulkChange(user_id, inside[0].date, change.date, inside, 0)

    def bursts(self) -> list[BulkChange]:
        found = [
            BulkChange(s.first.user_id, s.first.start, s.first.end, s.first.changes, s.peak)
            for s in self._users.values()
            if s.first is not None
        ]
        return sorted(found, key=lambda b: (-b.peak_files, b.start))


def _minutes(settings: GuardSettings) -> int:
    return int(settings.window.total_seconds() // 60)


def _title(event: AuditEvent) -> str | None:
    """The file name from the event text ("File Updated: Contract.docx"), when it has one."""
    text = context_title(event.action)
    return text[:120] if text else None


def run(context: RunContext) -> RunOutcome:
    settings = GuardSettings.from_env(lag=context.settings.lag)
    detector = BulkDetector(settings.threshold, settings.window)
    for _bounds, events in context.scan.audit_slices():
        detector.feed(events)
    skipped = detector.skipped
    scanned = context.scan.stats.rows
    bursts = detector.bursts()
    findings: list[Finding] = []
    if bursts:
        resolver = RoomResolver(context.client, context.client.rooms())
        since = min(b.start for b in bursts) - timedelta(days=1)
        logins = group_logins(
            context.client.login_events(since, context.plan.end), {b.user_id for b in bursts}
        )
        restrictor = Restrictor(
            context.client,
            RestrictionStore(context.store),
            settings.response,
            source=WORKFLOW,
            owner=context.invocation.run_key,
        )
        cursor = context.plan.cursor_before if context.plan.moves_cursor else None
        for burst in bursts:
            finding = _finding(context, burst, settings, resolver, logins[burst.user_id].to_dict())
            if cursor is not None and burst.end <= cursor:
                # Seen whole by an earlier run (this one re-reads the lag): never act twice.
                action = ActionTaken(
                    DISABLE, burst.user_id, "skipped", "reported by an earlier run"
                )
            else:
                action = restrictor.restrict(
                    burst.user_id,
                    reason=f"{burst.peak_files} distinct files changed within {_minutes(settings)} minutes",
                    finding_id=finding.fingerprint,
                )
            if action.status not in ACTED:
                # Seeing a burst and acting on it are two reports: a dry run's finding does
                # not suppress the later enforce run's one, and repeats of either stay quiet.
                finding = replace(finding, dedup=(*finding.dedup[:-1], "observed"))
            findings.append(finding.with_actions(action))
    return RunOutcome(
        findings=findings,
        events_scanned=scanned,
        events_skipped=skipped,
        details={"usersFlagged": len(bursts), "mode": settings.response.mode},
    )


def _finding(
    context: RunContext,
    burst: BulkChange,
    settings: GuardSettings,
    resolver: RoomResolver,
    logins: dict[str, Any],
) -> Finding:
    rooms: dict[int, str | None] = {}
    titles: dict[str, str] = {}
    for change in burst.changes:
        room_id = resolver.room_id(change.event)
        if room_id is not None:
            room = resolver.rooms.get(room_id)
            rooms[room_id] = room.title if room else None
        title = _title(change.event)
        if title:
            titles.setdefault(change.file_id, title)
    first = burst.changes[0].event
    name = next((c.event.user for c in burst.changes if c.event.user), None)
    files = burst.files
    only_room = next(iter(rooms.items())) if len(rooms) == 1 else None
    minutes = _minutes(settings)
    return Finding(
        workflow=WORKFLOW,
        kind="bulk_file_change",
        severity=Severity.HIGH,
        title=f"{name or burst.user_id} changed {burst.peak_files} files within {minutes} minutes",
        summary=(
            f"{name or burst.user_id} changed up to {burst.peak_files} distinct files within "
            f"{minutes} minutes; the threshold (more than {settings.threshold}) was crossed between "
            f"{burst.start:%Y-%m-%d %H:%M:%S} and {burst.end:%H:%M:%S} UTC "
            f"(mode: {settings.response.mode})."
        ),
        dedup=(burst.user_id, burst.start.strftime("%Y-%m-%dT%H:%M"), "acted"),
        portal_url=context.client.portal_url,
        user=UserRef(burst.user_id, name),
        room=RoomRef(only_room[0], only_room[1]) if only_room else None,
        period_start=burst.start,
        period_end=burst.end,
        evidence={
            "distinctFiles": len(files),
            "threshold": settings.threshold,
            "windowMinutes": minutes,
            "peakDistinctFiles": burst.peak_files,
            "changes": len(burst.changes),
            "actions": sorted({action_label(c.event.action_id) for c in burst.changes}),
            "sampleFiles": [{"id": f, "title": titles.get(f)} for f in files[:SAMPLE]],
            "rooms": [{"id": r, "title": t} for r, t in sorted(rooms.items())],
            "sampleEventIds": [c.event.id for c in burst.changes[:SAMPLE]],
            "firstEventIp": first.ip,
        },
        context={"logins": logins},
    )
