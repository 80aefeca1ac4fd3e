"""The pure rules: which triggers count, and the sliding window over one user's entries.

Changes are the triggers of the polling guard's ``FILE_CHANGE`` action codes: file.created
(FileCreated), file.uploaded (FileUploaded, FileUploadedWithOverwriting), file.updated
(FileUpdated, FileRenamed, versions, conversions, editor saves), file.trashed (FileMovedToTrash),
file.deleted (FileDeleted), file.restored (FileRestoreVersion and restores from the trash),
file.copied and file.moved (with or without overwriting). Folder and room triggers are not file
changes (the polling guard does not count them either). Downloads: file.downloaded and
folder.downloaded (a folder archive is one entry).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

CHANGE = "change"
DOWNLOAD = "download"

CHANGE_TRIGGERS = frozenset(
    {
        "file.created",
        "file.uploaded",
        "file.updated",
        "file.trashed",
        "file.deleted",
        "file.restored",
        "file.copied",
        "file.moved",
    }
)
DOWNLOAD_TRIGGERS = frozenset({"file.downloaded", "folder.downloaded"})
#: Changes that leave no file to confirm them by (``confirm``): the file is gone, or in the
#: trash with its content time unchanged.
DELETE_TRIGGERS = frozenset({"file.trashed", "file.deleted"})


def kind_of(trigger: str) -> str | None:
    """``CHANGE``, ``DOWNLOAD`` or ``None`` (a trigger the guard does not count)."""
    if trigger in CHANGE_TRIGGERS:
        return CHANGE
    if trigger in DOWNLOAD_TRIGGERS:
        return DOWNLOAD
    return None


def entry_key(trigger: str, entity_id: int | str) -> str:
    """What makes entries distinct: the file id (a change's, as the audit trail's target), or
    ``folder:<id>`` for a folder download (one entry, never mixed with a file of that id)."""
    prefix = "folder:" if trigger.startswith("folder.") else ""
    if isinstance(entity_id, str) and entity_id.isascii() and entity_id.isdigit():
        entity_id = int(entity_id)  # "007" is file 7: counted once, however it is spelled
    return f"{prefix}{entity_id}"


class Entry(NamedTuple):
    at: datetime  # event.createOn
    key: str  # entry_key
    deleted: bool = False  # a DELETE_TRIGGERS change (not sampled by the confirmation)


class Burst(NamedTuple):
    """The first window over the threshold (as the polling guard's "crossing"): ``start`` is
    its first entry's time, ``end`` the entry that crossed; ``entries`` are inside it."""

    start: datetime
    end: datetime
    entries: tuple[Entry, ...]

    @property
    def keys(self) -> list[str]:
        return sorted({e.key for e in self.entries}, key=lambda k: (len(k), k))


def crossing(entries: Iterable[Entry], threshold: int, window: timedelta) -> Burst | None:
    """The first window of ``window`` holding more than ``threshold`` distinct keys, over
    ``entries`` in any order (sorted here by time, then key: the order does not matter, so
    shuffled deliveries give the same answer); ``None`` when there is none."""
    inside: deque[Entry] = deque()
    counts: Counter[str] = Counter()
    for entry in sorted(set(entries)):
        inside.append(entry)
        counts[entry.key] += 1
        while entry.at - inside[0].at > window:
            gone = inside.popleft()
            counts[gone.key] -= 1
            if not counts[gone.key]:
                del counts[gone.key]
        if len(counts) > threshold:
            return Burst(inside[0].at, entry.at, tuple(inside))
    return None
