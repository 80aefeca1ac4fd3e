"""Portal sync planning (pure) and the allowlist settings."""

from __future__ import annotations

import pytest

from docspace_sentinel.docspace.models import IpRestriction
from docspace_sentinel.runtime.errors import ConfigError
from docspace_sentinel.workflows.ip_allowlist.settings import AllowlistSettings, SyncSettings
from docspace_sentinel.workflows.ip_allowlist.store import Allowlist
from docspace_sentinel.workflows.ip_allowlist.sync_plan import (
    PortalState,
    desired_addresses,
    plan_sync,
)

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
    settings = SyncSettings(always_allowed=(ADMIN,))
    plan = plan_sync(state, _lists("203.0.113.10"), set(), settings)
    assert plan.refused and "10.0.0.0/24" in plan.refused


def test_the_diff_identifies_a_plan() -> None:
    state = _state(("192.0.2.50", False))
    first = plan_sync(state, _lists("203.0.113.10"), set(), SyncSettings())
    same = plan_sync(state, _lists("203.0.113.10", user=OTHER), set(), SyncSettings())
    other = plan_sync(state, _lists("203.0.113.11"), set(), SyncSettings())
    assert first.diff_id == same.diff_id != other.diff_id


# -- never locking anyone out -------------------------------------------------------------------

NEW_ADMIN = "192.0.2.2"


def test_while_restrictions_apply_an_empty_always_allowed_ips_writes_nothing() -> None:
    # An earlier deploy put the admins' address there; this one has the template's default.
    state = _state((ADMIN, False), ("203.0.113.10", False), enable=True)
    ours = {ADMIN, "203.0.113.10"}
    plan = plan_sync(state, _lists("203.0.113.10", "203.0.113.11"), ours, SyncSettings(), {ADMIN})
    assert plan.remove == (ADMIN,) and plan.dropping == (ADMIN,)
    assert plan.refused and "ALWAYS_ALLOWED_IPS is empty" in plan.refused and ADMIN in plan.refused
    assert plan.evidence("enforce")["alwaysAllowedDropped"] == [ADMIN]
    # any write, even one that only adds, and even a confirmed one
    adds = plan_sync(
        state,
        _lists("203.0.113.10", "203.0.113.11"),
        {"203.0.113.10"},
        SyncSettings(confirm_remove=(ADMIN,)),
        set(),
    )
    assert adds.remove == () and adds.refused and "ALWAYS_ALLOWED_IPS is empty" in adds.refused
    # restrictions off: the list does not apply, a write locks nobody out
    off = _state((ADMIN, False), ("203.0.113.10", False))
    assert plan_sync(off, _lists("203.0.113.10"), ours, SyncSettings(), {ADMIN}).refused is None


def test_an_always_allowed_address_is_dropped_only_when_confirmed() -> None:
    state = _state((ADMIN, False), ("203.0.113.10", False), enable=True)
    ours = {ADMIN, "203.0.113.10"}
    lists = _lists("203.0.113.10")
    moved = SyncSettings(always_allowed=(NEW_ADMIN,))
    plan = plan_sync(state, lists, ours, moved, {ADMIN})
    # the new address is written, the old one held back (not refused whole: issue 12)
    assert plan.refused is None and plan.dropping == (ADMIN,) and plan.held_back == (ADMIN,)
    assert plan.add == (NEW_ADMIN,) and plan.remove == ()
    assert _ips(plan.entries) == [(ADMIN, False), ("203.0.113.10", False), (NEW_ADMIN, False)]
    assert ADMIN in plan.held_reason
    assert f"PORTAL_SYNC_CONFIRM_REMOVE={ADMIN}" in plan.held_reason
    assert plan.evidence("enforce")["removalHeldBack"] == [ADMIN]
    confirmed = plan_sync(state, lists, ours, moved._replace(confirm_remove=(ADMIN,)), {ADMIN})
    assert confirmed.refused is None and confirmed.remove == (ADMIN,)
    assert _ips(confirmed.entries) == [("203.0.113.10", False), (NEW_ADMIN, False)]
    # a user's address is removed as before
    user = plan_sync(state, [], ours, SyncSettings(always_allowed=(ADMIN,)), {ADMIN})
    assert user.remove == ("203.0.113.10",) and user.refused is None
    # an admin-only entry for the same address does not count as keeping it
    both = _state((ADMIN, False), (ADMIN, True), ("203.0.113.10", False), enable=True)
    assert plan_sync(both, lists, ours, moved, {ADMIN}).dropping == (ADMIN,)


