"""The shared run machinery under faults: cursors, retries, duplicates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.docspace.errors import DocSpaceError
from docspace_sentinel.runtime.errors import InvalidInvocation
from docspace_sentinel.state.store import StateStore, to_iso
from local.aws import LocalAws
from local.lambda_runtime import ROOT, FakeContext
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
    earlier = now - timedelta(minutes=10)
    first = run("vdr_activity", scheduled(iso(earlier)))
    assert first["cursorAfter"] == iso(earlier)
    second = run("vdr_activity", scheduled(iso(now)))
    start = datetime.fromisoformat(second["window"]["from"])
    # cursor - lag, aligned down to the hour: re-reads late events, never leaves a gap
    assert start <= earlier - timedelta(minutes=30)
    assert start.minute == 0 and start.second == 0
    assert second["cursorAfter"] == iso(now)


def test_a_run_near_its_deadline_saves_progress_and_the_next_continues(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
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
    capsys.readouterr()
    summary = handler(scheduled(iso(now)), RunningOut("vdr_activity"))
    assert summary["status"] == "partial"
    # behind is not done: a workflow that is always partial must still trip its stale alarm
    partial = _metrics(capsys.readouterr().out)
    assert "RunPartial" in partial and "RunSucceeded" not in partial
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


def test_an_audit_row_dated_outside_the_requested_window_is_skipped_and_the_cursor_passes(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    heavy = simulator.scenario.planted.vdr_heavy
    assert heavy is not None
    # The portal renders one row with a date no slice asked for (a misdated row): it used to
    # fail every run that read its slice as "no Audit option", and the cursor never passed it.
    late = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    simulator.scenario.audit_overrides[heavy.event_ids[0]] = {"date": late}
    now = datetime.now(UTC).replace(microsecond=0)
    first = run("vdr_activity", scheduled(iso(now)))
    assert first["status"] == "completed" and first["eventsSkipped"] == 1
    assert first["cursorAfter"] == iso(now)
    later = run("vdr_activity", scheduled(iso(now + timedelta(minutes=1))))
    assert later["status"] == "completed"
    assert later["cursorAfter"] == iso(now + timedelta(minutes=1))


# -- forged and hostile invocations -----------------------------------------------------------


def _metrics(out: str) -> list[str]:
    """The names of the metrics in the EMF lines Powertools printed."""
    names: list[str] = []
    for line in out.splitlines():
        if line.startswith('{"_aws"'):
            for block in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                names += [m["Name"] for m in block["Metrics"]]
    return names


def _nothing_written(aws: LocalAws) -> bool:
    return aws.dynamodb.scan(TableName=aws.table_name)["Count"] == 0 and aws.findings() == []


def _url(body: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/",
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": body,
        "isBase64Encoded": False,
    }


def test_a_scheduled_time_in_the_future_is_refused_before_anything_is_written(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from local.lambda_runtime import load_handler

    point_at(monkeypatch, simulator, aws)
    handler = load_handler("vdr_activity")  # called directly: no local scheduler moves the clock
    forged = scheduled(iso(datetime.now(UTC) + timedelta(days=29)))
    with pytest.raises(InvalidInvocation, match="in the future"):
        handler(forged, FakeContext("vdr_activity"))
    assert _nothing_written(aws)
    assert not simulator.stats.requests
    metrics = _metrics(capsys.readouterr().out)
    assert "InvocationRejected" in metrics and "RunFailed" not in metrics
    # the scheduled runs after it still read from where the last one stopped
    summary = run("vdr_activity", scheduled(iso(datetime.now(UTC))))
    assert summary["status"] == "completed" and summary["findingsPublished"] == 1


def test_an_old_scheduled_time_is_refused_and_cannot_pin_the_cursor_in_the_past(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    # A test invoke of the example event (its time is fixed) after deploy, or a forged one:
    # with no cursor yet it would have set the cursor there, and every later run crawled
    # forward MAX_SCAN_HOURS at a time, each counted as a success, blind to live events.
    example = json.loads((ROOT / "events" / "bulk_change_guard.json").read_text())
    for old in (scheduled("2000-01-01T00:00:00Z"), example):
        with pytest.raises(InvalidInvocation, match="too old"):
            run("bulk_change_guard", old)
    assert _nothing_written(aws)
    now = datetime.now(UTC).replace(microsecond=0)
    # A delivery Lambda retried for hours is still a run, and the next run catches up at once.
    retried = run("bulk_change_guard", scheduled(iso(now - timedelta(hours=6))))
    assert retried["status"] == "completed" and retried["cursorAfter"] == iso(
        now - timedelta(hours=6)
    )
    follow = run("bulk_change_guard", scheduled(iso(now)))
    assert follow["status"] == "completed" and follow["cursorAfter"] == iso(now)
    # A cursor far behind (an outage) is still caught up, MAX_SCAN_HOURS at a time.
    store.put(
        {
            "pk": "cursor#vdr_activity",
            "sk": "default",
            "position": to_iso(now - timedelta(days=10)),
            "runKey": "before-the-outage",
            "updatedAt": to_iso(now - timedelta(days=10)),
        }
    )
    behind = run("vdr_activity", scheduled(iso(now)))
    assert datetime.fromisoformat(behind["window"]["from"]) <= now - timedelta(days=10)
    assert datetime.fromisoformat(behind["cursorAfter"]) <= now - timedelta(days=3)
    caught_up = run("vdr_activity", scheduled(iso(now + timedelta(seconds=1))))
    assert caught_up["cursorAfter"] == iso(now + timedelta(seconds=1))


def test_the_cursor_is_never_committed_past_the_real_now(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.lambda_runtime import load_handler

    point_at(monkeypatch, simulator, aws)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=4)  # within the skew
    summary = load_handler("vdr_activity")(scheduled(iso(ahead)), FakeContext("vdr_activity"))
    cursor = store.get_cursor("vdr_activity")
    assert cursor is not None and cursor.position <= datetime.now(UTC) < ahead
    assert datetime.fromisoformat(summary["cursorAfter"]) <= datetime.now(UTC)
    # and the store itself never writes a position past its clock
    written = store.commit_cursor(
        "other", datetime.now(UTC) + timedelta(days=29), expected=None, run_key="forged"
    )
    assert written is not None and written <= datetime.now(UTC)


def test_a_cursor_left_in_the_future_is_read_again_from_when_it_was_written(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    now = datetime.now(UTC).replace(microsecond=0)
    # what a forged run before this fix left: a cursor 29 days ahead, written four days ago
    store.put(
        {
            "pk": "cursor#vdr_activity",
            "sk": "default",
            "position": to_iso(now + timedelta(days=29)),
            "runKey": "forged",
            "updatedAt": to_iso(now - timedelta(days=4)),
        }
    )
    summary = run("vdr_activity", scheduled(iso(now)))
    assert datetime.fromisoformat(summary["window"]["from"]) <= now - timedelta(days=4)
    assert summary["findingsPublished"] == 1  # the planted activity of the last days
    cursor = store.get_cursor("vdr_activity")
    assert cursor is not None and cursor.position == now


def test_the_function_url_takes_only_an_on_demand_window(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    now = datetime.now(UTC)
    forged = [
        json.dumps(scheduled(iso(now + timedelta(days=29)))),
        json.dumps(scheduled(iso(now))),  # even a time that is not ahead
        json.dumps({"detail-type": "Scheduled Event", "time": iso(now)}),
        "{}",
        json.dumps({"from": "0001-01-01T00:00:00+05:00", "to": iso(now)}),
        json.dumps({"from": iso(now - timedelta(days=1)), "to": "9999-12-31T23:59:59-05:00"}),
        json.dumps({"from": iso(now - timedelta(days=1)), "to": 1795154400}),
        '{"from": NaN, "to": "2026-11-20T00:00:00Z"}',
        "[" * 10_000 + "]" * 10_000,
        '{"from": ' * 10_000 + "1" + "}" * 10_000,
        json.dumps({"from": iso(now - timedelta(days=1)), "to": "9" * 1_000_000}),
    ]
    for body in forged:
        answer = run("bulk_change_guard", _url(body))
        assert answer["statusCode"] == 400, body[:80]
        assert 0 < len(json.loads(answer["body"])["error"]) < 200
    assert _nothing_written(aws)
    assert not simulator.stats.requests
    metrics = _metrics(capsys.readouterr().out)
    assert metrics.count("InvocationRejected") == len(forged) and "RunFailed" not in metrics
    window = {"from": iso(now - timedelta(days=4)), "to": iso(now)}
    answer = run("bulk_change_guard", _url(json.dumps(window)))
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "completed"


@pytest.mark.parametrize(
    "event",
    [
        {"scheduledTime": "0001-01-01T00:00:00+05:00", "scheduleArn": "x"},
        {"from": "2026-11-19T00:00:00Z", "to": "9999-12-31T23:59:59-05:00"},
        {"scheduledTime": "2026-11-20T06:00:00Z", "scheduleArn": {"a": ["b"]}},
        {"from": "2026-11-19T00:00:00Z", "to": "2026-11-20T00:00:00Z", "x": [[[[[[[[[[1]]]]]]]]]]},
        [],
    ],
)
def test_a_hostile_direct_invoke_is_an_invalid_invocation_and_writes_nothing(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    event: Any,
) -> None:
    point_at(monkeypatch, simulator, aws)
    with pytest.raises(InvalidInvocation):
        run("vdr_activity", event)
    assert _nothing_written(aws)


def test_a_hostile_login_query_is_an_invalid_query_not_a_crash(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docspace_sentinel.workflows.login_audit import InvalidQuery

    point_at(monkeypatch, simulator, aws)
    for event in (
        {"limit": 5, "from": "0001-01-01T00:00:00+05:00"},
        {"limit": 5, "to": "9999-12-31T23:59:59-05:00"},
        {"limit": 5, "to": 1795154400},
        {"limit": 5, "from": ["2026-11-19T00:00:00Z"]},
        {"limit": True},
    ):
        with pytest.raises(InvalidQuery):
            run("login_audit", event)
    with pytest.raises(InvalidInvocation):
        run("login_audit", {"limit": 5, "userId": nested_value(100)})
    assert _nothing_written(aws)


def nested_value(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


# -- what counts as a completed run -------------------------------------------------------------


def test_only_a_completed_scheduled_run_counts_as_run_succeeded(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    capsys.readouterr()
    assert store.acquire_lock("vdr_activity", "stuck", timedelta(minutes=5))
    assert run("vdr_activity", scheduled(iso(datetime.now(UTC))))["status"] == "busy"
    busy = _metrics(capsys.readouterr().out)
    assert "RunBusy" in busy and "RunSucceeded" not in busy
    store.release_lock("vdr_activity", "stuck")

    event = scheduled(iso(datetime.now(UTC) - timedelta(minutes=1)))
    assert run("vdr_activity", event)["status"] == "completed"
    assert "RunSucceeded" in _metrics(capsys.readouterr().out)
    assert run("vdr_activity", event)["status"] == "duplicate"
    duplicate = _metrics(capsys.readouterr().out)
    assert "RunDuplicate" in duplicate and "RunSucceeded" not in duplicate

    now = datetime.now(UTC)
    window = run("vdr_activity", {"from": iso(now - timedelta(days=1)), "to": iso(now)})
    assert window["status"] == "completed"
    scanned = _metrics(capsys.readouterr().out)
    assert "WindowScanned" in scanned and "RunSucceeded" not in scanned
