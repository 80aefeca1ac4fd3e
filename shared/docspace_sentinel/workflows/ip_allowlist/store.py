"""The allowlists' records in the state table (``AllowlistStore``).

========= ============ ==========================================================================
pk        sk           attributes
========= ============ ==========================================================================
``allow`` ``<userId>`` ``entries`` (normalised strings), ``email``, ``updatedBy``, ``updatedAt``
                       (ISO UTC), ``version`` (``StateStore.put_versioned``)
========= ============ ==========================================================================

``<userId>`` is lower case; all allowlists share one partition, so listing them is one Query.
There is no TTL: an allowlist lives until it is removed. Tables written before this layout are
moved once by ``allowlist migrate-keys`` (``migration.py``); until then every use of the store
fails, naming that command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ...state import keys as state_keys
from ...state.errors import ConditionFailed
from ...state.store import StateStore, to_iso
from .errors import AllowlistConflict
from .migration import check_layout


class Allowlist(NamedTuple):
    """One user's stored allowlist."""

    user_id: str
    entries: tuple[str, ...]
    email: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "email": self.email,
            "entries": list(self.entries),
            "updatedBy": self.updated_by,
            "updatedAt": to_iso(self.updated_at) if self.updated_at else None,
        }


class AllowlistStore:
    """Allowlists in the state table."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._layout_checked = False

    def _checked(self) -> StateStore:
        """The store, once the table is known to hold no allowlist under the old keys."""
        if not self._layout_checked:
            check_layout(self.store)
            self._layout_checked = True
        return self.store

    def get(self, user_id: str) -> Allowlist | None:
        item = self._checked().get(*state_keys.allowlist(user_id))
        return _from_item(item) if item else None

    def all(self) -> list[Allowlist]:
        """Every allowlist, by user id: one Query of their partition."""
        return [_from_item(item) for item in self._checked().query(state_keys.ALLOW)]

    def save(
        self,
        user_id: str,
        entries: Sequence[str],
        *,
        email: str | None,
        updated_by: str,
        expected_version: int,
    ) -> Allowlist:
        """Write the allowlist if nobody changed it since ``expected_version`` (0: absent)."""
        key = state_keys.allowlist(user_id)
        now = self.store.now()
        item = {
            **key.item(),
            "entries": list(entries),
            "email": email,
            "updatedBy": updated_by,
            "updatedAt": to_iso(now),
        }
        try:
            version = self._checked().put_versioned(item, expected_version)
        except ConditionFailed:
            raise _conflict(key.sk) from None
        return Allowlist(key.sk, tuple(entries), email, updated_by, now, version)

    def delete(self, user_id: str, *, expected_version: int) -> None:
        key = state_keys.allowlist(user_id)
        try:
            self._checked().delete_versioned(key, expected_version)
        except ConditionFailed:
            raise _conflict(key.sk) from None


def _conflict(user_id: str) -> AllowlistConflict:
    return AllowlistConflict(
        f"the allowlist of {user_id} changed meanwhile; re-read it and try again"
    )


def _from_item(item: Mapping[str, Any]) -> Allowlist:
    updated = item.get("updatedAt")
    return Allowlist(
        user_id=str(item["sk"]),
        entries=tuple(str(e) for e in item.get("entries") or ()),
        email=item.get("email"),
        updated_by=item.get("updatedBy"),
        updated_at=datetime.fromisoformat(str(updated)) if updated else None,
        version=int(item.get("version", 0)),
    )
