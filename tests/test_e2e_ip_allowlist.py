"""IP allowlists end to end: registration, the login check, responses and the portal sync."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.errors import Forbidden
from docspace_sentinel.state import keys as state_keys
from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
from docspace_sentinel.workflows.ip_allowlist.store import AllowlistStore
from docspace_sentinel.workflows.ip_allowlist.sync_records import AddedStore
from local.aws import LocalAws
from local.lambda_runtime import invoke
from local.simulator.model import IpRestriction
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now

pytestmark = pytest.mark.e2e

PUT = "PUT /api/2.0/settings/iprestrictions"
LOGOUT = "PUT /api/2.0/security/activeconnections/logoutall/{userid}"
STATUS = "PUT /api/2.0/people/status/{status}"
ADMIN_IP = "192.0.2.1"
SAMPLE = ["203.0.113.10", "198.51.100.0-198.51.100.255"]


def register(event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = invoke("ip_allowlist", event, attribute="register_handler")
    return answer


def _store(aws: LocalAws) -> StateStore:
    return StateStore(aws.table_name, client=aws.dynamodb)


def _register_planted(sim: SimulatorServer) -> dict[str, tuple[str, ...]]:
    allowlists = sim.scenario.planted.allowlists
    assert len(allowlists) == 3
    for user_id, entries in allowlists.items():
        register({"userId": user_id, "allowedIps": list(entries)})
    return allowlists


def _portal(sim: SimulatorServer) -> list[tuple[str, bool]]:
    return [(e.ip, e.for_admin) for e in sim.scenario.ip_restrictions.entries]


def _regular_user(sim: SimulatorServer, skip: set[str]) -> str:
    s = sim.scenario
    return next(
        u.id
        for u in s.users
        if u.status == 1
        and not (u.is_admin or u.is_owner or u.is_ldap or u.is_sso)
        and u.id != s.layout.key_user_id
        and u.id not in skip
    )


# -- the login check ----------------------------------------------------------------------------


def test_planted_logins_are_judged_by_cidr_range_and_ipv6_rules(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    planted = simulator.scenario.planted
    _register_planted(simulator)
    summary = run("ip_allowlist", scheduled(iso(utc_now())))
    findings = aws.findings()
    flagged = {
        (f["user"]["id"], f["evidence"]["ip"]) for f in findings if f["kind"] == "ip_not_allowed"
    }
    assert flagged == {(p.user_id, p.ip) for p in planted.off_allowlist_logins}
    for login in planted.in_allowlist_logins:  # 198.51.100.77 inside the a-b range, and more
        assert not any(f["evidence"].get("ip") == login.ip for f in findings)
    truncated = planted.truncated_ipv6_login
    assert truncated is not None
    unverifiable = [f for f in findings if f["kind"] == "ip_unverifiable"]
    assert [(f["user"]["id"], f["evidence"]["ip"]) for f in unverifiable] == [
        (truncated.user_id, "2001")
    ]
    assert unverifiable[0]["severity"] == "low"
    one = next(f for f in findings if f["kind"] == "ip_not_allowed")
    evidence = one["evidence"]
    assert {"date", "ip", "country", "city", "browser", "platform"} <= set(evidence)
    assert evidence["country"] == "Netherlands" and evidence["browser"] == "Chrome 132"
    assert one["severity"] == "high" and one["actions"] == []
    # nobody else is judged: the brute-force victim's logins come from an unlisted address
    users = {f["user"]["id"] for f in findings if f["kind"].startswith("ip_")}
    assert users <= set(planted.allowlists)
    assert summary["usersWithAllowlist"] == 3
    assert summary["portalSync"]["status"] == "off"
    assert simulator.stats.requests["GET /api/2.0/settings/iprestrictions"] == 0

    # the next run re-reads its lag window: the same findings are not published again
    later = run("ip_allowlist", scheduled(iso(utc_now() + timedelta(minutes=5))))
    assert later["findingsPublished"] == 0 and aws.findings() == []


def test_the_samples_own_case_and_a_user_without_allowlist(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    scenario = simulator.scenario
    user = _regular_user(simulator, set(scenario.planted.allowlists))
    other = _regular_user(simulator, {*scenario.planted.allowlists, user})
    register({"userId": user, "allowedIps": SAMPLE})
    when = utc_now() - timedelta(hours=1)
    for ip in ("198.51.100.77", "203.0.113.10", "203.0.113.11"):
        scenario.add_login_event(1010, user_id=user, ip=ip, date=when)
    scenario.add_login_event(1010, user_id=other, ip="203.0.113.11", date=when)
    run("ip_allowlist", scheduled(iso(utc_now())))
    findings = aws.findings()
    # the user's everyday logins come from elsewhere and are flagged too; look at ours
    planted_ips = {"198.51.100.77", "203.0.113.10", "203.0.113.11"}
    mine = [f for f in findings if f["user"]["id"] == user and f["evidence"]["ip"] in planted_ips]
    assert [(f["kind"], f["evidence"]["ip"]) for f in mine] == [("ip_not_allowed", "203.0.113.11")]
    assert mine[0]["evidence"]["allowedEntries"] == SAMPLE
    assert not [f for f in findings if f["user"] and f["user"]["id"] == other]


def test_logins_blocked_by_the_portal_are_reported(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    user = _regular_user(simulator, set())
    simulator.scenario.add_login_event(
        1009, user_id=user, ip="45.137.21.9", date=utc_now() - timedelta(minutes=30)
    )
    run("ip_allowlist", scheduled(iso(utc_now())))
    blocked = [f for f in aws.findings() if f["kind"] == "login_blocked_by_ip"]
    assert [(f["user"]["id"], f["evidence"]["ip"], f["severity"]) for f in blocked] == [
        (user, "45.137.21.9", "medium")
    ]


def test_logout_mode_ends_the_sessions_of_off_list_users_once(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="logout", MODE="enforce")
    planted = simulator.scenario.planted
    _register_planted(simulator)
    run("ip_allowlist", scheduled(iso(utc_now())))
    flagged = [f for f in aws.findings() if f["kind"] == "ip_not_allowed"]
    assert {f["user"]["id"] for f in flagged} == {p.user_id for p in planted.off_allowlist_logins}
    assert all(f["actions"][0]["action"] == "logout_user" for f in flagged)
    assert all(f["actions"][0]["status"] == "done" for f in flagged)
    assert simulator.stats.requests[LOGOUT] == 3
    # the lag window is re-read, but logins before the cursor were already acted on
    run("ip_allowlist", scheduled(iso(utc_now() + timedelta(minutes=5))))
    assert simulator.stats.requests[LOGOUT] == 3 and aws.findings() == []


def test_logout_in_dry_run_only_proposes(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="logout")
    _register_planted(simulator)
    run("ip_allowlist", scheduled(iso(utc_now())))
    flagged = [f for f in aws.findings() if f["kind"] == "ip_not_allowed"]
    assert {f["actions"][0]["status"] for f in flagged} == {"proposed"}
    assert simulator.stats.requests[LOGOUT] == 0


def test_restrict_mode_disables_through_the_restrictor_with_its_protections(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = simulator.scenario.planted
    off = {p.user_id for p in planted.off_allowlist_logins}
    protected = sorted(off)[0]
    point_at(
        monkeypatch,
        simulator,
        aws,
        PORTAL_SYNC="off",
        ON_VIOLATION="restrict",
        MODE="enforce",
        PROTECTED_USER_IDS=protected,
    )
    _register_planted(simulator)
    run("ip_allowlist", scheduled(iso(utc_now())))
    actions = {
        f["user"]["id"]: f["actions"][0] for f in aws.findings() if f["kind"] == "ip_not_allowed"
    }
    assert set(actions) == off
    assert actions[protected]["status"] == "skipped"
    assert "PROTECTED_USER_IDS" in actions[protected]["detail"]
    restricted = off - {protected}
    assert all(actions[u]["status"] == "done" for u in restricted)
    assert all(simulator.scenario.user_by_id(u).status == 2 for u in restricted)
    assert simulator.scenario.user_by_id(protected).status == 1
    records = RestrictionStore(_store(aws))
    assert {r.user_id for r in records.all()} == restricted
    assert all(r.source == "ip_allowlist" and r.lift_at for r in records.all())
    assert simulator.stats.requests[STATUS] == len(restricted)


# -- registration -------------------------------------------------------------------------------


def test_registration_by_eventbridge_and_by_email(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    user_id = _regular_user(simulator, set())
    email = simulator.scenario.user_by_id(user_id).email
    answer = register(
        {
            "version": "0",
            "id": "4b8f0c7e-0000-0000-0000-000000000000",
            "detail-type": "UserOnboarded",
            "source": "hr.system",
            "time": iso(utc_now()),
            "detail": {
                "email": email.upper(),
                "allowedIps": ["203.0.113.10", "2001:DB8:0:0::/32", " 198.51.100.0/24 "],
                "updatedBy": "onboarding",
            },
        }
    )
    assert answer["userId"] == user_id and answer["changed"] is True
    assert answer["entries"] == ["203.0.113.10", "2001:db8::/32", "198.51.100.0/24"]
    assert answer["monitoredOnly"] == ["2001:db8::/32"]
    stored = AllowlistStore(_store(aws)).get(user_id)
    assert stored is not None and stored.entries == tuple(answer["entries"])
    assert stored.updated_by == "eventbridge:hr.system:onboarding"
    assert stored.email == email.lower() and stored.updated_at is not None

    added = register({"userId": user_id, "operation": "add", "allowedIps": ["192.0.2.7"]})
    assert added["added"] == ["192.0.2.7"] and len(added["entries"]) == 4
    removed = register(
        {"userId": user_id, "operation": "remove", "allowedIps": ["198.51.100.0/24"]}
    )
    assert removed["removed"] == ["198.51.100.0/24"]
    again = register({"userId": user_id, "operation": "add", "allowedIps": ["192.0.2.7"]})
    assert again["changed"] is False


def test_a_bad_registration_stores_nothing_and_names_every_bad_entry(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)
    user_id = _regular_user(simulator, set())
    with pytest.raises(ValueError) as raised:
        register(
            {
                "userId": user_id,
                "allowedIps": ["203.0.113.10", "203.0.113.300", "10.0.0.1/24", "10.0.0.9-10.0.0.1"],
            }
        )
    message = str(raised.value)
    assert "'203.0.113.300'" in message and "not an IPv4 or IPv6 address" in message
    assert "'10.0.0.1/24'" in message and "host bits" in message
    assert "'10.0.0.9-10.0.0.1'" in message and "starts after it ends" in message
    assert "'203.0.113.10'" not in message
    assert AllowlistStore(_store(aws)).all() == []
    with pytest.raises(ValueError, match="matches no portal user"):
        register({"email": "nobody@example.com", "allowedIps": ["203.0.113.10"]})
    assert AllowlistStore(_store(aws)).all() == []
    assert simulator.stats.requests[PUT] == 0 and aws.findings() == []


# -- portal sync --------------------------------------------------------------------------------


def test_dry_run_plans_and_reports_each_plan_once(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)  # PORTAL_SYNC defaults to dry-run
    answers = {
        user_id: register({"userId": user_id, "allowedIps": list(entries)})
        for user_id, entries in simulator.scenario.planted.allowlists.items()
    }
    planned = [f for f in aws.findings() if f["kind"] == "ip_sync_planned"]
    # the later lists are inside the first one's ranges: the same plan, published once
    assert len(planned) == 1
    assert planned[0]["evidence"]["addCount"] == 512
    assert planned[0]["evidence"]["removeCount"] == 0
    assert planned[0]["actions"][0]["status"] == "proposed"
    assert [a["portalSync"]["status"] for a in answers.values()] == ["planned"] * 3
    ipv6 = [a for a in answers.values() if a["monitoredOnly"]]
    assert [a["monitoredOnly"] for a in ipv6] == [["2001:db8::/32"]]
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert not [f for f in aws.findings() if f["kind"] == "ip_sync_planned"]  # same plan
    assert simulator.stats.requests[PUT] == 0 and _portal(simulator) == []
    # and not the next day either: an unchanged plan stays quiet for 30 days, not one
    # suppression period (findings.routing.QUIET_PERIODS)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    sent = store.get(*state_keys.sent("ip_allowlist", planned[0]["id"]))
    assert sent is not None
    assert int(sent["expiresAt"]) > (utc_now() + timedelta(days=29)).timestamp()


def test_enforce_adds_our_addresses_keeps_foreign_ones_and_removes_only_ours(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    state = simulator.scenario.ip_restrictions
    state.entries = [IpRestriction(1, "192.0.2.50", False), IpRestriction(2, "192.0.2.51", True)]
    state.next_id, state.enable = 3, True
    user_id = _regular_user(simulator, set())
    answer = register({"userId": user_id, "allowedIps": ["203.0.113.10", "198.51.100.0/30"]})
    assert answer["portalSync"]["status"] == "applied"
    expected = {"203.0.113.10", "198.51.100.0", "198.51.100.1", "198.51.100.2", "198.51.100.3"}
    assert set(_portal(simulator)) == {
        ("192.0.2.50", False),
        ("192.0.2.51", True),
        (ADMIN_IP, False),
        *((ip, False) for ip in expected),
    }
    assert state.enable is True
    assert AddedStore(_store(aws)).get().addresses == expected | {ADMIN_IP}
    applied = [f for f in aws.findings() if f["kind"] == "ip_sync_applied"]
    assert len(applied) == 1 and applied[0]["evidence"]["addCount"] == 6

    # the foreign single address is also in the user's list now: removing it keeps it
    register({"userId": user_id, "operation": "add", "allowedIps": ["192.0.2.50"]})
    register(
        {"userId": user_id, "operation": "remove", "allowedIps": ["198.51.100.0/30", "192.0.2.50"]}
    )
    assert set(_portal(simulator)) == {
        ("192.0.2.50", False),
        ("192.0.2.51", True),
        (ADMIN_IP, False),
        ("203.0.113.10", False),
    }
    # nothing left to do: no PUT
    puts = simulator.stats.requests[PUT]
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert simulator.stats.requests[PUT] == puts


def test_sync_never_switches_restrictions_on_by_itself(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce")
    assert simulator.scenario.ip_restrictions.enable is False
    _register_planted(simulator)
    assert len(_portal(simulator)) == 512
    assert simulator.scenario.ip_restrictions.enable is False  # enable sent as false


def test_sync_refuses_to_enable_without_always_allowed_ips(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", PORTAL_SYNC_ENABLE="true")
    _register_planted(simulator)
    assert simulator.stats.requests[PUT] == 0
    refused = [f for f in aws.findings() if f["kind"] == "ip_sync_refused"]
    assert refused and "ALWAYS_ALLOWED_IPS" in refused[-1]["evidence"]["refused"]

    # restrictions on with an empty list: any write would newly apply them, to admins too
    simulator.scenario.ip_restrictions.enable = True
    monkeypatch.setenv("PORTAL_SYNC_ENABLE", "false")
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert simulator.stats.requests[PUT] == 0
    assert [f["kind"] for f in aws.findings() if f["kind"].startswith("ip_sync")] == [
        "ip_sync_refused"
    ]

    # with the administrators' addresses, but an admin's key: switching restrictions on would
    # block Sentinel's own calls (only the owner is exempt), so it still refuses
    simulator.scenario.ip_restrictions.enable = False
    monkeypatch.setenv("PORTAL_SYNC_ENABLE", "true")
    monkeypatch.setenv("ALWAYS_ALLOWED_IPS", ADMIN_IP)
    run("ip_allowlist", scheduled(iso(utc_now() + timedelta(minutes=5))))
    assert simulator.stats.requests[PUT] == 0
    refused = [f for f in aws.findings() if f["kind"] == "ip_sync_refused"]
    assert refused and "owner" in refused[-1]["evidence"]["refused"]

    # with the owner's key (exempt from IP restrictions), it enables when asked to
    simulator.scenario.key_user.is_owner = True
    run("ip_allowlist", scheduled(iso(utc_now() + timedelta(minutes=10))))
    assert simulator.scenario.ip_restrictions.enable is True
    assert (ADMIN_IP, False) in _portal(simulator) and len(_portal(simulator)) == 513


def test_sync_refuses_to_empty_the_list(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    user_id = _regular_user(simulator, set())
    register({"userId": user_id, "allowedIps": ["203.0.113.10"]})
    assert len(_portal(simulator)) == 2
    monkeypatch.delenv("ALWAYS_ALLOWED_IPS")
    answer = register({"userId": user_id, "operation": "remove", "allowedIps": ["203.0.113.10"]})
    assert answer["portalSync"]["status"] == "refused"
    assert "empty" in answer["portalSync"]["detail"]
    assert len(_portal(simulator)) == 2 and simulator.stats.requests[PUT] == 1


def test_sync_aborts_when_the_list_changes_between_read_and_write(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce")
    user_id = _regular_user(simulator, set())
    reads = 0
    original = DocSpaceClient.ip_restrictions

    def racing(self: DocSpaceClient) -> Any:
        nonlocal reads
        reads += 1
        answer = original(self)
        if reads == 1:  # another administrator saves the list right after our first read
            state = simulator.scenario.ip_restrictions
            state.entries.append(IpRestriction(state.next_id, "192.0.2.99", False))
            state.next_id += 1
        return answer

    monkeypatch.setattr(DocSpaceClient, "ip_restrictions", racing)
    answer = register({"userId": user_id, "allowedIps": ["203.0.113.10"]})
    assert answer["portalSync"]["status"] == "aborted"
    assert simulator.stats.requests[PUT] == 0
    assert _portal(simulator) == [("192.0.2.99", False)]
    assert [f["kind"] for f in aws.findings()] == ["ip_sync_aborted"]
    assert AddedStore(_store(aws)).get().addresses == frozenset()
    # the next run plans on the new list and keeps the other administrator's entry
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert set(_portal(simulator)) == {("192.0.2.99", False), ("203.0.113.10", False)}


def test_ranges_are_expanded_up_to_the_limit_and_larger_ones_monitored_only(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", MAX_EXPANDED_RANGE=4)
    user_id = _regular_user(simulator, set())
    answer = register(
        {
            "userId": user_id,
            "allowedIps": ["198.51.100.0/30", "192.0.2.10-192.0.2.14", "2001:db8::1-2001:db8::2"],
        }
    )
    assert answer["monitoredOnly"] == ["192.0.2.10-192.0.2.14"]
    portal = {ip for ip, _ in _portal(simulator)}
    assert portal == {
        "198.51.100.0",
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "2001:db8::1",
        "2001:db8::2",
    }
    applied = next(f for f in aws.findings() if f["kind"] == "ip_sync_applied")
    assert applied["evidence"]["monitoredOnly"] == [
        {"userId": user_id, "entry": "192.0.2.10-192.0.2.14", "addresses": 5}
    ]
    # the simulator answers 400 for CIDR or range entries: never once
    assert simulator.stats.requests[PUT] == 1
    assert all("/" not in ip and "-" not in ip for ip in portal)
    # the large range still counts at login
    simulator.scenario.add_login_event(
        1010, user_id=user_id, ip="192.0.2.12", date=utc_now() - timedelta(minutes=20)
    )
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert not [f for f in aws.findings() if f["evidence"].get("ip") == "192.0.2.12"]


def test_a_sync_that_cannot_read_the_list_does_not_stop_the_login_check(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    _register_planted(simulator)
    monkeypatch.setenv("PORTAL_SYNC", "enforce")

    def refused(self: DocSpaceClient) -> Any:
        raise Forbidden("Access denied", status_code=403)

    monkeypatch.setattr(DocSpaceClient, "ip_restriction_settings", refused)
    summary = run("ip_allowlist", scheduled(iso(utc_now())))
    assert summary["status"] == "completed" and summary["portalSync"]["status"] == "failed"
    kinds = {f["kind"] for f in aws.findings()}
    assert {"ip_not_allowed", "ip_sync_failed"} <= kinds


def test_a_refused_put_leaves_nothing_recorded_as_ours(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docspace_sentinel.docspace.client import DocSpaceClient
    from docspace_sentinel.docspace.errors import BadRequest
    from docspace_sentinel.state.store import StateStore

    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)

    def refuse(self: DocSpaceClient, *args: object, **kwargs: object) -> None:
        raise BadRequest("IpRestrictions", status_code=400)

    monkeypatch.setattr(DocSpaceClient, "put_ip_restrictions", refuse)
    answer = register({"userId": _regular_user(simulator, set()), "allowedIps": ["203.0.113.10"]})
    assert answer["portalSync"]["status"] == "failed"
    record = StateStore(aws.table_name, client=aws.dynamodb).get("ipsync", "added") or {}
    assert not record.get("addresses")


# -- never locking anyone out -------------------------------------------------------------------

NEW_ADMIN_IP = "192.0.2.2"


def _enforced(sim: SimulatorServer) -> None:
    """Restrictions on and applying, with someone's entry (as an admin would have set them up)."""
    state = sim.scenario.ip_restrictions
    state.entries = [IpRestriction(1, "192.0.2.50", False)]
    state.next_id, state.enable = 2, True


