"""The files tree: rooms, their shares (users, groups, links), folders and files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from ..errors import MalformedRecord
from .people import Group, User
from .wire import _bool, _date, _int, _require_mapping, _str

# Access levels of a room share (FileShare on the wire).
ACCESS_ROOM_MANAGER = 9
# subjectType of a room share: 0 user, 2 group, 1/3/4 links.
SUBJECT_USER = 0
SUBJECT_GROUP = 2

ROOM_TYPE_VDR = 8


class RoomMember(NamedTuple):
    """One share of ``/files/rooms/{id}/share`` (``FileShareDto``): a user, a group or a link."""

    access: int | None
    subject_type: int | None
    user: User | None = None
    group: Group | None = None
    link_title: str | None = None
    is_owner: bool = False
    is_locked: bool = False

    @property
    def is_user(self) -> bool:
        return self.user is not None and self.subject_type in (None, SUBJECT_USER)

    @property
    def is_group(self) -> bool:
        return self.group is not None

    @property
    def is_link(self) -> bool:
        return not self.is_user and not self.is_group

    @property
    def is_manager(self) -> bool:
        return self.access == ACCESS_ROOM_MANAGER

    @classmethod
    def from_wire(cls, raw: Any) -> RoomMember:
        raw = _require_mapping("room member", raw)
        subject_type = _int(raw, "subjectType")
        user_raw = raw.get("sharedToUser")
        group_raw = raw.get("sharedToGroup")
        link_raw = raw.get("sharedLink")
        shared_to = raw.get("sharedTo")
        if (
            user_raw is None
            and subject_type in (None, SUBJECT_USER)
            and isinstance(shared_to, Mapping)
        ):
            user_raw = shared_to if "displayName" in shared_to or "email" in shared_to else None
        if group_raw is None and subject_type == SUBJECT_GROUP and isinstance(shared_to, Mapping):
            group_raw = shared_to
        return cls(
            access=_int(raw, "access"),
            subject_type=subject_type,
            user=User.from_wire(user_raw) if isinstance(user_raw, Mapping) else None,
            group=Group.from_wire(group_raw) if isinstance(group_raw, Mapping) else None,
            link_title=_str(link_raw, "title") if isinstance(link_raw, Mapping) else None,
            is_owner=_bool(raw, "isOwner"),
            is_locked=_bool(raw, "isLocked"),
        )


class Room(NamedTuple):
    """A room (``FolderDto`` with ``roomType``)."""

    id: int
    title: str | None = None
    room_type: int | None = None  # 1 forms, 2 editing, 5 custom, 6 public, 8 VDR, 9 AI
    parent_id: int | None = None
    root_folder_id: int | None = None
    root_folder_type: int | None = None
    created: datetime | None = None
    updated: datetime | None = None
    created_by: str | None = None
    files_count: int | None = None

    @property
    def is_vdr(self) -> bool:
        return self.room_type == ROOM_TYPE_VDR

    @classmethod
    def from_wire(cls, raw: Any) -> Room:
        raw = _require_mapping("room", raw)
        room_id = _int(raw, "id")
        if room_id is None:
            raise MalformedRecord("room", "missing id")
        created_by = raw.get("createdBy")
        return cls(
            id=room_id,
            title=_str(raw, "title"),
            room_type=_int(raw, "roomType"),
            parent_id=_int(raw, "parentId"),
            root_folder_id=_int(raw, "rootFolderId"),
            root_folder_type=_int(raw, "rootFolderType"),
            created=_date(raw, "created"),
            updated=_date(raw, "updated"),
            created_by=_str(created_by, "id") if isinstance(created_by, Mapping) else None,
            files_count=_int(raw, "filesCount"),
        )


class Folder(NamedTuple):
    """One entry of a folder path: the "Rooms" root, a room (``room_type`` set) or a folder."""

    id: int
    title: str | None = None
    room_type: int | None = None
    parent_id: int | None = None

    @classmethod
    def from_wire(cls, raw: Any) -> Folder:
        raw = _require_mapping("folder", raw)
        folder_id = _int(raw, "id")
        if folder_id is None:
            raise MalformedRecord("folder", "missing id")
        return cls(
            id=folder_id,
            title=_str(raw, "title"),
            room_type=_int(raw, "roomType"),
            parent_id=_int(raw, "parentId"),
        )


class FileEntry(NamedTuple):
    """``FileDto``: enough to find the folder a file lives in, and who changed it last (the
    real-time guard confirms webhook deliveries with ``updated`` and ``updated_by``)."""

    id: int
    title: str | None = None
    folder_id: int | None = None
    root_folder_id: int | None = None
    root_folder_type: int | None = None
    updated: datetime | None = None
    updated_by: str | None = None  # updatedBy.id
    created_by: str | None = None  # createdBy.id

    @classmethod
    def from_wire(cls, raw: Any) -> FileEntry:
        raw = _require_mapping("file", raw)
        file_id = _int(raw, "id")
        if file_id is None:
            raise MalformedRecord("file", "missing id")
        return cls(
            id=file_id,
            title=_str(raw, "title"),
            folder_id=_int(raw, "folderId"),
            root_folder_id=_int(raw, "rootFolderId"),
            root_folder_type=_int(raw, "rootFolderType"),
            updated=_date(raw, "updated"),
            updated_by=_person(raw, "updatedBy"),
            created_by=_person(raw, "createdBy"),
        )


def _person(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return _str(value, "id") if isinstance(value, Mapping) else None
