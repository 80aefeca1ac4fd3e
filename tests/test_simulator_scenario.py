"""Scenario generation: determinism, structure, planted cases, and the columnar store."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from local.simulator import Scenario, generate_scenario
from local.simulator.events import AuditQuery
from local.simulator.store import ColumnStore

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def small(**kwargs: object) -> Scenario:
    params: dict[str, object] = {"seed": 3, "audit_events": 2_000, "login_events": 500, "now": NOW}
    params.update(kwargs)
    return generate_scenario(**params)  # type: ignore[arg-type]


def dump(s: Scenario) -> list[object]:
    return [s.audit.row(p) for p in range(len(s.audit))] + [
        s.logins.row(p) for p in range(len(s.logins))
    ]


def test_deterministic_for_a_seed() -> None:
    a, b = small(), small()
    assert dump(a) == dump(b) and a.planted == b.planted and a.layout == b.layout
    assert dump(small(seed=4)) != dump(a)


def test_portal_structure(scenario: Scenario) -> None:
    users = scenario.users
    assert sum(u.is_owner for u in users) == 1
    assert 2 <= sum(u.is_admin for u in users) <= 4
    assert scenario.key_user.is_admin and not scenario.key_user.is_owner
    assert {u.status for u in users} == {1, 2, 4}
    assert any(u.is_ldap for u in users) and any(u.is_sso for u in users)
    assert any(u.is_visitor for u in users) and any(u.is_room_admin for u in users)
    assert {r.room_type for r in scenario.rooms} >= {2, 5, 6, 8}
    assert scenario.overlap_ids()
    titles = [r.title for r in scenario.rooms]
    assert titles.count(scenario.layout.duplicate_title) == 2


def test_planted_cases(scenario: Scenario) -> None:
    p = scenario.planted
    now = scenario.now
    assert p.vdr_heavy and len(p.vdr_heavy.event_ids) >= 150
    assert scenario.room(p.vdr_heavy.room_id).room_type == 8  # type: ignore[union-attr]
    assert p.bulk_changer and len(set(p.bulk_changer.file_ids)) >= 30
    assert p.bulk_changer.end - p.bulk_changer.start <= timedelta(minutes=10)
    assert p.repeated_editor and len(p.repeated_editor.event_ids) == 50
    reasons = {m.reason for m in p.inactive_members}
    assert reasons == {"never_active", "active_elsewhere", "disabled"}
    assert p.allowlists and p.off_allowlist_logins and p.in_allowlist_logins
    assert p.truncated_ipv6_login and p.truncated_ipv6_login.ip == "2001"
    assert p.brute_force and len(p.brute_force.failed_event_ids) >= 10
    assert p.brute_force.end - p.brute_force.start <= timedelta(minutes=5)
    # Everything planted lies inside a three-day look-back.
    for start in (p.vdr_heavy.start, p.bulk_changer.start, p.brute_force.start):
        assert now - timedelta(days=3) < start < now
    for event_id in p.bulk_changer.event_ids:
        row = scenario.audit.by_id(event_id)
        assert row.user == scenario.user_index(p.bulk_changer.user_id)


def test_inactive_members_really_are_inactive(scenario: Scenario) -> None:
    since = scenario.clock() - 30 * 86_400_000_000
    for member in scenario.planted.inactive_members:
        index = scenario.user_index(member.user_id)
        room = scenario.folders[member.room_id]
        context = f"Rooms: {room.title}"
        rows = [
            scenario.audit.row(p) for p in scenario.audit.query(AuditQuery(user=index), 0, 10**6)
        ]
        assert not [r for r in rows if r.context == context and r.micros >= since]
        assert member.user_id in scenario.members(member.room_id)


def test_unplanted_has_nothing() -> None:
    s = small(plant=False)
    assert s.planted.vdr_heavy is None and not s.planted.inactive_members
    assert not s.planted.allowlists and s.planted.brute_force is None
    assert all(s.user_by_id(u).status == 1 for r in s.rooms for u in s.members(r.id))


def test_store_insert_keeps_order_and_invalidates_cache() -> None:
    store = ColumnStore(["x"])
    store.load([30, 10, 20, 10], {"x": [3, 1, 2, 4]})
    store.assign_ids(1, random.Random(1))
    assert list(store.t) == sorted(store.t)
    hits = store.cached("k", lambda: [0, 1])
    pos, new_id = store.insert(15, {"x": 9})
    assert store.t[pos] == 15 and new_id == 5 and store.cached("k", lambda: [2]) is not hits


def test_200k_generation_is_quick() -> None:
    started = time.monotonic()
    s = generate_scenario(seed=1, audit_events=200_000, now=NOW)
    assert len(s.audit) == 200_000
    assert time.monotonic() - started < 10
    page = s.audit.query(AuditQuery(user=12), 100, 100)
    assert len(page) == 100
