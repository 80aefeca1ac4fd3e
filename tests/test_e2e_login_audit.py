"""The login audit end to end: queries, the digest and brute-force findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.aws import LocalAws
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled

pytestmark = pytest.mark.e2e


def test_brute_force_and_login_after_failures_are_found_once(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    planted = simulator.scenario.planted.brute_force
    assert planted is not None
    summary = run("login_audit", scheduled(iso(datetime.now(UTC))))
    findings = aws.findings()
    kinds = sorted(f["kind"] for f in findings)
    assert kinds == ["brute_force", "login_after_failures", "login_digest"]
    burst = next(f for f in findings if f["kind"] == "brute_force")
    # the first window that reached the threshold: ten of the planted failures
    assert set(burst["evidence"]["sampleEventIds"]) <= set(planted.failed_event_ids)
    assert burst["evidence"]["failures"] >= 10
    assert planted.ip in burst["evidence"]["distinctIps"]
    after = next(f for f in findings if f["kind"] == "login_after_failures")
    assert after["evidence"]["successEventId"] == planted.success_event_id
    assert after["user"]["id"] == planted.user_id
    digest = next(f for f in findings if f["kind"] == "login_digest")
    assert digest["evidence"]["failures"] >= len(planted.failed_event_ids)
    assert summary["findingsPublished"] == 3
    # the next scheduled run re-reads the overlap but reports nothing twice
    again = run("login_audit", scheduled(iso(datetime.now(UTC) + timedelta(minutes=10))))
    active = again["usersActive"] or again["guestLogins"]
    assert [f["kind"] for f in aws.findings()] == (["login_digest"] if active else [])


GUEST = "712d9ec3-5d2b-4b13-824f-71f00191dcca"


def test_guest_failures_are_lines_of_their_own_in_the_digest(
    simulator_factory,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator_factory(plant=True)
    point_at(monkeypatch, sim, aws, DIGEST_TOP_USERS=5)
    planted = sim.scenario.planted.brute_force
    assert planted is not None
    # Unknown callers, as a real portal records them: the Guest id, the login string as typed.
    at = datetime.now(UTC) - timedelta(hours=2)
    for n, login in enumerate(["Sentinel-Probe", " sentinel-probe ", "SENTINEL-PROBE\x00"]):
        sim.scenario.add_login_event(
            1005, login=login, date=at + timedelta(seconds=n), ip="192.0.2.7"
        )
    for n in range(60):  # a spray of random logins, one attempt each
        sim.scenario.add_login_event(
            1005, login=f"spray-{n:03d}", date=at + timedelta(minutes=1, seconds=n), ip="192.0.2.8"
        )
    run("login_audit", scheduled(iso(datetime.now(UTC))))
    digest = next(f for f in aws.findings() if f["kind"] == "login_digest")
    evidence = digest["evidence"]
    # no real user's row carries the Guest account's failures
    assert GUEST not in [row["userId"] for row in evidence["perUser"]]
    assert all(row["failures"] == 0 for row in evidence["perUser"])  # no user mistyped here
    lines = {row["login"]: row["failures"] for row in evidence["perGuestLogin"]}
    assert lines[planted.login.lower()] >= len(planted.failed_event_ids)
    assert lines["sentinel-probe"] == 3
    assert len(evidence["perGuestLogin"]) == 5
    assert evidence["guestLogins"] >= 62
    assert evidence["guestLoginsNotShown"] == evidence["guestLogins"] - 5
    assert evidence["guestFailures"] <= evidence["failures"]


def test_no_brute_force_without_planted_cases(
    simulator_factory,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator_factory(plant=False)
    point_at(monkeypatch, sim, aws)
    run("login_audit", scheduled(iso(datetime.now(UTC))))
    assert [f["kind"] for f in aws.findings()] == ["login_digest"]


def test_query_by_user_action_and_period_despite_the_paging_bug(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    planted = simulator.scenario.planted.brute_force
    assert planted is not None
    start, end = planted.start - timedelta(minutes=1), planted.end + timedelta(minutes=1)
    answer = run(
        "login_audit",
        {
            "userId": planted.user_id,
            "action": "login",
            "from": iso(start),
            "to": iso(end),
            "limit": 50,
        },
    )
    assert [e["id"] for e in answer["events"]] == [planted.success_event_id]
    failures = run("login_audit", {"action": "failure", "from": iso(start), "to": iso(end)})
    assert {e["id"] for e in failures["events"]} >= set(planted.failed_event_ids)
    assert all(1002 <= e["actionId"] <= 1026 and e["actionId"] != 1006 for e in failures["events"])
    code = failures["events"][0]["actionId"]
    by_code = run("login_audit", {"action": code, "from": iso(start), "to": iso(end)})
    assert by_code["count"] >= 1 and all(e["actionId"] == code for e in by_code["events"])
    latest = run("login_audit", {"last": True})
    assert latest["count"] == 20
    assert aws.findings() == []  # queries publish nothing


def test_bad_queries_fail_clearly(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from docspace_sentinel.workflows.login_audit import InvalidQuery

    point_at(monkeypatch, simulator, aws)
    with pytest.raises(InvalidQuery, match="MessageAction"):
        run("login_audit", {"action": "teleport"})
    with pytest.raises(InvalidQuery, match="GUID"):
        run("login_audit", {"userId": "../settings"})
    with pytest.raises(InvalidQuery, match="limit"):
        run("login_audit", {"userId": "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11", "limit": 0})
