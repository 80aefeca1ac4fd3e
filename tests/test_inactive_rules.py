"""Inactive members' pure rules: who did what in which room (from a wire page), who is quiet,
and the one window the run declares for its scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from docspace_sentinel.docspace.models import AuditEvent, Room, User
from docspace_sentinel.docspace.rooms import RoomResolver
from docspace_sentinel.runtime.invocation import parse_invocation
from docspace_sentinel.workflows.inactive_members.rules import (
    RoomRoster,
    count_activity,
    quiet_members,
)
from docspace_sentinel.workflows.inactive_members.settings import (
    DEFAULT_ACTIVITY,
    InactiveSettings,
)
from tests.support import fixture

JOHN = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
JANE = "1c9d6a3e-0000-4a5b-8c7d-111111111111"
BOB = "6b1e1f5a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
VDR, DRAFTS = 42, 43
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _rooms() -> dict[int, Room]:
    return {r.id: r for r in map(Room.from_wire, fixture("rooms/001.json")["response"])}


def _activity(watched: set[int], actions: frozenset[int] = DEFAULT_ACTIVITY) -> Any:
    events = sorted(map(AuditEvent.from_wire, fixture("audit/room_activity/001.json")["response"]))
    resolver = RoomResolver(cast(Any, None), _rooms().values())
    return count_activity(events, resolver.room_id, watched, actions)


def _roster(room_id: int, *user_ids: str) -> RoomRoster:
    members = {u: User.from_wire({"id": u, "displayName": u[:4]}) for u in user_ids}
    return RoomRoster(_rooms()[room_id], members)


def test_activity_counts_the_chosen_actions_per_member_and_room() -> None:
    activity = _activity({VDR, DRAFTS})
    # read, updated, read, downloaded (an upper-case id folds): 4 in the VDR; creating the room
    # (5070) and an unknown code are not taking part; a row without a user is skipped
    assert activity.counts == {(JOHN, VDR): 4, (JANE, DRAFTS): 1}
    assert (activity.scanned, activity.skipped) == (8, 1)


def test_only_watched_rooms_and_chosen_actions_count() -> None:
    assert _activity({DRAFTS}).counts == {(JANE, DRAFTS): 1}
    downloads = _activity({VDR, DRAFTS}, frozenset({5009}))
    assert downloads.counts == {(JOHN, VDR): 1}


def test_members_below_the_minimum_are_quiet_in_those_rooms_only() -> None:
    counts = _activity({VDR, DRAFTS}).counts
    rooms = [_roster(VDR, JOHN, JANE, BOB), _roster(DRAFTS, JOHN, JANE)]
    quiet = quiet_members(rooms, counts, min_activity=1)
    shown = {u: [(r.room.id, c) for r, c in entries] for u, entries in quiet.items()}
    assert shown == {JANE: [(VDR, 0)], BOB: [(VDR, 0)], JOHN: [(DRAFTS, 0)]}
    # a higher bar: John's 4 actions in the VDR are not enough, Jane's 1 in Drafts neither
    strict = quiet_members(rooms, counts, min_activity=5)
    assert [(r.room.id, c) for r, c in strict[JOHN]] == [(VDR, 4), (DRAFTS, 0)]
    assert [(r.room.id, c) for r, c in strict[JANE]] == [(VDR, 0), (DRAFTS, 1)]
    assert quiet_members([_roster(VDR)], counts, min_activity=1) == {}


def test_the_run_declares_its_period_as_the_one_scan_window() -> None:
    settings = InactiveSettings(period=timedelta(days=30))
    scheduled = parse_invocation(
        {"scheduledTime": "2026-11-29T09:00:00Z", "scheduleArn": "arn:aws:scheduler:x"}, NOW
    )
    assert settings.scan_window(scheduled) == (NOW - timedelta(days=30), NOW)
    on_demand = parse_invocation(
        {"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, NOW
    )
    assert (
        settings.scan_window(on_demand)
        == on_demand.window
        == (
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 11, 2, tzinfo=UTC),
        )
    )
