"""Allowlist entries: parsing, normal forms, matching, operations, and the login check rule."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from docspace_sentinel.docspace.models import LoginEvent
from docspace_sentinel.workflows.ip_allowlist.entries import (
    apply_operation,
    parse_entries,
    parse_entry,
)
from docspace_sentinel.workflows.ip_allowlist.errors import InvalidAllowlist
from docspace_sentinel.workflows.ip_allowlist.findings import sighting_finding
from docspace_sentinel.workflows.ip_allowlist.registration import parse_registration
from docspace_sentinel.workflows.ip_allowlist.rules import (
    Matcher,
    check_logins,
    login_address,
    matchers,
)
from docspace_sentinel.workflows.ip_allowlist.store import Allowlist
from docspace_sentinel.workflows.ip_allowlist.sync_plan import desired_addresses

USER = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
OTHER = "0c1d2e3f-0000-4000-8000-000000000001"
SAMPLE = ["203.0.113.10", "198.51.100.0-198.51.100.255"]


def _matcher(entries: list[str]) -> Matcher:
    return Matcher(parse_entries(entries))


@pytest.mark.parametrize(
    ("text", "normal", "kind", "size"),
    [
        ("203.0.113.10", "203.0.113.10", "address", 1),
        (" 198.51.100.0/24 ", "198.51.100.0/24", "network", 256),
        ("198.51.100.0-198.51.100.255", "198.51.100.0-198.51.100.255", "range", 256),
        ("198.51.100.7 - 198.51.100.9", "198.51.100.7-198.51.100.9", "range", 3),
        ("2001:DB8:0:0::/32", "2001:db8::/32", "network", 2**96),
        ("2001:0db8::0001", "2001:db8::1", "address", 1),
        ("2001:db8::1-2001:db8::ff", "2001:db8::1-2001:db8::ff", "range", 255),
        ("192.0.2.5/32", "192.0.2.5", "address", 1),
        ("192.0.2.5-192.0.2.5", "192.0.2.5", "address", 1),
        # IPv4-mapped, as dual-stack logs write addresses: the IPv4 address they denote
        ("::ffff:203.0.113.10", "203.0.113.10", "address", 1),
        ("::FFFF:CB00:710A", "203.0.113.10", "address", 1),
        ("::ffff:203.0.113.0/120", "203.0.113.0/24", "network", 256),
        ("::ffff:198.51.100.1-198.51.100.9", "198.51.100.1-198.51.100.9", "range", 9),
        ("10.0.0.0/8", "10.0.0.0/8", "network", 2**24),  # the widest IPv4 entry accepted
    ],
)
def test_entries_are_normalised(text: str, normal: str, kind: str, size: int) -> None:
    entry = parse_entry(text)
    assert (entry.text, entry.kind, entry.size) == (normal, kind, size)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("203.0.113.300", "not an IPv4 or IPv6 address"),
        ("example.com", "not an IPv4 or IPv6 address"),
        ("", "is empty"),
        (None, "must be a string"),
        ("10.0.0.1/24", "host bits set (did you mean 10.0.0.0/24?)"),
        ("10.0.0.0/33", "not a valid CIDR block"),
        ("10.0.0.9-10.0.0.1", "starts after it ends"),
        ("10.0.0.1-2001:db8::1", "mixes IPv4 and IPv6"),
        ("10.0.0.1-10.0.0.5-10.0.0.9", "not an IP address, a CIDR block or a first-last range"),
        ("fe80::1%eth0", "zone index"),
        ("010.0.0.1", "not an IPv4 or IPv6 address"),  # leading zeros are ambiguous (octal?)
    ],
)
def test_bad_entries_say_why(value: object, why: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_entry(value)
    assert why in str(raised.value)


def test_a_list_is_rejected_whole_naming_every_bad_entry() -> None:
    with pytest.raises(InvalidAllowlist) as raised:
        parse_entries(["203.0.113.10", "bad", "10.0.0.1/24", "203.0.113.10", 7])
    problems = raised.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("allowedIps[1] 'bad'")
    assert problems[1].startswith("allowedIps[2] '10.0.0.1/24'")
    assert problems[2].startswith("allowedIps[4] 7")
    assert "nothing was stored" in str(raised.value)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(InvalidAllowlist, match="must be a list"):
        parse_entries("203.0.113.10")


def test_duplicates_after_normalisation_are_dropped() -> None:
    entries = parse_entries(["2001:db8::1", "2001:DB8:0::1", "192.0.2.1/32", "192.0.2.1"])
    assert [e.text for e in entries] == ["2001:db8::1", "192.0.2.1"]


def test_an_ipv4_mapped_entry_matches_the_ipv4_login_it_denotes() -> None:
    matcher = _matcher(["::ffff:203.0.113.10", "::ffff:198.51.100.0/120"])
    assert [e.text for e in matcher.entries] == ["203.0.113.10", "198.51.100.0/24"]
    assert matcher.judge("203.0.113.10").verdict == "allowed"
    assert matcher.judge("198.51.100.77").verdict == "allowed"
    assert matcher.judge("::ffff:203.0.113.10").verdict == "allowed"
    assert matcher.judge("203.0.113.11").verdict == "not_allowed"
    assert login_address("::ffff:203.0.113.10") == ipaddress.ip_address("203.0.113.10")
    # a list stored before the normal form changed still matches, and is synced as IPv4
    stored = matchers([Allowlist(USER, ("::ffff:cb00:710a",))])
    assert stored[USER].judge("203.0.113.10").verdict == "allowed"
    wanted, _ = desired_addresses([Allowlist(USER, ("::ffff:cb00:710a",))], max_expanded=256)
    assert list(wanted) == ["203.0.113.10"]
    assert apply_operation(["::ffff:cb00:710a"], "remove", parse_entries(["203.0.113.10"])) == ()
    sightings, _ = check_logins([_login(1, "203.0.113.10")], {USER: _matcher(["::ffff:cb00:710a"])})
    assert sightings == []


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("0.0.0.0/0", "allows every IPv4 address"),
        ("::/0", "allows every IPv6 address"),
        ("0.0.0.0-255.255.255.255", "allows every IPv4 address"),
        ("::ffff:0.0.0.0/96", "allows every IPv4 address"),  # mapped: 0.0.0.0/0
        ("0.0.0.0/1", "wider than a /8"),
        ("128.0.0.0/1", "wider than a /8"),
        ("10.0.0.0/7", "wider than a /8"),
        ("0.255.255.255-2.0.0.0", "wider than a /8"),
        ("2000::/3", "wider than a /16"),
        ("2000::/15", "wider than a /16"),
    ],
)
def test_an_entry_too_wide_to_restrict_anything_is_refused(entry: str, why: str) -> None:
    with pytest.raises(InvalidAllowlist) as raised:
        parse_entries(["203.0.113.10", entry])
    (problem,) = raised.value.problems
    assert problem.startswith(f"allowedIps[1] {entry!r} ")
    assert why in str(raised.value) and "switch" in str(raised.value)
    # removing one is fine: it narrows the list
    assert parse_entries([entry], bounded=False)[0].size > 2**24


def test_a_list_too_wide_together_is_refused() -> None:
    halves = ["0.0.0.0/1", "128.0.0.0/1"]
    with pytest.raises(InvalidAllowlist) as raised:
        parse_entries(halves)
    assert len(raised.value.problems) == 2
    seventeen = [f"{n}.0.0.0/8" for n in range(1, 18)]
    with pytest.raises(InvalidAllowlist, match="together cover 285,212,672 IPv4 addresses"):
        parse_entries(seventeen)
    assert len(parse_entries(seventeen[:16])) == 16  # sixteen /8s (and overlaps count once)
    assert len(parse_entries([*seventeen[:16], "1.2.3.0/24", "2001::/16", "2002::/16"])) == 19
    from docspace_sentinel.workflows.ip_allowlist.entries import breadth_problems

    assert breadth_problems(["0.0.0.0/0", "junk"]) and not breadth_problems(["10.0.0.0/8"])


def test_a_registration_allowing_everyone_is_refused_but_may_be_removed() -> None:
    with pytest.raises(InvalidAllowlist) as raised:
        parse_registration({"userId": USER, "allowedIps": ["0.0.0.0/0"]})
    assert "'0.0.0.0/0' allows every IPv4 address" in str(raised.value)
    assert "remove their allowlist" in str(raised.value)
    removal = parse_registration(
        {"userId": USER, "operation": "remove", "allowedIps": ["0.0.0.0/0"]}
    )
    assert [e.text for e in removal.entries] == ["0.0.0.0/0"]


def test_the_samples_own_range_matches_what_exact_strings_never_did() -> None:
    matcher = _matcher(SAMPLE)
    assert matcher.judge("198.51.100.77").verdict == "allowed"
    assert matcher.judge("198.51.100.77").matched == "198.51.100.0-198.51.100.255"
    assert matcher.judge("203.0.113.10").verdict == "allowed"
    assert matcher.judge("203.0.113.11").verdict == "not_allowed"
    assert matcher.judge("198.51.101.0").verdict == "not_allowed"


def test_cidr_and_ipv6_entries() -> None:
    matcher = _matcher(["203.0.113.0/24", "2001:db8::/32"])
    assert matcher.judge("203.0.113.255").verdict == "allowed"
    assert matcher.judge("203.0.114.0").verdict == "not_allowed"
    assert matcher.judge("2001:db8:ffff::1").verdict == "allowed"
    assert matcher.judge("2001:db9::1").verdict == "not_allowed"
    assert matcher.judge("::ffff:203.0.113.9").verdict == "allowed"  # IPv4-mapped


@pytest.mark.parametrize("ip", ["2001", "fe80", "", None, "unknown"])
def test_truncated_or_missing_addresses_are_unverifiable(ip: str | None) -> None:
    judgement = _matcher(["2001:db8::/32"]).judge(ip)
    assert judgement.verdict == "unverifiable"
    if ip in ("2001", "fe80"):
        assert "cut at the first ':'" in judgement.reason
    assert isinstance(login_address(ip), str)


def test_operations() -> None:
    new = parse_entries(["192.0.2.1", "203.0.113.10"])
    assert apply_operation(["203.0.113.10"], "replace", new) == ("192.0.2.1", "203.0.113.10")
    assert apply_operation(["203.0.113.10"], "add", new) == ("203.0.113.10", "192.0.2.1")
    assert apply_operation(["203.0.113.10", "10.0.0.0/8"], "remove", new) == ("10.0.0.0/8",)
    with pytest.raises(ValueError, match="operation"):
        apply_operation([], "merge", new)


def test_stored_entries_that_no_longer_parse_do_not_break_a_run() -> None:
    found = matchers(
        [Allowlist(USER.upper(), ("203.0.113.10", "garbage")), Allowlist(OTHER, ("junk",))]
    )
    assert set(found) == {USER}
    assert found[USER].judge("203.0.113.10").verdict == "allowed"


# -- registration records -------------------------------------------------------------------------


def test_registration_from_eventbridge_and_direct() -> None:
    direct = parse_registration({"userId": USER.upper(), "allowedIps": SAMPLE})
    assert direct.user_id == USER and direct.operation == "replace"
    assert direct.updated_by == "invoke"
    wrapped = parse_registration(
        {
            "detail-type": "UserCreated",
            "source": "hr",
            "detail": {"email": "A@Example.com", "allowedIps": ["192.0.2.1"], "updatedBy": "bob"},
        }
    )
    assert wrapped.user_id is None and wrapped.email == "a@example.com"
    assert wrapped.updated_by == "eventbridge:hr:bob"


def test_a_bad_registration_lists_every_problem() -> None:
    with pytest.raises(InvalidAllowlist) as raised:
        parse_registration(
            {"userId": "../x", "operation": "merge", "allowedIps": ["1.2.3.4.5", "10.0.0.0/8"]}
        )
    text = str(raised.value)
    assert "GUID" in text and "operation" in text and "'1.2.3.4.5'" in text
    assert "'10.0.0.0/8'" not in text
    with pytest.raises(InvalidAllowlist, match="userId or email is required"):
        parse_registration({"allowedIps": ["192.0.2.1"]})
    with pytest.raises(InvalidAllowlist, match="allowedIps is empty"):
        parse_registration({"userId": USER, "allowedIps": []})
    with pytest.raises(InvalidAllowlist, match="JSON object"):
        parse_registration(["192.0.2.1"])


# -- the login check ------------------------------------------------------------------------------

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def _login(n: int, ip: str | None, action: int = 1010, user: str | None = USER) -> LoginEvent:
    return LoginEvent(
        id=n,
        date=T0 - timedelta(minutes=n),
        action_id=action,
        user_id=user,
        user="John Doe",
        login="john@example.com",
        ip=ip,
        country="Germany",
        city="Berlin",
        browser="Chrome 132",
        platform="Windows 10",
    )


def test_check_logins() -> None:
    allowed = {USER: _matcher(SAMPLE)}
    events = [
        _login(1, "198.51.100.77"),  # inside the range
        _login(2, "203.0.113.11"),
        _login(3, "203.0.113.11"),  # same user and address: one sighting
        _login(4, "2001"),  # truncated IPv6
        _login(5, "45.137.21.9", user=OTHER),  # no allowlist: not judged
        _login(6, "45.137.21.9", action=1013),  # a failure: not judged
        _login(7, "45.137.21.9", action=1009, user=OTHER),  # blocked by the portal
        _login(8, "45.137.21.9", action=1006),  # logout: not a login
    ]
    sightings, read = check_logins(events, allowed)
    assert read == 8
    found = {(s.kind, s.user_id, s.ip): [e.id for e in s.events] for s in sightings}
    assert found == {
        ("ip_not_allowed", USER, "203.0.113.11"): [2, 3],
        ("ip_unverifiable", USER, "2001"): [4],
        ("login_blocked_by_ip", OTHER, "45.137.21.9"): [7],
    }
    violation = next(s for s in sightings if s.kind == "ip_not_allowed")
    finding = sighting_finding(
        violation, "https://portal.example.com", Allowlist(USER, tuple(SAMPLE))
    )
    assert finding.severity == "high" and finding.dedup == (USER, "203.0.113.11", "observed")
    assert finding.evidence["date"] == "2025-03-04T08:58:00Z"  # the latest of the two
    assert finding.evidence["logins"] == 2
    assert finding.evidence["city"] == "Berlin" and finding.evidence["platform"] == "Windows 10"
    assert finding.evidence["allowedEntries"] == SAMPLE
    assert finding.period_start == T0 - timedelta(minutes=3)
