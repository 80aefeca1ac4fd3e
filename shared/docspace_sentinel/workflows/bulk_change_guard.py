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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..docspace.dates import format_utc
from ..docspace.logins import group_logins
from ..docspace.message_actions import FILE_CHANGE, action_label
from ..docspace.models import AuditEvent
from ..docspace.rooms import RoomResolver, context_title
from ..enforcement.gate import ACTED_STAGE, DISABLE, ActionRequest, Gate, ResponseSettings, staged
from ..findings.finding import ActionTaken, Finding, RoomRef, Severity, UserRef
from ..findings.suppression import Subject
from ..runtime.env import Env, env_int
from ..runtime.errors import ConfigError
from ..runtime.runner import RunContext, RunOutcome, RunSettings
from ..state.restrictions import RestrictionStore

WORKFLOW = "bulk_change_guard"
SAMPLE = 25


class _GuardValues(NamedTuple):
    threshold: int = 20
    window: timedelta = timedelta(minutes=10)
    response: ResponseSettings = ResponseSettings()


class GuardSettings(_GuardValues):
    """The bulk guard's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    FILE_CHANGE_THRESHOLD = "FILE_CHANGE_THRESHOLD"
    WINDOW_MINUTES = "WINDOW_MINUTES"

    @classmethod
    def from_env(cls, env: Env | None = None) -> GuardSettings:
        return cls(
            threshold=env_int(cls.FILE_CHANGE_THRESHOLD, 20, minimum=1, maximum=100_000, env=env),
            window=timedelta(
                minutes=env_int(cls.WINDOW_MINUTES, 10, minimum=1, maximum=24 * 60, env=env)
            ),
            response=ResponseSettings.from_env(env),
        )

    def validate(self, run: RunSettings) -> None:
        """The rule across settings: a run re-reads the lag behind its cursor, so the lag must
        cover the window for a burst split across two runs to be seen whole."""
        if run.lag < self.window:
            raise ConfigError(
                RunSettings.SCAN_LAG_MINUTES,
                f"must be at least {self.WINDOW_MINUTES} ({_minutes(self)}) so a burst "
                "split across two runs is seen whole",
            )


Settings = GuardSettings


class Change(NamedTuple):
    date: datetime
    file_id: str
    event: AuditEvent


class BulkChange(NamedTuple):
    """A user's bulk change: the first window that went over the threshold (the "crossing"),
    and the window with the most distinct files (the "peak", at or after the crossing). The
    peak is the one number a finding states; the crossing is reported as what it is."""

    user_id: str
    start: datetime  # the crossing window's first change
    end: datetime  # the change that crossed the threshold
    changes: tuple[Change, ...]  # the changes inside the crossing window
    peak_changes: tuple[Change, ...]  # the changes inside the peak window

    @property
    def files(self) -> list[str]:
        """The distinct files of the peak window."""
        return _distinct(self.peak_changes)

    @property
    def peak_files(self) -> int:
        return len(self.files)

    @property
    def crossing_files(self) -> int:
        return len(_distinct(self.changes))

    @property
    def peak_start(self) -> datetime:
        return self.peak_changes[0].date

    @property
    def peak_end(self) -> datetime:
        return self.peak_changes[-1].date


def _distinct(changes: Iterable[Change]) -> list[str]:
    return sorted({c.file_id for c in changes}, key=lambda f: (len(f), f))


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

    changes: deque[tuple[int, Change]] = field(default_factory=deque)  # (sequence, change)
    counts: Counter[str] = field(default_factory=Counter)
    first: tuple[Change, ...] | None = None
    seq: int = 0
    peak: int = 0
    #: The peak window is the changes numbered ``peak_from`` to ``peak_to``; those already slid
    #: out of the window are kept in ``peak_gone``, so at most two windows are ever held.
    peak_from: int = 0
    peak_to: int = -1
    peak_gone: list[Change] = field(default_factory=list)

    def peak_changes(self) -> tuple[Change, ...]:
        inside = (c for s, c in self.changes if self.peak_from <= s <= self.peak_to)
        return (*self.peak_gone, *inside)


class BulkDetector:
    """The sliding-window rule, streaming: feed changes in time order (slice by slice), read the
    bursts at the end. Memory holds each user's current window (and their peak window), never
    the whole history."""

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
                self._push(state, change)

    def _push(self, state: _UserWindow, change: Change) -> None:
        state.seq += 1
        state.changes.append((state.seq, change))
        state.counts[change.file_id] += 1
        while change.date - state.changes[0][1].date > self.window:
            seq, gone = state.changes.popleft()
            if state.peak_from <= seq <= state.peak_to:
                state.peak_gone.append(gone)
            state.counts[gone.file_id] -= 1
            if not state.counts[gone.file_id]:
                del state.counts[gone.file_id]
        distinct = len(state.counts)
        if distinct > state.peak:
            state.peak = distinct
            state.peak_from, state.peak_to = state.changes[0][0], state.seq
            state.peak_gone = []
        if state.first is None and distinct > self.threshold:
            state.first = tuple(c for _, c in state.changes)

    def bursts(self) -> list[BulkChange]:
        found = [
            BulkChange(user_id, s.first[0].date, s.first[-1].date, s.first, s.peak_changes())
            for user_id, s in self._users.items()
            if s.first is not None
        ]
        return sorted(found, key=lambda b: (-b.peak_files, b.start))


def _minutes(settings: GuardSettings) -> int:
    return int(settings.window.total_seconds() // 60)


def _title(event: AuditEvent) -> str | None:
    """The file name from the event text ("File Updated: Contract.docx"), when it has one."""
    text = context_title(event.action)
    return text[:120] if text else None


class Surroundings(NamedTuple):
    """What the portal tells about a burst, looked up before its finding is built."""

    rooms: dict[int, str | None]  # the peak window's rooms: id -> title (None: not listed)
    logins: dict[str, Any]  # the user's login history (``LoginHistory.to_dict``)


def detect(
    slices: Iterable[tuple[object, Iterable[AuditEvent]]], settings: GuardSettings
) -> tuple[list[BulkChange], int]:
    """Pure rule over the scan's slices (oldest first): the bursts, busiest first, and how many
    file-change events were unusable."""
    detector = BulkDetector(settings.threshold, settings.window)
    for _bounds, events in slices:
        detector.feed(events)
    return detector.bursts(), detector.skipped


def surroundings(context: RunContext, bursts: list[BulkChange]) -> list[Surroundings]:
    """The enrichment, one per burst: room look-ups for the peak window's files and one login
    scan for every flagged user (from a day before the first burst)."""
    resolver = RoomResolver(context.client, context.client.rooms())
    since = min(b.start for b in bursts) - timedelta(days=1)
    logins = group_logins(
        context.client.login_events(since, context.plan.end), {b.user_id for b in bursts}
    )
    return [Surroundings(_rooms(resolver, b), logins[b.user_id].to_dict()) for b in bursts]


def _rooms(resolver: RoomResolver, burst: BulkChange) -> dict[int, str | None]:
    rooms: dict[int, str | None] = {}
    for change in burst.peak_changes:
        room_id = resolver.room_id(change.event)
        if room_id is not None:
            room = resolver.rooms.get(room_id)
            rooms[room_id] = room.title if room else None
    return rooms


def run(context: RunContext, settings: GuardSettings) -> RunOutcome:
    bursts, skipped = detect(context.scan.audit_slices(), settings)
    scanned = context.scan.stats.rows
    findings: list[Finding] = []
    if bursts:
        found = surroundings(context, bursts)
        gate = Gate(
            context.client,
            RestrictionStore(context.store),
            settings.response,
            source=WORKFLOW,
            owner=context.invocation.run_key,
            rules=context.rules,
        )
        cursor = context.plan.cursor_before if context.plan.moves_cursor else None
        for burst, around in zip(bursts, found, strict=True):
            finding = bulk_finding(burst, around, settings, context.client.portal_url)
            findings.append(staged(finding, _respond(gate, burst, finding, settings, cursor)))
    return RunOutcome(
        findings=findings,
        events_scanned=scanned,
        events_skipped=skipped,
        details={"usersFlagged": len(bursts), "mode": settings.response.mode},
    )


def _respond(
    gate: Gate,
    burst: BulkChange,
    finding: Finding,
    settings: GuardSettings,
    cursor: datetime | None,
) -> ActionTaken:
    """The disable, through the gate; a burst an earlier run saw whole is never acted on twice
    (this run re-reads the lag behind its cursor)."""
    if cursor is not None and burst.end <= cursor:
        return ActionTaken(DISABLE, burst.user_id, "skipped", "reported by an earlier run")
    return gate.act(
        ActionRequest(
            DISABLE,
            burst.user_id,
            evidence_at=burst.peak_end,
            finding_id=finding.fingerprint,
            reason=f"{burst.peak_files} distinct files changed within {_minutes(settings)} minutes",
            subject=Subject.of(finding),
            finding_title=f"[{finding.severity.name}] {finding.title}",
        )
    )


def bulk_finding(
    burst: BulkChange, around: Surroundings, settings: GuardSettings, portal_url: str
) -> Finding:
    """Pure: a burst's finding (built as "acted"; ``enforcement.staged`` sets the last part of
    its dedup key once the action is known)."""
    titles: dict[str, str] = {}
    # Everything the finding shows about "the" burst is the peak window's, so the number in
    # the title is the number of files listed; the crossing is labelled as such.
    changes = burst.peak_changes
    for change in changes:
        title = _title(change.event)
        if title:
            titles.setdefault(change.file_id, title)
    rooms = around.rooms
    first = changes[0].event
    name = next((c.event.user for c in changes if c.event.user), None)
    files = burst.files
    only_room = next(iter(rooms.items())) if len(rooms) == 1 else None
    minutes = _minutes(settings)
    who = name or burst.user_id
    return Finding(
        workflow=WORKFLOW,
        kind="bulk_file_change",
        severity=Severity.HIGH,
        title=f"{who} changed {len(files)} files in {minutes} minutes",
        summary=(
            f"{who} changed {len(files)} distinct files within {minutes} minutes, between "
            f"{burst.peak_start:%Y-%m-%d %H:%M:%S} and {burst.peak_end:%H:%M:%S} UTC (threshold: "
            f"more than {settings.threshold}; first crossed at {burst.end:%H:%M:%S} UTC, with "
            f"{burst.crossing_files} files) (mode: {settings.response.mode})."
        ),
        # The last part is set by ``enforcement.staged``; built as "acted", whose fingerprint is
        # the finding id a restriction record keeps.
        dedup=(burst.user_id, burst.start.strftime("%Y-%m-%dT%H:%M"), ACTED_STAGE),
        portal_url=portal_url,
        user=UserRef(burst.user_id, name),
        room=RoomRef(only_room[0], only_room[1]) if only_room else None,
        period_start=burst.start,
        period_end=burst.peak_end,
        evidence={
            # The one headline number: distinct files in the busiest window.
            "distinctFiles": len(files),
            "threshold": settings.threshold,
            "windowMinutes": minutes,
            "changes": len(changes),
            # The first window over the threshold, which may hold fewer files than the busiest.
            "thresholdCrossedAt": format_utc(burst.end),
            "distinctFilesWhenCrossed": burst.crossing_files,
            "actions": sorted({action_label(c.event.action_id) for c in changes}),
            "sampleFiles": [{"id": f, "title": titles.get(f)} for f in files[:SAMPLE]],
            "rooms": [{"id": r, "title": t} for r, t in sorted(rooms.items())],
            "sampleEventIds": [c.event.id for c in changes[:SAMPLE]],
            "firstEventIp": first.ip,
        },
        context={"logins": around.logins},
    )
