"""The configuration and privilege watch end to end: the handler against the simulator and moto,
an administrator acting on the portal outside Sentinel between two runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from local.aws import LocalAws
from local.simulator.admin_actions import DOCSPACE_ADMIN
from local.simulator.model import User
from local.simulator.scenario import Scenario
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now

pytestmark = pytest.mark.e2e

HOST = "collector.example.net"


def _plain_users(scenario: Scenario) -> list[User]:
    """Active users who are neither admins nor the owner nor the key's user."""
    return [
        u
        for u in scenario.users
        if u.status == 1
        and not (u.is_admin or u.is_owner or u.is_ldap or u.is_sso or u.is_room_admin)
        and u.id != scenario.layout.key_user_id
    ]


def _admin(scenario: Scenario) -> str:
    return next(a for a in scenario.layout.admin_ids if a != scenario.layout.key_user_id)


def _protected_then_first_run(
    scenario: Scenario, aws: LocalAws, admin: str, now: datetime, at: datetime | None = None
) -> dict[str, Any]:
    """IP restrictions switched on by an admin hours ago, then the first run (its snapshot),
    whose findings from the history are not the test's business."""
    scenario.admin_actions.set_ip_restrictions(
        admin, True, ["203.0.113.7"], at=now - timedelta(hours=3)
    )
    first = run("config_watch", scheduled(iso(at or now)))
    aws.findings()
    return first


