"""`python -m local.invoke`: the example events through the handlers, with the simulator and moto."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from local import invoke
from local.lambda_runtime import ROOT

EVENTS = ROOT / "events"


@pytest.fixture(autouse=True)
def quiet_powertools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "docspace-sentinel-test")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "DocSpaceSentinelTest")


def run(*argv: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    before = dict(os.environ)
    status = invoke.main(list(argv), stdout=out, stderr=err)
    assert dict(os.environ) == before, "local.invoke left the environment changed"
    return status, json.loads(out.getvalue()), err.getvalue()


@pytest.mark.e2e
def test_scheduled_event_runs_and_publishes() -> None:
    status, result, log = run(
        "LoginAuditFunction",
        "-e",
        str(EVENTS / "login_audit.json"),
        "--env-vars",
        str(ROOT / "env.json"),
        "--simulator",
        "--moto",
    )
    scheduled = json.loads((EVENTS / "login_audit.json").read_text())
    assert status == 0, log
    assert result["workflow"] == "login_audit"
    assert result["status"] == "completed"
    assert result["runKey"] == f"{scheduled['scheduleArn']}@{scheduled['scheduledTime']}"
    assert result["cursorAfter"] == scheduled["scheduledTime"]
    # The simulator's planted burst of failed logins (its history ends at the scheduled time).
    assert result["findingsPublished"] >= 2
    assert f"{result['findingsPublished']} message(s) reached SNS" in log
    assert "login_audit/brute_force" in log


@pytest.mark.e2e
def test_query_event_answers_without_a_run() -> None:
    status, result, log = run(
        "login_audit",  # by folder
        "-e",
        str(EVENTS / "login_audit_query_user.json"),
        "--simulator",
        "--moto",
    )
    query = json.loads((EVENTS / "login_audit_query_user.json").read_text())
    assert status == 0, log
    assert set(result) == {"from", "to", "events", "count", "truncated"}
    assert result["to"] == query["to"]
    assert result["count"] == len(result["events"]) > 0
    assert {e["userId"] for e in result["events"]} == {query["userId"]}
    assert "0 message(s) reached SNS" in log


@pytest.mark.e2e
def test_register_handler_by_folder_and_handler(tmp_path: Path) -> None:
    status, result, log = run(
        "ip_allowlist",
        "--handler",
        "register_handler",
        "-e",
        str(EVENTS / "ip_allowlist_register.json"),
        "--simulator",
        "--moto",
    )
    assert status == 0, log
    assert result["changed"] is True
    assert result["updatedBy"].startswith("eventbridge:hr.onboarding")


def test_a_failing_handler_prints_the_lambda_error_shape(tmp_path: Path) -> None:
    event = tmp_path / "bad.json"
    event.write_text(json.dumps({"from": "2026-11-20T00:00:00Z", "to": "2026-11-19T00:00:00Z"}))
    status, result, _ = run("VdrActivityFunction", "-e", str(event), "--simulator", "--moto")
    assert status == 1
    assert result["errorType"] == "InvalidInvocation"
    assert "'from' must be before 'to'" in result["errorMessage"]


def test_env_vars_apply_only_declared_variables(tmp_path: Path) -> None:
    spec = invoke.template_functions()["RestrictionReleaseFunction"]
    path = tmp_path / "env.json"
    path.write_text(
        json.dumps(
            {
                "Parameters": {"SCAN_LAG_MINUTES": 5},
                "RestrictionReleaseFunction": {"STATE_TABLE": "t", "NOT_DECLARED": "x"},
            }
        )
    )
    err = io.StringIO()
    assert invoke.env_overrides(path, spec, err) == {"SCAN_LAG_MINUTES": "5", "STATE_TABLE": "t"}
    assert "NOT_DECLARED" in err.getvalue()


def test_functions_resolve_by_logical_id_folder_and_event_name() -> None:
    specs = invoke.template_functions()
    assert invoke.resolve_function("vdr_activity", specs).logical_id == "VdrActivityFunction"
    register = invoke.resolve_function("ip_allowlist_register", specs)
    assert register.attribute == "register_handler"
    assert invoke.resolve_function("ip_allowlist", specs).attribute == "handler"
    with pytest.raises(SystemExit):
        invoke.resolve_function("no_such_function", specs)
