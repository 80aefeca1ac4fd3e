"""The configuration watch's snapshot record in the state table (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from docspace_sentinel.findings.finding import Severity
from docspace_sentinel.state import keys as state_keys
from docspace_sentinel.state.store import StateStore
from docspace_sentinel.workflows.config_watch import state as cw_state
from docspace_sentinel.workflows.config_watch.merge import Pending
from docspace_sentinel.workflows.config_watch.snapshot import Snapshot, SnapshotChange, diff
from docspace_sentinel.workflows.config_watch.state import SnapshotStore
from local.aws import LocalAws

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _store(aws: LocalAws) -> SnapshotStore:
    return SnapshotStore(StateStore(aws.table_name, client=aws.dynamodb, clock=lambda: T0))


def test_the_snapshot_and_the_waiting_changes_round_trip(aws: LocalAws) -> None:
    store = _store(aws)
    assert store.load() == cw_state.SnapshotRecord()
    snapshot = Snapshot({"ip_restrictions": {"enabled": True, "entries": [["1.2.3.4", False]]}}, {})
    change = SnapshotChange("webhook", "7", "created", Severity.HIGH, "webhook 'x' created",
                            None, {"name": "x", "host": "h"}, "u1")  # fmt: skip
    pending = [Pending(change, T0 - timedelta(hours=1), T0)]
    version = store.save(snapshot, T0, pending, 0)
    loaded = store.load()
    assert loaded == cw_state.SnapshotRecord(snapshot, T0, tuple(pending), version)


def test_a_section_too_large_for_one_item_is_kept_unreadable_not_a_failed_run(
    aws: LocalAws,
) -> None:
    store = _store(aws)
    huge = {str(n): f"Admin number {n} " + "x" * 40 for n in range(8000)}  # ~450 KB
    snapshot = Snapshot({"admins": huge, "owner": "o1"}, {})
    store.save(snapshot, T0, [], 0)
    loaded = store.load()
    assert loaded.snapshot is not None
    assert "admins" not in loaded.snapshot.sections and loaded.snapshot.sections["owner"] == "o1"
    assert loaded.snapshot.unreadable["admins"].startswith("too large to keep")
    # the next run compares nothing for it: no flood of "new admins"
    assert diff(loaded.snapshot, snapshot) == []


def test_an_unreadable_record_starts_again_instead_of_failing_every_run(aws: LocalAws) -> None:
    store = _store(aws)
    store.store.put({**state_keys.CONFIG_SNAPSHOT.item(), "snapshot": "{not json", "version": 3})
    assert store.load() == cw_state.SnapshotRecord(version=3)
