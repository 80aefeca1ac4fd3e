"""The metrics a run emits, read from the EMF lines Powertools prints (as CloudWatch would)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.aws import LocalAws
from local.simulator.faults import Faults
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled

pytestmark = pytest.mark.e2e


def emf(out: str) -> list[dict[str, Any]]:
    """Each metric Powertools printed: its name, unit, value and dimensions."""
    found: list[dict[str, Any]] = []
    for line in out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        record = json.loads(line)
        for block in record["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: record[name] for names in block["Dimensions"] for name in names}
            for metric in block["Metrics"]:
                found.append(
                    {
                        "namespace": block["Namespace"],
                        "name": metric["Name"],
                        "unit": metric.get("Unit"),
                        "value": _one(record[metric["Name"]]),
                        "dimensions": dimensions,
                    }
                )
    return found


def _one(value: Any) -> float:
    """A metric added once in the invocation: Powertools prints one value or a list of one."""
    if isinstance(value, list):
        (value,) = value
    return float(value)


def named(metrics: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [metric for metric in metrics if metric["name"] == name]


def test_a_scheduled_run_emits_its_scan_lag_with_the_workflow_dimension(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    capsys.readouterr()
    behind = timedelta(minutes=7)
    summary = run("bulk_change_guard", scheduled(iso(datetime.now(UTC) - behind)))
    assert summary["status"] == "completed"
    metrics = emf(capsys.readouterr().out)
    (lag,) = named(metrics, "ScanLagSeconds")
    assert lag["unit"] == "Seconds"
    # the template's lag alarms name service and workflow (Powertools adds service from
    # POWERTOOLS_SERVICE_NAME, which another test in the same process may have cleared)
    assert {"workflow"} <= set(lag["dimensions"]) <= {"service", "workflow"}
    assert lag["dimensions"]["workflow"] == "bulk_change_guard"
    # the cursor stands at the scheduled time: the lag is how long ago that was
    assert behind.total_seconds() <= lag["value"] < behind.total_seconds() + 60
    assert named(metrics, "RunSucceeded")
    assert named(metrics, "EventsScanned")[0]["value"] == summary["eventsScanned"] > 0
    assert not named(metrics, "ColdStart")  # no signal on scheduled functions
    assert not named(metrics, "RateLimitHits")  # no 429, no data point


def test_zero_counts_are_left_out(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A metric with no data in an hour is not billed for it: a quiet run sends no zeros."""
    point_at(monkeypatch, simulator, aws)
    capsys.readouterr()
    summary = run("restriction_release", scheduled(iso(datetime.now(UTC))))
    assert summary["status"] == "completed" and summary["findingsPublished"] == 0
    metrics = emf(capsys.readouterr().out)
    assert named(metrics, "RunSucceeded")  # what the stale alarm counts is always sent
    assert summary["apiCalls"] == 0  # nothing due: the release asked the portal nothing
    assert not named(metrics, "ApiCalls")
    assert not named(metrics, "FindingsPublished") and not named(metrics, "EventsScanned")
    assert not named(metrics, "ScanLagSeconds")  # no cursor: it lifts what is due now


def test_an_on_demand_window_emits_no_scan_lag(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    now = datetime.now(UTC)
    capsys.readouterr()
    run("vdr_activity", {"from": iso(now - timedelta(hours=3)), "to": iso(now)})
    metrics = emf(capsys.readouterr().out)
    assert named(metrics, "WindowScanned") and not named(metrics, "ScanLagSeconds")


def test_429s_the_client_absorbed_are_counted_as_rate_limit_hits(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws, DOCSPACE_MAX_ATTEMPTS=10)
    simulator.faults = Faults(rate_429=0.3, retry_after=0, seed=5)
    capsys.readouterr()
    summary = run("vdr_activity", scheduled(iso(datetime.now(UTC))))
    assert summary["status"] == "completed"
    metrics = emf(capsys.readouterr().out)
    (hits,) = named(metrics, "RateLimitHits")
    assert hits["value"] == simulator.stats.faults["429"] > 0
    assert hits["dimensions"]["workflow"] == "vdr_activity"
    (calls,) = named(metrics, "ApiCalls")
    assert calls["value"] > hits["value"]
