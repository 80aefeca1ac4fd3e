"""Settings events DocSpace writes as a side effect of something else.

The server writes ``CookieSettingsUpdated`` (6032) not only when an admin changes the session
lifetime but also after every password change (``UserUpdatedPassword`` 4017) and every user
disable (``UsersUpdatedStatus`` 4020 or ``UserUpdated`` 4006): it resets that user's sign-in
cookies. Reported as a session-settings change, each password change would be a false alarm.
A 6032 is taken as such a side effect when the same actor wrote one of those events within
``NEAR`` of it; each of those events explains one 6032 at most.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from ...docspace.message_actions import MessageAction
from ...docspace.models import AuditEvent

NEAR = timedelta(minutes=2)
#: The event a side effect follows, by the side effect's action.
CAUSES: dict[int, frozenset[int]] = {
    MessageAction.COOKIE_SETTINGS_UPDATED: frozenset(
        {
            MessageAction.USER_UPDATED_PASSWORD,
            MessageAction.USERS_UPDATED_STATUS,
            MessageAction.USER_UPDATED,
        }
    ),
}
_CAUSE_CODES = frozenset(code for codes in CAUSES.values() for code in codes)


class SideEffects:
    """Collects the causes while the scan streams past (``watch``); ``explained`` then tells
    whether an event is one's side effect."""

    def __init__(self) -> None:
        self._causes: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
        self._used: set[int] = set()
        #: The events found to be side effects.
        self.count = 0

    def watch(self, events: Iterable[AuditEvent]) -> Iterator[AuditEvent]:
        for event in events:
            if isinstance(event, AuditEvent) and event.action_id in _CAUSE_CODES:
                self._causes[(event.user_id or "").lower()].append((event.date, event.id))
            yield event

    def explained(self, event: AuditEvent) -> bool:
        causes = CAUSES.get(event.action_id)
        if causes is None:
            return False
        for date, cause_id in self._causes.get((event.user_id or "").lower(), ()):
            if cause_id not in self._used and abs(date - event.date) <= NEAR:
                self._used.add(cause_id)
                self.count += 1
                return True
        return False