def test_a_record_from_before_the_tracking_guards_every_address_it_added() -> None:
    state = _state((ADMIN, False), ("203.0.113.10", False), enable=True)
    ours = {ADMIN, "203.0.113.10"}
    plan = plan_sync(state, _lists(), ours, SyncSettings(always_allowed=(NEW_ADMIN,)), None)
    assert plan.dropping == plan.held_back == (ADMIN, "203.0.113.10")
    assert plan.refused is None and "predates" in plan.held_reason
    assert plan.add == (NEW_ADMIN,) and plan.remove == ()


def test_an_ipv4_mapped_entry_the_sync_wrote_is_replaced_by_its_ipv4_address() -> None:
    # an earlier sync wrote the stored "::ffff:203.0.113.10" as it was
    mapped = "::ffff:cb00:710a"
    state = _state((ADMIN, False), (mapped, False), enable=True)
    lists = [Allowlist(USER, (mapped,))]
    plan = plan_sync(state, lists, {ADMIN, mapped}, SyncSettings(always_allowed=(ADMIN,)), None)
    assert plan.add == ("203.0.113.10",) and plan.remove == (mapped,)
    assert plan.dropping == () and plan.refused is None  # the host stays allowed


def test_mapped_always_allowed_ips_and_the_confirmation_setting() -> None:
    settings = SyncSettings.from_env(
        {
            "ALWAYS_ALLOWED_IPS": "::ffff:192.0.2.1 192.0.2.1",
            "PORTAL_SYNC_CONFIRM_REMOVE": "198.51.100.7, ::FFFF:198.51.100.8",
        }
    )
    assert settings.always_allowed == ("192.0.2.1",)
    assert settings.confirm_remove == ("198.51.100.7", "198.51.100.8")
    assert SyncSettings.from_env({}).confirm_remove == ()


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
        ("PORTAL_SYNC_CONFIRM_REMOVE", "192.0.2.0/24"),
        ("ON_VIOLATION", "block"),
        ("MODE", "yes"),
    ],
)
def test_a_bad_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        AllowlistSettings.from_env({name: value})
    assert raised.value.setting == name


