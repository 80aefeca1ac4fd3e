"""Inactive members' pure rule: who did what in which watched room, and who is quiet."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from ...docspace.models import AuditEvent, Room, User


@dataclass
class RoomRoster:
    room: Room
    members: dict[str, User] = field(default_factory=dict)
    managers: dict[str, User] = field(default_factory=dict)


class Activity(NamedTuple):
    """What the audit trail says of the watched rooms: actions per (member, room)."""

    counts: Counter[tuple[str, int]]
    scanned: int
    #: Events with no user (not attributable to anyone).
    skipped: int


def count_activity(
    events: Iterable[AuditEvent],
    room_of: Callable[[AuditEvent], int | None],
    watched: set[int],
    actions: frozenset[int],
) -> Activity:
    """Pure rule, part one: the ``actions`` of each user in each ``watched`` room (user ids
    lower-cased; ``room_of`` attributes an event to its room, as the VDR monitor does)."""
    counts: Counter[tuple[str, int]] = Counter()
    scanned = skipped = 0
    for event in events:
        scanned += 1
        if not event.user_id:
            skipped += 1
            continue
        if event.action_id not in actions:
            continue
        room_id = room_of(event)
        if room_id in watched:
            counts[(event.user_id.lower(), room_id)] += 1
    return Activity(counts, scanned, skipped)


Quiet = dict[str, list[tuple[RoomRoster, int]]]


def quiet_members(
    rooms: Iterable[RoomRoster], activity: Mapping[tuple[str, int], int], min_activity: int
) -> Quiet:
    """Pure rule, part two: each member below ``min_activity`` in a room, with those rooms (in
    roster order) and the member's count there."""
    quiet: Quiet = defaultdict(list)
    for roster in rooms:
        for user_id in roster.members:
            count = activity.get((user_id, roster.room.id), 0)
            if count < min_activity:
                quiet[user_id].append((roster, count))
    return quiet
