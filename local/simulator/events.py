"""The audit trail and the login history as columnar stores, with the server's query rules.

`AuditLog.query` filters before paging (SQL in `AuditEventsRepository`); `LoginLog.query`
reproduces `LoginEventsRepository`, which cuts the page from the unfiltered stream first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from local.simulator.actions import audit_action
from local.simulator.message_actions import MESSAGE_ACTIONS
from local.simulator.store import ColumnStore, Interner, newest_first, newest_first_span

NO_USER = -1  # guest (logins) or system (audit)

LAST_COUNT = 20

# Without `action`, the server restricts the result to the actions its mappers know;
# every defined non-login MessageAction is in some mapper.
_KNOWN_AUDIT_ACTIONS = frozenset(v for v in MESSAGE_ACTIONS.values() if v >= 2000)


class Profile(NamedTuple):
    ip: str
    country: str | None
    city: str | None
    browser: str
    platform: str


class AuditRow(NamedTuple):
    id: int
    micros: int
    user: int
    action: int
    target: tuple[str, ...]
    parts: tuple[str, ...]
    context: str
    profile: Profile


class LoginRow(NamedTuple):
    id: int
    micros: int
    user: int
    action: int
    login: str
    profile: Profile
    page: str


@dataclass(frozen=True)
class AuditQuery:
    user: int | None = None
    action: int | None = None
    action_type: int | None = None
    entry_type: int | None = None
    target: str | None = None
    start: int | None = None
    end: int | None = None

    @property
    def only_dates(self) -> bool:
        return (
            self.user is None
            and self.action is None
            and self.action_type is None
            and not (self.entry_type and self.target is not None)
        )


class AuditLog:
    _COLUMNS = ("user", "action", "target", "parts", "context", "profile")

    def __init__(self) -> None:
        self.store = ColumnStore(self._COLUMNS)
        self.targets: Interner[tuple[str, ...]] = Interner()
        self.parts: Interner[tuple[str, ...]] = Interner()
        self.contexts: Interner[str] = Interner()
        self.profiles: Interner[Profile] = Interner()
        self._has_unknown_actions = False
        #: Codes this simulated server maps although this table does not know them: a newer
        #: server's actions, which a client must keep as integers.
        self.extra_known: set[int] = set()

    def __len__(self) -> int:
        return len(self.store)

    def encode(
        self,
        user: int,
        action: int,
        target: tuple[str, ...],
        parts: tuple[str, ...],
        context: str,
        profile: Profile,
    ) -> dict[str, int]:
        return {
            "user": user,
            "action": action,
            "target": self.targets.add(target) if target else -1,
            "parts": self.parts.add(parts),
            "context": self.contexts.add(context),
            "profile": self.profiles.add(profile),
        }

    def append(self, micros: int, row: dict[str, int]) -> int:
        if row["action"] not in _KNOWN_AUDIT_ACTIONS:
            self._has_unknown_actions = True
        return self.store.insert(micros, row)[1]

    def row(self, pos: int) -> AuditRow:
        s, c = self.store, self.store.columns
        target = c["target"][pos]
        return AuditRow(
            id=s.ids[pos],
            micros=s.t[pos],
            user=c["user"][pos],
            action=c["action"][pos],
            target=self.targets.get(target) if target >= 0 else (),
            parts=self.parts.get(c["parts"][pos]),
            context=self.contexts.get(c["context"][pos]),
            profile=self.profiles.get(c["profile"][pos]),
        )

    def by_id(self, event_id: int) -> AuditRow:
        return self.row(self.store.position_of(event_id))

    def last(self, now: int, lifetime_days: int = 180) -> list[int]:
        """`events/last`: the 20 newest within the audit lifetime."""
        lo, hi = self.store.span(now - lifetime_days * 86_400_000_000, now)
        return newest_first_span(lo, hi, 0, LAST_COUNT)

    def query(self, q: AuditQuery, start_index: int, count: int) -> list[int]:
        lo, hi = self.store.span(q.start, q.end)
        if q.only_dates and not self._has_unknown_actions:
            return newest_first_span(lo, hi, start_index, count)
        positions = self.store.cached(q, lambda: self._matches(q, lo, hi))
        return newest_first(positions, start_index, count)

    def _matches(self, q: AuditQuery, lo: int, hi: int) -> list[int]:
        c = self.store.columns
        users, actions, targets = c["user"], c["action"], c["target"]
        if q.action is not None:
            # With `action`, `target` must equal the stored comma-joined target string.
            wanted_targets = None
            if q.target is not None:
                wanted_targets = {
                    i for i in range(len(self.targets)) if ",".join(self.targets.get(i)) == q.target
                }
            return [
                i
                for i in range(lo, hi)
                if actions[i] == q.action
                and (q.user is None or users[i] == q.user)
                and (wanted_targets is None or targets[i] in wanted_targets)
            ]
        allowed = {
            a
            for a in _KNOWN_AUDIT_ACTIONS
            if q.action_type is None or audit_action(a).action_type == q.action_type
        }
        if q.action_type is None:
            allowed |= self.extra_known
        like_targets = None
        if q.entry_type and q.target is not None:
            # entryType only counts together with target: a substring (LIKE %x%) match.
            allowed = {a for a in allowed if q.entry_type in audit_action(a).entries}
            like_targets = {
                i for i in range(len(self.targets)) if q.target in ",".join(self.targets.get(i))
            }
        return [
            i
            for i in range(lo, hi)
            if actions[i] in allowed
            and (q.user is None or users[i] == q.user)
            and (like_targets is None or targets[i] in like_targets)
        ]


class LoginLog:
    _COLUMNS = ("user", "action", "login", "profile", "page")

    def __init__(self) -> None:
        self.store = ColumnStore(self._COLUMNS)
        self.strings: Interner[str] = Interner()
        self.profiles: Interner[Profile] = Interner()

    def __len__(self) -> int:
        return len(self.store)

    def encode(
        self, user: int, action: int, login: str, profile: Profile, page: str
    ) -> dict[str, int]:
        return {
            "user": user,
            "action": action,
            "login": self.strings.add(login),
            "profile": self.profiles.add(profile),
            "page": self.strings.add(page),
        }

    def append(self, micros: int, row: dict[str, int]) -> int:
        return self.store.insert(micros, row)[1]

    def row(self, pos: int) -> LoginRow:
        s, c = self.store, self.store.columns
        return LoginRow(
            id=s.ids[pos],
            micros=s.t[pos],
            user=c["user"][pos],
            action=c["action"][pos],
            login=self.strings.get(c["login"][pos]),
            profile=self.profiles.get(c["profile"][pos]),
            page=self.strings.get(c["page"][pos]),
        )

    def by_id(self, event_id: int) -> LoginRow:
        return self.row(self.store.position_of(event_id))

    def last(self) -> list[int]:
        """`login/last`: the 20 newest, no date window."""
        return newest_first_span(0, len(self.store), 0, LAST_COUNT)

    def query(
        self,
        user: int | None,
        action: int | None,
        start: int | None,
        end: int | None,
        start_index: int,
        count: int,
    ) -> list[int]:
        # The server's bug, kept on purpose: Skip/Take run on the unfiltered newest-first
        # stream and the Where clauses only afterwards, so a page can come back short or
        # empty while older matches exist.
        window = newest_first_span(0, len(self.store), start_index, count)
        c, t = self.store.columns, self.store.t
        return [
            i
            for i in window
            if (user is None or c["user"][i] == user)
            and (action is None or c["action"][i] == action)
            and (start is None or t[i] >= start)
            and (end is None or t[i] <= end)
        ]