@pytest.mark.parametrize(
    "value",
    [
        "0.0.0.0",  # noqa: S104 - a setting value, nothing binds to it
        "::",
        "127.0.0.1",
        "::1",
        "255.255.255.255",
        "224.0.0.1",
        "ff02::1",
        "169.254.1.1",
        "fe80::1",
        "fe80::1%eth0",
        "192.0.2.1, 127.0.0.1",
    ],
)
def test_always_allowed_ips_refuses_addresses_nobody_signs_in_from(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SyncSettings.from_env({"ALWAYS_ALLOWED_IPS": value})
    assert raised.value.setting == "ALWAYS_ALLOWED_IPS"


def test_always_allowed_ips_accepts_private_networks() -> None:
    settings = SyncSettings.from_env({"ALWAYS_ALLOWED_IPS": "10.0.0.1, 192.168.1.5, fd00::1"})
    assert settings.always_allowed == ("10.0.0.1", "192.168.1.5", "fd00::1")


# -- issue 12 review: sizes and held-back removals ----------------------------------------------


def test_a_list_past_the_cap_is_refused_without_expanding_it_all() -> None:
    from docspace_sentinel.workflows.ip_allowlist.sync_plan import MAX_PORTAL_ENTRIES

    # a thousand /24s per user, a hundred users: 25.6 million addresses if expanded
    lists = [
        Allowlist(f"user{u}", tuple(f"{10 + u}.{i // 256}.{i % 256}.0/24" for i in range(1000)))
        for u in range(100)
    ]
    state = _state((ADMIN, False), enable=True)
    plan = plan_sync(state, lists, set(), SyncSettings(always_allowed=(ADMIN,)))
    assert plan.refused and f"more than {MAX_PORTAL_ENTRIES:,} entries" in plan.refused
    assert plan.entries == state.entries and plan.add == () and plan.remove == ()
    # foreign entries count too: the list written is what the portal must hold
    crowded = _state(*((f"198.51.{i // 256}.{i % 256}", False) for i in range(1999)), enable=True)
    plan = plan_sync(crowded, _lists("203.0.113.10"), set(), SyncSettings(always_allowed=(ADMIN,)))
    assert plan.refused and "more than 2,000 entries" in plan.refused


def test_a_held_back_removal_does_not_withhold_a_new_users_address() -> None:
    # an old record guards every address it added; one user's address is no longer needed
    state = _state((ADMIN, False), ("203.0.113.10", False), enable=True)
    lists = [Allowlist("newuser", ("198.51.100.7",))]
    settings = SyncSettings(always_allowed=(ADMIN,))
    plan = plan_sync(state, lists, {ADMIN, "203.0.113.10"}, settings, None)
    assert plan.refused is None and plan.add == ("198.51.100.7",) and plan.remove == ()
    assert plan.held_back == ("203.0.113.10",)
    assert ("198.51.100.7", False) in _ips(plan.entries)
    assert ("203.0.113.10", False) in _ips(plan.entries)


def test_kept_portal_rows_are_written_in_normal_form() -> None:
    state = _state((" 192.0.2.50", False), ("2001:DB8::1 ", True), enable=True)
    plan = plan_sync(state, _lists("203.0.113.10"), set(), SyncSettings(always_allowed=(ADMIN,)))
    assert plan.refused is None
    assert _ips(plan.entries) == [
        ("192.0.2.50", False),
        ("2001:db8::1", True),
        (ADMIN, False),
        ("203.0.113.10", False),
    ]


def test_ipv6_only_always_allowed_ips_counts_as_empty() -> None:
    # DocSpace 3.7 matches no IPv6 request against an IPv6 entry: such a setting admits nobody.
    v6 = SyncSettings(enable=True, always_allowed=("2001:db8::5",))
    switch_on = plan_sync(PortalState((), False), _lists("203.0.113.10"), set(), v6)
    assert switch_on.refused and "holds no IPv4 address" in switch_on.refused
    applying = _state((ADMIN, False), enable=True)
    plan = plan_sync(applying, _lists("203.0.113.10"), set(), v6._replace(enable=False))
    assert plan.refused and "ALWAYS_ALLOWED_IPS holds no IPv4 address" in plan.refused
    mixed = v6._replace(always_allowed=("2001:db8::5", ADMIN))
    assert plan_sync(applying, _lists("203.0.113.10"), set(), mixed).refused is None


def test_a_hand_added_mapped_twin_does_not_cover_an_always_allowed_address() -> None:
    # The portal compares strings: "::ffff:192.0.2.1" never admits a request from 192.0.2.1.
    state = _state((ADMIN, False), ("::ffff:" + ADMIN, False), ("203.0.113.10", False), enable=True)
    moved = SyncSettings(always_allowed=(NEW_ADMIN,))
    plan = plan_sync(state, _lists("203.0.113.10"), {ADMIN}, moved, {ADMIN})
    assert plan.dropping == plan.held_back == (ADMIN,) and ADMIN not in plan.remove
