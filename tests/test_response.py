"""The enforcement gate's recency rule: act only on recent evidence, for every workflow that acts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.response import ResponseSettings, Restrictor
from docspace_sentinel.restrictions import RestrictionStore
from docspace_sentinel.state import StateStore
from local.aws import LocalAws
from local.lambda_runtime import invoke
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LOGOUT = "PUT /api/2.0/security/activeconnections/logoutall/{userid}"
STATUS = "PUT /api/2.0/people/status/{status}"


class _Client:
    """Never called: a stale decision must not need the portal."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the portal was asked: {name}")


def _restrictor(settings: ResponseSettings) -> Restrictor:
    store = StateStore("unused", client=object(), clock=lambda: NOW)
    return Restrictor(
        _Client(),  # type: ignore[arg-type]
        RestrictionStore(store),
        settings,
        source="test",
        owner="run",
    )


@pytest.mark.parametrize(
    ("suppression", "bound"), [("24", timedelta(hours=24)), ("0", timedelta(hours=1))]
)
def test_the_bound_is_the_suppression_period_at_least_an_hour(
    suppression: str, bound: timedelta
) -> None:
    settings = ResponseSettings.from_env({"SUPPRESSION_HOURS": suppression})
    assert settings.act_within == bound
    gate = _restrictor(settings)
    assert gate.stale(NOW - bound) is None
    assert gate.stale(NOW - timedelta(minutes=5)) is None
    reason = gate.stale(NOW - bound - timedelta(seconds=1))
    assert reason is not None and "reported only" in reason and "SUPPRESSION_HOURS" in reason


def test_weeks_old_evidence_is_stale() -> None:
    gate = _restrictor(ResponseSettings.from_env({}))
    reason = gate.stale(NOW - timedelta(days=21))
    assert reason is not None and "504 h old" in reason and "24 h" in reason


@pytest.mark.e2e
@pytest.mark.parametrize("violation", ["logout", "restrict"])
def test_the_allowlist_does_not_act_on_old_off_list_logins(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch, violation: str
) -> None:
    # The planted off-list logins are 20 to 22 hours old: past a 1-hour bound.
    point_at(
        monkeypatch,
        simulator,
        aws,
        PORTAL_SYNC="off",
        ON_VIOLATION=violation,
        MODE="enforce",
        SUPPRESSION_HOURS=1,
    )
    planted = simulator.scenario.planted
    for user_id, entries in planted.allowlists.items():
        registration = {"userId": user_id, "allowedIps": list(entries)}
        invoke("ip_allowlist", registration, attribute="register_handler")
    run("ip_allowlist", scheduled(iso(utc_now())))
    flagged = [f for f in aws.findings() if f["kind"] == "ip_not_allowed"]
    assert {f["user"]["id"] for f in flagged} == {p.user_id for p in planted.off_allowlist_logins}
    for finding in flagged:
        [action] = finding["actions"]
        assert action["status"] == "skipped" and "reported only" in action["detail"]
    assert simulator.stats.requests[LOGOUT] == 0 and simulator.stats.requests[STATUS] == 0
    assert all(
        simulator.scenario.user_by_id(p.user_id).status == 1 for p in planted.off_allowlist_logins
    )
