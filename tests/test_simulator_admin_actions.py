"""`AdminActions`: an administrator acting outside the product, seen through the real API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.secret import Secret
from docspace_sentinel.docspace.settings import ClientSettings
from docspace_sentinel.workflows.config_watch.snapshot import diff, read_snapshot
from local.simulator import SimulatorServer
from local.simulator.scenario import Scenario

AUDIT = "/api/2.0/security/audit/events/filter"


@pytest.fixture
def api(simulator: SimulatorServer) -> Iterator[Any]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {simulator.api_key}"

        def get(path: str, **params: Any) -> Any:
            response = session.get(simulator.url + path, params=params, timeout=20)
            response.raise_for_status()
            return response.json()["response"]

        yield get


def client(sim: SimulatorServer) -> DocSpaceClient:
    return DocSpaceClient(ClientSettings(url=sim.url, api_key=Secret(sim.api_key)))


def events(api: Any, action: int) -> list[dict[str, Any]]:
    return list(api(AUDIT, action=action, count=100))


def outsider(s: Scenario) -> str:
    """An active user who is neither owner nor admin."""
    return next(
        u.id for u in s.users if not (u.is_admin or u.is_owner) and u.status == 1 and not u.is_ldap
    )


def test_create_webhook_is_listed_with_its_creator_and_audited(
    simulator: SimulatorServer, api: Any
) -> None:
    s = simulator.scenario
    actor = s.layout.admin_ids[-1]
    config = s.admin_actions.create_webhook(actor, "Exfil <b>", "https://evil.example.net/h")
    listed = {row["configs"]["id"]: row["configs"] for row in api("/api/2.0/settings/webhook")}
    assert listed[config.id]["createdBy"]["id"] == actor
    assert listed[config.id]["uri"] == "https://evil.example.net/h"
    assert "secretKey" not in listed[config.id]
    created = events(api, 6055)[0]
    assert created["target"] == [str(config.id)] and created["userId"] == actor
    assert "Exfil <b>" in created["action"]


def test_ip_restrictions_switched_off_is_served_and_audited(
    simulator: SimulatorServer, api: Any
) -> None:
    s = simulator.scenario
    actions = s.admin_actions
    actions.set_ip_restrictions(s.owner.id, True, ["203.0.113.5", ("198.51.100.7", True)])
    assert api("/api/2.0/settings/iprestrictions/settings")["enable"] is True
    at = s.now + timedelta(minutes=5)
    actions.set_ip_restrictions(s.owner.id, False, at=at)
    assert api("/api/2.0/settings/iprestrictions/settings")["enable"] is False
    assert len(api("/api/2.0/settings/iprestrictions")) == 2  # the list is kept
    written = events(api, 6094)
    assert len(written) >= 2 and written[0]["userId"] == s.owner.id


def test_admin_owner_and_type_changes_reach_people_and_the_audit(
    simulator: SimulatorServer, api: Any
) -> None:
    s = simulator.scenario
    user_id = outsider(s)
    s.admin_actions.add_admin(s.owner.id, user_id)
    admins = {u["id"] for u in api("/api/2.0/people/filter", isAdministrator="true")}
    assert user_id in admins
    added = events(api, 6010)[0]
    assert added["target"] == [user_id]
    assert s.user_by_id(user_id).name in added["action"]
    s.admin_actions.remove_admin(s.owner.id, user_id)
    assert events(api, 6011)[0]["target"] == [user_id]
    s.admin_actions.set_user_type(s.owner.id, user_id, 3)
    typed = events(api, 4019)[0]
    assert typed["target"] == [user_id] and api(f"/api/2.0/people/{user_id}")["isAdmin"]
    old_owner = s.owner.id
    s.admin_actions.change_owner(old_owner, user_id)
    assert api("/api/2.0/settings")["ownerId"] == user_id
    assert events(api, 6022)[0]["userId"] == old_owner


def test_settings_actions_change_what_the_endpoints_serve(
    simulator: SimulatorServer, api: Any
) -> None:
    s = simulator.scenario
    a, owner = s.admin_actions, s.owner.id
    a.set_tfa(owner, "app")
    assert [r["enabled"] for r in api("/api/2.0/settings/tfaapp") if r["id"] == "app"] == [True]
    a.set_tfa(owner, "none")
    assert events(api, 6036) and events(api, 6038)
    a.set_password_policy(owner, 6)
    assert api("/api/2.0/settings/security/password")["minLength"] == 6
    a.set_sso(owner, True)
    sso = api("/api/2.0/settings/ssov2")
    assert sso["enableSso"] is True and events(api, 6029)
    key = a.create_api_key(owner, "ci")
    created = events(api, 6058)[0]
    assert created["target"] == [key.id] and key.key_postfix in json.dumps(created)
    a.download_audit_report(owner)
    a.settings_action(owner, 6199, ["future setting"])
    assert events(api, 6028)


def test_snapshot_reads_every_section_with_the_admin_key_and_sees_the_changes(
    simulator: SimulatorServer,
) -> None:
    s = simulator.scenario
    s.admin_actions.set_ip_restrictions(s.owner.id, True, ["203.0.113.5"])
    with client(simulator) as c:
        before = read_snapshot(c)
        assert before.unreadable == {}
        user_id = outsider(s)
        s.admin_actions.add_admin(s.owner.id, user_id)
        s.admin_actions.create_webhook(user_id, "x", "https://evil.example.net/h")
        s.admin_actions.set_ip_restrictions(user_id, False)
        s.admin_actions.set_tfa(user_id, "none")
        after = read_snapshot(c)
    high = {(ch.subject, ch.change) for ch in diff(before, after) if ch.severity == "high"}
    assert high == {("admins", "added"), ("webhook", "created"), ("ip_restrictions", "disabled")}


def test_snapshot_endpoints_answer_without_the_audit_option(simulator: SimulatorServer) -> None:
    simulator.audit_option = False
    simulator.scenario.portal_security.sso_option = False
    with client(simulator) as c:
        snapshot = read_snapshot(c)
    assert set(snapshot.unreadable) == {"sso"} and snapshot.unreadable["sso"].startswith("402")
    assert "audit_settings" in snapshot.sections


def test_settings_an_admin_reads_are_refused_to_a_non_admin_key(
    simulator: SimulatorServer,
) -> None:
    s = simulator.scenario
    s.key_user.is_admin = False
    with client(simulator) as c:
        snapshot = read_snapshot(c)
    assert {"login_settings", "session", "sso", "audit_settings"} <= set(snapshot.unreadable)
    assert "tfa" in snapshot.sections and "password" in snapshot.sections
