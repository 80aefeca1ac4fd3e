"""A portal's whole state: directory, event logs, IP restrictions, and what was planted.

`generate_scenario` (generate.py) builds one; tests read it and add events through the
public mutation API (`add_audit_event`, `add_login_event`). The server holds `lock`
around every request, so tests that mutate a scenario behind a running server should
hold it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.simulator.actions import LOCATION_FILES, LOCATION_FOLDERS, LOCATION_ROOMS, audit_action
from local.simulator.admin_actions import AdminActions
from local.simulator.enums import FOLDER_TYPE_USER
from local.simulator.events import NO_USER, AuditLog, LoginLog, Profile
from local.simulator.model import (
    ClientProfile,
    File,
    Folder,
    Group,
    IpRestrictionState,
    PortalSecurity,
    Share,
    User,
)
from local.simulator.planted_cases import Planted
from local.simulator.user_actions import PortalActions
from local.simulator.webhooks import WebhookHub
from local.simulator.wire import GUEST_ID, from_micros, parse_offset, to_micros

PORTAL = "https://sim.docspace.local"


@dataclass(frozen=True)
class Layout:
    """Structural facts of a generated portal (present whether or not cases are planted)."""

    rooms_root_id: int
    owner_id: str
    key_user_id: str
    admin_ids: tuple[str, ...]
    ldap_user_id: str
    sso_user_id: str
    disabled_user_id: str
    pending_user_id: str
    html_user_id: str  # a name with &, ' and <, HTML-encoded in displayName
    renamed_room_id: int  # renamed mid-history via 5071; older events carry the old title
    renamed_room_old_title: str
    renamed_at: datetime
    duplicate_title: str  # two rooms share this title
    duplicate_title_room_ids: tuple[int, int]
    overlapping_id: int  # both a file id and a room id
    deleted_file_id: int  # 404
    foreign_personal_file_id: int  # in another user's "My documents": 403
    own_personal_file_id: int  # in the API key user's "My documents": 200


@dataclass
class Scenario:
    seed: int
    tenant_offset: str
    now: datetime
    audit_option: bool
    users: list[User]
    groups: dict[str, Group]
    folders: dict[int, Folder]
    files: dict[int, File]
    shares: dict[int, list[Share]]
    audit: AuditLog
    logins: LoginLog
    layout: Layout
    planted: Planted = field(default_factory=Planted.empty)
    ip_restrictions: IpRestrictionState = field(default_factory=IpRestrictionState)
    #: 2FA, password, login, session, SSO, Developer Tools, trusted domains, audit lifetime.
    portal_security: PortalSecurity = field(default_factory=PortalSecurity)
    #: Test hook: wire fields of given audit event ids replaced (a value) or removed (None),
    #: to serve the malformed rows a client must count and skip.
    audit_overrides: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: The portal's language: audit texts and module names are served in it ("ru-RU" has
    #: Russian texts; anything else is English).
    culture: str = "en-US"
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _started: float = field(default_factory=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        self.offset_minutes = parse_offset(self.tenant_offset)
        self._user_index = {u.id: i for i, u in enumerate(self.users)}
        #: Webhook configs and the sender: actions below publish to it.
        self.webhooks = WebhookHub(self)
        #: File changes and downloads by a user: audit events and webhooks together.
        self.actions = PortalActions(self)
        #: A test acting as an administrator outside the product (settings, admins, webhooks).
        self.admin_actions = AdminActions(self)

    # --- clock -------------------------------------------------------------------------

    def clock(self) -> int:
        """Scenario time in epoch microseconds: `now` plus the time since generation."""
        return to_micros(self.now) + int((time.monotonic() - self._started) * 1_000_000)

    # --- lookups -----------------------------------------------------------------------

    @property
    def owner(self) -> User:
        return self.user_by_id(self.layout.owner_id)

    @property
    def key_user(self) -> User:
        """The user the API key belongs to: an admin, not the owner."""
        return self.user_by_id(self.layout.key_user_id)

    def find_user(self, key: str) -> User | None:
        """By GUID (any case) or by user name."""
        index = self._user_index.get(key.lower())
        if index is not None:
            return self.users[index]
        return next((u for u in self.users if u.user_name == key), None)

    def add_user(self, user: User, *, rooms: Sequence[tuple[int, int]] = ()) -> User:
        """Add a person (tests grow rooms with this) and share rooms with them:
        ``rooms`` holds ``(room_id, access)`` pairs."""
        with self.lock:
            self._user_index[user.id.lower()] = len(self.users)
            self.users.append(user)
            for room_id, access in rooms:
                self.shares.setdefault(room_id, []).append(Share(0, user.id, access))
        return user

    def user_by_id(self, user_id: str) -> User:
        return self.users[self._user_index[user_id]]

    def user_index(self, user_id: str) -> int | None:
        return self._user_index.get(user_id.lower())

    @property
    def rooms(self) -> list[Folder]:
        return [f for f in self.folders.values() if f.is_room]

    def room(self, room_id: int) -> Folder | None:
        folder = self.folders.get(room_id)
        return folder if folder is not None and folder.is_room else None

    def members(self, room_id: int) -> list[str]:
        """User ids with access to a room, directly or through a group share."""
        result: list[str] = []
        for share in self.shares.get(room_id, []):
            if share.subject_type == 0:
                result.append(share.subject_id)
            elif share.subject_type == 2:
                result.extend(self.groups[share.subject_id].member_ids)
        return list(dict.fromkeys(result))

    def overlap_ids(self) -> set[int]:
        """Numbers that are both a file id and a room id."""
        return {r.id for r in self.rooms} & set(self.files)

    def context_of_folder(self, folder_id: int) -> str:
        folder = self.folders[folder_id]
        if folder.room_id is not None:
            return "Rooms: " + self.folders[folder.room_id].title
        if folder.personal_owner is not None or folder.folder_type == FOLDER_TYPE_USER:
            return "My documents"
        return "Files"

    def new_folder_id(self) -> int:
        return max(self.folders) + 1

    # --- mutation API -------------------------------------------------------------------

    def add_audit_event(
        self,
        action: int,
        *,
        user_id: str | None = None,
        date: datetime | None = None,
        target: Sequence[str | int] | None = None,
        parts: Sequence[str] | None = None,
        context: str | None = None,
        ip: str | None = None,
        publish: bool = True,
    ) -> int:
        """Append an audit event in date order and return its id.

        Defaults: the API key's user, scenario time, and the description, context and
        client profile a real event of that kind would carry (a file target names the
        file and its room's current title; a room target names the room). An action
        with a webhook trigger (file, folder, room, user) is also published to the
        matching webhook configs, with `event.createOn` at the event's date, unless
        `publish` is False.
        """
        with self.lock:
            info = audit_action(action)
            user = self.user_by_id(user_id) if user_id else self.key_user
            targets = tuple(str(t) for t in target) if target else ()
            micros = self.clock() if date is None else to_micros(date)
            default_parts, default_context = self._describe(info.location, targets)
            profile = user.profiles[0] if user.profiles else None
            row = self.audit.encode(
                user=self._user_index[user.id],
                action=action,
                target=targets,
                parts=tuple(parts) if parts is not None else default_parts,
                context=context if context is not None else default_context,
                profile=_profile(profile, ip),
            )
            event_id = self.audit.append(micros, row)
            if publish:
                self.webhooks.on_audit(action, user.id, targets, micros)
            return event_id

    def add_login_event(
        self,
        action: int,
        *,
        login: str | None = None,
        user_id: str | None = None,
        date: datetime | None = None,
        ip: str | None = None,
        page: str | None = None,
    ) -> int:
        """Append a login event and return its id; no user_id means the Guest caller."""
        with self.lock:
            user = self.user_by_id(user_id) if user_id else None
            micros = self.clock() if date is None else to_micros(date)
            if user is None and login is None:
                raise ValueError("a guest login event needs the login string")
            profile = user.profiles[0] if user and user.profiles else None
            row = self.logins.encode(
                user=NO_USER if user is None else self._user_index[user.id],
                action=action,
                login=login or (user.email if user else ""),
                profile=_profile(profile, ip),
                page=page or f"{PORTAL}/api/2.0/authentication",
            )
            return self.logins.append(micros, row)

    def _describe(self, location: int, targets: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
        if not targets or not targets[0].isdigit():
            return (), _module(location)
        entry = int(targets[0])
        if location == LOCATION_FILES and entry in self.files:
            file = self.files[entry]
            return (file.title,), self.context_of_folder(file.folder_id)
        if location in (LOCATION_FOLDERS, LOCATION_ROOMS) and entry in self.folders:
            return (self.folders[entry].title,), self.context_of_folder(entry)
        return (), _module(location)

    def user_name_at(self, index: int) -> str:
        return self.users[index].name if index >= 0 else "Anonymous"

    def user_id_at(self, index: int) -> str:
        return self.users[index].id if index >= 0 else GUEST_ID

    def date_of(self, micros: int) -> datetime:
        return from_micros(micros)


def _module(location: int) -> str:
    return {
        1: "Files",
        2: "Folders",
        3: "Settings",
        27: "Rooms",
        29: "Settings",
        30: "Contacts",
    }.get(location, "Files")


def _profile(base: ClientProfile | None, ip: str | None) -> Profile:
    if base is not None:
        return Profile(ip or base.ip, base.country, base.city, base.browser, base.platform)
    return Profile(ip or "127.0.0.1", None, None, "Python Requests 2", "Other")
