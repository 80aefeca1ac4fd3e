"""The login check's pure rule: each login of a user with an allowlist judged against it.

A user's allowlist is parsed once per run (``matchers``); every login is then a few integer
comparisons. An address the server truncated (IPv6, cut at the first ``:``) is unverifiable,
never a violation. Logins sharing a verdict, user and address are one ``Sighting``; each
user's newest offending one decides what is done about them (``newest_offences``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from ...docspace.message_actions import LOGIN_SUCCESS, MessageAction
from ...docspace.models import LoginEvent
from .entries import AllowEntry, IpAddress, parse_entry, unmapped
from .store import Allowlist

# What the server leaves of an IPv6 address it cut at the first ':' ("2001", "fe80").
_TRUNCATED_IPV6 = re.compile(r"^[0-9a-fA-F]{1,4}$")

Verdict = Literal["allowed", "not_allowed", "unverifiable"]


class Judgement(NamedTuple):
    verdict: Verdict
    reason: str
    matched: str | None = None  # the entry that allowed the address


def login_address(ip: str | None) -> IpAddress | str:
    """The event's address, or why it cannot be judged.

    The server keeps ``Split(':')[0]`` of the remote address, so an IPv6 client arrives as its
    first group ("2001") or as "" ("::1"): such a value says nothing about where the login
    came from and must not be reported as a violation.
    """
    text = (ip or "").strip()
    if not text:
        return "the event has no address (an IPv6 address the server cut to nothing)"
    try:
        return unmapped(ipaddress.ip_address(text))
    except ValueError:
        pass
    if "." not in text and ":" not in text and _TRUNCATED_IPV6.match(text):
        return f"an IPv6 address the server cut at the first ':' ({text!r})"
    return f"not an IP address ({text!r})"


class Matcher(NamedTuple):
    """An allowlist parsed for matching (built once per run per user)."""

    entries: tuple[AllowEntry, ...]

    def judge(self, ip: str | None) -> Judgement:
        address = login_address(ip)
        if isinstance(address, str):
            return Judgement("unverifiable", address)
        for entry in self.entries:
            if entry.contains(address):
                return Judgement("allowed", f"inside {entry.text}", entry.text)
        return Judgement("not_allowed", f"{address} is outside every allowed entry")


def matchers(allowlists: Iterable[Allowlist]) -> dict[str, Matcher]:
    """User id → matcher, for a run (entries that no longer parse are skipped, not fatal)."""
    result: dict[str, Matcher] = {}
    for allowlist in allowlists:
        parsed: list[AllowEntry] = []
        for text in allowlist.entries:
            try:
                parsed.append(parse_entry(text))
            except ValueError:
                continue
        if parsed:
            result[allowlist.user_id.lower()] = Matcher(tuple(parsed))
    return result


@dataclass
class Sighting:
    """The logins of one user from one address that share a verdict (newest first)."""

    kind: str  # ip_not_allowed | ip_unverifiable | login_blocked_by_ip
    user_id: str
    ip: str
    reason: str
    events: list[LoginEvent] = field(default_factory=list)

    @property
    def latest(self) -> LoginEvent:
        return self.events[0]

    @property
    def earliest(self) -> LoginEvent:
        return self.events[-1]


def check_logins(
    events: Iterable[LoginEvent], allowed: Mapping[str, Matcher]
) -> tuple[list[Sighting], int]:
    """Pure rule: sightings, and how many events were read. Users without an allowlist are not
    judged; the portal's own IP blocks (1009) are reported for everyone."""
    found: dict[tuple[str, str, str], Sighting] = {}
    read = 0
    for event in events:
        read += 1
        user_id = (event.user_id or "").lower()
        ip = event.ip or ""
        if event.action_id == MessageAction.LOGIN_FAIL_IP_SECURITY:
            who = user_id or (event.login or "").lower()
            key = ("login_blocked_by_ip", who, ip)
            reason = "the portal's IP restrictions blocked the sign-in"
        elif event.action_id in LOGIN_SUCCESS and user_id in allowed:
            judgement = allowed[user_id].judge(event.ip)
            if judgement.verdict == "allowed":
                continue
            kind = "ip_not_allowed" if judgement.verdict == "not_allowed" else "ip_unverifiable"
            key, reason = (kind, user_id, ip), judgement.reason
        else:
            continue
        sighting = found.get(key)
        if sighting is None:
            sighting = found[key] = Sighting(key[0], key[1], ip, reason)
        sighting.events.append(event)
    return list(found.values()), read


def newest_offences(sightings: Iterable[Sighting]) -> dict[str, Sighting]:
    """Each user's newest ``ip_not_allowed`` sighting: it decides what is done about the user,
    so an older one (from another address, too old to act on, say) does not decide for it."""
    newest: dict[str, Sighting] = {}
    for sighting in sorted(sightings, key=lambda s: (s.latest.date, s.latest.id)):
        if sighting.kind == "ip_not_allowed":
            newest[sighting.user_id] = sighting
    return newest
