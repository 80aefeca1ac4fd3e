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

import json
import logging
from datetime import datetime
from typing import Any, NamedTuple

from ...state import keys as state_keys
from ...state.store import StateStore, to_iso
from .merge import Pending
from .snapshot import Snapshot, SnapshotChange

log = logging.getLogger(__name__)


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
        item = {
            **state_keys.CONFIG_SNAPSHOT.item(),
            "snapshot": json.dumps(snapshot.to_dict(), sort_keys=True, separators=(",", ":")),
            "digest": snapshot.digest(),
            "takenAt": to_iso(taken_at),
            "pending": json.dumps(
                [_pending_to_dict(p) for p in pending], sort_keys=True, separators=(",", ":")
            ),
        }
        return self.store.put_versioned(item, expected)
