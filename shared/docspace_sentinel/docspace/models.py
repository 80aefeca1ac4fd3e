"""Typed records parsed once, tolerantly, from DocSpace wire JSON.

Records are ``NamedTuple`` classes: immutable and typed like frozen dataclasses, but a tenth of
the cost to define (a handler's cold start imports every one of them) and cheaper to build (a
scan builds one per event).

Rules (see ``docs/docspace-api.md``): the server omits null properties, so every field but the
identity of a record is optional and becomes ``None``; enums are open integers (a newer server
adds ``actionId`` values), kept as ``int`` and never rejected; ``displayName`` arrives
HTML-encoded and is decoded here. A record without a usable ``id`` or ``date`` raises
``MalformedRecord``, which scans count and skip.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from .dates import parse_wire_date
from .errors import MalformedRecord

Wire = Mapping[str, Any]

# Access levels of a room share (FileShare on the wire).
ACCESS_ROOM_MANAGER = 9
# subjectType of a room share: 0 user, 2 group, 1/3/4 links.
SUBJECT_USER = 0
SUBJECT_GROUP = 2

# EmployeeStatus.
STATUS_ACTIVE = 1
STATUS_TERMINATED = 2
STATUS_PENDING = 4

ROOM_TYPE_VDR = 8


def _require_mapping(kind: str, raw: Any) -> Wire:
    if not isinstance(raw, Mapping):
        raise MalformedRecord(kind, f"expected an object, got {type(raw).__name__}")
    return raw


def _int(raw: Wire, key: str) -> int | None:
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_int(value)
    return None


def parse_int(text: str) -> int | None:
    """A plain ASCII integer ("-12"), or None: no "²", "١٢", "--5" or 5000-digit numbers."""
    digits = text[1:] if text.startswith("-") else text
    if not digits or len(digits) > 18 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def _s(value: Any) -> str | None:
    return value if value.__class__ is str else None


def _i(value: Any) -> int | None:
    if value.__class__ is int:
        return value
    return parse_int(value) if value.__class__ is str else None


def _str(raw: Wire, key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _bool(raw: Wire, key: str) -> bool:
    return raw.get(key) is True


def _date(raw: Wire, key: str) -> datetime | None:
    value = raw.get(key)
    if not isinstance(value, str):
        return None
    try:
        return parse_wire_date(value)
    except ValueError:
        return None


def _int_list(raw: Wire, key: str) -> tuple[int, ...]:
    value = raw.get(key)
    if not isinstance(value, list):
        return ()
    items = tuple(value)
    if set(map(type, items)) <= _INT:  # the usual case, checked in C
        return items
    return tuple(v for v in items if isinstance(v, int) and not isinstance(v, bool))


def _str_list(raw: Wire, key: str) -> tuple[str, ...]:
    value = raw.get(key)
    if not isinstance(value, list):
        return ()
    items = tuple(value)
    if set(map(type, items)) <= _STR:
        return items
    return tuple(str(v) for v in items if isinstance(v, str | int) and not isinstance(v, bool))


_INT = frozenset({int})
_STR = frozenset({str})


def _identity(kind: str, raw: Wire) -> tuple[int, datetime]:
    event_id = raw.get("id")
    if event_id.__class__ is not int:  # bool is an int subclass: rejected too
        raise MalformedRecord(kind, "missing or non-integer id", event_id)
    date = raw.get("date")
    if date.__class__ is not str:
        raise MalformedRecord(kind, "missing date", event_id)
    try:
        return event_id, parse_wire_date(date)
    except ValueError as exc:
        raise MalformedRecord(kind, f"unparseable date {date!r} ({exc})", event_id) from None


class AuditEvent(NamedTuple):
    """One row of ``/security/audit/events/*`` (``AuditEventDto``)."""

    id: int
    date: datetime
    action_id: int
    user_id: str | None = None
    user: str | None = None
    action: str | None = None  # localized text: never key logic on it
    ip: str | None = None
    country: str | None = None
    city: str | None = None
    browser: str | None = None
    platform: str | None = None
    page: str | None = None
    action_type: int | None = None
    product: int | None = None
    location: int | None = None
    target: tuple[str, ...] = ()
    entries: tuple[int, ...] = ()
    context: str | None = None  # "Rooms: <title>" for entries in rooms (prefix is localized)

    @classmethod
    def from_wire(cls, raw: Any) -> AuditEvent:
        # The hot path of every scan (one call per event): the checks of the _s/_i/_str_list
        # helpers above are inlined where a call per field would double the cost.
        if raw.__class__ is not dict:
            raw = _require_mapping("audit event", raw)
        event_id, date = _identity("audit event", raw)
        get = raw.get
        action_id = get("actionId")
        if action_id.__class__ is not int:
            action_id = _int(raw, "actionId")
            if action_id is None:
                raise MalformedRecord("audit event", "missing actionId", event_id)
        target = get("target")
        entries = get("entries")
        return cls(
            event_id,
            date,
            action_id,
            _s(get("userId")),
            _s(get("user")),
            _s(get("action")),
            _s(get("ip")),
            _s(get("country")),
            _s(get("city")),
            _s(get("browser")),
            _s(get("platform")),
            _s(get("page")),
            _i(get("actionType")),
            _i(get("product")),
            _i(get("location")),
            _str_list(raw, "target") if target is not None else (),
            _int_list(raw, "entries") if entries is not None else (),
            _s(get("context")),
        )


class LoginEvent(NamedTuple):
    """One row of ``/security/audit/login/*`` (``LoginEventDto``: no target, no context)."""

    id: int
    date: datetime
    action_id: int
    user_id: str | None = None
    user: str | None = None
    login: str | None = None
    action: str | None = None
    ip: str | None = None  # the server cuts IPv6 addresses at the first ':'
    country: str | None = None
    city: str | None = None
    browser: str | None = None
    platform: str | None = None
    page: str | None = None

    @classmethod
    def from_wire(cls, raw: Any) -> LoginEvent:
        raw = _require_mapping("login event", raw)
        event_id, date = _identity("login event", raw)
        action_id = _int(raw, "actionId")
        if action_id is None:
            raise MalformedRecord("login event", "missing actionId", event_id)
        return cls(
            id=event_id,
            date=date,
            action_id=action_id,
            user_id=_str(raw, "userId"),
            user=_str(raw, "user"),
            login=_str(raw, "login"),
            action=_str(raw, "action"),
            ip=_str(raw, "ip"),
            country=_str(raw, "country"),
            city=_str(raw, "city"),
            browser=_str(raw, "browser"),
            platform=_str(raw, "platform"),
            page=_str(raw, "page"),
        )


class User(NamedTuple):
    """``EmployeeFullDto`` (or the shorter ``EmployeeDto`` inside shares and groups)."""

    id: str
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    user_name: str | None = None
    email: str | None = None
    status: int | None = None  # 1 Active, 2 Terminated (disabled), 4 Pending
    activation_status: int | None = None
    is_admin: bool = False  # DocSpace admin; false for the owner
    is_owner: bool = False
    is_room_admin: bool = False
    is_collaborator: bool = False
    is_visitor: bool = False
    is_ldap: bool = False
    is_sso: bool = False
    terminated: datetime | None = None

    @property
    def is_disabled(self) -> bool:
        return self.status == STATUS_TERMINATED

    @property
    def label(self) -> str:
        return self.display_name or self.email or self.user_name or self.id

    @classmethod
    def from_wire(cls, raw: Any) -> User:
        raw = _require_mapping("user", raw)
        user_id = _str(raw, "id")
        if not user_id:
            raise MalformedRecord("user", "missing id")
        name = _str(raw, "displayName")
        return cls(
            id=user_id,
            display_name=html.unescape(name) if name is not None else None,
            first_name=_str(raw, "firstName"),
            last_name=_str(raw, "lastName"),
            user_name=_str(raw, "userName"),
            email=_str(raw, "email"),
            status=_int(raw, "status"),
            activation_status=_int(raw, "activationStatus"),
            is_admin=_bool(raw, "isAdmin"),
            is_owner=_bool(raw, "isOwner"),
            is_room_admin=_bool(raw, "isRoomAdmin"),
            is_collaborator=_bool(raw, "isCollaborator"),
            is_visitor=_bool(raw, "isVisitor"),
            is_ldap=_bool(raw, "isLDAP"),
            is_sso=_bool(raw, "isSSO"),
            terminated=_date(raw, "terminated"),
        )


class Group(NamedTuple):
    id: str
    name: str | None = None
    members: tuple[User, ...] = ()

    @classmethod
    def from_wire(cls, raw: Any) -> Group:
        raw = _require_mapping("group", raw)
        group_id = _str(raw, "id")
        if not group_id:
            raise MalformedRecord("group", "missing id")
        members = raw.get("members")
        return cls(
            id=group_id,
            name=_str(raw, "name"),
            members=tuple(
                User.from_wire(m) for m in members if isinstance(m, Mapping) and _str(m, "id")
            )
            if isinstance(members, list)
            else (),
        )


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
    """``FileDto``: enough to find the folder a file lives in."""

    id: int
    title: str | None = None
    folder_id: int | None = None
    root_folder_id: int | None = None
    root_folder_type: int | None = None

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
        )


class IpRestriction(NamedTuple):
    """One portal IP-restriction entry: a single address, for everyone or for admins only."""

    ip: str
    for_admin: bool = False
    id: int | None = None

    @classmethod
    def from_wire(cls, raw: Any) -> IpRestriction:
        raw = _require_mapping("ip restriction", raw)
        ip = _str(raw, "ip")
        if not ip:
            raise MalformedRecord("ip restriction", "missing ip", raw.get("id"))
        return cls(ip=ip, for_admin=_bool(raw, "forAdmin"), id=_int(raw, "id"))

    def to_wire(self) -> dict[str, Any]:
        return {"ip": self.ip, "forAdmin": self.for_admin}


class IpRestrictionSettings(NamedTuple):
    enable: bool
    last_modified: str | None = None  # a plain DateTime string, not an ApiDateTime

    @classmethod
    def from_wire(cls, raw: Any) -> IpRestrictionSettings:
        raw = _require_mapping("ip restriction settings", raw)
        return cls(enable=_bool(raw, "enable"), last_modified=_str(raw, "lastModified"))
