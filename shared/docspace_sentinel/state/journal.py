"""Sentinel's own portal writes, recorded so the configuration watch can tell them apart.

Disabling a user writes ``CookieSettingsUpdated`` (6032) and ``UsersUpdatedStatus`` (4020) to
the portal's audit trail, a log-out everywhere ``UserLogoutActiveConnectionsForUser`` (4036), the
IP allowlist's portal sync ``IPRestrictionsSettingsUpdated`` (6094): all under the API key's user,
like the same change made by whoever else holds that key or that account. An entry here is
written *before* the portal call (a crash after the call must not leave our change looking
foreign; a call that then fails leaves an entry that explains nothing, which is harmless), and
``config_watch`` calls an audit event ours only when the key's user made it and an entry of the
matching kind lies within a few minutes of it.

============ ======================================= ==============================================
pk           sk                                      attributes
============ ======================================= ==============================================
``ownact``   ``<ISO UTC time>#<kind>#<target>#…``    ``kind``, ``target`` (user id, or ``portal``),
                                                     ``at``, ``workflow``, ``detail`` (what the
                                                     write sets: the IP sync's list digest),
                                                     ``void`` (the portal refused the write),
                                                     ``expiresAt``
============ ======================================= ==============================================
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from . import keys as state_keys
from .errors import StateError
from .keys import Key
from .store import StateStore, to_epoch, to_iso

log = logging.getLogger(__name__)

#: Long enough for a stalled watch to catch up (its scans span at most a week).
KEEP = timedelta(days=35)

DISABLE = "disable"
ENABLE = "enable"
LOGOUT = "logout"
IP_SYNC = "ip_sync"
#: The target of a write that concerns the whole portal.
PORTAL = "portal"


class OwnAction(NamedTuple):
    kind: str
    target: str
    at: datetime
    workflow: str = ""
    #: What the write sets, where that tells it apart (the IP sync: ``list_digest``).
    detail: str = ""


class OwnActions:
    """The journal of our own portal writes (``ownact``)."""

    def __init__(self, store: StateStore, workflow: str = "") -> None:
        self.store = store
        self.workflow = workflow
        #: The notes this object wrote, for ``forget``.
        self._items: dict[Key, dict[str, Any]] = {}

    def record(self, kind: str, target: str = PORTAL, detail: str = "") -> Key | None:
        """Note a write about to be made; its key, for ``forget``. Never fails the action it
        notes: without the entry, the watch reports our change as a change made with our key,
        which is the safe side."""
        at = self.store.now()
        target = target.lower()
        # A random tail keeps two writes in the same microsecond apart.
        key = state_keys.own_action(to_iso(at), kind, target, secrets.token_hex(3))
        item = {
            **key.item(),
            "kind": kind,
            "target": target,
            "at": to_iso(at),
            "workflow": self.workflow,
            "detail": detail,
            "expiresAt": to_epoch(at + KEEP),
        }
        try:
            self.store.put(item)
        except StateError as exc:
            log.warning("could not journal our own %s of %s: %s", kind, target, exc)
            return None
        self._items[key] = item
        return key

    def forget(self, key: Key | None) -> None:
        """Void the note of a write the portal definitely refused: it wrote no event, and a
        note left behind could make someone else's change with our key look like ours. (The
        note is written again as void: the writers may put notes, not delete them.)"""
        item = self._items.get(key) if key is not None else None
        if item is None:
            return
        try:
            self.store.put({**item, "void": True})
        except StateError as exc:
            log.warning("could not void the note %s: %s", item["sk"], exc)

    def between(self, start: datetime, end: datetime) -> Iterator[OwnAction]:
        """Entries with ``start <= at <= end``, oldest first."""
        low, high = to_iso(start), to_iso(end) + "\uffff"
        for item in self.store.query(state_keys.OWN_ACTION, sk_from=low, sk_to=high):
            if item.get("void") is True:
                continue  # a write the portal refused
            try:
                at = datetime.fromisoformat(str(item["at"]))
            except (KeyError, ValueError):
                continue
            yield OwnAction(
                str(item.get("kind", "")),
                str(item.get("target", "")),
                at,
                str(item.get("workflow", "")),
                str(item.get("detail", "")),
            )
