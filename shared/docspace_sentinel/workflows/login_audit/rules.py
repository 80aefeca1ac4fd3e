"""The login audit's pure rules: the digest (successes and failures per user, and per login
string for the Guest account's failures) and brute-force bursts (per login and per IP)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from ...docspace.logins import is_guest, login_key, login_label
from ...docspace.message_actions import LOGIN_FAILURE, LOGIN_SUCCESS, LOGOUT
from ...docspace.models import LoginEvent
from .settings import LoginAuditSettings


@dataclass
class Tally:
    """Successes and failures of one user, or of one login string typed by unknown callers."""

    key: str
    name: str | None = None
    successes: int = 0
    failures: int = 0
    ips: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)

    def add(self, event: LoginEvent) -> None:
        if event.action_id in LOGIN_SUCCESS:
            self.successes += 1
        else:
            self.failures += 1
        if event.ip:
            self.ips.add(event.ip)
        if event.country:
            self.countries.add(event.country)


@dataclass
class Digest:
    """Real users by user id; Guest-account events (unknown callers) by the login typed."""

    users: dict[str, Tally] = field(default_factory=dict)
    guest_logins: dict[str, Tally] = field(default_factory=dict)
    skipped: int = 0

    def add(self, event: LoginEvent) -> None:
        if is_guest(event.user_id):
            # The Guest id is shared by every unknown caller and ``user`` is only the string
            # they typed: neither names a user, so the login string is the only honest key.
            key = login_key(event.login)
            tally = self.guest_logins.setdefault(key, Tally(key, login_label(key)))
        else:
            key = str(event.user_id).lower()
            tally = self.users.setdefault(key, Tally(key, event.user or event.login))
        tally.add(event)

    @property
    def empty(self) -> bool:
        return not self.users and not self.guest_logins


def tally_logins(events: Iterable[LoginEvent], since: datetime | None = None) -> Digest:
    """Pure rule: the digest of ``events`` newer than ``since`` (logouts are not counted;
    other non-login actions are counted as skipped)."""
    digest = Digest()
    for event in events:
        if since is not None and event.date <= since:
            continue
        if event.action_id not in LOGIN_SUCCESS and event.action_id not in LOGIN_FAILURE:
            if event.action_id != LOGOUT:
                digest.skipped += 1
            continue
        digest.add(event)
    return digest


class Burst(NamedTuple):
    key_type: str  # "login" or "ip"
    key: str
    failures: list[LoginEvent]
    success: LoginEvent | None = None


def find_bursts(events: Iterable[LoginEvent], settings: LoginAuditSettings) -> list[Burst]:
    """Pure rule. Per login and per IP: the first window holding ``failures`` failed logins (one
    burst per key and day), and each success that follows such a window within the window length.
    A login is the string typed (``login_key``), whoever the row's user id is: a Guest-account
    failure and the success of the user who owns that login meet under the same key."""
    by_key: dict[tuple[str, str], list[LoginEvent]] = defaultdict(list)
    for event in events:
        if event.action_id not in LOGIN_FAILURE and event.action_id not in LOGIN_SUCCESS:
            continue
        key = login_key(event.login)
        if key:
            by_key[("login", key)].append(event)
        if event.ip:
            by_key[("ip", event.ip)].append(event)
    bursts: list[Burst] = []
    for (key_type, key), rows in by_key.items():
        rows.sort(key=lambda e: (e.date, e.id))
        # A deque trimmed from the left: a spray of many thousand failures stays linear.
        failures: deque[LoginEvent] = deque()
        reported_days: set[str] = set()
        reported_success: set[int] = set()
        for event in rows:
            if event.action_id in LOGIN_FAILURE:
                failures.append(event)
                while event.date - failures[0].date > settings.window:
                    failures.popleft()
                day = failures[0].date.strftime("%Y-%m-%d")
                if len(failures) >= settings.failures and day not in reported_days:
                    reported_days.add(day)
                    bursts.append(Burst(key_type, key, list(failures)))
                continue
            recent = [f for f in failures if event.date - f.date <= settings.window]
            if len(recent) >= settings.failures and event.id not in reported_success:
                reported_success.add(event.id)
                bursts.append(Burst(key_type, key, recent, success=event))
    return _merge(bursts)


def _merge(bursts: list[Burst]) -> list[Burst]:
    """One attacker hammering one login from one IP is one burst, not a login and an IP burst."""
    by_login = {
        (frozenset(f.id for f in b.failures), b.success.id if b.success else None)
        for b in bursts
        if b.key_type == "login"
    }
    return [
        b
        for b in bursts
        if b.key_type == "login"
        or (frozenset(f.id for f in b.failures), b.success.id if b.success else None)
        not in by_login
    ]
