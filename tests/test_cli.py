"""The administrators' CLI against moto and the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from docspace_sentinel.restrictions import RestrictionStore
from docspace_sentinel.state import StateStore
from local.aws import LocalAws
from local.cli import main
from local.simulator.server import SimulatorServer
from tests.e2e import point_at, run, scheduled


def _restrict(simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> str:
    point_at(monkeypatch, simulator, aws, MODE="enforce")
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    run("bulk_change_guard", scheduled(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
    aws.findings()
    return planted.user_id


def test_list_extend_permanent_and_lift(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user_id = _restrict(simulator, aws, monkeypatch)
    capsys.readouterr()  # the handler's log and metric lines
    assert main(["restrictions", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["userId"] for r in listed] == [user_id] and listed[0]["state"] == "active"

    assert main(["restrictions", "extend", user_id, "--minutes", "600"]) == 0
    extended = json.loads(capsys.readouterr().out)
    lift_at = datetime.fromisoformat(extended["liftAt"])
    assert lift_at > datetime.now(UTC) + timedelta(minutes=590)

    assert main(["restrictions", "permanent", user_id]) == 0
    assert json.loads(capsys.readouterr().out)["permanent"] is True
    records = RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb))
    assert not records.get(user_id).due(datetime.now(UTC) + timedelta(days=365))  # type: ignore[union-attr]

    assert main(["restrictions", "lift", user_id]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "lifted"
    assert simulator.scenario.user_by_id(user_id).status == 1
    assert [f["kind"] for f in aws.findings()] == ["restriction_lifted"]
    assert main(["restrictions", "lift", user_id]) == 1  # nothing left to lift
    assert main(["restrictions", "list"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_input_is_a_clear_error(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    with pytest.raises(SystemExit):
        main(["restrictions", "lift", "../settings"])
    assert "GUID" in capsys.readouterr().err
    monkeypatch.delenv("STATE_TABLE")
    assert main(["restrictions", "list"]) == 2
    assert "STATE_TABLE" in capsys.readouterr().err


def test_create_vdr(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    assert main(["rooms", "create-vdr", "--title", "Deal Room Q4"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["roomType"] == 8 and created["title"] == "Deal Room Q4"
    assert simulator.stats.requests["POST /api/2.0/files/rooms"] == 1
