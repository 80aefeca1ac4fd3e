"""Which room an audit event happened in.

DocSpace never puts a room id on file events. A file event carries ``target: ["<fileId>"]``,
``location: 1`` and ``context: "Rooms: <room title>"`` (the prefix is localized, and the title is
the one the room had *then*). Room events (membership, settings) carry ``location: 27`` and
``target: ["<roomId>"]``. So:

1. room events: the id in ``target``;
2. file and folder events: the title after the first ": " of ``context``, when exactly one current
   room has that title (the fast path, no request); a context without ": " is a root folder's
   title ("My documents", "Trash"), never a room;
3. otherwise (a renamed room, two rooms with one title, no context): resolve ``target[0]`` through
   the files API (file → folder → folder path → the entry carrying ``roomType``), cached per run.
   A 403 (someone's "My documents") or 404 (deleted since) means "not in a room we can see".

File ids and folder/room ids are separate sequences: caches are keyed by kind and id.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from .client import DocSpaceClient
from .errors import Forbidden, NotFound
from .models import AuditEvent, Room, parse_int

log = logging.getLogger(__name__)

LOCATION_ROOMS = 27
ENTRY_FILE = 1
ENTRY_FOLDER = 2
ENTRY_ROOM = 25


def context_title(context: str | None) -> str | None:
    """``"Rooms: Project X"`` → ``"Project X"`` whatever the (localized) prefix word is."""
    if not context or ": " not in context:
        return None
    return context.split(": ", 1)[1].strip() or None


class RoomResolver:
    """Attributes audit events to rooms, with a per-run cache of API look-ups."""

    def __init__(self, client: DocSpaceClient, rooms: Iterable[Room]) -> None:
        self.client = client
        self.rooms: dict[int, Room] = {room.id: room for room in rooms}
        by_title: dict[str, list[int]] = defaultdict(list)
        for room in self.rooms.values():
            if room.title:
                by_title[room.title].append(room.id)
        self._unique_titles = {t: ids[0] for t, ids in by_title.items() if len(ids) == 1}
        self._folder_rooms: dict[int, int | None] = {}
        self._file_rooms: dict[int, int | None] = {}
        #: API look-ups made (for metrics and the "one look-up per entry" guarantee).
        self.lookups = 0

    def room_id(self, event: AuditEvent) -> int | None:
        """The id of the room the event happened in, or ``None`` when it is not in a room."""
        if event.location == LOCATION_ROOMS or ENTRY_ROOM in event.entries:
            return _int(event.target[0]) if event.target else None
        title = context_title(event.context)
        if title is not None and title in self._unique_titles:
            return self._unique_titles[title]
        if event.context and title is None:
            return None  # "My documents", "Trash": a root folder's title, never a room
        if not event.target:
            return None
        entry = _int(event.target[0])
        if entry is None:
            return None
        if ENTRY_FOLDER in event.entries and ENTRY_FILE not in event.entries:
            return self._room_of_folder(entry)
        if title is None and ENTRY_FILE not in event.entries:
            return None  # no context and not a file: a settings or people event
        return self._room_of_file(entry)

    def _room_of_file(self, file_id: int) -> int | None:
        if file_id not in self._file_rooms:
            self.lookups += 1
            try:
                entry = self.client.file(file_id)
            except (Forbidden, NotFound):
                self._file_rooms[file_id] = None
            else:
                folder = entry.folder_id
                self._file_rooms[file_id] = self._room_of_folder(folder) if folder else None
        return self._file_rooms[file_id]

    def _room_of_folder(self, folder_id: int) -> int | None:
        if folder_id in self.rooms:
            return folder_id
        if folder_id not in self._folder_rooms:
            self.lookups += 1
            try:
                path = self.client.folder_path(folder_id)
            except (Forbidden, NotFound):
                self._folder_rooms[folder_id] = None
            else:
                rooms = [f.id for f in path if f.room_type is not None]
                self._folder_rooms[folder_id] = rooms[-1] if rooms else None
        return self._folder_rooms[folder_id]


def _int(value: str) -> int | None:
    return parse_int(value)
