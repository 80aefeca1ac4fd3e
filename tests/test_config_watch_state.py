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


def test_a_section_too_large_for_one_item_is_kept_as_digests_not_a_failed_run(
    aws: LocalAws,
) -> None:
    store = _store(aws)
    huge = {str(n): f"Admin number {n} " + "x" * 40 for n in range(8000)}  # ~450 KB
    snapshot = Snapshot({"admins": huge, "owner": "o1"}, {})
    store.save(snapshot, T0, [], 0)
    loaded = store.load()
    assert loaded.snapshot is not None and loaded.snapshot.sections["owner"] == "o1"
    assert str(loaded.snapshot.sections["admins"]).startswith("sha256:")  # never cut
    assert "admins#shrunk" in loaded.snapshot.unreadable
    # the next run compares like with like: no flood of "new admins"
    assert diff(loaded.snapshot, cw_state.comparable(loaded.snapshot, snapshot)) == []


def test_two_factor_switched_off_stays_visible_however_long_its_trusted_list_grows(
    aws: LocalAws,
) -> None:
    """An intruder fills 2FA's trusted addresses (the server does not bound them) to push the
    section out of the record: its switch is still compared."""
    store = _store(aws)
    trusted = [f"10.{n // 250}.{n % 250}.1-" + "9" * 380 for n in range(1000)]  # ~400 KB
    on = {"app": {"enabled": True, "trustedIps": trusted}}
    store.save(Snapshot({"tfa": on}, {}), T0, [], 0)
    loaded = store.load()
    assert loaded.snapshot is not None
    off = Snapshot({"tfa": {"app": {"enabled": False, "trustedIps": trusted}}}, {})
    changes = diff(loaded.snapshot, cw_state.comparable(loaded.snapshot, off))
    assert [(c.subject, c.change, c.severity) for c in changes] == [
        ("tfa", "disabled", Severity.HIGH)
    ]
    same = Snapshot({"tfa": on}, {})
    assert diff(loaded.snapshot, cw_state.comparable(loaded.snapshot, same)) == []


def test_a_hostile_name_cannot_push_the_record_past_dynamodbs_limit(aws: LocalAws) -> None:
    store = _store(aws)
    name = "n" * 500_000
    change = SnapshotChange("webhook", "1", "created", Severity.HIGH, f"webhook {name!r} created",
                            None, {"name": name}, "u1")  # fmt: skip
    store.save(Snapshot({"webhook": {"1": {"name": name}}}, {}), T0, [Pending(change, None, T0)], 0)
    loaded = store.load()
    assert loaded.snapshot is not None and len(loaded.pending) == 1
    assert len(loaded.pending[0].change.summary) <= 500


def test_an_unreadable_record_starts_again_instead_of_failing_every_run(aws: LocalAws) -> None:
    store = _store(aws)
    store.store.put({**state_keys.CONFIG_SNAPSHOT.item(), "snapshot": "{not json", "version": 3})
    assert store.load() == cw_state.SnapshotRecord(version=3)