def test_a_deploy_with_an_empty_always_allowed_ips_never_drops_the_admins_address(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    _enforced(simulator)
    user_id = _regular_user(simulator, set())
    register({"userId": user_id, "allowedIps": ["203.0.113.10"]})
    assert (ADMIN_IP, False) in _portal(simulator)
    puts = simulator.stats.requests[PUT]

    # a later deploy with the template's default
    monkeypatch.setenv("ALWAYS_ALLOWED_IPS", "")
    run("ip_allowlist", scheduled(iso(utc_now())))
    answer = register({"userId": user_id, "operation": "add", "allowedIps": ["203.0.113.11"]})
    assert simulator.stats.requests[PUT] == puts
    assert (ADMIN_IP, False) in _portal(simulator) and simulator.scenario.ip_restrictions.enable
    assert answer["portalSync"]["status"] == "refused"
    refused = [f for f in aws.findings() if f["kind"] == "ip_sync_refused"]
    assert refused and all("ALWAYS_ALLOWED_IPS is empty" in f["summary"] for f in refused)
    assert ADMIN_IP in refused[0]["summary"]
    assert refused[0]["evidence"]["alwaysAllowedDropped"] == [ADMIN_IP]


def test_dropping_an_always_allowed_address_needs_the_operators_confirmation(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=ADMIN_IP)
    _enforced(simulator)
    register({"userId": _regular_user(simulator, set()), "allowedIps": ["203.0.113.10"]})
    puts = simulator.stats.requests[PUT]

    monkeypatch.setenv("ALWAYS_ALLOWED_IPS", NEW_ADMIN_IP)
    summary = run("ip_allowlist", scheduled(iso(utc_now())))
    # the new address is written (the admins' new office must not stay locked out); the old
    # one is kept on the list until the operator confirms its removal
    assert summary["portalSync"]["status"] == "applied"
    assert simulator.stats.requests[PUT] == puts + 1
    assert {(ADMIN_IP, False), (NEW_ADMIN_IP, False)} <= set(_portal(simulator))
    (held,) = [f for f in aws.findings() if f["kind"] == "ip_sync_removal_held"]
    assert f"PORTAL_SYNC_CONFIRM_REMOVE={ADMIN_IP}" in held["summary"]
    assert held["evidence"]["heldBack"] == [ADMIN_IP]

    monkeypatch.setenv("PORTAL_SYNC_CONFIRM_REMOVE", ADMIN_IP)
    summary = run("ip_allowlist", scheduled(iso(utc_now() + timedelta(minutes=5))))
    assert summary["portalSync"]["status"] == "applied"
    assert set(_portal(simulator)) == {
        ("192.0.2.50", False),
        ("203.0.113.10", False),
        (NEW_ADMIN_IP, False),
    }
    record = AddedStore(_store(aws)).get()
    assert record.always_allowed == {NEW_ADMIN_IP}
    assert record.addresses == {NEW_ADMIN_IP, "203.0.113.10"}


def test_a_record_from_before_the_tracking_guards_what_it_added(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=NEW_ADMIN_IP)
    _enforced(simulator)
    state = simulator.scenario.ip_restrictions
    state.entries.append(IpRestriction(2, ADMIN_IP, False))
    state.next_id = 3
    store = _store(aws)
    # as an earlier version wrote it: the addresses it added, not which were always allowed
    store.call(
        "put_item",
        Item=store.encode({"pk": "ipsync", "sk": "added", "addresses": [ADMIN_IP], "version": 1}),
    )
    assert AddedStore(store).get().always_allowed is None
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert {(ADMIN_IP, False), (NEW_ADMIN_IP, False)} <= set(_portal(simulator))
    (held,) = [f for f in aws.findings() if f["kind"] == "ip_sync_removal_held"]
    assert ADMIN_IP in held["summary"] and "predates" in held["summary"]


def test_an_ipv4_mapped_entry_is_the_ipv4_address_at_login_and_on_the_portal(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(
        monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS=f"::ffff:{ADMIN_IP}"
    )
    user_id = _regular_user(simulator, set())
    answer = register({"userId": user_id, "allowedIps": ["::ffff:203.0.113.10"]})
    assert answer["entries"] == ["203.0.113.10"]
    assert set(_portal(simulator)) == {(ADMIN_IP, False), ("203.0.113.10", False)}
    when = utc_now() - timedelta(hours=1)
    simulator.scenario.add_login_event(1010, user_id=user_id, ip="203.0.113.10", date=when)
    run("ip_allowlist", scheduled(iso(utc_now())))
    assert not [
        f
        for f in aws.findings()
        if f["kind"] == "ip_not_allowed" and f["evidence"]["ip"] == "203.0.113.10"
    ]


def test_a_registration_that_would_allow_everyone_is_refused(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce")
    user_id = _regular_user(simulator, set())
    for everyone in ("0.0.0.0/0", "::/0", "0.0.0.0-255.255.255.255"):
        with pytest.raises(ValueError, match=r"allows every IPv[46] address"):
            register({"userId": user_id, "allowedIps": ["203.0.113.10", everyone]})
    assert AllowlistStore(_store(aws)).all() == []
    # nor by adding, to a list that is already wide, what makes it cover too much
    register({"userId": user_id, "allowedIps": [f"{n}.0.0.0/8" for n in range(1, 17)]})
    with pytest.raises(ValueError, match="together cover"):
        register({"userId": user_id, "operation": "add", "allowedIps": ["17.0.0.0/8"]})
    stored = AllowlistStore(_store(aws)).get(user_id)
    assert stored is not None and len(stored.entries) == 16
