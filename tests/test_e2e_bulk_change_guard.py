"""The bulk file-change guard and the restriction release, end to end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
from local.aws import LocalAws
from local.simulator.faults import Faults
from local.simulator.planted_cases import BulkChange
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now

pytestmark = pytest.mark.e2e

FILE_UPDATED = 5002


def _status(sim: SimulatorServer, user_id: str) -> int:
    return sim.scenario.user_by_id(user_id).status


def _plant_burst(
    sim: SimulatorServer, user_id: str, files: int, start: datetime, minutes: float = 8
) -> None:
    planted = sim.scenario.planted.bulk_changer
    assert planted is not None and len(planted.file_ids) >= files
    step = timedelta(minutes=minutes) / max(files - 1, 1)
    for i, file_id in enumerate(planted.file_ids[:files]):
        sim.scenario.add_audit_event(
            FILE_UPDATED, user_id=user_id, date=start + i * step, target=[file_id]
        )


def _enforce(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> BulkChange:
    """Enforce mode against the simulator; the planted bulk changer."""
    point_at(monkeypatch, simulator, aws, MODE="enforce", **settings)
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    return planted


def _actions(finding: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["target"], a["status"]) for a in finding["actions"]]


def _records(aws: LocalAws) -> RestrictionStore:
    return RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb))


def test_dry_run_reports_the_planted_bulk_changer_and_touches_nothing(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    summary = run("bulk_change_guard", scheduled(iso(utc_now())))
    findings = aws.findings()
    assert [f["user"]["id"] for f in findings] == [planted.user_id]
    finding = findings[0]
    evidence = finding["evidence"]
    # one number of files, the busiest window's, in title, summary and evidence
    assert evidence["distinctFiles"] == len(set(planted.file_ids)) == 32
    assert "changed 32 files in 10 minutes" in finding["title"]
    assert "changed 32 distinct files within 10 minutes" in finding["summary"]
    assert len(evidence["sampleFiles"]) == min(32, 25) and evidence["changes"] == 32
    # the first window over the threshold is labelled as such
    assert evidence["distinctFilesWhenCrossed"] == 21 and evidence["threshold"] == 20
    assert "first crossed" in finding["summary"] and "with 21 files" in finding["summary"]
    assert {int(f["id"]) for f in finding["evidence"]["sampleFiles"]} <= set(planted.file_ids)
    assert finding["evidence"]["rooms"] == [{"id": planted.room_id, "title": planted.room_title}]
    assert _actions(finding) == [(planted.user_id, "proposed")]
    assert "logins" in finding["context"]
    assert summary["mode"] == "dry-run"
    assert _status(simulator, planted.user_id) == 1
    assert list(_records(aws).all()) == []


def test_enforce_restricts_once_and_the_release_lifts_it(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = _enforce(simulator, aws, monkeypatch, RESTRICTION_MINUTES=30)
    event = scheduled(iso(utc_now()))
    run("bulk_change_guard", event)
    assert run("bulk_change_guard", event)["status"] == "duplicate"
    findings = aws.findings()
    assert len(findings) == 1 and _actions(findings[0]) == [(planted.user_id, "done")]
    assert _status(simulator, planted.user_id) == 2
    status_calls = simulator.stats.requests["PUT /api/2.0/people/status/{status}"]
    assert status_calls == 1
    record = _records(aws).get(planted.user_id)
    assert record is not None and record.state == "active" and record.lift_at is not None
    assert record.finding_id == findings[0]["id"]

    # not due yet: nothing happens
    release = run("restriction_release", scheduled(iso(utc_now()), arn="release"))
    assert release["lifted"] == 0 and _status(simulator, planted.user_id) == 2
    # expired: lifted exactly once
    _records(aws).extend(planted.user_id, utc_now() - timedelta(minutes=1))
    release = run(
        "restriction_release", scheduled(iso(utc_now() + timedelta(minutes=5)), arn="release")
    )
    assert release["lifted"] == 1
    assert _status(simulator, planted.user_id) == 1
    notices = aws.findings()
    assert [n["kind"] for n in notices] == ["restriction_lifted"]
    again = run(
        "restriction_release", scheduled(iso(utc_now() + timedelta(minutes=10)), arn="release")
    )
    assert again["lifted"] == 0 and aws.findings() == []
    assert simulator.stats.requests["PUT /api/2.0/people/status/{status}"] == 2
    # the admin-disabled user was never touched
    assert _status(simulator, simulator.scenario.layout.disabled_user_id) == 2


def test_owner_admin_and_protected_ids_are_reported_but_untouched(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = simulator.scenario.layout
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    point_at(monkeypatch, simulator, aws, MODE="enforce", PROTECTED_USER_IDS=planted.user_id)
    start = utc_now() - timedelta(hours=2)
    _plant_burst(simulator, layout.owner_id, 25, start)
    _plant_burst(simulator, layout.admin_ids[0], 25, start)
    run("bulk_change_guard", scheduled(iso(utc_now())))
    findings = {f["user"]["id"]: f for f in aws.findings()}
    assert set(findings) == {layout.owner_id, layout.admin_ids[0], planted.user_id}
    reasons = {user: f["actions"][0]["detail"] for user, f in findings.items()}
    assert "owner" in reasons[layout.owner_id]
    assert "admin" in reasons[layout.admin_ids[0]]
    assert "PROTECTED_USER_IDS" in reasons[planted.user_id]
    assert all(f["actions"][0]["status"] == "skipped" for f in findings.values())
    assert simulator.stats.requests["PUT /api/2.0/people/status/{status}"] == 0


def test_the_cap_holds(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, MODE="enforce", MAX_RESTRICTIONS_PER_RUN=1)
    scenario = simulator.scenario
    regular = [
        u.id
        for u in scenario.users
        if u.status == 1
        and not (u.is_admin or u.is_owner or u.is_ldap or u.is_sso)
        and u.id != scenario.layout.key_user_id
    ]
    extra = [u for u in regular if u != scenario.planted.bulk_changer.user_id][:2]  # type: ignore[union-attr]
    for user_id in extra:
        _plant_burst(simulator, user_id, 25, utc_now() - timedelta(hours=3))
    run("bulk_change_guard", scheduled(iso(utc_now())))
    actions = [a for f in aws.findings() for a in f["actions"]]
    assert sorted(a["status"] for a in actions) == ["done", "skipped", "skipped"]
    skipped = [a["detail"] for a in actions if a["status"] == "skipped"]
    assert all("cap of 1" in detail for detail in skipped)
    assert sum(1 for r in _records(aws).all() if r.state == "active") == 1


def test_a_403_from_the_status_call_is_reported_and_recorded(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    ldap = simulator.scenario.layout.ldap_user_id
    point_at(monkeypatch, simulator, aws, MODE="enforce", PROTECT_LDAP_USERS="false")
    _plant_burst(simulator, ldap, 25, utc_now() - timedelta(hours=2))
    run("bulk_change_guard", scheduled(iso(utc_now())))
    finding = next(f for f in aws.findings() if f["user"]["id"] == ldap)
    assert (
        finding["actions"][0]["status"] == "failed" and "refused" in finding["actions"][0]["detail"]
    )
    record = _records(aws).get(ldap)
    assert record is not None and record.state == "failed" and record.last_error


def test_a_5xx_from_the_status_call_leaves_a_record_the_next_run_reconciles(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = _enforce(simulator, aws, monkeypatch, DOCSPACE_MAX_ATTEMPTS=2)
    simulator.faults = Faults(rate_5xx=1.0, methods=("PUT",), seed=1)
    run("bulk_change_guard", scheduled(iso(utc_now())))
    finding = aws.findings()[0]
    assert (
        finding["actions"][0]["status"] == "failed"
        and "ServerError" in finding["actions"][0]["detail"]
    )
    record = _records(aws).get(planted.user_id)
    assert record is not None and record.state == "restricting" and record.attempts == 1
    simulator.faults = Faults()
    # the release run, a few minutes later, sees the user was never disabled and closes it out
    monkeypatch.setattr(
        "docspace_sentinel.workflows.restriction_release.settle_time", lambda client: timedelta(0)
    )
    release = run(
        "restriction_release", scheduled(iso(utc_now() + timedelta(minutes=5)), arn="release")
    )
    assert release["reconciled"] == 1
    assert [n["kind"] for n in aws.findings()] == ["restriction_failed"]
    assert _records(aws).get(planted.user_id).state == "failed"  # type: ignore[union-attr]


def test_a_user_reenabled_by_an_admin_closes_without_a_call(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = _enforce(simulator, aws, monkeypatch)
    run("bulk_change_guard", scheduled(iso(utc_now())))
    aws.findings()
    simulator.scenario.user_by_id(planted.user_id).status = 1  # an administrator re-enabled them
    _records(aws).extend(planted.user_id, utc_now() - timedelta(minutes=1))
    calls = simulator.stats.requests["PUT /api/2.0/people/status/{status}"]
    release = run(
        "restriction_release", scheduled(iso(utc_now() + timedelta(minutes=5)), arn="release")
    )
    assert release["closed"] == 1
    assert simulator.stats.requests["PUT /api/2.0/people/status/{status}"] == calls
    assert [n["kind"] for n in aws.findings()] == ["restriction_closed"]


@pytest.mark.parametrize(("files", "flagged"), [(21, True), (20, False)])
def test_threshold_is_distinct_files_in_a_sliding_window_across_two_runs(
    simulator_factory, aws: LocalAws, monkeypatch: pytest.MonkeyPatch, files: int, flagged: bool
) -> None:
    sim = simulator_factory(plant=True)
    point_at(monkeypatch, sim, aws, FILE_CHANGE_THRESHOLD=20, WINDOW_MINUTES=10)
    # the planted editor of one file fifty times: never a bulk changer for that alone
    user = sim.scenario.planted.repeated_editor.user_id
    start = utc_now() - timedelta(minutes=40)
    _plant_burst(sim, user, files, start, minutes=9)
    # the first run fires in the middle of the burst, the second after it
    first = run("bulk_change_guard", scheduled(iso(start + timedelta(minutes=4, seconds=30))))
    assert user not in [f["user"]["id"] for f in aws.findings()]  # only half the burst so far
    second = run("bulk_change_guard", scheduled(iso(utc_now())))
    assert second["cursorBefore"] == first["cursorAfter"]
    users = [f["user"]["id"] for f in aws.findings()]
    assert (user in users) is flagged
    assert users.count(user) <= 1


def test_one_file_edited_fifty_times_counts_as_one(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, FILE_CHANGE_THRESHOLD=5)
    editor = simulator.scenario.planted.repeated_editor
    assert editor is not None and len(editor.event_ids) == 50
    run("bulk_change_guard", scheduled(iso(utc_now())))
    assert editor.user_id not in [f["user"]["id"] for f in aws.findings()]


def test_a_dry_run_finding_does_not_hide_the_later_enforced_action(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    now = utc_now()
    run("bulk_change_guard", scheduled(iso(now)))
    monkeypatch.setenv("MODE", "enforce")
    window = {"from": iso(now - timedelta(days=4)), "to": iso(now)}
    run("bulk_change_guard", window)
    assert [_actions(f) for f in aws.findings()] == [
        [(planted.user_id, "proposed")],
        [(planted.user_id, "done")],
    ]
    # the same burst seen again: already restricted, and nothing new to say
    run(
        "bulk_change_guard",
        {"from": iso(now - timedelta(days=4)), "to": iso(now - timedelta(seconds=1))},
    )
    assert aws.findings() == []


def test_the_function_url_runs_an_on_demand_window(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import json

    point_at(monkeypatch, simulator, aws)
    now = utc_now()
    body = json.dumps({"from": iso(now - timedelta(days=4)), "to": iso(now)})
    request = {
        "version": "2.0",
        "rawPath": "/",
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": base64.b64encode(body.encode()).decode(),
        "isBase64Encoded": True,
    }
    answer = run("bulk_change_guard", request)
    assert answer["statusCode"] == 200
    summary = json.loads(answer["body"])
    assert summary["findingsPublished"] == 1 and summary["cursorAfter"] is None
    bad = run("bulk_change_guard", {**request, "body": "not json", "isBase64Encoded": False})
    assert bad["statusCode"] == 400 and "JSON" in json.loads(bad["body"])["error"]
    reversed_window = json.dumps({"from": iso(now), "to": iso(now - timedelta(days=1))})
    bad = run("bulk_change_guard", {**request, "body": reversed_window, "isBase64Encoded": False})
    assert bad["statusCode"] == 400


def test_a_lifted_restriction_is_not_imposed_again_for_the_same_burst(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = _enforce(simulator, aws, monkeypatch)
    now = utc_now()
    run("bulk_change_guard", scheduled(iso(now)))
    _records(aws).extend(planted.user_id, now - timedelta(minutes=1))
    run("restriction_release", scheduled(iso(now + timedelta(minutes=1)), arn="release"))
    assert _status(simulator, planted.user_id) == 1
    puts = simulator.stats.requests["PUT /api/2.0/people/status/{status}"]
    aws.findings()
    # the next scheduled run re-reads the overlap; an on-demand re-scan reads it all again
    run("bulk_change_guard", scheduled(iso(now + timedelta(minutes=10))))
    run("bulk_change_guard", {"from": iso(now - timedelta(days=4)), "to": iso(now)})
    assert simulator.stats.requests["PUT /api/2.0/people/status/{status}"] == puts
    assert _status(simulator, planted.user_id) == 1
    details = [a["detail"] for f in aws.findings() for a in f["actions"]]
    assert all("already acted" in d or "earlier run" in d for d in details)


def test_a_user_disabled_again_by_an_admin_is_not_reenabled_by_the_release(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = _enforce(simulator, aws, monkeypatch)
    now = utc_now()
    run("bulk_change_guard", scheduled(iso(now)))
    record = _records(aws).get(planted.user_id)
    assert record is not None and record.terminated_at is not None
    # an administrator re-enables the user, then disables them again for a reason of their own
    user = simulator.scenario.user_by_id(planted.user_id)
    assert user.terminated is not None
    user.terminated += 60_000_000
    _records(aws).extend(planted.user_id, now - timedelta(minutes=1))
    release = run("restriction_release", scheduled(iso(now + timedelta(minutes=5)), arn="release"))
    assert release["closed"] == 1 and release["lifted"] == 0
    assert _status(simulator, planted.user_id) == 2


@pytest.mark.parametrize("how", ["on-demand re-scan", "scheduled catch-up"])
def test_enforce_acts_only_on_a_recent_burst_and_reports_an_old_one(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    planted = _enforce(simulator, aws, monkeypatch)
    scenario = simulator.scenario
    old_user = next(
        u.id
        for u in scenario.users
        if u.status == 1
        and not (u.is_admin or u.is_owner or u.is_ldap or u.is_sso)
        and u.id not in (scenario.layout.key_user_id, planted.user_id)
    )
    # A burst from the dry-run weeks, never acted on: three days old, past SUPPRESSION_HOURS.
    _plant_burst(simulator, old_user, 25, utc_now() - timedelta(days=3))
    now = utc_now()
    event = (
        {"from": iso(now - timedelta(days=4)), "to": iso(now)}
        if how == "on-demand re-scan"
        else scheduled(iso(now))  # the first run: it catches up INITIAL_LOOKBACK_HOURS (96)
    )
    run("bulk_change_guard", event)
    findings = {f["user"]["id"]: f for f in aws.findings()}
    assert set(findings) == {old_user, planted.user_id}
    old = findings[old_user]["actions"][0]
    assert old["status"] == "skipped"
    assert "reported only" in old["detail"] and "SUPPRESSION_HOURS" in old["detail"]
    assert _status(simulator, old_user) == 1 and _records(aws).get(old_user) is None
    assert _actions(findings[planted.user_id]) == [(planted.user_id, "done")]
    assert simulator.stats.requests["PUT /api/2.0/people/status/{status}"] == 1
