"""SNS or DynamoDB failing mid-run: the run fails loudly, its cursor stays, and the retry of the
same scheduled time completes it without publishing or acting twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from docspace_sentinel.findings.errors import PublishError
from docspace_sentinel.state.errors import StateError
from local.aws import LocalAws
from local.simulator.server import SimulatorServer
from tests.e2e import scheduled
from tests.faults.harness import FaultRun, PortalActions, iso, now, point_at_faulty

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

SMALL = {"seed": 7, "audit_events": 800, "login_events": 300}

Match = Callable[[str, dict[str, Any]], bool]


@contextmanager
def failing(match: Match, nth: int, code: str = "InternalError") -> Iterator[list[str]]:
    """The ``nth`` boto3 call ``match`` accepts raises ``ClientError`` (once)."""
    original = BaseClient._make_api_call
    seen: list[str] = []

    def patched(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if match(operation, params):
            seen.append(operation)
            if len(seen) == nth:
                error = {"Error": {"Code": code, "Message": "injected by the test"}}
                raise ClientError(error, operation)  # type: ignore[arg-type]
        return original(self, operation, params)

    BaseClient._make_api_call = patched  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _publish(operation: str, params: dict[str, Any]) -> bool:
    return operation == "Publish"


def _cursor_commit(operation: str, params: dict[str, Any]) -> bool:
    return operation == "PutItem" and params.get("Item", {}).get("pk", {}).get("S", "").startswith(
        "cursor#"
    )


def _activity_write(operation: str, params: dict[str, Any]) -> bool:
    return operation == "UpdateItem" and params["Key"]["pk"]["S"].startswith("activity#")


CASES = [
    pytest.param("login_audit", _publish, 2, PublishError, id="login_audit-sns-2nd-publish"),
    pytest.param("login_audit", _cursor_commit, 1, StateError, id="login_audit-dynamodb-cursor"),
    pytest.param("vdr_activity", _activity_write, 3, StateError, id="vdr-dynamodb-activity"),
    pytest.param("vdr_activity", _publish, 1, PublishError, id="vdr-sns-publish"),
    pytest.param("bulk_change_guard", _publish, 1, PublishError, id="bulk-enforce-sns-publish"),
]


@pytest.mark.parametrize(("workflow", "match", "nth", "error"), CASES)
def test_an_aws_failure_mid_run_fails_loudly_and_the_retry_completes_once(
    simulator_factory: Callable[..., SimulatorServer],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    workflow: str,
    match: Match,
    nth: int,
    error: type[Exception],
) -> None:
    sim = simulator_factory(**SMALL)
    point_at_faulty(monkeypatch, sim, aws, MODE="enforce")
    actions = PortalActions(sim, monkeypatch)
    fr = FaultRun(workflow, sim, aws)
    event = scheduled(iso(now()))
    from tests.e2e import run

    with failing(match, nth) as seen, pytest.raises(error):
        run(workflow, event)
    assert len(seen) >= nth
    assert fr.cursor() is None  # the first run of this workflow: still no cursor
    fr.collect()
    summary = fr.until_complete(event)
    assert summary["status"] == "completed" and fr.cursor() is not None
    assert fr.duplicates() == 0, [f["id"] for f in fr.findings]
    assert fr.attempt(event)["status"] == "duplicate"  # type: ignore[index]
    kinds = sorted(f["kind"] for f in fr.findings)
    if workflow == "login_audit":
        assert kinds == ["brute_force", "login_after_failures", "login_digest"]
    elif workflow == "vdr_activity":
        assert kinds == ["vdr_high_activity"]
    else:
        planted = sim.scenario.planted.bulk_changer
        assert planted is not None
        assert kinds == ["bulk_file_change"]
        assert actions.executed == {2: 1}  # the retry did not disable the user again
        assert sim.scenario.user_by_id(planted.user_id).status == 2
