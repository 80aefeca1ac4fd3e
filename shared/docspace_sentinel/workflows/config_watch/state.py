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
from .merge import Pending, ip_state
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


#: In a section too large to keep whole, a list longer than this or a text longer than
#: ``SHRUNK_TEXT`` is kept as its digest: the switches and short values beside it are still
#: compared (2FA switched off stays visible however long its trusted-address list grows).
SHRUNK_ITEMS = 100
SHRUNK_TEXT = 300


def shrink(value: Any) -> Any:
    if isinstance(value, dict | list) and len(value) > 10 * SHRUNK_ITEMS:
        # Never cut a mapping (a cut admins list would read as admins removed): its digest.
        text = _dumps(value)
        return f"sha256:{hashlib.sha256(text.encode()).hexdigest()[:32]} ({len(value)} items)"
    if isinstance(value, dict):
        return {k: shrink(v) for k, v in value.items()}
    if isinstance(value, list) and len(value) > SHRUNK_ITEMS:
        text = _dumps(value)
        return f"sha256:{hashlib.sha256(text.encode()).hexdigest()[:32]} ({len(value)} items)"
    if isinstance(value, list):
        return [shrink(v) for v in value]
    if isinstance(value, str) and len(value) > SHRUNK_TEXT:
        return f"sha256:{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()[:32]}"
    return value


def _bounded(item: Pending) -> Pending:
    change = item.change
    after = _compact(change.after)
    if change.subject == "ip_restrictions" and after is not change.after:
        # Compacted, the list can no longer be compared with what our sync noted writing.
        after = {**after, "ipState": ip_state(change.after)}
    return item._replace(
        change=change._replace(
            key=change.key[:200],
            summary=change.summary[:500],
            actor=change.actor[:64] if change.actor else None,
            before=_compact(change.before),
            after=after,
        )
    )


def fit(snapshot: Snapshot, pending: list[Pending]) -> tuple[Snapshot, list[Pending]]:
    """The record cut to fit ``ITEM_BUDGET`` (a hostile portal can make any section or name
    huge): pending values become digests and texts are cut, at most ``MAX_PENDING`` changes
    wait (the newest); then the biggest sections are shrunk (``shrink``), and a section still
    too big becomes unreadable ("too large to keep": not compared, never a crash); last, the
    oldest waiting changes go."""
    pending = [_bounded(p) for p in pending[-MAX_PENDING:]]
    sections, unreadable = dict(snapshot.sections), dict(snapshot.unreadable)
    sizes = {name: len(_dumps(value)) for name, value in sections.items()}

    def pending_size() -> int:
        return len(_dumps([_pending_to_dict(p) for p in pending]))

    while sections and sum(sizes.values()) + pending_size() > ITEM_BUDGET:
        name = max(sizes, key=lambda n: sizes[n])
        smaller = shrink(sections[name])
        if len(_dumps(smaller)) < sizes[name] and not _is_shrunk(name, unreadable):
            log.warning("settings section %s is large (%d bytes): keeping digests", name,
                        sizes[name])  # fmt: skip
            sections[name], sizes[name] = smaller, len(_dumps(smaller))
            unreadable[f"{name}#shrunk"] = "long lists and texts kept as digests"
            continue
        log.warning("settings section %s is too large to keep (%d bytes)", name, sizes[name])
        unreadable[name] = f"too large to keep ({sizes.pop(name)} bytes)"
        del sections[name]
    while pending and sum(sizes.values()) + pending_size() > ITEM_BUDGET:
        pending.pop(0)
    return Snapshot(sections, unreadable), pending


def _is_shrunk(name: str, unreadable: dict[str, str]) -> bool:
    return f"{name}#shrunk" in unreadable


def comparable(before: Snapshot | None, after: Snapshot) -> Snapshot:
    """``after`` with the sections ``before`` kept shrunk shrunk the same way, so the two
    compare like with like (a long list against its own digest is no change)."""
    if before is None:
        return after
    sections = dict(after.sections)
    for name in before.unreadable:
        base = name.removesuffix("#shrunk")
        if name.endswith("#shrunk") and base in sections:
            sections[base] = shrink(sections[base])
    return Snapshot(sections, dict(after.unreadable))


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
        for name in ("subject", "key", "change", "summary"):
            if not isinstance(fields.get(name), str):
                return None
        if fields.get("actor") is not None and not isinstance(fields["actor"], str):
            return None
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
