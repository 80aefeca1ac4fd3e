"""Crash-safe incremental scans of the audit trail and the login history.

A run reads ``[cursor - lag, scheduled time]``: the lag re-reads a stretch the previous run
already saw, because the server writes most audit events asynchronously and late events land
behind the cursor ("prefer duplicates over missed events"). The window is read in time slices,
oldest first; each slice is read whole (newest first, as the server pages) before the next, so
"everything up to the end of the last finished slice" is always a true statement and is what
the cursor may move to. Near the Lambda deadline the scan stops after a slice and the next run
continues from there.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .client import DocSpaceClient, ScanStats
from .invocation import Invocation
from .models import AuditEvent, LoginEvent
from .state import Cursor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanPlan:
    start: datetime
    end: datetime
    cursor_before: datetime | None
    moves_cursor: bool


def floor_to(value: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((value - epoch) // step) * step


def plan_scan(
    invocation: Invocation,
    cursor: Cursor | None,
    *,
    lag: timedelta,
    initial_lookback: timedelta,
    max_span: timedelta,
    align: timedelta = timedelta(hours=1),
) -> ScanPlan:
    """The window a run reads. Starts are aligned down to ``align`` so hourly aggregates are
    always recomputed from whole hours; a long backlog is caught up ``max_span`` at a time."""
    if invocation.window is not None:
        start, end = invocation.window
        return ScanPlan(start, end, cursor.position if cursor else None, moves_cursor=False)
    end = invocation.scheduled_time
    start = end - initial_lookback if cursor is None else min(cursor.position, end) - lag
    start = floor_to(start, align)
    if end - start > max_span:
        end = start + max_span
    return ScanPlan(start, end, cursor.position if cursor else None, moves_cursor=True)


def time_slices(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """Half-open slices ``[a, b)`` covering ``[start, end]``, aligned to ``size``, oldest first."""
    slices = []
    current = start
    while current < end:
        nxt = min(floor_to(current, size) + size, end)
        slices.append((current, nxt))
        current = nxt
    return slices


@dataclass
class SliceScan:
    """Reads a plan slice by slice and tracks how far it got.

    ``completed_until`` is the end of the last slice read whole; ``stopped_early`` says the
    deadline stopped it before ``plan.end``.
    """

    client: DocSpaceClient
    plan: ScanPlan
    slice_size: timedelta = timedelta(hours=1)
    remaining_time: Callable[[], float] | None = None
    reserve_seconds: float = 60.0
    stats: ScanStats = field(default_factory=ScanStats)
    #: Slices read at the same time (each by its own thread; the client's rate budget is shared).
    concurrency: int = 1
    completed_until: datetime | None = None
    stopped_early: bool = False

    def __post_init__(self) -> None:
        self.completed_until = self.plan.start

    def _out_of_time(self) -> bool:
        return self.remaining_time is not None and self.remaining_time() < self.reserve_seconds

    def slices(self) -> Iterator[tuple[datetime, datetime]]:
        pieces = time_slices(self.plan.start, self.plan.end, self.slice_size)
        for index, (low, high) in enumerate(pieces):
            if index and self._out_of_time():
                self.stopped_early = True
                log.warning("near the time limit: stopping the scan at %s", low.isoformat())
                return
            yield low, high
            self.completed_until = high

    def _read_slice(self, low: datetime, high: datetime) -> tuple[list[AuditEvent], ScanStats]:
        """One slice, whole: distinct ids, ``low <= date < high`` (the plan's end inclusive)."""
        stats = ScanStats()
        last = high == self.plan.end
        events: dict[int, AuditEvent] = {}
        for event in self.client.audit_events(low, high, stats=stats):
            if event.date < low or (event.date >= high and not last) or event.date > high:
                continue
            events.setdefault(event.id, event)
        return list(events.values()), stats

    def _merge(self, stats: ScanStats) -> None:
        self.stats.pages += stats.pages
        self.stats.rows += stats.rows
        self.stats.malformed += stats.malformed
        self.stats.duplicates += stats.duplicates

    def audit_slices(self) -> Iterator[tuple[tuple[datetime, datetime], list[AuditEvent]]]:
        """Each slice's audit events, oldest slice first. A slice is handed over only once it
        has been read whole; with ``concurrency`` > 1 the next slices are read meanwhile, and
        they are still handed over in order, so ``completed_until`` stays a true statement."""
        if self.concurrency <= 1:
            for low, high in self.slices():
                events, stats = self._read_slice(low, high)
                self._merge(stats)
                yield (low, high), events
            return
        pieces = iter(enumerate(time_slices(self.plan.start, self.plan.end, self.slice_size)))
        pending: deque[tuple[tuple[datetime, datetime], Future[tuple[list[AuditEvent], ScanStats]]]]
        pending = deque()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="scan")
        exhausted = False

        def fill() -> None:
            nonlocal exhausted
            while not exhausted and len(pending) < self.concurrency:
                item = next(pieces, None)
                if item is None:
                    exhausted = True
                    return
                index, (low, high) = item
                if index and self._out_of_time():
                    exhausted = self.stopped_early = True
                    log.warning("near the time limit: stopping the scan at %s", low.isoformat())
                    return
                pending.append(((low, high), pool.submit(self._read_slice, low, high)))

        try:
            fill()
            while pending:
                bounds, future = pending.popleft()
                events, stats = future.result()
                self._merge(stats)
                yield bounds, events
                self.completed_until = bounds[1]
                fill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def audit_events(self) -> Iterator[AuditEvent]:
        for _bounds, events in self.audit_slices():
            yield from events

    def login_events(self) -> Iterator[LoginEvent]:
        """Login events of the whole plan, in one pass over the history (newest first)."""
        seen: set[int] = set()
        for event in self.client.login_events(self.plan.start, self.plan.end, stats=self.stats):
            if event.id not in seen:
                seen.add(event.id)
                yield event
        self.completed_until = self.plan.end