def _by_kind(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        grouped.setdefault(finding["kind"], []).append(finding)
    return grouped


def test_each_change_is_found_once_with_its_actor_and_severity(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)
    s = simulator.scenario
    admin = _admin(s)
    plain, raised, promoted = _plain_users(s)[:3]
    now = utc_now()
    _protected_then_first_run(s, aws, admin, now)

    s.admin_actions.add_admin(admin, raised.id)
    s.admin_actions.set_user_type(admin, promoted.id, DOCSPACE_ADMIN)
    hook = s.admin_actions.create_webhook(plain.id, "Backup sync", f"https://{HOST}/hook")
    s.admin_actions.set_ip_restrictions(admin, False)
    s.admin_actions.download_audit_report(admin)
    s.audit.extra_known.add(6150)  # a newer server's settings action
    s.admin_actions.settings_action(admin, 6150, ["Something new"])
    summary = run("config_watch", scheduled(iso(now + timedelta(minutes=4))))

    found = aws.findings()
    assert summary["findingsPublished"] == len(found) == 6, [f["title"] for f in found]
    assert {f["kind"] for f in found} == {"config_change"}
    by_action = {f["evidence"]["actionId"]: f for f in found}
    new_admin = by_action[6010]
    assert new_admin["severity"] == "high" and new_admin["user"]["id"] == admin
    assert new_admin["evidence"]["targetUsers"] == [
        {"id": raised.id, "name": raised.name, "role": "DocSpace admin"}
    ]
    assert new_admin["evidence"]["settingsNow"][0]["change"] == "added"
    # the type change does not say which way it went: the role read back raises it
    typed = by_action[4019]
    assert typed["severity"] == "high" and typed["evidence"]["targetUsers"][0]["role"] == (
        "DocSpace admin"
    )
    webhook = by_action[6055]
    # a webhook created by someone who is not an admin: HIGH, with where it sends
    assert webhook["severity"] == "high" and webhook["user"]["id"] == plain.id
    assert webhook["evidence"]["actor"]["role"] == "user"
    assert webhook["evidence"]["webhook"]["host"] == HOST
    assert webhook["evidence"]["target"] == [str(hook.id)]
    switched_off = by_action[6094]
    assert switched_off["severity"] == "high"
    assert switched_off["title"].startswith("IP restrictions were switched off")
    assert by_action[6028]["severity"] == "low"
    unknown = by_action[6150]
    assert unknown["severity"] == "low" and unknown["title"].startswith("Unknown settings action")
    assert "Something new" in unknown["evidence"]["action"]

    # the next run re-reads the overlap and compares the same settings: nothing twice
    again = run("config_watch", scheduled(iso(now + timedelta(minutes=8))))
    assert aws.findings() == [] and again["findingsPublished"] == 0


def test_severities_are_tuned_per_action_id(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, SEVERITY_OVERRIDES="6028=medium, 6094=low")
    s = simulator.scenario
    admin = _admin(s)
    now = utc_now()
    _protected_then_first_run(s, aws, admin, now)
    s.admin_actions.download_audit_report(admin)
    s.admin_actions.set_ip_restrictions(admin, False)
    run("config_watch", scheduled(iso(now + timedelta(minutes=4))))
    severity = {f["evidence"]["actionId"]: f["severity"] for f in aws.findings()}
    # the override holds for the snapshot's "switched off" joined to its event as well
    assert severity == {6028: "medium", 6094: "low"}


def test_sentinels_own_disable_and_ip_sync_are_reported_as_ours(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(
        monkeypatch,
        simulator,
        aws,
        MODE="enforce",
        PORTAL_SYNC="enforce",
        ALWAYS_ALLOWED_IPS="192.0.2.1",
    )
    s = simulator.scenario
    now = utc_now()
    run("config_watch", scheduled(iso(now)))
    aws.findings()

    bulk = s.planted.bulk_changer
    assert bulk is not None
    window = {"from": iso(now - timedelta(days=4)), "to": iso(now)}
    run("bulk_change_guard", window)
    assert s.user_by_id(bulk.user_id).status == 2  # disabled by Sentinel: 6032 and 4020
    for user_id, entries in sorted(s.planted.allowlists.items()):
        registration = {"userId": user_id, "allowedIps": list(entries)}
        run_register(registration)
    synced = run("ip_allowlist", scheduled(iso(now + timedelta(minutes=1))))
    assert synced.get("portalSync", {}).get("status", "written") != "failed"
    assert s.ip_restrictions.entries, "the sync wrote nothing: nothing to recognise"
    aws.findings()

    summary = run("config_watch", scheduled(iso(now + timedelta(minutes=4))))
    found = aws.findings()
    kinds = _by_kind(found)
    assert set(kinds) == {"config_change_by_sentinel"}, [f["title"] for f in found]
    # the disable's cookie reset, and one IP-restriction write per registration that synced
    codes = sorted(f["evidence"]["actionId"] for f in found)
    assert codes[0] == 6032 and set(codes[1:]) == {6094}
    assert all(f["severity"] == "low" for f in found)
    assert summary["ownChanges"] == len(found) and summary["changes"] == 0
    assert summary["snapshotChanges"] >= 1  # the sync's new list, explained by our own writes


def run_register(event: dict[str, Any]) -> Any:
    from local.lambda_runtime import invoke

    return invoke("ip_allowlist", event, attribute="register_handler")


def test_without_the_audit_option_snapshots_report_what_changed_between_two_runs(
    simulator_factory: Callable[..., SimulatorServer],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator_factory(audit_option=False)
    point_at(monkeypatch, sim, aws)
    s = sim.scenario
    admin = _admin(s)
    plain = _plain_users(s)[0]
    now = utc_now()
    s.admin_actions.set_ip_restrictions(admin, True, ["203.0.113.7"], at=now - timedelta(hours=3))
    first = run("config_watch", scheduled(iso(now)))
    assert aws.findings() == [] and first["findingsPublished"] == 0
    assert "Audit option" in first["auditUnavailable"]

    s.admin_actions.create_webhook(plain.id, "Sync", f"https://{HOST}/x")
    s.admin_actions.set_ip_restrictions(admin, False)
    second = run("config_watch", scheduled(iso(now + timedelta(minutes=4))))
    found = aws.findings()
    assert {f["kind"] for f in found} == {"config_snapshot_change"}
    by_subject = {f["evidence"]["subject"]: f for f in found}
    assert set(by_subject) == {"webhook", "ip_restrictions"}
    hook = by_subject["webhook"]
    assert hook["severity"] == "high" and HOST in hook["title"]
    assert hook["user"]["id"] == plain.id  # who created it, from the webhook list
    off = by_subject["ip_restrictions"]
    assert off["severity"] == "high" and off["evidence"]["change"] == "disabled"
    assert second["cursorAfter"] == first["cursorAfter"]  # nothing read: the cursor stays

    third = run("config_watch", scheduled(iso(now + timedelta(minutes=8))))
    assert aws.findings() == [] and third["findingsPublished"] == 0


def test_a_russian_portal_passes_its_own_words_through(
    simulator_factory: Callable[..., SimulatorServer],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator_factory(culture="ru-RU")
    point_at(monkeypatch, sim, aws)
    s = sim.scenario
    now = utc_now()
    admin = _admin(s)
    s.admin_actions.set_tfa(admin, "app", at=now - timedelta(hours=3))
    run("config_watch", scheduled(iso(now)))
    aws.findings()
    s.admin_actions.set_tfa(admin, "none")
    run("config_watch", scheduled(iso(now + timedelta(minutes=4))))
    [off] = aws.findings()
    assert off["evidence"]["actionId"] == 6036 and off["severity"] == "high"
    assert any("\u0400" <= ch <= "\u04ff" for ch in off["evidence"]["action"])  # Cyrillic
    assert off["user"]["id"] == admin


def test_a_change_made_after_the_window_is_not_blamed_on_an_earlier_event(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin edits the IP list; minutes later, after the run's scheduled time but before it
    reads the settings, an intruder switches restrictions off. The run reads the audit trail up
    to when it read the settings, so the intruder is named, not the admin."""
    point_at(monkeypatch, simulator, aws)
    s = simulator.scenario
    admin = _admin(s)
    intruder = _plain_users(s)[0]
    now = utc_now()
    _protected_then_first_run(s, aws, admin, now, at=now - timedelta(minutes=40))
    s.admin_actions.set_ip_restrictions(
        admin, True, ["203.0.113.7", "203.0.113.8"], at=now - timedelta(minutes=20)
    )
    s.admin_actions.set_ip_restrictions(intruder.id, False, at=now - timedelta(minutes=1))
    run("config_watch", scheduled(iso(now - timedelta(minutes=5))))
    found = {f["user"]["id"]: f for f in aws.findings()}
    assert found[intruder.id]["title"].startswith("IP restrictions were switched off")
    assert found[intruder.id]["severity"] == "high"
    assert found[admin]["severity"] == "medium" and "settingsNow" not in found[admin]["evidence"]


def test_our_ip_sync_does_not_hide_an_intruder_switching_restrictions_off(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS="192.0.2.1")
    s = simulator.scenario
    admin = _admin(s)
    now = utc_now()
    _protected_then_first_run(s, aws, admin, now)
    user_id, entries = sorted(s.planted.allowlists.items())[0]
    run_register({"userId": user_id, "allowedIps": list(entries)})  # our sync writes the list
    s.admin_actions.set_ip_restrictions(admin, False)  # minutes later, someone switches it off
    summary = run("config_watch", scheduled(iso(now + timedelta(minutes=4))))
    kinds = _by_kind(aws.findings())
    [off] = [f for f in kinds["config_change"] if f["evidence"]["actionId"] == 6094]
    assert off["severity"] == "high" and off["user"]["id"] == admin
    assert off["title"].startswith("IP restrictions were switched off")
    assert [f["evidence"]["actionId"] for f in kinds["config_change_by_sentinel"]] == [6094]
    assert summary["waitingForAudit"] == 0


def test_a_session_change_cannot_hide_behind_a_password_change(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DocSpace writes a cookie-settings event (6032) after every password change, and that one
    is not reported. An intruder who changes a password and the session lifetime in the same
    seconds is reported all the same: the snapshot sees the session setting change."""
    point_at(monkeypatch, simulator, aws)
    s = simulator.scenario
    admin = _admin(s)
    now = utc_now()
    run("config_watch", scheduled(iso(now)))
    aws.findings()
    s.admin_actions.settings_action(admin, 4017, [s.user_by_id(admin).name])
    s.admin_actions.settings_action(admin, 6032)  # the password change's cookie reset
    run("config_watch", scheduled(iso(now + timedelta(minutes=2))))
    assert aws.findings() == []  # a password change alone: nothing to report
    s.admin_actions.settings_action(admin, 4017, [s.user_by_id(admin).name])
    s.admin_actions.set_cookie_lifetime(admin, True, 60 * 24 * 30)
    run("config_watch", scheduled(iso(now + timedelta(minutes=4))))
    [session] = aws.findings()
    assert session["evidence"]["actionId"] == 6032 and session["user"]["id"] == admin
    assert session["evidence"]["settingsNow"][0]["subject"] == "session"


def test_events_after_the_window_are_reported_now_only_when_they_explain_a_change(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read early to name who switched restrictions off, an event after the scheduled time is
    reported with the snapshot's words at once; the others after the window wait for the next
    run's scan (reported then at their full severity, never bare first and suppressed after)."""
    point_at(monkeypatch, simulator, aws)
    s = simulator.scenario
    admin = _admin(s)
    now = utc_now()
    _protected_then_first_run(s, aws, admin, now, at=now - timedelta(minutes=40))
    # (dated within the clock-skew allowance of the first snapshot, taken at the wall clock)
    s.admin_actions.set_ip_restrictions(admin, False, at=now - timedelta(seconds=60))
    s.admin_actions.download_audit_report(admin, at=now - timedelta(seconds=30))
    second = run("config_watch", scheduled(iso(now - timedelta(minutes=5))))
    [off] = aws.findings()
    assert off["evidence"]["actionId"] == 6094 and off["severity"] == "high"
    assert second["changes"] == 1
    run("config_watch", scheduled(iso(now + timedelta(minutes=3))))
    [report] = aws.findings()  # the switch-off is not sent again
    assert report["evidence"]["actionId"] == 6028
