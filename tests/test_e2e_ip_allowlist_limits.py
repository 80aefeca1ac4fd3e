"""IP allowlists end to end, issue 12 review: what portal input, list sizes and retries must not
do (wedge the sync, act twice, hide a fresh violation, lock the administrators out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.findings import publisher as pub
from docspace_sentinel.state.errors import StateError
from docspace_sentinel.state.store import StateStore
from docspace_sentinel.workflows.ip_allowlist import sync_plan
from docspace_sentinel.workflows.ip_allowlist.store import AllowlistStore
from docspace_sentinel.workflows.ip_allowlist.sync_records import AddedStore
from local.aws import LocalAws
from local.simulator.model import IpRestriction
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now
from tests.test_e2e_ip_allowlist import (
    ADMIN_IP,
    LOGOUT,
    PUT,
    STATUS,
    _portal,
    _register_planted,
    _regular_user,
    register,
)

pytestmark = pytest.mark.e2e


def _store(aws: LocalAws) -> StateStore:
    return StateStore(aws.table_name, client=aws.dynamodb)


def _users(sim: SimulatorServer, count: int) -> list[str]:
    found: list[str] = []
    for _ in range(count):
        found.append(_regular_user(sim, {*found, *sim.scenario.planted.allowlists}))
    return found


# -- 1: sizes -----------------------------------------------------------------------------------


def test_an_allowlist_too_large_for_the_portal_list_is_refused_at_registration(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    (user_id,) = _users(simulator, 1)
    entries = [f"10.0.{i}.0/24" for i in range(150)]
    with pytest.raises(Exception, match="at most 1,024 on the portal's list"):
        register({"userId": user_id, "allowedIps": entries})
    assert AllowlistStore(_store(aws)).get(user_id) is None
    assert simulator.stats.requests[PUT] == 0
    # larger networks are checked at login only, and so are accepted
    answer = register({"userId": user_id, "allowedIps": ["10.0.0.0/16"]})
    assert answer["monitoredOnly"] == ["10.0.0.0/16"]
    summary = run("ip_allowlist", scheduled(iso(utc_now())))
    assert summary["status"] == "completed"


def test_allowlists_too_large_together_refuse_the_sync_and_the_login_check_still_runs(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    users = _users(simulator, 3)
    for n, user_id in enumerate(users):
        register({"userId": user_id, "allowedIps": [f"10.{n}.{i}.0/24" for i in range(3)]})
    monkeypatch.setenv("PORTAL_SYNC", "enforce")
    answer = register({"userId": users[0], "operation": "add", "allowedIps": ["192.0.2.77"]})
    assert answer["portalSync"]["status"] == "refused"
    summary = run("ip_allowlist", scheduled(iso(utc_now())))
    assert summary["status"] == "completed" and summary["portalSync"]["status"] == "refused"
    assert simulator.stats.requests[PUT] == 0 and _portal(simulator) == []
    refused = [f for f in aws.findings() if f["kind"] == "ip_sync_refused"]
    assert refused and "more than 2,000 entries" in refused[0]["summary"]
    assert AddedStore(_store(aws)).get().addresses == frozenset()


def _register_with_a_failing_sync(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    method: str,
    error: Exception,
) -> None:
    """With the portal sync enforced and ``owner.method`` raising ``error``, one user registers
    an allowlist: the answer reports the sync as failed."""
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    (user_id,) = _users(simulator, 1)

    def fails(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(owner, method, fails)
    answer = register({"userId": user_id, "allowedIps": ["203.0.113.10"]})
    assert answer["portalSync"]["status"] == "failed"


def test_any_error_in_the_sync_is_a_finding_and_the_run_commits(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    too_large = StateError("Item size has exceeded the maximum allowed size")
    _register_with_a_failing_sync(simulator, aws, monkeypatch, AddedStore, "put", too_large)
    summary = run("ip_allowlist", scheduled(iso(utc_now())))
    assert summary["status"] == "completed" and summary["portalSync"]["status"] == "failed"
    failed = [f for f in aws.findings() if f["kind"] == "ip_sync_failed"]
    assert failed and "StateError" in failed[0]["summary"]
    assert simulator.stats.requests[PUT] == 0


# -- 2: portal rows written back ------------------------------------------------------------


def test_a_portal_row_with_blanks_is_written_back_in_normal_form(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    state = simulator.scenario.ip_restrictions
    state.entries = [IpRestriction(1, " 192.0.2.50", False)]
    state.next_id, state.enable = 2, True
    (user_id,) = _users(simulator, 1)
    answer = register({"userId": user_id, "allowedIps": ["203.0.113.10"]})
    assert answer["portalSync"]["status"] == "applied"
    assert set(_portal(simulator)) == {
        ("192.0.2.50", False),
        (ADMIN_IP, False),
        ("203.0.113.10", False),
    }
    assert AddedStore(_store(aws)).get().addresses == {ADMIN_IP, "203.0.113.10"}


def test_a_put_the_client_refuses_to_send_rolls_the_record_back(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = ValueError("IP restrictions take single addresses only, got ' x'")
    _register_with_a_failing_sync(
        simulator, aws, monkeypatch, DocSpaceClient, "put_ip_restrictions", refused
    )
    # nothing reached the portal, so the record claims nothing
    assert AddedStore(_store(aws)).get().addresses == frozenset()
    assert run("ip_allowlist", scheduled(iso(utc_now())))["status"] == "completed"


# -- 3: a logout once per offending login ------------------------------------------------


def test_a_retried_run_does_not_log_users_out_twice(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="logout", MODE="enforce")
    _register_planted(simulator)
    event = scheduled(iso(utc_now()))
    real = pub.FindingPublisher.publish
    calls = {"n": 0}

    def flaky(self: pub.FindingPublisher, finding: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("SNS throttled")
        return real(self, finding)

    monkeypatch.setattr(pub.FindingPublisher, "publish", flaky)
    with pytest.raises(Exception):  # noqa: B017 - whatever the publish failure becomes
        run("ip_allowlist", event)
    assert simulator.stats.requests[LOGOUT] == 3
    summary = run("ip_allowlist", event)  # the scheduler's retry of the same time
    assert summary["status"] == "completed"
    assert simulator.stats.requests[LOGOUT] == 3
    flagged = [f for f in aws.findings() if f["kind"] == "ip_not_allowed"]
    # the retried findings still say what was done
    assert flagged and all(f["actions"][0]["status"] == "done" for f in flagged)


def test_an_on_demand_run_and_the_scheduled_run_log_a_user_out_once(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="logout", MODE="enforce")
    _register_planted(simulator)
    now = utc_now()
    run("ip_allowlist", {"from": iso(now - timedelta(hours=96)), "to": iso(now)})
    assert simulator.stats.requests[LOGOUT] == 3
    run("ip_allowlist", scheduled(iso(now)))
    assert simulator.stats.requests[LOGOUT] == 3
    skipped = [f for f in aws.findings() if f["kind"] == "ip_not_allowed" and f["actions"]]
    assert {f["actions"][0]["status"] for f in skipped} >= {"skipped"}


def test_a_logout_claimed_by_a_crashed_attempt_of_the_same_run_is_not_repeated(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="logout", MODE="enforce")
    (user_id,) = _users(simulator, 1)
    register({"userId": user_id, "allowedIps": ["192.0.2.0/24"]})
    now = utc_now()
    login = simulator.scenario.add_login_event(
        1010, user_id=user_id, ip="203.0.113.99", date=now - timedelta(minutes=2)
    )
    event = scheduled(iso(now))
    owner = f"{event['scheduleArn']}@{event['scheduledTime']}"
    # the attempt claimed the logout, then died before recording how it went
    assert _store(aws).claim(
        f"logout#{user_id}", str(login), owner, until=now + timedelta(days=1), lease=timedelta(1)
    )
    run("ip_allowlist", event)
    assert simulator.stats.requests[LOGOUT] == 0
    flagged = [f for f in aws.findings() if f["kind"] == "ip_not_allowed"]
    assert flagged and {f["actions"][0]["status"] for f in flagged} == {"failed"}


def test_restrict_mode_is_already_once_per_user_across_a_retry_and_a_later_run(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(
        monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="restrict", MODE="enforce"
    )
    _register_planted(simulator)
    now = utc_now()
    real = pub.FindingPublisher.publish
    calls = {"n": 0}

    def flaky(self: pub.FindingPublisher, finding: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("SNS throttled")
        return real(self, finding)

    monkeypatch.setattr(pub.FindingPublisher, "publish", flaky)
    with pytest.raises(Exception):  # noqa: B017 - whatever the publish failure becomes
        run("ip_allowlist", {"from": iso(now - timedelta(hours=96)), "to": iso(now)})
    puts = simulator.stats.requests[STATUS]
    assert puts >= 1
    run("ip_allowlist", {"from": iso(now - timedelta(hours=96)), "to": iso(now)})
    run("ip_allowlist", scheduled(iso(now)))
    assert simulator.stats.requests[STATUS] == puts


# -- 5: the newest sighting decides ---------------------------------------------------------


def test_an_old_sighting_does_not_decide_for_a_fresh_one(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(
        monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="restrict", MODE="enforce"
    )
    (user_id,) = _users(simulator, 1)
    register({"userId": user_id, "allowedIps": ["192.0.2.0/24"]})
    scenario = simulator.scenario
    scenario.add_login_event(
        1010, user_id=user_id, ip="198.51.100.1", date=utc_now() - timedelta(hours=30)
    )
    scenario.add_login_event(
        1010, user_id=user_id, ip="203.0.113.99", date=utc_now() - timedelta(minutes=2)
    )
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert simulator.stats.requests[STATUS] == 1
    actions = {
        f["evidence"]["ip"]: f["actions"][0]["status"]
        for f in aws.findings()
        if f["kind"] == "ip_not_allowed" and f["user"]["id"] == user_id
    }
    assert actions["203.0.113.99"] == "done"


# -- 7: allowlists stored before wide entries were refused --------------------------------------


def test_a_stored_allow_everything_list_is_reported_once_per_period(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    (user_id,) = _users(simulator, 1)
    AllowlistStore(_store(aws)).save(
        user_id, ["0.0.0.0/0"], email=None, updated_by="old-version", expected_version=0
    )
    now = utc_now()
    run("ip_allowlist", scheduled(iso(now)))
    (wide,) = [f for f in aws.findings() if f["kind"] == "allowlist_too_wide"]
    assert wide["user"]["id"] == user_id and "0.0.0.0/0" in wide["summary"]
    run("ip_allowlist", scheduled(iso(now + timedelta(minutes=5))))
    assert [f for f in aws.findings() if f["kind"] == "allowlist_too_wide"] == []


def test_sync_module_caps_are_consistent() -> None:
    # two syncs' worth of the longest list, 39-character addresses: one DynamoDB item
    assert 2 * sync_plan.MAX_PORTAL_ENTRIES * (39 + 4) < 300_000
    assert sync_plan.MAX_ALLOWLIST_EXPANDED < sync_plan.MAX_PORTAL_ENTRIES
