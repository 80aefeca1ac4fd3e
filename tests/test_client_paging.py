"""Pagination: stop rules, the login filter's paging bug, the no-Audit fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from docspace_sentinel.docspace.errors import AuditUnavailable, MalformedResponse
from docspace_sentinel.docspace.paging import (
    IDLESS_PAGES_IN_A_ROW,
    MAX_PAGES_PER_READ,
    STALE_PAGES_IN_A_ROW,
    PageGuard,
    ScanStats,
    row_ids,
)
from tests.support import API, audit_row, envelope, login_row, make_client

AUDIT = f"{API}/security/audit/events/filter"
LOGIN = f"{API}/security/audit/login/filter"
FROM = datetime(2025, 3, 1, tzinfo=UTC)
TO = datetime(2025, 3, 5, tzinfo=UTC)


def _query(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def _dates(n: int, start: datetime = TO - timedelta(minutes=1)) -> list[str]:
    """n wire dates, newest first, in a +03:00 tenant."""
    tz = timedelta(hours=3)
    return [
        (start - timedelta(minutes=i) + tz).strftime("%Y-%m-%dT%H:%M:%S.0000000+03:00")
        for i in range(n)
    ]


@responses.activate
def test_audit_pages_until_a_short_page_with_count_100() -> None:
    dates = _dates(230)
    rows = [audit_row(1000 + i, d) for i, d in enumerate(dates)]
    for start in (0, 100, 200):
        responses.get(AUDIT, json=envelope(rows[start : start + 100]))
    events = list(make_client().audit_events(FROM, TO))
    assert [e.id for e in events] == [r["id"] for r in rows]
    queries = [_query(c) for c in responses.calls]
    assert [q["startIndex"] for q in queries] == [["0"], ["100"], ["200"]]
    assert all(q["count"] == ["100"] for q in queries)
    assert queries[0]["from"] == ["2025-03-01T00:00:00Z"]
    assert queries[0]["to"] == ["2025-03-05T00:00:00Z"]
    assert "moduleType" not in queries[0]


@responses.activate
def test_from_and_to_are_url_encoded_utc_with_z() -> None:
    responses.get(AUDIT, json=envelope([]))
    tz = datetime(2025, 3, 1, 3, 0, 0, 500, tzinfo=UTC).astimezone()
    list(make_client().audit_events(tz, tz + timedelta(seconds=10)))
    raw = urlsplit(responses.calls[0].request.url).query
    assert "from=2025-03-01T03%3A00%3A00Z" in raw
    # the inclusive upper bound is widened to the next whole second, never cut
    assert "to=2025-03-01T03%3A00%3A11Z" in raw


@responses.activate
def test_audit_stops_on_an_exactly_full_last_page_followed_by_empty() -> None:
    rows = [audit_row(i, d) for i, d in enumerate(_dates(100))]
    responses.get(AUDIT, json=envelope(rows))
    responses.get(AUDIT, json=envelope([]))
    assert len(list(make_client().audit_events(FROM, TO))) == 100
    assert len(responses.calls) == 2


@responses.activate
def test_rows_shifted_between_pages_are_yielded_once() -> None:
    dates = _dates(150)
    rows = [audit_row(5000 + i, d) for i, d in enumerate(dates)]
    responses.get(AUDIT, json=envelope(rows[:100]))
    # two new events arrived at the front: the second page starts two rows earlier
    responses.get(AUDIT, json=envelope(rows[98:150]))
    stats = ScanStats()
    events = list(make_client().audit_events(FROM, TO, stats=stats))
    assert [e.id for e in events] == [r["id"] for r in rows]
    assert stats.duplicates == 2 and stats.pages == 2


@responses.activate
def test_malformed_rows_are_counted_and_skipped() -> None:
    dates = _dates(5)
    rows = [audit_row(i, d) for i, d in enumerate(dates)]
    rows[1].pop("date")
    rows[2]["id"] = "not-a-number"
    rows[3] = "garbage"  # type: ignore[assignment]
    responses.get(AUDIT, json=envelope(rows))
    stats = ScanStats()
    events = list(make_client().audit_events(FROM, TO, stats=stats))
    assert [e.id for e in events] == [0, 4]
    assert stats.malformed == 3


@responses.activate
def test_no_audit_option_fallback_is_detected_by_rows_outside_the_filter() -> None:
    old = audit_row(1, "2024-01-01T10:00:00.0000000+03:00")
    responses.get(AUDIT, json=envelope([old]))
    with pytest.raises(AuditUnavailable, match="Audit option"):
        list(make_client().audit_events(FROM, TO))


@responses.activate
def test_the_filter_check_allows_the_last_second_of_to_and_nothing_after() -> None:
    # ``to`` goes out rounded up to whole seconds: a row in that second is in the filter.
    to = TO + timedelta(microseconds=500_000)
    last = audit_row(1, "2025-03-05T03:00:01.0000000+03:00")
    responses.get(AUDIT, json=envelope([last]))
    assert [e.id for e in make_client().audit_events(FROM, to)] == [1]
    later = audit_row(2, "2025-03-05T03:00:01.0000010+03:00")  # a microsecond later
    responses.get(AUDIT, json=envelope([later]))
    with pytest.raises(AuditUnavailable, match="outside the requested filter"):
        list(make_client().audit_events(FROM, to))


@responses.activate
def test_a_misdated_row_is_counted_and_skipped_not_taken_for_the_fallback() -> None:
    # One row dated an hour and a half after ``to`` (e.g. the tenant-local time of the DST
    # fall-back hour): it used to fail every run that read its slice, so the cursor never passed.
    late = _dates(1, TO + timedelta(minutes=90))[0]
    rows = [audit_row(i, d) for i, d in enumerate(_dates(50))]
    rows[7] = audit_row(7, late)
    rows[9]["userId"] = "1c9d6a3e-0000-4a5b-8c7d-111111111111"  # not the user asked for
    responses.get(AUDIT, json=envelope(rows))
    stats = ScanStats()
    john = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    events = list(make_client().audit_events(FROM, TO, user_id=john, stats=stats))
    assert [e.id for e in events] == [i for i in range(50) if i not in (7, 9)]
    assert stats.malformed == 2 and len(responses.calls) == 1


@pytest.mark.parametrize("size", [1, 5, 20])
@responses.activate
def test_a_short_page_with_a_misdated_row_is_checked_with_one_more_request(size: int) -> None:
    # A slice with few events, one of them misdated: as few rows as the fallback sends, so the
    # next page is asked for; a real filter answers it with nothing, the fallback with the same.
    rows = [audit_row(i, d) for i, d in enumerate(_dates(size))]
    rows[0] = audit_row(0, _dates(1, TO + timedelta(minutes=90))[0])
    responses.get(AUDIT, json=envelope(rows))
    responses.get(AUDIT, json=envelope([]))
    stats = ScanStats()
    events = list(make_client().audit_events(FROM, TO, stats=stats))
    assert [e.id for e in events] == list(range(1, size))
    assert stats.malformed == 1
    assert [_query(call)["startIndex"] for call in responses.calls] == [["0"], [str(size)]]


@responses.activate
def test_a_short_fallback_is_detected_even_when_an_event_lands_between_the_requests() -> None:
    # A portal with fewer than 20 events in its lifetime, none in the window: the same rows
    # for every request, plus one written meanwhile.
    rows = [audit_row(i, d) for i, d in enumerate(_dates(7, FROM - timedelta(days=3)))]
    responses.get(AUDIT, json=envelope(rows))
    newer = audit_row(99, _dates(1, FROM - timedelta(days=2))[0])
    responses.get(AUDIT, json=envelope([newer, *rows]))
    with pytest.raises(AuditUnavailable, match=r"outside the requested filter.*Audit option"):
        list(make_client().audit_events(FROM, TO))


@responses.activate
def test_no_audit_option_fallback_is_detected_by_repeated_last_20() -> None:
    rows = [audit_row(i, d) for i, d in enumerate(_dates(20))]
    responses.get(AUDIT, json=envelope(rows))
    responses.get(AUDIT, json=envelope(rows))
    with pytest.raises(AuditUnavailable):
        list(make_client().audit_events(FROM, TO))


@responses.activate
def test_exactly_20_real_rows_are_confirmed_with_one_more_request() -> None:
    rows = [audit_row(i, d) for i, d in enumerate(_dates(20))]
    responses.get(AUDIT, json=envelope(rows))
    responses.get(AUDIT, json=envelope([]))
    assert len(list(make_client().audit_events(FROM, TO))) == 20
    assert len(responses.calls) == 2


@responses.activate
def test_login_filter_pages_unfiltered_and_filters_client_side() -> None:
    john = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    jane = "1c9d6a3e-0000-4a5b-8c7d-111111111111"
    newer = _dates(100, TO + timedelta(hours=5))  # after `to`: skipped
    inside = _dates(100, TO - timedelta(hours=1))
    older = _dates(50, FROM - timedelta(minutes=1))  # before `from`: the scan stops
    page1 = [login_row(i, d, userId=jane) for i, d in enumerate(newer)]
    page2 = [
        login_row(
            1000 + i, d, userId=john if i % 2 else jane, actionId=1010 if i % 4 == 1 else 1002
        )
        for i, d in enumerate(inside)
    ]
    page3 = [login_row(2000 + i, d, userId=john) for i, d in enumerate(older)]
    for page in (page1, page2, page3):
        responses.get(LOGIN, json=envelope(page))
    found = list(make_client().login_events(FROM, TO, user_id=john, actions={1010}))
    assert [e.id for e in found] == [
        r["id"] for r in page2 if r["userId"] == john and r["actionId"] == 1010
    ]
    assert len(found) == 25
    # no filter is ever sent: the server would cut pages before filtering
    for call in responses.calls:
        assert set(_query(call)) == {"count", "startIndex"}
    assert len(responses.calls) == 3


@responses.activate
def test_login_scan_stops_once_past_from() -> None:
    rows = [login_row(i, d) for i, d in enumerate(_dates(100, FROM + timedelta(minutes=30)))]
    responses.get(LOGIN, json=envelope(rows))
    found = list(make_client().login_events(FROM, TO))
    assert len(found) == 31  # minutes 30 .. 0 after FROM, inclusive
    assert len(responses.calls) == 1


@responses.activate
def test_login_fallback_is_detected() -> None:
    rows = [login_row(i, d) for i, d in enumerate(_dates(20))]
    responses.get(LOGIN, json=envelope(rows))
    responses.get(LOGIN, json=envelope(rows))
    with pytest.raises(AuditUnavailable):
        list(make_client().login_events(FROM, TO))


@responses.activate
def test_people_page_by_total() -> None:
    people = [
        {"id": f"00000000-0000-0000-0000-{i:012d}", "displayName": f"U{i}"} for i in range(250)
    ]
    for start in (0, 100, 200):
        responses.get(f"{API}/people/filter", json=envelope(people[start : start + 100], total=250))
    users = list(make_client().users())
    assert len(users) == 250 and len(responses.calls) == 3


@responses.activate
def test_room_members_stop_at_total_even_with_negative_count() -> None:
    shares = [
        {
            "access": 2,
            "subjectType": 0,
            "sharedTo": {"id": f"00000000-0000-0000-0000-{i:012d}", "displayName": f"U{i}"},
        }
        for i in range(150)
    ]
    url = f"{API}/files/rooms/42/share"
    responses.get(url, json=envelope(shares[:100], total=150))
    responses.get(url, json=envelope(shares[100:], total=150))
    members = list(make_client().room_members(42))
    assert len(members) == 150 and len(responses.calls) == 2
    assert _query(responses.calls[0])["filterType"] == ["0"]


@responses.activate
def test_rooms_list_pages_inside_response() -> None:
    def content(rooms: list[dict[str, object]], start: int) -> dict[str, object]:
        return {
            "files": [],
            "folders": rooms,
            "current": {"id": 1, "title": "Rooms"},
            "pathParts": [],
            "startIndex": start,
            "count": len(rooms),
            "total": 130,
            "new": 0,
        }

    rooms = [{"id": 100 + i, "title": f"R{i}", "roomType": 8} for i in range(130)]
    responses.get(f"{API}/files/rooms", json=envelope(content(rooms[:100], 0), count=1))
    responses.get(f"{API}/files/rooms", json=envelope(content(rooms[100:], 100), count=1))
    found = list(make_client().rooms(room_types=[8]))
    assert len(found) == 130 and all(r.is_vdr for r in found)
    assert _query(responses.calls[0])["type"] == ["8"]


@responses.activate
def test_last_events_are_parsed_and_unknown_rows_skipped() -> None:
    rows = [audit_row(i, d) for i, d in enumerate(_dates(3))] + [{"id": "broken"}]
    responses.get(f"{API}/security/audit/events/last", json=envelope(rows))
    responses.get(f"{API}/security/audit/login/last", json=envelope([login_row(7, _dates(1)[0])]))
    client = make_client()
    assert [e.id for e in client.last_audit_events()] == [0, 1, 2]
    assert [e.id for e in client.last_login_events()] == [7]


# -- a portal (or a cache) that repeats pages ----------------------------------------------------


class Repeating:
    """A ``responses`` callback: the same body for every request, whatever its ``startIndex``.

    Stops a read that would never end (the code before this fix) with an AssertionError after
    ``give_up`` requests, so the test fails instead of hanging."""

    def __init__(self, body: dict[str, Any], give_up: int = 30) -> None:
        self.body = body
        self.give_up = give_up
        self.calls = 0

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls += 1
        if self.calls > self.give_up:
            raise AssertionError(f"the read did not stop after {self.give_up} requests")
        return 200, {}, json.dumps(self.body)


def _people(n: int, first: int = 0) -> list[dict[str, Any]]:
    return [
        {"id": f"00000000-0000-0000-0000-{i:012d}", "displayName": f"U{i}"}
        for i in range(first, first + n)
    ]


def _rooms_content(rooms: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"files": [], "folders": rooms, "current": {"id": 1}, "startIndex": 0, "total": total}


@pytest.mark.parametrize(
    ("url", "body", "read"),
    [
        (
            AUDIT,
            envelope([audit_row(i, d) for i, d in enumerate(_dates(100))]),
            lambda c: c.audit_events(FROM, TO),
        ),
        (
            LOGIN,
            envelope([login_row(i, d) for i, d in enumerate(_dates(100))]),
            lambda c: c.login_events(FROM, TO),
        ),
        (
            f"{API}/people/filter",
            envelope(_people(100), total=1_000_000_000),
            lambda c: c.users(),
        ),
        (
            f"{API}/files/rooms",
            envelope(
                _rooms_content(
                    [{"id": 100 + i, "title": f"R{i}", "roomType": 8} for i in range(100)],
                    1_000_000_000,
                ),
                count=1,
            ),
            lambda c: c.rooms(),
        ),
        (
            f"{API}/files/rooms/42/share",
            envelope(
                [{"access": 2, "subjectType": 0, "sharedTo": p} for p in _people(100)],
                total=1_000_000_000,
            ),
            lambda c: c.room_members(42),
        ),
    ],
    ids=["audit", "login", "people", "rooms", "room members"],
)
@responses.activate
def test_pages_that_add_no_new_id_end_the_read(url: str, body: Any, read: Any) -> None:
    portal = Repeating(body)
    responses.add_callback(responses.GET, url, callback=portal)
    with pytest.raises(MalformedResponse, match="ignores paging"):
        list(read(make_client()))
    assert portal.calls == 1 + STALE_PAGES_IN_A_ROW


@responses.activate
def test_pages_served_in_turn_are_a_repeat_too() -> None:
    # A, B, A, B …: each page differs from the one before it, but none brings an unseen id
    # after the first two. Before, this read ran to MAX_PAGES_PER_READ (10,000 requests).
    dates = _dates(100)
    pages = [
        envelope([login_row(i, d) for i, d in enumerate(dates)]),
        envelope([login_row(100 + i, d) for i, d in enumerate(dates)]),
    ]
    calls = 0

    def in_turn(request: Any) -> tuple[int, dict[str, str], str]:
        nonlocal calls
        calls += 1
        if calls > 30:
            raise AssertionError("the read did not stop")
        return 200, {}, json.dumps(pages[(calls - 1) % 2])

    responses.add_callback(responses.GET, LOGIN, callback=in_turn)
    with pytest.raises(MalformedResponse, match="ignores paging"):
        list(make_client().login_events(FROM, TO))
    assert calls == 2 + STALE_PAGES_IN_A_ROW


@pytest.mark.parametrize("late", [1, 37, 100])
@responses.activate
def test_a_slice_ending_on_a_page_boundary_with_late_rows_is_read(late: int) -> None:
    # 100 events in the slice; ``late`` delayed ones dated inside it are written before the
    # second page is read, which then holds only rows already seen (short, or full and then
    # an empty page). Before, that page was refused as a repeat.
    dates = _dates(100 + late)
    rows = [audit_row(1000 + i, d) for i, d in enumerate(dates[late:])]
    shifted = [audit_row(900 + i, d) for i, d in enumerate(dates[:late])] + rows
    responses.get(AUDIT, json=envelope(rows))
    responses.get(AUDIT, json=envelope(shifted[100:200]))
    responses.get(AUDIT, json=envelope(shifted[200:300]))
    found = list(make_client().audit_events(FROM, TO))
    assert [e.id for e in found] == [r["id"] for r in rows]


@responses.activate
def test_a_full_page_of_new_sign_ins_between_two_reads_is_read_on() -> None:
    # Exactly one page of sign-ins lands between pages 1 and 2 of the unfiltered login feed:
    # page 2 is page 1 again, page 3 goes on where page 1 ended.
    dates = _dates(300)
    rows = [login_row(10_000 + i, d) for i, d in enumerate(dates)]
    shifted = [login_row(90_000 + i, dates[0]) for i in range(100)] + rows
    responses.get(LOGIN, json=envelope(rows[:100]))
    for start in (100, 200, 300, 400):
        responses.get(LOGIN, json=envelope(shifted[start : start + 100]))
    found = list(make_client().login_events(FROM, TO))
    assert [e.id for e in found] == [r["id"] for r in rows]


@responses.activate
def test_a_short_page_of_seen_people_is_read_past_while_the_total_says_more() -> None:
    # A user added (sorted early) while people are read: page 2 holds only the last row of
    # page 1, and the total has grown; page 3 brings the row that was pushed back.
    people = _people(102)
    responses.get(f"{API}/people/filter", json=envelope(people[:100], total=101))
    responses.get(f"{API}/people/filter", json=envelope(people[99:100], total=102))
    responses.get(f"{API}/people/filter", json=envelope(people[100:102], total=102))
    found = list(make_client().users())
    assert [u.id for u in found] == [p["id"] for p in people]


@responses.activate
def test_a_page_repeating_some_ids_is_read_on() -> None:
    # Logins written while we page push the stream back: page 2 starts 30 rows early.
    dates = _dates(160)
    rows = [login_row(100 + i, d) for i, d in enumerate(dates)]
    responses.get(LOGIN, json=envelope(rows[:100]))
    responses.get(LOGIN, json=envelope(rows[70:160]))
    stats = ScanStats()
    found = list(make_client().login_events(FROM, TO, stats=stats))
    assert [e.id for e in found] == [r["id"] for r in rows]
    assert stats.duplicates == 30


@responses.activate
def test_rows_without_ids_are_not_taken_for_a_repeat() -> None:
    # Unreadable rows are counted and skipped, as before: they cannot prove a repeat.
    rows = [{"date": d} for d in _dates(100)]
    responses.get(AUDIT, json=envelope(rows))
    responses.get(AUDIT, json=envelope(rows[:10]))
    stats = ScanStats()
    assert list(make_client().audit_events(FROM, TO, stats=stats)) == []
    assert stats.malformed == 110


@responses.activate
def test_pages_per_read_are_bounded() -> None:
    calls = 0

    def endless(request: Any) -> tuple[int, dict[str, str], str]:
        nonlocal calls
        calls += 1
        if calls > 30:
            raise AssertionError("the read did not stop")
        start = int(parse_qs(urlsplit(request.url).query)["startIndex"][0])
        return 200, {}, json.dumps(envelope(_people(100, first=start), total=10**9))

    responses.add_callback(responses.GET, f"{API}/people/filter", callback=endless)
    client = make_client()
    client.max_pages = 5
    with pytest.raises(MalformedResponse, match="after 5 pages"):
        list(client.users())
    assert calls == 5
    assert MAX_PAGES_PER_READ == 10_000


@responses.activate
def test_the_no_audit_fallback_is_still_audit_unavailable_not_a_repeat() -> None:
    rows = [login_row(i, d) for i, d in enumerate(_dates(20))]
    responses.add_callback(responses.GET, LOGIN, callback=Repeating(envelope(rows)))
    with pytest.raises(AuditUnavailable):
        list(make_client().login_events(FROM, TO))


@responses.activate
def test_pages_of_rows_without_ids_end_the_read() -> None:
    portal = Repeating(envelope([{"name": "x"}] * 100, total=10**9))
    responses.add_callback(responses.GET, f"{API}/people/filter", callback=portal)
    with pytest.raises(MalformedResponse, match="no row with a usable id"):
        list(make_client().users())
    assert portal.calls == IDLESS_PAGES_IN_A_ROW


def test_long_string_ids_are_kept_as_small_digests() -> None:
    long_id = "7" * 80_000
    guard = PageGuard("people/filter", 10)
    assert guard.check(row_ids([{"id": long_id}, {"id": "short"}]), 0)
    kept = {i for i in guard.seen if i != "short"}
    assert len(kept) == 1 and all(isinstance(i, bytes) and len(i) == 16 for i in kept)
    # the same long id is still recognised as seen, and a different one as new
    assert not guard.check(row_ids([{"id": long_id}]), 100)
    assert guard.check(row_ids([{"id": long_id + "8"}]), 200)
