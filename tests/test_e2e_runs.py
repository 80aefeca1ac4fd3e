"""The shared run machinery under faults: cursors, retries, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from docspace_sentinel.errors import DocSpaceError
from docspace_sentinel.state import StateStore
from local.aws import LocalAws
from local.simulator.faults import Faults
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled

pytestmark = pytest.mark.e2e


def test_a_run_failing_half_way_leaves_the_cursor_and_the_retry_finds_everything(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws, DOCSPACE_MAX_ATTEMPTS=1)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    simulator.faults = Faults(rate_5xx=0.2, seed=3)
    event = scheduled(iso(datetime.now(UTC)))
    with pytest.raises(DocSpaceError):
        run("vdr_activity", event)
    assert store.get_cursor("vdr_activity") is None
    assert aws.findings() == []
    simulator.faults = Faults()
    summary = run("vdr_activity", event)  # the retry of the same scheduled time
    assert summary["status"] == "completed" and summary["findingsPublished"] == 1
    assert store.get_cursor("vdr_activity") is not None
    assert len(aws.findings()) == 1


def test_retries_absorb_faults_without_duplicates(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws, DOCSPACE_TIMEOUT_SECONDS=1)
    simulator.faults = Faults(
        rate_5xx=0.03, rate_429=0.03, rate_malformed=0.02, rate_drop=0.02, retry_after=0, seed=11
    )
    event = scheduled(iso(datetime.now(UTC)))
    # Retries exhausted on one request fail the run (rarely, at 10 % faults): the scheduler
    # delivers the same scheduled time again, as it would in AWS.
    for _attempt in range(5):
        try:
            first = run("vdr_activity", event)
            break
        except DocSpaceError:
            continue
    assert first["findingsPublished"] == 1
    assert sum(simulator.stats.faults.values()) > 0, simulator.stats.snapshot()
    assert run("vdr_activity", event)["status"] == "duplicate"
    assert len(aws.findings()) == 1


def test_the_cursor_moves_to_the_end_of_the_window_and_the_next_run_starts_behind_it(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws, SCAN_LAG_MINUTES=30)
    now = datetime.now(UTC).replace(microsecond=0)
    first = run("vdr_activity", scheduled(iso(now)))
    assert first["cursorAfter"] == iso(now)
    second = run("vdr_activity", scheduled(iso(now + timedelta(minutes=10))))
    start = datetime.fromisoformat(second["window"]["from"])
    # cursor - lag, aligned down to the hour: re-reads late events, never leaves a gap
    assert start <= now - timedelta(minutes=30)
    assert start.minute == 0 and start.second == 0
    assert second["cursorAfter"] == iso(now + timedelta(minutes=10))


def test_a_run_near_its_deadline_saves_progress_and_the_next_continues(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from local.lambda_runtime import FakeContext, load_handler

    class RunningOut(FakeContext):
        """Plenty of time for the leases and the first two slices, then 10 s left."""

        calls = 0

        def get_remaining_time_in_millis(self) -> int:
            self.calls += 1
            return 600_000 if self.calls <= 4 else 10_000

    point_at(monkeypatch, simulator, aws, TIME_RESERVE_SECONDS=30, INITIAL_LOOKBACK_HOURS=96)
    handler = load_handler("vdr_activity")
    now = datetime.now(UTC).replace(microsecond=0)
    summary = handler(scheduled(iso(now)), RunningOut("vdr_activity"))
    assert summary["status"] == "partial"
    reached = datetime.fromisoformat(summary["cursorAfter"])
    assert reached < now
    follow = run("vdr_activity", scheduled(iso(now + timedelta(minutes=1))))
    assert datetime.fromisoformat(follow["cursorBefore"]) == reached
    assert follow["status"] == "completed"


def test_an_on_demand_window_does_not_move_the_cursor(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    now = datetime.now(UTC)
    summary = run("vdr_activity", {"from": iso(now - timedelta(days=4)), "to": iso(now)})
    assert summary["findingsPublished"] == 1 and summary["cursorAfter"] is None
    assert (
        run("vdr_activity", {"from": iso(now - timedelta(days=4)), "to": iso(now)})["status"]
        == "duplicate"
    )


def test_a_concurrent_run_of_the_same_workflow_is_turned_away(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    assert store.acquire_lock("vdr_activity", "someone-else", timedelta(minutes=5))
    summary = run("vdr_activity", scheduled(iso(datetime.now(UTC))))
    assert summary["status"] == "busy" and aws.findings() == []
    store.release_lock("vdr_activity", "someone-else")
    again = run("vdr_activity", scheduled(iso(datetime.now(UTC))))
    assert again["status"] == "completed"


def test_events_with_missing_fields_or_unknown_actions_are_counted_and_skipped(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    scenario = simulator.scenario
    heavy = scenario.planted.vdr_heavy
    assert heavy is not None
    # a newer server's action code, in the planted room
    scenario.audit.extra_known.add(5999)
    scenario.add_audit_event(5999, user_id=heavy.user_id, target=[heavy.room_id])
    # rows the client cannot read, and a row without a user
    first, second, third = heavy.event_ids[:3]
    scenario.audit_overrides[first] = {"date": None}
    scenario.audit_overrides[second] = {"id": "x-1"}
    scenario.audit_overrides[third] = {"userId": None}
    summary = run("vdr_activity", scheduled(iso(datetime.now(UTC) + timedelta(seconds=2))))
    assert summary["status"] == "completed"
    assert summary["eventsSkipped"] == 4
    assert summary["findingsPublished"] == 1
