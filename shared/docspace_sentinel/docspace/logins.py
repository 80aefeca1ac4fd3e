"""Login history as context for a finding: one login scan per run, grouped per user.

Also the one home of how a typed login string is keyed and shown: DocSpace records a failed
login by an unknown caller under the shared Guest account (``GUEST``) with the string as typed,
so that string, attacker-controlled, is the only thing such failures can be grouped by.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from .dates import format_utc
from .message_actions import LOGIN_FAILURE, LOGIN_SUCCESS, action_label
from .models import LoginEvent

RECENT = 5
#: Who failed logins by unauthenticated callers belong to (docspace-api.md, section 3.3).
GUEST = "712d9ec3-5d2b-4b13-824f-71f00191dcca"
#: A login string is keyed on at most this many characters (a real login is an e-mail address,
#: at most 254) and shown with at most ``LOGIN_SHOWN``.
LOGIN_KEPT = 256
LOGIN_SHOWN = 80
#: Only this much of a string is looked at: the rest cannot change a key cut at ``LOGIN_KEPT``
#: by much, and a megabyte-long "login" must not cost a megabyte of work per event.
_LOGIN_READ = 4 * LOGIN_KEPT


def is_guest(user_id: str | None) -> bool:
    """True for an event no real user is known for: the Guest account, or no id at all."""
    return not user_id or user_id.lower() == GUEST


def login_key(login: str | None) -> str:
    """The typed login as failures are grouped by: control and format characters dropped,
    whitespace trimmed, case folded (DocSpace logins are e-mail addresses, matched without case),
    cut at ``LOGIN_KEPT`` characters. ``""`` when nothing is left."""
    if not login:
        return ""
    text = "".join(ch for ch in login[:_LOGIN_READ] if not unicodedata.category(ch).startswith("C"))
    return " ".join(text.split()).casefold()[:LOGIN_KEPT]


def login_label(key: str) -> str:
    """A login key as a finding shows it: bounded, and visibly empty when it is empty."""
    if not key:
        return "(empty login)"
    return key if len(key) <= LOGIN_SHOWN else key[: LOGIN_SHOWN - 1] + "…"


def login_record(event: LoginEvent) -> dict[str, Any]:
    """One login as findings and query answers show it."""
    return {
        "id": event.id,
        "date": format_utc(event.date),
        "actionId": event.action_id,
        "action": action_label(event.action_id),
        "ip": event.ip,
        "country": event.country,
        "city": event.city,
        "browser": event.browser,
        "platform": event.platform,
    }


@dataclass
class LoginHistory:
    user_id: str
    successes: int = 0
    failures: int = 0
    ips: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    recent: deque[LoginEvent] = field(default_factory=lambda: deque(maxlen=RECENT))

    def add(self, event: LoginEvent) -> None:
        if event.action_id in LOGIN_SUCCESS:
            self.successes += 1
        elif event.action_id in LOGIN_FAILURE:
            self.failures += 1
        if event.ip:
            self.ips.add(event.ip)
        if event.country:
            self.countries.add(event.country)
        # Events arrive newest first: keep the first few.
        if len(self.recent) < RECENT:
            self.recent.append(event)

    def to_dict(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "failures": self.failures,
            "distinctIps": sorted(self.ips),
            "countries": sorted(self.countries),
            "recent": [login_record(e) for e in self.recent],
        }


def group_logins(
    events: Iterable[LoginEvent], user_ids: Collection[str]
) -> dict[str, LoginHistory]:
    """Histories of ``user_ids`` from one pass over login events (users without logins get an
    empty history, which is itself worth showing)."""
    wanted = {u.lower() for u in user_ids}
    histories = {u: LoginHistory(u) for u in wanted}
    for event in events:
        key = (event.user_id or "").lower()
        if key in histories:
            histories[key].add(event)
    return histories
