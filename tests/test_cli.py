"""The administrators' CLI against moto and the simulator."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
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
    # each change is a follow-up of the bulk-change finding that restricted the user
    notices = aws.findings()
    assert [f["kind"] for f in notices] == [
        "restriction_extended",
        "restriction_extended",
        "restriction_lifted",
    ]
    assert "extended until" in notices[0]["summary"]
    assert "made permanent" in notices[1]["summary"]
    original = records.get(user_id).finding_id  # type: ignore[union-attr]
    assert original and {n["follows"]["id"] for n in notices} == {original}
    assert all(n["follows"]["title"].startswith("[HIGH] ") for n in notices)
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


@pytest.mark.parametrize(
    "when",
    [
        ["--minutes", "-5"],
        ["--minutes", "0"],
        ["--minutes", "99999999999999999999"],
        ["--minutes", "600000"],  # more than a year: that is what `permanent` is for
        ["--minutes", "ten"],
        ["--minutes", "1e3"],
        ["--until", "2020-01-01T00:00:00Z"],
        ["--until", "0001-01-01T00:00:00+05:00"],
        ["--until", "9999-12-31T23:59:59-05:00"],
        ["--until", "tomorrow"],
        ["--until", "2" * 100_000],
    ],
)
def test_extend_refuses_a_past_or_absurd_end_in_one_line(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    when: list[str],
) -> None:
    user_id = _restrict(simulator, aws, monkeypatch)
    records = RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb))
    before = records.get(user_id)
    capsys.readouterr()
    assert main(["restrictions", "extend", user_id, *when]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and len(err) < 200
    assert records.get(user_id) == before  # the lift time did not move


def test_extend_to_a_time_in_the_future(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user_id = _restrict(simulator, aws, monkeypatch)
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    capsys.readouterr()
    assert main(["restrictions", "extend", user_id, "--until", until.isoformat()]) == 0
    assert datetime.fromisoformat(json.loads(capsys.readouterr().out)["liftAt"]) == until


@pytest.mark.parametrize("command", [["restrictions", "list"], ["allowlist", "list"]])
def test_without_an_aws_region_the_error_is_one_line(
    command: list[str], tmp_path: pathlib.Path
) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_") and name not in ("DOCSPACE_API_KEY_SECRET",)
    }
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "STATE_TABLE": "sentinel-state",
        "DOCSPACE_URL": "https://portal.example.com",
        "DOCSPACE_API_KEY": "sk-test",
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "local.cli", *command],
        cwd=pathlib.Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in your AWS"
        " profile) to the stack's region"
    ]
