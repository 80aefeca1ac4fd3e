"""Settings events DocSpace writes as a side effect of something else.

The server writes ``CookieSettingsUpdated`` (6032) not only when an admin changes the session
lifetime but also after every password change (``UserUpdatedPassword`` 4017) and every user
disable (``UsersUpdatedStatus`` 4020 or ``UserUpdated`` 4006): it resets that user's sign-in
cookies. Reported as a session-settings change, each password change would be a false alarm.
A 6032 is taken as such a side effect when the same actor wrote one of those events within
``NEAR`` of it, from the same address (both come from one request; the server writes them
seconds apart at most); each of those events explains one 6032 at most. An intruder who edits a
profile and then changes the session lifetime is not hidden: that takes two requests, rarely
within seconds of each other, and the snapshot's ``session`` section still sees the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from ...docspace.message_actions import MessageAction
from ...docspace.models import AuditEvent

NEAR = timedelta(seconds=10)
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
        self._causes: dict[str, list[tuple[datetime, int, str | None]]] = defaultdict(list)
        self._used: set[int] = set()

    def watch(self, events: Iterable[AuditEvent]) -> Iterator[AuditEvent]:
        for event in events:
            if isinstance(event, AuditEvent) and event.action_id in _CAUSE_CODES:
                actor = (event.user_id or "").lower()
                self._causes[actor].append((event.date, event.id, event.ip))
            yield event

    def explained(self, event: AuditEvent) -> bool:
        causes = CAUSES.get(event.action_id)
        if causes is None:
            return False
        for date, cause_id, ip in self._causes.get((event.user_id or "").lower(), ()):
            if cause_id in self._used or abs(date - event.date) > NEAR:
                continue
            if ip == event.ip:
                self._used.add(cause_id)
                return True
        return False
