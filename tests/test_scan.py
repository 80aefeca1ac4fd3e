"""Slicing, ordering and early stops of SliceScan, with and without concurrency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from docspace_sentinel.client import DocSpaceClient
from docspace_sentinel.invocation import Invocation
from docspace_sentinel.scan import ScanPlan, SliceScan, plan_scan, time_slices
from docspace_sentinel.secret import Secret
from docspace_sentinel.settings import ClientSettings
from docspace_sentinel.state import Cursor
from local.simulator.server import SimulatorServer

T0 = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def _client(sim: SimulatorServer) -> DocSpaceClient:
    return DocSpaceClient(
        ClientSettings(url=sim.url, api_key=Secret(sim.api_key), requests_per_second=0)
    )


def test_slices_are_aligned_half_open_and_cover_the_window() -> None:
    slices = time_slices(T0, T0 + timedelta(hours=2, minutes=10), timedelta(hours=1))
    assert slices == [
        (T0, T0.replace(minute=0) + timedelta(hours=1)),
        (T0.replace(minute=0) + timedelta(hours=1), T0.replace(minute=0) + timedelta(hours=2)),
        (T0.replace(minute=0) + timedelta(hours=2), T0 + timedelta(hours=2, minutes=10)),
    ]


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


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrent_slices_arrive_in_order_and_equal_a_sequential_read(
    simulator: SimulatorServer, concurrency: int
) -> None:
    client = _client(simulator)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=3), now, None, True)
    scan = SliceScan(client, plan, concurrency=concurrency)
    bounds = []
    ids = []
    for (low, high), events in scan.audit_slices():
        bounds.append((low, high))
        assert all(low <= e.date <= high for e in events)
        ids += [e.id for e in events]
        assert scan.completed_until == (bounds[-2][1] if len(bounds) > 1 else plan.start)
    assert bounds == time_slices(plan.start, plan.end, timedelta(hours=1))
    assert scan.completed_until == plan.end
    direct = {e.id for e in client.audit_events(plan.start, plan.end)}
    assert len(ids) == len(set(ids)) and set(ids) == direct


@pytest.mark.parametrize("concurrency", [1, 4])
def test_near_the_deadline_the_scan_stops_after_whole_slices(
    simulator: SimulatorServer, concurrency: int
) -> None:
    client = _client(simulator)
    now = datetime.now(UTC)
    plan = ScanPlan(now - timedelta(days=3), now, None, True)
    calls = iter([100.0] * 6 + [1.0] * 1000)
    scan = SliceScan(
        client,
        plan,
        concurrency=concurrency,
        remaining_time=lambda: next(calls),
        reserve_seconds=30,
    )
    handed = [bounds for bounds, _ in scan.audit_slices()]
    assert scan.stopped_early
    assert 1 <= len(handed) <= 7
    assert scan.completed_until == handed[-1][1] < plan.end
