"""The bulk guard's sliding-window rule: the threshold crossing and the peak, told apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from docspace_sentinel.models import AuditEvent
from docspace_sentinel.workflows.bulk_change_guard import BulkDetector

T0 = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
USER = "6b1e1f5a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
FILE_UPDATED = 5002


def _change(n: int, file_id: int, minutes: float) -> AuditEvent:
    return AuditEvent(
        id=n,
        date=T0 + timedelta(minutes=minutes),
        action_id=FILE_UPDATED,
        user_id=USER,
        target=(str(file_id),),
    )


def _detect(events: list[AuditEvent], threshold: int = 3) -> BulkDetector:
    detector = BulkDetector(threshold, timedelta(minutes=10))
    detector.feed(events)
    return detector


def test_the_peak_window_is_kept_whole_after_it_slid_out() -> None:
    # 8 files in 4 minutes (over a threshold of 3 at the 4th), then, long after, 4 more.
    events = [_change(n, 100 + n, n * 0.5) for n in range(8)]
    events += [_change(50 + n, 200 + n, 60 + n) for n in range(4)]
    [burst] = _detect(events).bursts()
    assert burst.crossing_files == 4 and [c.event.id for c in burst.changes] == [0, 1, 2, 3]
    assert burst.peak_files == 8 == len(burst.files)
    assert [c.event.id for c in burst.peak_changes] == list(range(8))
    assert (burst.peak_start, burst.peak_end) == (T0, T0 + timedelta(minutes=3.5))
    assert (burst.start, burst.end) == (T0, T0 + timedelta(minutes=1.5))


def test_a_later_busier_window_is_the_peak_and_repeats_count_once() -> None:
    # 4 files (crossing), a quiet stretch, then 6 files, one of them edited five times.
    events = [_change(n, 100 + n, n) for n in range(4)]
    events += [_change(10 + n, 300 + n, 30 + n * 0.5) for n in range(6)]
    events += [_change(20 + n, 300, 33 + n * 0.1) for n in range(5)]
    [burst] = _detect(events).bursts()
    assert burst.crossing_files == 4
    assert burst.peak_files == 6
    assert {c.event.id for c in burst.peak_changes} == set(range(10, 16))
    assert burst.peak_start == T0 + timedelta(minutes=30)


def test_slices_fed_one_by_one_find_the_same_peak() -> None:
    events = [_change(n, 100 + n % 9, n * 0.7) for n in range(40)]
    whole = _detect(events).bursts()
    sliced = BulkDetector(3, timedelta(minutes=10))
    for start in range(0, 40, 7):
        sliced.feed(events[start : start + 7])
    assert [(b.peak_files, b.peak_changes) for b in sliced.bursts()] == [
        (b.peak_files, b.peak_changes) for b in whole
    ]
