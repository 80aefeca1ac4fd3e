"""The per-user sliding window in DynamoDB, and the cap counter.

One item per user, kind and minute (``rtwin#<userId>`` / ``<kind>#<minute>``, placed by
``event.createOn``) holds a string set ``e`` of ``<epoch ms>|<entry key>``, added with ``ADD``:
idempotent (a duplicate adds nothing), commutative (deliveries in any order give the same set)
and atomic (concurrent consumers never lose each other's entries). A consumer reads the window
back after its own write with a consistent Query, so of two concurrent deliveries at least the
later reader sees both. A minute holds at most ``MINUTE_CAP`` entries (the item size limit): a
full minute is far above any sane threshold and stays full.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ...state import keys as state_keys
from ...state.errors import ConditionFailed
from ...state.store import StateStore, to_epoch
from .rules import Entry

MINUTE_CAP = 2000
KEEP = timedelta(days=1)


def minute(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _encode(entry: Entry) -> str:
    return f"{int(entry.at.timestamp() * 1000)}|{entry.key}"


def _decode(value: str) -> Entry | None:
    millis, sep, key = value.partition("|")
    if not sep or not millis.isdigit():
        return None
    return Entry(datetime.fromtimestamp(int(millis) / 1000, UTC), key)


class WindowStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def add(self, user_id: str, kind: str, entry: Entry, window: timedelta) -> bool:
        """Add ``entry``; False when its minute is full (the entry is not kept)."""
        key = state_keys.realtime_window(user_id.lower(), kind, minute(entry.at))
        try:
            self.store.call(
                "update_item",
                Key=self.store.encode(key.item()),
                UpdateExpression="ADD e :e SET expiresAt = :ttl",
                ConditionExpression="attribute_not_exists(e) OR size(e) < :cap OR contains(e, :v)",
                ExpressionAttributeValues={
                    ":e": {"SS": [_encode(entry)]},
                    ":v": {"S": _encode(entry)},
                    ":cap": {"N": str(MINUTE_CAP)},
                    ":ttl": {"N": str(to_epoch(entry.at + window + KEEP))},
                },
            )
        except ConditionFailed:
            return False
        return True

    def read(self, user_id: str, kind: str, start: datetime, end: datetime) -> list[Entry]:
        """The entries of ``kind`` with ``start <= createOn <= end`` (a consistent read)."""
        pk = state_keys.realtime_window_partition(user_id.lower())
        low = state_keys.realtime_window(user_id.lower(), kind, minute(start)).sk
        high = state_keys.realtime_window(user_id.lower(), kind, minute(end)).sk
        entries: list[Entry] = []
        for item in self.store.query(pk, sk_from=low, sk_to=high):
            for value in item.get("e") or ():
                entry = _decode(str(value))
                if entry is not None and start <= entry.at <= end:
                    entries.append(entry)
        return entries


class CapCounter:
    """Restrictions per window across every consumer: one counter item per window (epoch
    aligned), taken with a conditional increment before acting and given back when the gate
    did not act after all."""

    def __init__(self, store: StateStore, window: timedelta, cap: int) -> None:
        self.store = store
        self.window = window
        self.cap = cap

    def _key(self, now: datetime) -> state_keys.Key:
        seconds = int(self.window.total_seconds())
        start = int(now.timestamp()) // seconds * seconds
        return state_keys.realtime_cap(minute(datetime.fromtimestamp(start, UTC)))

    def take(self, now: datetime) -> bool:
        if self.cap <= 0:
            return False
        try:
            self.store.call(
                "update_item",
                Key=self.store.encode(self._key(now).item()),
                UpdateExpression="ADD n :one SET expiresAt = :ttl",
                ConditionExpression="attribute_not_exists(n) OR n < :cap",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(self.cap)},
                    ":ttl": {"N": str(to_epoch(now + self.window + KEEP))},
                },
            )
        except ConditionFailed:
            return False
        return True

    def give_back(self, now: datetime) -> None:
        try:
            self.store.call(
                "update_item",
                Key=self.store.encode(self._key(now).item()),
                UpdateExpression="ADD n :minus",
                ConditionExpression="n > :zero",
                ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except ConditionFailed:
            pass
