"""Portal sync planning (pure) and the allowlist settings."""

from __future__ import annotations

import pytest

from docspace_sentinel.allowlist import Allowlist
from docspace_sentinel.errors import ConfigError
from docspace_sentinel.ipsync import PortalState, SyncSettings, desired_addresses, plan_sync
from docspace_sentinel.models import IpRestriction
from docspace_sentinel.workflows.ip_allowlist import AllowlistSettings

USER = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
OTHER = "0c1d2e3f-0000-4000-8000-000000000001"
ADMIN = "192.0.2.1"


def _state(*entries: tuple[str, bool], enable: bool = False) -> PortalState:
    return PortalState(tuple(IpRestriction(ip, fa) for ip, fa in entries), enable, "2025-01-01")


def _lists(*entries: str, user: str = USER) -> list[Allowlist]:
    return [Allowlist(user, tuple(entries))]


def _ips(entries: tuple[IpRestriction, ...]) -> list[tuple[str, bool]]:
    return [(e.ip, e.for_admin) for e in entries]


def test_expansion_up_to_the_limit_and_large_ranges_monitored_only() -> None:
    wanted, monitored = desired_addresses(
        [
            *_lists("198.51.100.0/30", "192.0.2.10-192.0.2.12", "2001:db8::/32"),
            *_lists("198.51.100.1", "10.0.0.0/8", user=OTHER),
        ],
        max_expanded=4,
    )
    assert sorted(wanted) == [
        "192.0.2.10",
        "192.0.2.11",
        "192.0.2.12",
        "198.51.100.0",
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
    ]
    assert wanted["198.51.100.1"] == {USER, OTHER}
    assert [(m.user_id, m.entry, m.addresses) for m in monitored] == [
        (USER, "2001:db8::/32", 2**96),
        (OTHER, "10.0.0.0/8", 2**24),
    ]


def test_adds_ours_and_keeps_foreign_entries_and_the_switch() -> None:
    state = _state(("192.0.2.50", False), ("192.0.2.51", True), enable=True)
    plan = plan_sync(state, _lists("203.0.113.10"), set(), SyncSettings(always_allowed=(ADMIN,)))
    assert plan.add == (ADMIN, "203.0.113.10") and plan.remove == ()
    assert _ips(plan.entries) == [
        ("192.0.2.50", False),
        ("192.0.2.51", True),
        (ADMIN, False),
        ("203.0.113.10", False),
    ]
    assert plan.enable is True and plan.refused is None


def test_removes_only_what_it_added_and_no_longer_needs() -> None:
    state = _state(("192.0.2.50", False), ("203.0.113.10", False), ("203.0.113.11", False))
    plan = plan_sync(
        state, _lists("203.0.113.11"), {"203.0.113.10", "203.0.113.11"}, SyncSettings()
    )
    assert plan.add == () and plan.remove == ("203.0.113.10",)
    assert _ips(plan.entries) == [("192.0.2.50", False), ("203.0.113.11", False)]
    assert plan.evidence("dry-run")["entriesKept"] == 2


def test_an_admin_only_entry_does_not_admit_our_users() -> None:
    state = _state(("203.0.113.10", True), ("192.0.2.50", False), enable=True)
    plan = plan_sync(state, _lists("203.0.113.10"), set(), SyncSettings())
    assert plan.add == ("203.0.113.10",)
    assert ("203.0.113.10", True) in _ips(plan.entries)


def test_nothing_to_do_is_no_change() -> None:
    state = _state(("203.0.113.10", False))
    plan = plan_sync(state, _lists("203.0.113.10"), {"203.0.113.10"}, SyncSettings())
    assert not plan.changes


def test_never_switches_on_unless_asked_and_never_without_always_allowed() -> None:
    off = _state(("192.0.2.50", False))
    plan = plan_sync(off, _lists("203.0.113.10"), set(), SyncSettings())
    assert plan.enable is False and plan.refused is None
    asked = plan_sync(off, _lists("203.0.113.10"), set(), SyncSettings(enable=True))
    assert asked.enable is True and asked.refused and "ALWAYS_ALLOWED_IPS" in asked.refused
    allowed = plan_sync(
        off, _lists("203.0.113.10"), set(), SyncSettings(enable=True, always_allowed=(ADMIN,))
    )
    assert allowed.enable is True and allowed.refused is None
    assert (ADMIN, False) in _ips(allowed.entries)


def test_on_with_an_empty_list_counts_as_newly_applying() -> None:
    plan = plan_sync(_state(enable=True), _lists("203.0.113.10"), set(), SyncSettings())
    assert plan.refused and "empty list" in plan.refused
    fine = plan_sync(
        _state(enable=True), _lists("203.0.113.10"), set(), SyncSettings(always_allowed=(ADMIN,))
    )
    assert fine.refused is None


def test_never_writes_an_empty_list() -> None:
    state = _state(("203.0.113.10", False), enable=True)
    plan = plan_sync(state, [], {"203.0.113.10"}, SyncSettings())
    assert plan.remove == ("203.0.113.10",) and plan.refused and "empty" in plan.refused


def test_legacy_range_rows_block_a_rewrite() -> None:
    state = _state(("10.0.0.0/24", False), ("192.0.2.50", False), enable=True)
    plan = plan_sync(state, _lists("203.0.113.10"), set(), SyncSettings())
    assert plan.refused and "10.0.0.0/24" in plan.refused


def test_the_diff_identifies_a_plan() -> None:
    state = _state(("192.0.2.50", False))
    first = plan_sync(state, _lists("203.0.113.10"), set(), SyncSettings())
    same = plan_sync(state, _lists("203.0.113.10", user=OTHER), set(), SyncSettings())
    other = plan_sync(state, _lists("203.0.113.11"), set(), SyncSettings())
    assert first.diff_id == same.diff_id != other.diff_id


def test_settings_from_env() -> None:
    settings = AllowlistSettings.from_env({})
    assert settings.sync == SyncSettings() and settings.sync.mode == "dry-run"
    assert settings.on_violation == "alert" and settings.response.mode == "dry-run"
    custom = AllowlistSettings.from_env(
        {
            "PORTAL_SYNC": "Enforce",
            "PORTAL_SYNC_ENABLE": "yes",
            "MAX_EXPANDED_RANGE": "16",
            "ALWAYS_ALLOWED_IPS": "192.0.2.1, 2001:DB8::1",
            "ON_VIOLATION": "restrict",
            "MODE": "enforce",
        }
    )
    assert custom.sync == SyncSettings("enforce", True, 16, ("192.0.2.1", "2001:db8::1"))
    assert custom.on_violation == "restrict" and custom.response.enforce


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_SYNC", "on"),
        ("PORTAL_SYNC_ENABLE", "maybe"),
        ("MAX_EXPANDED_RANGE", "0"),
        ("ALWAYS_ALLOWED_IPS", "192.0.2.0/24"),
        ("ON_VIOLATION", "block"),
        ("MODE", "yes"),
    ],
)
def test_a_bad_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        AllowlistSettings.from_env({name: value})
    assert raised.value.setting == name
