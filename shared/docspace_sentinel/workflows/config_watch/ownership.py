"""Which audit events are Sentinel's own writes (``state/journal.py``), not someone's change.

An event is ours only when all of these hold: the API key's own user made it, its action is
one our writes produce, and an unused journal entry of that kind (for the same user, when the
event names users) lies within the tolerance of its date. Each entry explains at most one
event of each action, so an intruder holding our key, acting in the same minutes, still shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from ...docspace.message_actions import MessageAction
from ...docspace.models import AuditEvent
from ...state import journal
from ...state.journal import OwnAction

#: The audit events each kind of our own writes produces (docspace-api.md §2.3, §6.3).
PRODUCED_BY: dict[int, frozenset[str]] = {
    MessageAction.COOKIE_SETTINGS_UPDATED: frozenset({journal.DISABLE}),
    MessageAction.USERS_UPDATED_STATUS: frozenset({journal.DISABLE, journal.ENABLE}),
    MessageAction.USER_LOGOUT_ACTIVE_CONNECTIONS_FOR_USER: frozenset({journal.LOGOUT}),
    MessageAction.IP_RESTRICTIONS_SETTINGS_UPDATED: frozenset({journal.IP_SYNC}),
}


class Ownership:
    """Matches events to journal entries; ``explain`` consumes the entry it matched."""

    def __init__(self, key_user_id: str, entries: Iterable[OwnAction], tolerance: timedelta):
        self.key_user_id = key_user_id.lower()
        self.tolerance = tolerance
        self._entries = list(entries)
        #: (entry index, action) pairs not used yet.
        self._free = {(i, code) for i in range(len(self._entries)) for code in PRODUCED_BY}

    def by_key_user(self, event: AuditEvent) -> bool:
        return (event.user_id or "").lower() == self.key_user_id

    def explain(self, event: AuditEvent) -> OwnAction | None:
        """The journal entry that makes ``event`` ours, or None."""
        kinds = PRODUCED_BY.get(event.action_id)
        if kinds is None or not self.by_key_user(event):
            return None
        targets = {t.lower() for t in event.target}
        best: tuple[timedelta, int] | None = None
        for index, entry in enumerate(self._entries):
            if entry.kind not in kinds or (index, event.action_id) not in self._free:
                continue
            if targets and entry.target != journal.PORTAL and entry.target not in targets:
                continue
            gap = abs(entry.at - event.date)
            if gap <= self.tolerance and (best is None or gap < best[0]):
                best = (gap, index)
        if best is None:
            return None
        self._free.discard((best[1], event.action_id))
        return self._entries[best[1]]
