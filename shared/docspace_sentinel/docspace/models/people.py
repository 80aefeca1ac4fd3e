"""Users and groups (``EmployeeFullDto``, ``EmployeeDto``, ``GroupDto``)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from ..errors import MalformedRecord
from .wire import _bool, _date, _int, _require_mapping, _str

# EmployeeStatus.
STATUS_ACTIVE = 1
STATUS_TERMINATED = 2
STATUS_PENDING = 4


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
