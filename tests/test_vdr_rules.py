"""The VDR monitor's pure rules: per-hour counting of a wire page, and flagging a day (the
absolute threshold, then the user's own baseline)."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from docspace_sentinel.docspace.models import AuditEvent, Room
from docspace_sentinel.docspace.rooms import RoomResolver
from docspace_sentinel.workflows.vdr_activity import (
    Seen,
    VdrSettings,
    count_hours,
    flag_days,
)
from tests.support import fixture

JOHN = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
JANE = "1c9d6a3e-0000-4a5b-8c7d-111111111111"
VDR = 42
DAY = "2025-03-04"


def _page(name: str) -> list[AuditEvent]:
    """A wire page parsed as the client parses it, oldest first as the scan hands it over."""
    events = [AuditEvent.from_wire(row) for row in fixture(name)["response"]]
    return sorted(events, key=lambda e: (e.date, e.id))


def _seen(monitored: set[int]) -> Seen:
    rooms = [Room.from_wire(row) for row in fixture("rooms/001.json")["response"]]
    # Every event of the page names its room (context or location): no look-up, no client.
    resolver = RoomResolver(cast(Any, None), rooms)
    seen = count_hours(_page("audit/room_activity/001.json"), resolver.room_id, monitored)
    assert resolver.lookups == 0
    return seen


def _totals(seen: Seen) -> dict[str, dict[tuple[int, str], int]]:
    """What the store's ``activity_totals`` would return after this page alone."""
    totals: dict[str, dict[tuple[int, str], int]] = {}
    for (user_id, room_id, day), hours in seen.hours.items():
        totals.setdefault(user_id, {})[(room_id, day)] = sum(hours.values())
    return totals


def test_a_page_is_counted_per_user_room_utc_day_and_hour() -> None:
    seen = _seen({VDR})
    # +03:00 wire dates land in their UTC hour; 01:30+03:00 on the 5th is 22:30 UTC on the 4th.
    assert seen.hours == {
        (JOHN, VDR, DAY): Counter({"09": 3, "22": 1}),
        (JANE, VDR, DAY): Counter({"08": 1}),
    }
    assert seen.names == {JOHN: "John Doe", JANE: "Jane Roe"}
    assert seen.samples[(JOHN, VDR, DAY)] == [9101, 9102, 9103, 9107]
    # no user (9105) and an unknown action code (9104) are skipped; another room is not counted
    assert (seen.scanned, seen.skipped) == (8, 2)


def test_unmonitored_rooms_are_not_counted() -> None:
    assert _seen({43}).hours == {(JANE, 43, DAY): Counter({"09": 1})}
    assert _seen(set()).hours == {}


def test_a_day_over_the_threshold_is_flagged() -> None:
    seen = _seen({VDR})
    [flag] = flag_days(seen.hours, _totals(seen), VdrSettings(max_events=3))
    assert (flag.user_id, flag.room_id, flag.day, flag.events) == (JOHN, VDR, DAY, 4)
    assert flag.verdict.reason == "4 events exceed the threshold of 3"
    assert flag.verdict.z is None
    assert flag_days(seen.hours, _totals(seen), VdrSettings(max_events=4)) == []


def test_a_day_far_above_the_users_own_baseline_is_flagged() -> None:
    settings = VdrSettings(max_events=100, baseline_min_days=7, baseline_min_events=20)
    # ten days of 4 to 6 events, with one quiet day (absent: counted as 0) in the middle
    history = {(VDR, f"2025-02-{d:02d}"): 4 + d % 3 for d in range(18, 29) if d != 22}
    history |= {(VDR, f"2025-03-0{d}"): 5 for d in range(1, 4)}
    totals = {JOHN: {**history, (VDR, DAY): 40}}
    [flag] = flag_days([(JOHN, VDR, DAY)], totals, settings)
    verdict = flag.verdict
    assert verdict.flagged and verdict.mean is not None and verdict.z is not None
    assert 4.0 < verdict.mean < 5.0 and verdict.z > settings.baseline_z
    assert verdict.reason.startswith("40 events against a usual")
    # the same day is within the baseline for a user who is always that busy
    busy = {JOHN: {(VDR, d): 38 for (_, d) in history} | {(VDR, DAY): 40}}
    assert flag_days([(JOHN, VDR, DAY)], busy, settings) == []


def test_the_baseline_needs_enough_history_and_enough_events() -> None:
    settings = VdrSettings(max_events=100, baseline_min_days=7, baseline_min_events=20)
    short = {JOHN: {(VDR, "2025-03-01"): 1, (VDR, DAY): 50}}  # 3 days of history
    assert flag_days([(JOHN, VDR, DAY)], short, settings) == []
    quiet = {JOHN: {(VDR, f"2025-02-{d}"): 0 for d in range(10, 28)} | {(VDR, DAY): 19}}
    assert flag_days([(JOHN, VDR, DAY)], quiet, settings) == []


def test_history_is_the_users_in_that_room_within_the_baseline_days() -> None:
    settings = VdrSettings(max_events=100, baseline_days=5, baseline_min_days=3)
    totals = {
        JOHN: {
            (VDR, "2025-02-01"): 500,  # older than BASELINE_DAYS: not history
            (43, "2025-03-02"): 500,  # another room: not history
            (VDR, "2025-03-01"): 1,
            (VDR, "2025-03-02"): 1,
            (VDR, "2025-03-03"): 1,
            (VDR, DAY): 30,
        }
    }
    [flag] = flag_days([(JOHN, VDR, DAY)], totals, settings)
    assert flag.verdict.mean == 1.0 and flag.verdict.std == 0.0


def test_flags_come_ordered_by_user_room_and_day() -> None:
    days = [(JOHN, VDR, "2025-03-05"), (JANE, 43, DAY), (JOHN, VDR, DAY), (JANE, VDR, DAY)]
    totals = {
        JOHN: {(VDR, DAY): 9, (VDR, "2025-03-05"): 9},
        JANE: {(VDR, DAY): 9, (43, DAY): 9},
    }
    flags = flag_days(days, totals, VdrSettings(max_events=1))
    assert [(f.user_id, f.room_id, f.day) for f in flags] == sorted(days)
