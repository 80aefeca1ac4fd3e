"""Slicing, sizing, ordering and early stops of SliceScan, with and without concurrency."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.secret import Secret
from docspace_sentinel.docspace.settings import ClientSettings
from docspace_sentinel.runtime.errors import ConfigError
from docspace_sentinel.runtime.invocation import Invocation
from docspace_sentinel.runtime.runner import RunContext, RunSettings
from docspace_sentinel.runtime.scan import (
    GROWTH,
    OVERFLOW,
    ScanPlan,
    SliceScan,
    SliceSizer,
    floor_to,
    plan_scan,
)
from docspace_sentinel.state.store import Cursor
from docspace_sentinel.workflows import vdr_activity
from docspace_sentinel.workflows.bulk_change_guard import BulkDetector, GuardSettings
from local.simulator.pytest_plugin import SimulatorFactory
from local.simulator.server import SimulatorServer

T0 = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
Bounds = tuple[datetime, datetime]


def _client(sim: SimulatorServer) -> DocSpaceClient:
    return DocSpaceClient(
        ClientSettings(url=sim.url, api_key=Secret(sim.api_key), requests_per_second=0)
    )


def _sized(
    times: list[datetime], start: datetime, end: datetime, target: int
) -> list[tuple[Bounds, int]]:
    """The slices a sizer chooses over events at ``times`` (sorted), with the rows of each."""
    sizer = SliceSizer(HOUR, target)
    slices = []
    low = start
    while low < end:
        high = sizer.end(low, end)
        rows = bisect.bisect_right(times, high) - bisect.bisect_left(times, low)
        sizer.observe(low, high, rows)
        slices.append(((low, high), rows))
        low = high
    return slices


def _assert_whole_aligned_cover(bounds: list[Bounds], start: datetime, end: datetime) -> None:
    """Oldest first, each slice starting where the last ended, from ``start`` to ``end``; every
    boundary inside the plan on a whole hour (hourly aggregates see whole hours)."""
    assert bounds[0][0] == start and bounds[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(bounds))
    assert all(low < high for low, high in bounds)
    assert all(floor_to(high, HOUR) == high for _low, high in bounds[:-1])


def test_a_quiet_stretch_grows_slices_at_most_fourfold_in_whole_aligned_hours() -> None:
    end = T0 + timedelta(days=30, minutes=10)
    slices = _sized([], T0, end, 5000)
    bounds = [b for b, _rows in slices]
    _assert_whole_aligned_cover(bounds, T0, end)
    # Up to the first whole hour, then one hour: nothing read yet (the first, shorter slice
    # tells too little), then growing.
    assert bounds[0] == (T0, T0.replace(minute=0) + HOUR)
    spans = [(high - low) / HOUR for low, high in bounds[1:-1]]
    assert spans == [GROWTH**n for n in range(len(spans))]
    assert len(bounds) <= 7  # 30 days in a handful of requests, not 720


def _hourly(start: datetime, hours: int, per_hour: int) -> list[datetime]:
    """``per_hour`` events an hour, none on an hour boundary."""
    step = HOUR / per_hour
    return [start + (n + 0.5) * step for n in range(hours * per_hour)]


def test_the_densest_slice_of_the_last_week_sizes_the_next_ones() -> None:
    # Busy (1,000 an hour) for two days, quiet (2 an hour) for three, busy for one, quiet for ten.
    start = T0.replace(minute=0)
    times = _hourly(start, 48, 1000) + _hourly(start + 48 * HOUR, 72, 2)
    times += _hourly(start + 120 * HOUR, 24, 1000) + _hourly(start + 144 * HOUR, 240, 2)
    end = start + 384 * HOUR
    slices = _sized(times, start, end, 5000)
    _assert_whole_aligned_cover([b for b, _rows in slices], start, end)
    # No slice is over the target: the quiet days in between are read in the busy days'
    # five-hour slices, and so is the busy day after them.
    assert all(rows <= 5000 for _bounds, rows in slices)
    between = [
        high - low for (low, high), _rows in slices if start + 48 * HOUR <= low < start + 144 * HOUR
    ]
    assert set(between) == {5 * HOUR}
    # A week after the last busy slice, the slices grow again.
    assert slices[-1][0][1] - slices[-1][0][0] > 5 * HOUR


SIZINGS = [1, 100, 5000]


def _bursts(detector: BulkDetector) -> list[tuple[str, datetime, datetime, int, list[int]]]:
    return [
        (b.user_id, b.start, b.end, b.peak_files, sorted(c.event.id for c in b.changes))
        for b in detector.bursts()
    ]


@pytest.mark.parametrize("slice_events", SIZINGS)
@pytest.mark.parametrize("concurrency", [1, 4])
def test_slices_arrive_in_order_and_equal_a_whole_window_read(
    simulator: SimulatorServer, concurrency: int, slice_events: int
) -> None:
    client = _client(simulator)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=3), now, None, True)
    scan = SliceScan(client, plan, slice_events=slice_events, concurrency=concurrency)
    guard = GuardSettings()
    sliced, whole = (
        BulkDetector(guard.threshold, guard.window),
        BulkDetector(guard.threshold, guard.window),
    )
    bounds: list[Bounds] = []
    ids = []
    for (low, high), events in scan.audit_slices():
        bounds.append((low, high))
        assert all(low <= e.date <= high for e in events)
        ids += [e.id for e in events]
        assert scan.completed_until == (bounds[-2][1] if len(bounds) > 1 else plan.start)
        sliced.feed(events)
    _assert_whole_aligned_cover(bounds, plan.start, plan.end)
    assert scan.completed_until == plan.end
    direct = {e.id: e for e in client.audit_events(plan.start, plan.end)}
    assert len(ids) == len(set(ids)) and set(ids) == set(direct)
    # The bulk guard's streaming detector, fed slice by slice, finds what one read finds.
    whole.feed(direct.values())
    assert _bursts(sliced) == _bursts(whole) != []


class _ActivityStore:
    """The two ``StateStore`` methods the VDR monitor calls, in memory."""

    def __init__(self) -> None:
        self.hours: dict[str, dict[tuple[int, str], dict[str, int]]] = defaultdict(dict)

    def set_activity_hours(
        self, user_id: str, room_id: int, day: str, hours: Mapping[str, int], **_: Any
    ) -> None:
        self.hours[user_id].setdefault((room_id, day), {}).update(hours)

    def activity_totals(self, user_id: str) -> dict[tuple[int, str], int]:
        return {key: sum(h.values()) for key, h in self.hours[user_id].items()}


def test_the_vdr_monitor_finds_the_same_whatever_the_sizing_or_concurrency(
    simulator: SimulatorServer,
) -> None:
    client = _client(simulator)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=4), now, None, False)
    invocation = Invocation("k", now, "on-demand", window=(plan.start, plan.end))
    settings = RunSettings("table", "arn:aws:sns:eu-west-1:123456789012:topic")
    seen = []
    for slice_events, concurrency in [(1, 1), (100, 4), (5000, 4), (20_000, 1)]:
        scan = SliceScan(client, plan, slice_events=slice_events, concurrency=concurrency)
        store: Any = _ActivityStore()
        context = RunContext("vdr_activity", invocation, plan, scan, client, store, settings, now)
        findings = vdr_activity.run(context, vdr_activity.Settings.from_env()).findings
        seen.append(([(f.dedup, f.evidence) for f in findings], store.hours))
    assert seen[0][0]  # the planted heavy user
    assert all(other == seen[0] for other in seen[1:])


def test_a_sparse_window_costs_about_the_pages_it_needs(
    simulator_factory: SimulatorFactory,
) -> None:
    # 10,000 events over 30 days, ~14 an hour: hourly slices cost 720 requests here.
    sim = simulator_factory(audit_events=10_000, days=30)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=30, hours=1), now, None, False)
    whole = _client(sim)
    events = sum(1 for _ in whole.audit_events(plan.start, plan.end))
    client = _client(sim)
    scan = SliceScan(client, plan, concurrency=4)
    assert sum(len(events) for _bounds, events in scan.audit_slices()) == events
    assert whole.requests_sent == events // 100 + 1
    assert client.requests_sent <= whole.requests_sent + 12


def _slice_rows(scan: SliceScan) -> list[tuple[Bounds, int]]:
    """Drain the scan: each slice with the rows the server returned for it."""
    slices: list[tuple[Bounds, int]] = []
    for bounds, _events in scan.audit_slices():
        slices.append((bounds, scan.stats.rows - sum(rows for _b, rows in slices)))
    return slices


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_dense_window_keeps_slices_near_the_target(
    simulator_factory: SimulatorFactory, concurrency: int
) -> None:
    # ~420 events an hour (nothing planted: evenly) against a target of 1,000.
    sim = simulator_factory(audit_events=40_000, days=4, plant=False)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=4), now, None, False)
    slices = _slice_rows(SliceScan(_client(sim), plan, slice_events=1000, concurrency=concurrency))
    _assert_whole_aligned_cover([b for b, _rows in slices], plan.start, plan.end)
    # The first slices are sized before anything was read (up to the first whole hour, then one
    # hour each), the last by the plan.
    rows = [rows for _bounds, rows in slices[concurrency + 1 : -1]]
    assert all(600 <= n <= 1200 for n in rows)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_busy_stretch_after_a_quiet_one_is_cut_to_size_not_held_whole(
    simulator_factory: SimulatorFactory, concurrency: int
) -> None:
    # 30 days, all 20,000 events in the last two: the slices grow over four empty weeks, and the
    # one that reaches the busy days overflows; it is read again in slices near the target.
    sim = simulator_factory(audit_events=20_000, days=2)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=30), now, None, False)
    client = _client(sim)
    scan = SliceScan(client, plan, slice_events=1000, concurrency=concurrency)
    slices = _slice_rows(scan)
    _assert_whole_aligned_cover([b for b, _rows in slices], plan.start, plan.end)
    assert max(rows for (low, high), rows in slices if high - low > HOUR) <= OVERFLOW * 1000
    assert scan.stats.rows == sum(1 for _ in _client(sim).audit_events(plan.start, plan.end))
    assert client.requests_sent < 720  # fixed hourly slices: 720 requests and more


@pytest.mark.parametrize("concurrency", [1, 4])
def test_near_the_deadline_the_scan_stops_after_a_slice_and_the_next_run_goes_on(
    simulator: SimulatorServer, concurrency: int
) -> None:
    client = _client(simulator)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=3), now, None, True)
    calls = iter([100.0] * 6 + [1.0] * 1000)
    scan = SliceScan(
        client,
        plan,
        slice_events=100,
        concurrency=concurrency,
        remaining_time=lambda: next(calls),
        reserve_seconds=30,
    )
    handed = [(bounds, events) for bounds, events in scan.audit_slices()]
    assert scan.stopped_early
    assert 1 <= len(handed) <= 7
    reached = scan.completed_until
    assert reached is not None and reached == handed[-1][0][1] < plan.end
    assert floor_to(reached, HOUR) == reached
    # The next run starts at the saved cursor (no lag here) and reads the rest.
    run = Invocation("k2", plan.end, "schedule")
    rest = plan_scan(
        run, Cursor(reached), lag=timedelta(0), initial_lookback=HOUR, max_span=timedelta(days=7)
    )
    assert rest.start == reached and rest.end == plan.end
    ids = [e.id for _bounds, events in handed for e in events]
    ids += [e.id for e in SliceScan(client, rest, slice_events=100).audit_events()]
    assert sorted(ids) == sorted({e.id for e in client.audit_events(plan.start, plan.end)})


def _settings(**env: str) -> RunSettings:
    return RunSettings.from_env({"STATE_TABLE": "t", "FINDINGS_TOPIC_ARN": "arn", **env})


@pytest.mark.parametrize("value", ["99", "20001", "0", "-5", "5k", "1e3"])
def test_a_bad_slice_target_fails_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _settings(SCAN_SLICE_EVENTS=value)
    assert raised.value.setting == "SCAN_SLICE_EVENTS"


def test_the_slice_target_defaults_to_2000() -> None:
    assert _settings().slice_events == SliceScan.slice_events == 2000
    assert _settings(SCAN_SLICE_EVENTS="250").slice_events == 250


def test_plan_reads_behind_the_cursor_and_caps_a_backlog() -> None:
    run = Invocation("k", T0, "schedule")
    first = plan_scan(
        run,
        None,
        lag=timedelta(minutes=15),
        initial_lookback=timedelta(hours=24),
        max_span=timedelta(days=7),
    )
    assert first.start == (T0 - timedelta(hours=24)).replace(minute=0) and first.end == T0
    later = plan_scan(
        run,
        Cursor(T0 - timedelta(minutes=5)),
        lag=timedelta(minutes=15),
        initial_lookback=timedelta(hours=24),
        max_span=timedelta(days=7),
    )
    assert later.start == T0.replace(minute=0) and later.cursor_before == T0 - timedelta(minutes=5)
    backlog = plan_scan(
        run,
        Cursor(T0 - timedelta(days=30)),
        lag=timedelta(0),
        initial_lookback=timedelta(hours=1),
        max_span=timedelta(days=7),
    )
    assert backlog.end - backlog.start == timedelta(days=7)
