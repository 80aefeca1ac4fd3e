"""The per-user sliding window in DynamoDB, and the cap counter.

One item per user, kind and minute (``rtwin#<userId>`` / ``<kind>#<minute>``, placed by
``event.createOn``) holds a string set ``e`` of ``<epoch ms>|<entry key>``, added with ``ADD``:
idempotent (a duplicate adds nothing), commutative (deliveries in any order give the same set)
and atomic (concurrent consumers never lose each other's entries). A consumer reads the window
back after its own write with a consistent Query, so of two concurrent deliveries at least the
later reader sees both. A minute holds at most ``MINUTE_CAP`` entries: a full minute is far
above any sane threshold and stays full. An entry key longer than ``MAX_KEY`` (third-party
storage ids run to 255 characters) is stored as a short digest, so a full minute stays far below
DynamoDB's 400 KB item limit; should the item still be refused (``ValidationException``), the
minute counts as full, never as a failure (that would send every later delivery to the DLQ).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from ...state import keys as state_keys
from ...state.errors import ConditionFailed, StateError
from ...state.store import StateStore, to_epoch
from .rules import Entry

MINUTE_CAP = 2000
#: Longer entry keys are stored as ``h:<blake2b 10 bytes hex>`` (22 characters).
MAX_KEY = 40
#: The most one stored value takes: epoch ms (13-14 digits), separators, a flag and the key.
MAX_VALUE_BYTES = 16 + 3 + MAX_KEY
#: A full minute's item stays well under DynamoDB's 400 KB item limit.
assert MINUTE_CAP * MAX_VALUE_BYTES < 200_000
KEEP = timedelta(days=1)


def minute(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def stored_key(key: str) -> str:
    """The key as kept in the window: a digest when longer than ``MAX_KEY`` (still distinct)."""
    if len(key) <= MAX_KEY:
        return key
    return "h:" + hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()


def _encode(entry: Entry) -> str:
    """``<epoch ms>[d]|<key>``: ``d`` marks a delete (``Entry.deleted``)."""
    flag = "d" if entry.deleted else ""
    return f"{int(entry.at.timestamp() * 1000)}{flag}|{stored_key(entry.key)}"


def _too_large(exc: StateError) -> bool:
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code == "ValidationException"


def _decode(value: str) -> Entry | None:
    millis, sep, key = value.partition("|")
    deleted = millis.endswith("d")
    millis = millis.removesuffix("d")
    if not sep or not millis.isdigit():
        return None
    return Entry(datetime.fromtimestamp(int(millis) / 1000, UTC), key, deleted)


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
        except StateError as exc:
            if not _too_large(exc):
                raise
            return False  # the item would exceed DynamoDB's limits: the minute is full
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
