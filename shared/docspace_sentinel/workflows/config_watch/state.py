"""The last settings snapshot and the changes waiting for their audit event, in one record.

================ ========== =====================================================================
pk               sk         attributes
================ ========== =====================================================================
``cfgsnap``      ``latest`` ``snapshot`` (JSON: ``Snapshot.to_dict``), ``digest``, ``takenAt``,
                            ``pending`` (JSON list), ``version`` (``StateStore.put_versioned``)
================ ========== =====================================================================

JSON strings, not DynamoDB maps: portal values (numbers, nested lists) round-trip exactly and the
record stays one small item (the portal's protection settings, webhooks and admins).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any, NamedTuple

from ...state import keys as state_keys
from ...state.store import StateStore, to_iso
from .merge import Pending
from .snapshot import Snapshot, SnapshotChange

log = logging.getLogger(__name__)

#: DynamoDB refuses an item over 400 KB: a bigger record would fail every run for good. The
#: JSON is ASCII (``ensure_ascii``), so characters are bytes.
ITEM_BUDGET = 300_000
#: A pending change's before/after kept whole up to this size (else a digest of it).
VALUE_CHARS = 2_000
MAX_PENDING = 100


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _compact(value: Any) -> Any:
    text = _dumps(value)
    if len(text) <= VALUE_CHARS:
        return value
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}


def fit(snapshot: Snapshot, pending: list[Pending]) -> tuple[Snapshot, list[Pending]]:
    """The record cut to fit ``ITEM_BUDGET``: the biggest sections become unreadable ("too large
    to keep": not compared next run, never a crash), pending values become digests, and at
    most ``MAX_PENDING`` changes wait (the newest)."""
    pending = [
        p._replace(change=p.change._replace(before=_compact(p.change.before),
                                            after=_compact(p.change.after)))
        for p in pending[-MAX_PENDING:]
    ]  # fmt: skip
    room = ITEM_BUDGET - len(_dumps([_pending_to_dict(p) for p in pending]))
    sections, unreadable = dict(snapshot.sections), dict(snapshot.unreadable)
    sizes = {name: len(_dumps(value)) for name, value in sections.items()}
    while sections and sum(sizes.values()) > room:
        name = max(sizes, key=lambda n: sizes[n])
        log.warning("settings section %s is too large to keep (%d bytes)", name, sizes[name])
        unreadable[name] = f"too large to keep ({sizes.pop(name)} bytes)"
        del sections[name]
    return Snapshot(sections, unreadable), pending


class SnapshotRecord(NamedTuple):
    snapshot: Snapshot | None = None
    taken_at: datetime | None = None
    pending: tuple[Pending, ...] = ()
    version: int = 0


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _pending_to_dict(item: Pending) -> dict[str, Any]:
    return {
        "change": item.change._asdict() | {"severity": item.change.severity.value},
        "since": to_iso(item.since) if item.since else None,
        "seenAt": to_iso(item.seen_at),
    }


def _pending_from_dict(raw: Any) -> Pending | None:
    from ...findings.finding import Severity

    try:
        fields = dict(raw["change"])
        fields["severity"] = Severity(fields["severity"])
        seen_at = _time(raw["seenAt"])
        if seen_at is None:
            return None
        return Pending(SnapshotChange(**fields), _time(raw.get("since")), seen_at)
    except (KeyError, TypeError, ValueError):
        return None


class SnapshotStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def load(self) -> SnapshotRecord:
        item = self.store.get(*state_keys.CONFIG_SNAPSHOT)
        if not item:
            return SnapshotRecord()
        version = int(item.get("version", 0))
        try:
            snapshot = Snapshot.from_dict(json.loads(str(item["snapshot"])))
            pending_raw = json.loads(str(item.get("pending") or "[]"))
        except (KeyError, TypeError, ValueError) as exc:
            # Unreadable (an older layout): start again from this run's snapshot, which then
            # reports nothing, rather than fail every run.
            log.warning("the stored settings snapshot is unreadable (%s): taking a new one", exc)
            return SnapshotRecord(version=version)
        pending = tuple(p for p in map(_pending_from_dict, pending_raw) if p is not None)
        return SnapshotRecord(snapshot, _time(item.get("takenAt")), pending, version)

    def save(
        self, snapshot: Snapshot, taken_at: datetime, pending: list[Pending], expected: int
    ) -> int:
        """Written after the run's findings are out: a run that fails before this reads the
        same changes again, and their findings are not sent twice (the runner's suppression)."""
        snapshot, pending = fit(snapshot, pending)
        item = {
            **state_keys.CONFIG_SNAPSHOT.item(),
            "snapshot": _dumps(snapshot.to_dict()),
            "digest": snapshot.digest(),
            "takenAt": to_iso(taken_at),
            "pending": _dumps([_pending_to_dict(p) for p in pending]),
        }
        return self.store.put_versioned(item, expected)
