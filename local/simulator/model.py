"""The portal's directory: users, groups, rooms, folders, files, shares, IP restrictions.

Plain mutable records; the scenario owns them and the server's lock guards them.
Times are epoch microseconds (UTC) throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATUS_ACTIVE = 1
STATUS_TERMINATED = 2
STATUS_PENDING = 4

ACTIVATION_ACTIVATED = 1
ACTIVATION_PENDING = 2


@dataclass
class ClientProfile:
    """Where and how a user connects from; audit and login events copy these fields."""

    ip: str
    country: str | None
    city: str | None
    browser: str
    platform: str


@dataclass
class User:
    id: str
    first_name: str
    last_name: str
    user_name: str
    email: str
    registered: int
    status: int = STATUS_ACTIVE
    activation_status: int = ACTIVATION_ACTIVATED
    terminated: int | None = None
    is_owner: bool = False
    is_admin: bool = False
    is_room_admin: bool = False
    is_collaborator: bool = False
    is_visitor: bool = False
    is_ldap: bool = False
    is_sso: bool = False
    group_ids: list[str] = field(default_factory=list)
    profiles: list[ClientProfile] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The plain display name, as audit and login events carry it."""
        return f"{self.first_name} {self.last_name}"

    @property
    def is_docspace_admin(self) -> bool:
        return self.is_admin or self.is_owner


@dataclass
class Group:
    id: str
    name: str
    manager_id: str | None
    member_ids: list[str]


@dataclass
class Folder:
    """A folder of any kind: the Rooms root, a "My documents" root, a room, a sub-folder."""

    id: int
    title: str
    parent_id: int
    folder_type: int
    owner_id: str
    created: int
    updated: int
    room_type: int | None = None
    room_id: int | None = None  # the enclosing room (itself for a room)
    personal_owner: str | None = None  # set inside someone's "My documents"

    @property
    def is_room(self) -> bool:
        return self.room_type is not None


@dataclass
class File:
    id: int
    title: str
    folder_id: int
    owner_id: str
    created: int
    updated: int
    version: int = 1
    size: int = 0
    deleted: bool = False
    modified_by: str | None = None
    provider_key: str | None = None  # third-party storage ("box", ...): string ids on the wire
    provider_id: int = 0


@dataclass
class Share:
    """One row of a room's share list: a user, a group or a link."""

    subject_type: int  # SubjectType: 0 user, 1 external link, 2 group, 3 invitation link, ...
    subject_id: str
    access: int
    is_owner: bool = False
    title: str = ""  # links only


@dataclass
class IpRestriction:
    id: int
    ip: str
    for_admin: bool


@dataclass
class IpRestrictionState:
    entries: list[IpRestriction] = field(default_factory=list)
    enable: bool = False
    last_modified: int = 0
    next_id: int = 1


@dataclass
class SsoState:
    """`SsoSettingsV2`, reduced to what the simulator serves. `sp_key` is the service
    provider's private key, which the real GET returns too (a client must drop it)."""

    enabled: bool = False
    entity_id: str = ""
    sso_url: str = ""
    slo_url: str = ""
    idp_certificate: str = ""
    sp_key: str = ""
    hide_auth_page: bool = False
    users_type: int = 1
    disable_email_verification: bool = False


@dataclass
class ApiKey:
    id: str
    name: str
    key_postfix: str  # the last characters the portal keeps and shows ("sk-...abcd")
    created_by: str
    created_on: int


@dataclass
class PortalSecurity:
    """The protection settings beyond IP restrictions and webhooks (the settings endpoints).

    Defaults are a fresh cloud portal's: 2FA off, password minimum 8, login settings 5
    attempts in 60 s block for 60 min, no session lifetime, Developer Tools open to users,
    no trusted mail domains, audit and login history kept 180 days, SSO configured off.
    """

    tfa: str = "none"  # "none", "sms" or "app"
    sms_visible: bool = False  # the "sms" row is only listed where SMS is sold
    tfa_trusted_ips: list[str] = field(default_factory=list)
    tfa_mandatory_users: list[str] = field(default_factory=list)
    tfa_mandatory_groups: list[str] = field(default_factory=list)
    password_min_length: int = 8
    password_upper_case: bool = False
    password_digits: bool = False
    password_spec_symbols: bool = False
    login_attempt_count: int = 5
    login_block_time: int = 60
    login_check_period: int = 60
    cookie_enabled: bool = False
    cookie_life_time: int = 0
    dev_tools_limited: bool = False
    trusted_domains_type: int = 0  # 0 none, 1 custom, 2 any domain
    trusted_domains: list[str] = field(default_factory=list)
    audit_life_time: int = 180
    login_history_life_time: int = 180
    sso: SsoState = field(default_factory=SsoState)
    sso_option: bool = True  # False: the tariff has no SSO, GET settings/ssov2 is a 402
    api_keys: list[ApiKey] = field(default_factory=list)
    last_modified: int = 0
