"""Login history as context for a finding: one login scan per run, grouped per user."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from .actions import LOGIN_FAILURE, LOGIN_SUCCESS, action_label
from .models import LoginEvent

RECENT = 5


def login_record(event: LoginEvent) -> dict[str, Any]:
    """One login as findings and query answers show it."""
    return {
        "id": event.id,
        "date": event.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
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
