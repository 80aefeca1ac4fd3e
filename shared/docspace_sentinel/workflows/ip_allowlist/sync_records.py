"""What the portal sync added to the portal's list, in the state table (``AddedStore``).

The sync only ever removes what it added itself, and keeps what it put there as always allowed
while restrictions apply (``sync_plan.py``); this record is how it knows.

================ ========= ===================================================================
pk               sk        attributes
================ ========= ===================================================================
``ipsync``       ``added`` ``addresses`` (what this project added to the portal),
                           ``alwaysAllowed`` (the addresses it keeps there as always allowed;
                           absent in records written before it was kept: then every address
                           it added counts as possibly always allowed), ``updatedAt``,
                           ``version`` (``StateStore.put_versioned``)
================ ========= ===================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ...state import keys as state_keys
from ...state.errors import ConditionFailed
from ...state.store import StateStore, to_iso
from .entries import address_order


class AddedRecord(NamedTuple):
    addresses: frozenset[str] = frozenset()
    version: int = 0
    #: Which of them it keeps as always allowed; ``None``: a record from before this was kept.
    always_allowed: frozenset[str] | None = frozenset()


class SyncConflict(Exception):
    """Internal: another sync wrote the record meanwhile."""


class AddedStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def get(self) -> AddedRecord:
        item = self.store.get(*state_keys.IP_SYNC_ADDED)
        if not item:
            return AddedRecord()
        always = item.get("alwaysAllowed")
        return AddedRecord(
            frozenset(str(a) for a in item.get("addresses") or ()),
            int(item.get("version", 0)),
            None if always is None else frozenset(str(a) for a in always),
        )

    def put(
        self,
        addresses: Iterable[str],
        *,
        expected: int,
        always_allowed: Iterable[str] | None = frozenset(),
    ) -> AddedRecord:
        ordered = sorted(set(addresses), key=address_order)
        item: dict[str, Any] = {
            **state_keys.IP_SYNC_ADDED.item(),
            "addresses": ordered,
            "updatedAt": to_iso(self.store.now()),
        }
        always = None if always_allowed is None else sorted(set(always_allowed), key=address_order)
        if always is not None:
            item["alwaysAllowed"] = always
        try:
            version = self.store.put_versioned(item, expected)
        except ConditionFailed:
            raise SyncConflict() from None
        return AddedRecord(
            frozenset(ordered), version, None if always is None else frozenset(always)
        )
