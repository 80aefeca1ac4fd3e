"""Typed records parsed once, tolerantly, from DocSpace wire JSON.

One module per kind of record: ``events`` (audit and login events), ``people`` (users,
groups), ``files`` (rooms, shares, folders, files), ``ip_restrictions``, ``webhooks``, ``portal_settings``; ``wire``
holds the field readers they share. Everything is re-exported here, the one import path callers use.

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

from ..webhook_triggers import SENTINEL_TRIGGERS
from .events import AuditEvent, LoginEvent
from .files import (
    ACCESS_ROOM_MANAGER,
    ROOM_TYPE_VDR,
    SUBJECT_GROUP,
    SUBJECT_USER,
    FileEntry,
    Folder,
    Room,
    RoomMember,
)
from .ip_restrictions import IpRestriction, IpRestrictionSettings
from .people import STATUS_ACTIVE, STATUS_PENDING, STATUS_TERMINATED, Group, User
from .portal_settings import (
    AuditSettings,
    CookieSettings,
    DevToolsAccess,
    LoginSettings,
    PasswordSettings,
    PortalSettings,
    SsoSettings,
    TfaSetting,
)
from .webhooks import WebhookConfig
from .wire import Wire, parse_int

__all__ = [
    "ACCESS_ROOM_MANAGER",
    "ROOM_TYPE_VDR",
    "SENTINEL_TRIGGERS",
    "STATUS_ACTIVE",
    "STATUS_PENDING",
    "STATUS_TERMINATED",
    "SUBJECT_GROUP",
    "SUBJECT_USER",
    "AuditEvent",
    "AuditSettings",
    "CookieSettings",
    "DevToolsAccess",
    "FileEntry",
    "Folder",
    "Group",
    "IpRestriction",
    "IpRestrictionSettings",
    "LoginEvent",
    "LoginSettings",
    "PasswordSettings",
    "PortalSettings",
    "Room",
    "RoomMember",
    "SsoSettings",
    "TfaSetting",
    "User",
    "WebhookConfig",
    "Wire",
    "parse_int",
]
