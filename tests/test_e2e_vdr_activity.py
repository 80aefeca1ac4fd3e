"""The VDR activity monitor end to end: simulator over HTTP, moto, the handler in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.aws import LocalAws
from local.simulator.server import SimulatorServer
from tests.e2e import point_at, run, scheduled

pytestmark = pytest.mark.e2e


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_finds_the_planted_heavy_user_and_nothing_else(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    heavy = simulator.scenario.planted.vdr_heavy
    assert heavy is not None
    summary = run("vdr_activity", scheduled(_now()))
    findings = aws.findings()
    assert summary["status"] == "completed"
    assert [(f["user"]["id"], f["room"]["id"]) for f in findings] == [
        (heavy.user_id, heavy.room_id)
    ]
    finding = findings[0]
    assert finding["workflow"] == "vdr_activity" and finding["kind"] == "vdr_high_activity"
    assert finding["evidence"]["distinctEvents"] >= len(heavy.event_ids)
    assert finding["context"]["logins"]["successes"] >= 0
    assert "recent" in finding["context"]["logins"]
    assert summary["findingsPublished"] == 1 and summary["cursorAfter"] is not None


def test_a_second_run_over_the_same_window_publishes_nothing_new(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    first = run("vdr_activity", scheduled(_now()))
    assert first["findingsPublished"] == 1
    aws.findings()
    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    second = run("vdr_activity", scheduled(later))
    assert second["findingsPublished"] == 0
    assert second["cursorBefore"] == first["cursorAfter"]
    # An on-demand re-scan of the whole period sees the heavy day again: suppressed, not resent.
    window = {"from": first["window"]["from"], "to": first["window"]["to"]}
    third = run("vdr_activity", window)
    assert third["findingsPublished"] == 0 and third["findingsSuppressed"] == 1
    assert third["cursorAfter"] == second["cursorAfter"]  # an on-demand window never moves it
    assert aws.findings() == []


def test_a_duplicated_invocation_publishes_once(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    event = scheduled(_now())
    first = run("vdr_activity", event)
    again = run("vdr_activity", event)
    assert again["status"] == "duplicate"
    assert first["findingsPublished"] == 1 and again["findingsPublished"] == 0
    assert again["firstRun"]["findingsPublished"] == 1
    assert len(aws.findings()) == 1


def test_nothing_is_found_without_planted_cases(
    simulator_factory,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator_factory(plant=False)
    point_at(monkeypatch, sim, aws)
    summary = run("vdr_activity", scheduled(_now()))
    assert summary["findingsPublished"] == 0 and summary["eventsScanned"] > 0
    assert aws.findings() == []
