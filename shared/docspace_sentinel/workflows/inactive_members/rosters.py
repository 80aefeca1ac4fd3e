"""The rooms inactive members watches and the members judged in each, read from the portal."""

from __future__ import annotations

from ...docspace.errors import NotFound
from ...docspace.models import STATUS_ACTIVE, Room, User
from ...runtime.runner import RunContext
from .rules import RoomRoster
from .settings import InactiveSettings


def rosters(context: RunContext, settings: InactiveSettings) -> tuple[list[RoomRoster], list[int]]:
    """The monitored rooms and the members judged in each; missing room ids are returned."""
    client = context.client
    me = client.me().id.lower()
    missing: list[int] = []
    if settings.room_ids:
        rooms: list[Room] = []
        for room_id in settings.room_ids:
            try:
                rooms.append(client.room(room_id))
            except NotFound:
                missing.append(room_id)
    else:
        rooms = list(client.rooms(room_types=settings.room_types))
    result: list[RoomRoster] = []
    for room in rooms:
        roster = RoomRoster(room)
        try:
            shares = list(client.room_members(room.id))
        except NotFound:
            missing.append(room.id)
            continue
        for share in shares:
            users: list[User] = []
            if share.is_user and share.user is not None:
                users = [share.user]
            elif share.is_group and share.group is not None and settings.expand_groups:
                users = list(client.group(share.group.id).members)
            for user in users:
                key = user.id.lower()
                if share.is_manager or share.is_owner:
                    roster.managers[key] = user
                skip = (
                    key == me
                    or (share.is_owner and settings.skip_owner)
                    or (user.status is not None and user.status != STATUS_ACTIVE)
                )
                if not skip:
                    roster.members.setdefault(key, user)
        result.append(roster)
    return result, missing
