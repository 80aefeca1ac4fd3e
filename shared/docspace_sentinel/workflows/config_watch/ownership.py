"""Which audit events are Sentinel's own writes (``state/journal.py``), not someone's change.

An event is ours only when all of these hold: the API key's own user made it, its action is
one our writes produce, and a journal entry of that kind (for the same user, when the event
names users) lies just before it: the entry is written before the portal call, so our event
comes at most ``EARLY`` before the entry (clock skew) and at most the tolerance after it. Each
entry explains at most one event of each action, and entries go to the events closest to them
first, so an intruder holding our key, acting in the same minutes, still shows.
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
#: How far our event may come before our own note of it (the portal's and AWS's clocks).
EARLY = timedelta(minutes=1)


class Ownership:
    """``explained(events)`` pairs our events with the journal entries that show them."""

    def __init__(self, key_user_id: str, entries: Iterable[OwnAction], tolerance: timedelta):
        self.key_user_id = key_user_id.lower()
        self.tolerance = tolerance
        self._entries = list(entries)

    def by_key_user(self, event: AuditEvent) -> bool:
        return (event.user_id or "").lower() == self.key_user_id

    def _fits(self, event: AuditEvent, entry: OwnAction) -> bool:
        if entry.kind not in PRODUCED_BY.get(event.action_id, ()):
            return False
        targets = {t.lower() for t in event.target}
        if targets and entry.target != journal.PORTAL and entry.target not in targets:
            return False
        return entry.at - EARLY <= event.date <= entry.at + self.tolerance

    def explained(self, events: Iterable[AuditEvent]) -> dict[int, OwnAction]:
        """Event id → the journal entry that makes it ours; closest pairs first."""
        candidates = [e for e in events if e.action_id in PRODUCED_BY and self.by_key_user(e)]
        pairs = sorted(
            (abs(entry.at - event.date), event.id, index)
            for event in candidates
            for index, entry in enumerate(self._entries)
            if self._fits(event, entry)
        )
        codes = {event.id: event.action_id for event in candidates}
        owned: dict[int, OwnAction] = {}
        used: set[tuple[int, int]] = set()  # (entry, action): one event of each action
        for _gap, event_id, index in pairs:
            if event_id in owned or (index, codes[event_id]) in used:
                continue
            owned[event_id] = self._entries[index]
            used.add((index, codes[event_id]))
        return owned
