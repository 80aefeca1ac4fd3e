"""The bulk guard's sliding-window rule: the threshold crossing and the peak, told apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from docspace_sentinel.docspace.models import AuditEvent
from docspace_sentinel.findings.finding import RoomRef
from docspace_sentinel.workflows.bulk_change_guard import (
    BulkDetector,
    GuardSettings,
    Surroundings,
    bulk_finding,
    detect,
)
from tests.support import PORTAL, fixture

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


# -- over a wire page: the window, then the finding from the burst and what was looked up ------

JOHN = "1c9d6a3e-5b7f-4a5b-8c7d-222222222222"
GUARD = GuardSettings(threshold=3, window=timedelta(minutes=10))
LOGINS = {"successes": 1, "failures": 0, "distinctIps": ["203.0.113.5"], "countries": []}


def _page() -> list[AuditEvent]:
    """An audit page as the server sends it (newest first, +03:00 dates): John updates five
    files of one room in four minutes (one of them twice) and once without a target; Jane adds
    a room member and updates one file elsewhere."""
    return [AuditEvent.from_wire(row) for row in fixture("audit/bulk_change/001.json")["response"]]


def test_a_page_with_one_bulk_change_and_an_unusable_event() -> None:
    [burst], skipped = detect([(None, _page())], GUARD)
    assert skipped == 1  # the file change without a target
    assert burst.user_id == JOHN
    assert (burst.crossing_files, burst.peak_files) == (4, 5)
    assert burst.files == ["5678", "5679", "5680", "5681", "5682"]
    assert (burst.start, burst.end) == (
        datetime(2026, 11, 4, 9, 10, 5, tzinfo=UTC),
        datetime(2026, 11, 4, 9, 12, 55, tzinfo=UTC),
    )
    assert burst.peak_end == datetime(2026, 11, 4, 9, 14, tzinfo=UTC)


def test_the_finding_of_a_burst_in_one_room() -> None:
    [burst], _ = detect([(None, _page())], GUARD)
    finding = bulk_finding(burst, Surroundings({42: "Project X VDR"}, LOGINS), GUARD, PORTAL)
    assert (finding.kind, finding.title) == (
        "bulk_file_change",
        "John Doe changed 5 files in 10 minutes",
    )
    assert finding.summary == (
        "John Doe changed 5 distinct files within 10 minutes, between 2026-11-04 09:10:05 and "
        "09:14:00 UTC (threshold: more than 3; first crossed at 09:12:55 UTC, with 4 files) "
        "(mode: dry-run)."
    )
    assert finding.dedup == (JOHN, "2026-11-04T09:10", "acted")
    assert finding.room == RoomRef(42, "Project X VDR")
    evidence = finding.evidence
    assert (evidence["distinctFiles"], evidence["changes"], evidence["threshold"]) == (5, 6, 3)
    assert evidence["thresholdCrossedAt"] == "2026-11-04T09:12:55Z"
    assert evidence["distinctFilesWhenCrossed"] == 4
    assert evidence["sampleFiles"][0] == {"id": "5678", "title": "Contract.docx"}
    assert evidence["sampleEventIds"] == [48300, 48301, 48302, 48303, 48304, 48305]
    assert evidence["firstEventIp"] == "203.0.113.5"
    assert finding.context == {"logins": LOGINS}


def test_a_burst_across_rooms_names_no_one_room() -> None:
    [burst], _ = detect([(None, _page())], GUARD)
    around = Surroundings({42: "Project X VDR", 77: None}, LOGINS)
    finding = bulk_finding(burst, around, GUARD, PORTAL)
    assert finding.room is None
    assert finding.evidence["rooms"] == [
        {"id": 42, "title": "Project X VDR"},
        {"id": 77, "title": None},
    ]
