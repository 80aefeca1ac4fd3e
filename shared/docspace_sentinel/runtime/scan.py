"""Crash-safe incremental scans of the audit trail and the login history.

A run reads ``[cursor - lag, scheduled time]``: the lag re-reads a stretch the previous run
already saw, because the server writes most audit events asynchronously and late events land
behind the cursor ("prefer duplicates over missed events"). The window is read in time slices,
oldest first; each slice is read whole (newest first, as the server pages) before the next, so
"everything up to the end of the last finished slice" is always a true statement and is what
the cursor may move to. Near the Lambda deadline the scan stops after a slice and the next run
continues from there. Slices are sized to hold about a target number of events (``SliceSizer``);
one that turns out far denser than it was sized for is cut again before it is handed over.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import NamedTuple

from ..docspace.client import DocSpaceClient
from ..docspace.models import AuditEvent, LoginEvent
from ..docspace.paging import ScanStats
from ..state.store import Cursor
from .invocation import Invocation

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


def trusted_cursor(cursor: Cursor | None, now: datetime) -> Cursor | None:
    """The cursor a run may plan from. One past now was written by a run invoked for a time in
    the future (no run can have read the future): trusting it would skip everything up to it.
    That run read the portal up to when it wrote the cursor, so its ``updated_at`` is the true
    position; without one, the cursor is dropped and the run starts from its initial lookback."""
    if cursor is None or cursor.position <= now:
        return cursor
    written = cursor.updated_at
    log.error(
        "the cursor is in the future (%s): reading again from %s",
        cursor.position.isoformat(),
        written.isoformat() if written and written <= now else "the initial lookback",
    )
    if written is None or written > now:
        return None
    return cursor._replace(position=written)


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


#: A slice spans at most this many times the one before it: a quiet stretch says little about the
#: next, and one empty hour must not make the next slice swallow a busy week.
GROWTH = 4
#: The density a slice is sized on is that of the densest slice read in the week before it:
#: portals have daily and weekly rhythms, and a quiet night or weekend must not size the busy
#: morning after it.
MEMORY = timedelta(days=7)
#: A slice of several units that turns out to hold more than this many times the target is not
#: held whole: its read stops there and it is cut again, smaller (a busy stretch right after a
#: quiet one would otherwise land in one slice, up to ``GROWTH`` times the one before).
OVERFLOW = 2

_CHRONOLOGICAL = attrgetter("date", "id")


class _Read(NamedTuple):
    #: None when the read gave up (see ``SliceScan._read_slice``).
    events: list[AuditEvent] | None
    stats: ScanStats
    #: How far back the read got (the date of the last page's first row, for one given up).
    reached: datetime


@dataclass
class SliceSizer:
    """Chooses each slice's end so that the slice holds about ``target`` events.

    Audit pages carry no ``total``, so the read of every slice ends with a short page: one
    request per slice beyond its rows. And a slice is held in memory whole. Fixed hourly slices
    spend a request an hour on a quiet portal and hold thousands of events on a busy one; sized
    on the density seen so far, a slice costs about ``target / 100 + 1`` requests and holds
    about ``target`` events however busy the portal. Slices are whole ``unit``s aligned to
    ``unit`` (only the first may be shorter, from an unaligned start), so hourly aggregates
    still see whole hours.
    """

    unit: timedelta
    target: int
    #: Span of the last slice sized, in units.
    units: int = 0
    #: End and rows per unit of the slices read (those of the last ``MEMORY``).
    seen: deque[tuple[datetime, float]] = field(default_factory=deque)

    def observe(self, low: datetime, high: datetime, rows: int) -> None:
        if high - low >= self.unit:  # a shorter one (from an unaligned start) tells too little
            self.seen.append((high, rows / ((high - low) / self.unit)))

    def end(self, low: datetime, limit: datetime) -> datetime:
        """The end of the slice starting at ``low``: one unit while nothing has been read, then
        the most whole units expected to hold no more than ``target`` events, at least one, at
        most ``GROWTH`` times the last slice, never past ``limit``."""
        while len(self.seen) > 1 and self.seen[0][0] < low - MEMORY:
            self.seen.popleft()
        aligned = floor_to(low, self.unit)
        units = 1
        if self.seen:
            grown = self.units * GROWTH
            density = max(density for _end, density in self.seen)
            fits = math.floor(self.target / density) if density else grown
            left = math.ceil((limit - aligned) / self.unit)
            units = max(1, min(fits, grown, left))
        self.units = units
        return min(aligned + units * self.unit, limit)


@dataclass
class SliceScan:
    """Reads a plan slice by slice and tracks how far it got.

    ``completed_until`` is the end of the last slice read whole; ``stopped_early`` says the
    deadline stopped it before ``plan.end``.
    """

    client: DocSpaceClient
    plan: ScanPlan
    #: The smallest slice and the alignment of every slice (``SCAN_SLICE_MINUTES``).
    slice_size: timedelta = timedelta(hours=1)
    #: The events a slice should hold (``SCAN_SLICE_EVENTS``); see ``SliceSizer``.
    slice_events: int = 2000
    remaining_time: Callable[[], float] | None = None
    reserve_seconds: float = 60.0
    stats: ScanStats = field(default_factory=ScanStats)
    #: Slices read at the same time (each by its own thread; the client's rate budget is shared).
    concurrency: int = 1
    completed_until: datetime | None = None
    stopped_early: bool = False
    _sizer: SliceSizer = field(init=False, repr=False)
    #: Moves on when the reads in flight are no longer wanted (a slice was cut again).
    _generation: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.completed_until = self.plan.start
        self._sizer = SliceSizer(self.slice_size, self.slice_events)

    def _out_of_time(self) -> bool:
        return self.remaining_time is not None and self.remaining_time() < self.reserve_seconds

    def _bounds(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The slices from ``start``, oldest first, each sized only when it is about to start
        (so on the density of the slices read by then); none is started once the deadline is
        near."""
        low = start
        while low < self.plan.end:
            if low > self.plan.start and self._out_of_time():
                self.stopped_early = True
                log.warning("near the time limit: stopping the scan at %s", low.isoformat())
                return
            high = self._sizer.end(low, self.plan.end)
            yield low, high
            low = high

    def _read_slice(self, low: datetime, high: datetime, generation: int) -> _Read:
        """One slice, whole: distinct ids, ``low <= date < high`` (the plan's end inclusive),
        oldest first by date and id. Slices are disjoint and in order, so a scan hands over its
        events in one order however it was sliced, and what a workflow keeps of them (the first
        few as samples) does not depend on the slicing either.

        Gives up (``events`` None) on a slice of several units that passes ``OVERFLOW`` times
        the target, so it is cut smaller instead of held whole, and on one the scan no longer
        wants (``generation`` moved on)."""
        stats = ScanStats()
        last = high == self.plan.end
        cap = OVERFLOW * self.slice_events if high - low > self.slice_size else math.inf
        events: dict[int, AuditEvent] = {}
        for event in self.client.audit_events(low, high, stats=stats):
            if stats.rows > cap or generation != self._generation:
                return _Read(None, stats, event.date)
            if event.date < low or (event.date >= high and not last) or event.date > high:
                continue
            events.setdefault(event.id, event)
        return _Read(sorted(events.values(), key=_CHRONOLOGICAL), stats, low)

    def _merge(self, bounds: tuple[datetime, datetime], stats: ScanStats) -> None:
        self._sizer.observe(*bounds, stats.rows)
        self.stats.pages += stats.pages
        self.stats.rows += stats.rows
        self.stats.malformed += stats.malformed
        self.stats.duplicates += stats.duplicates

    def audit_slices(self) -> Iterator[tuple[tuple[datetime, datetime], list[AuditEvent]]]:
        """Each slice's audit events, oldest slice first. A slice is handed over only once it
        has been read whole; with ``concurrency`` > 1 the next slices are read meanwhile, and
        they are still handed over in order, so ``completed_until`` stays a true statement.
        A slice that overflowed is dropped with the ones read after it, and sized again."""
        pending: deque[tuple[tuple[datetime, datetime], Future[_Read]]] = deque()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="scan")
        pieces = self._bounds(self.plan.start)

        def fill() -> None:
            while len(pending) < self.concurrency:
                bounds = next(pieces, None)
                if bounds is None:
                    return
                read = pool.submit(self._read_slice, *bounds, self._generation)
                pending.append((bounds, read))

        try:
            fill()
            while pending:
                bounds, future = pending.popleft()
                events, stats, reached = future.result()
                if events is None:
                    # Far denser than the slices before it: sized on its newest rows (at least
                    # a unit's worth of time), it and the slices after it are cut again.
                    low, high = bounds
                    log.info("slice from %s overflowed: cutting it smaller", low.isoformat())
                    self._sizer.observe(min(reached, high - self.slice_size), high, stats.rows)
                    self._generation += 1
                    for _later, read in pending:
                        read.cancel()
                    pending.clear()
                    self.stopped_early = False  # decided again, by the slices cut from here
                    pieces = self._bounds(low)
                else:
                    self._merge(bounds, stats)
                    yield bounds, events
                    self.completed_until = bounds[1]
                fill()
        finally:
            self._generation += 1  # reads still running stop at their next row
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
