"""The DocSpace client: one place for endpoints and the server's quirks.

Workflows never build URLs or unwrap envelopes; they call these methods and get typed records.
Histories are generators: a scan holds one page (100 rows) at a time, never a whole history.
The paged reads and their guards are in ``paging``. (Some 360 lines: one method per endpoint,
read together as the table of contents of the API we use.)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from typing import Any

from .dates import format_query_date
from .errors import MalformedRecord, MalformedResponse
from .models import (
    AuditEvent,
    AuditSettings,
    CookieSettings,
    DevToolsAccess,
    FileEntry,
    Folder,
    Group,
    IpRestriction,
    IpRestrictionSettings,
    LoginEvent,
    LoginSettings,
    PasswordSettings,
    PortalSettings,
    Room,
    RoomMember,
    SsoSettings,
    TfaSetting,
    User,
    WebhookConfig,
    parse_int,
)
from .paging import (
    MAX_PAGES_PER_READ,
    ScanStats,
    Suspect,
    as_list,
    as_object,
    check_audit_page,
    pages_in_response,
    pages_with_total,
    pages_without_total,
    parse_page,
    parse_rows,
    share_ids,
)
from .secret import Secret
from .settings import ClientSettings
from .transport import Envelope, Transport

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_ONE_SECOND = timedelta(seconds=1)


def guid(value: str, name: str = "userId") -> str:
    """Validate a GUID before it reaches a URL (``../settings`` or ``?x=`` must not pass)."""
    if not isinstance(value, str) or not _GUID.fullmatch(value):
        raise ValueError(f"{name} must be a GUID, got {value!r}")
    return value.lower()


def int_id(value: int | str, name: str = "id") -> int:
    """Validate a room, folder or file id (a positive integer) before it reaches a URL."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(value, str):
        value = parse_int(value) or 0
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class DocSpaceClient:
    """A typed DocSpace REST client on ``requests``.

    ``DocSpaceClient.from_env()`` reads ``DOCSPACE_URL`` and the API key (see ``settings``).
    """

    def __init__(self, settings: ClientSettings, **transport_options: Any) -> None:
        self.settings = settings
        self.transport = Transport(settings, **transport_options)
        self.max_pages = MAX_PAGES_PER_READ

    @classmethod
    def from_env(cls, **transport_options: Any) -> DocSpaceClient:
        return cls(ClientSettings.from_env(), **transport_options)

    @property
    def portal_url(self) -> str:
        return self.settings.url

    @property
    def requests_sent(self) -> int:
        return self.transport.requests_sent

    @property
    def rate_limited(self) -> int:
        """429 answers the portal sent this client (the transport waited and retried them)."""
        return self.transport.rate_limited

    def __repr__(self) -> str:
        return f"DocSpaceClient({self.settings.url!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> DocSpaceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _get(
        self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None
    ) -> Envelope:
        return self.transport.request("GET", path, params=params)

    # -- audit trail ------------------------------------------------------------------------

    def audit_events(
        self,
        from_: datetime,
        to: datetime,
        *,
        user_id: str | None = None,
        action: int | None = None,
        action_type: int | None = None,
        stats: ScanStats | None = None,
    ) -> Iterator[AuditEvent]:
        """Audit events with ``from_ <= date <= to``, newest first, one page at a time.

        The server filters before paging here (unlike the login filter). ``moduleType`` is never
        sent: any non-zero value is a 500 on DocSpace 3.6-3.7.
        """
        stats = stats if stats is not None else ScanStats()
        path = "security/audit/events/filter"
        params: dict[str, Any] = {
            "from": format_query_date(from_),
            "to": format_query_date(to, round_up=True),
        }
        if user_id is not None:
            params["userId"] = guid(user_id)
        if action is not None:
            params["action"] = int(action)
        if action_type is not None:
            params["actionType"] = int(action_type)
        low = from_.replace(microsecond=0)
        high = to.replace(microsecond=0) + _ONE_SECOND
        previous: set[int] = set()
        suspect = Suspect()
        for page in pages_without_total(self._get, path, params, stats, self.max_pages, suspect):
            events = parse_page(page, AuditEvent.from_wire, stats)
            stats.rows += len(events)
            current = {event.id for event in events}
            if not previous.isdisjoint(current):
                # New events push older ones back by a few places between two pages.
                stats.duplicates += len(previous & current)
                events = [event for event in events if event.id not in previous]
            events = check_audit_page(events, low, high, user_id, action, stats, suspect)
            yield from events
            previous = current

    def last_audit_events(self) -> list[AuditEvent]:
        envelope = self._get("security/audit/events/last")
        rows = as_list(envelope, "security/audit/events/last")
        return list(parse_rows(rows, AuditEvent.from_wire, ScanStats()))

    # -- login history ----------------------------------------------------------------------

    def login_events(
        self,
        from_: datetime,
        to: datetime,
        *,
        user_id: str | None = None,
        actions: Collection[int] | None = None,
        stats: ScanStats | None = None,
    ) -> Iterator[LoginEvent]:
        """Login events with ``from_ <= date <= to``, newest first, filtered on our side.

        ``login/filter`` cuts its page from the *unfiltered* newest-first stream and filters
        afterwards, so a filtered page can be short or empty while matches exist further back.
        We page with no filters and filter here, stopping once dates fall before ``from_``.
        """
        stats = stats if stats is not None else ScanStats()
        path = "security/audit/login/filter"
        wanted_user = guid(user_id) if user_id is not None else None
        wanted_actions = frozenset(actions) if actions is not None else None
        previous: set[int] = set()
        for page in pages_without_total(self._get, path, {}, stats, self.max_pages):
            current: set[int] = set()
            past_start = False
            for event in parse_rows(page, LoginEvent.from_wire, stats):
                stats.rows += 1
                current.add(event.id)
                if event.date < from_:
                    past_start = True
                    continue
                if event.id in previous:
                    stats.duplicates += 1
                    continue
                if event.date > to:
                    continue
                if wanted_user is not None and (event.user_id or "").lower() != wanted_user:
                    continue
                if wanted_actions is not None and event.action_id not in wanted_actions:
                    continue
                yield event
            if past_start:
                return
            previous = current

    def last_login_events(self) -> list[LoginEvent]:
        envelope = self._get("security/audit/login/last")
        rows = as_list(envelope, "security/audit/login/last")
        return list(parse_rows(rows, LoginEvent.from_wire, ScanStats()))

    # -- people -----------------------------------------------------------------------------

    def user(self, user_id: str) -> User:
        path = f"people/{guid(user_id)}"
        return User.from_wire(as_object(self._get(path), path))

    def me(self) -> User:
        """The user the API key acts as (its creator)."""
        return User.from_wire(as_object(self._get("people/@self"), "people/@self"))

    def users(
        self,
        *,
        status: int | None = None,
        is_admin: bool | None = None,
        search: str | None = None,
        stats: ScanStats | None = None,
    ) -> Iterator[User]:
        """People matching the filter (``/people/filter``), all statuses unless given."""
        stats = stats if stats is not None else ScanStats()
        params: dict[str, Any] = {}
        if status is not None:
            params["employeeStatus"] = int(status)
        if is_admin is not None:
            params["isAdministrator"] = "true" if is_admin else "false"
        if search:
            params["filterValue"] = search
        for page in pages_with_total(self._get, "people/filter", params, stats, self.max_pages):
            yield from parse_rows(page, User.from_wire, stats)

    def users_by_email(self, email: str) -> list[User]:
        """Users whose email is exactly ``email`` (case-insensitive)."""
        wanted = email.strip().lower()
        return [u for u in self.users(search=wanted) if (u.email or "").lower() == wanted]

    def set_user_status(self, user_ids: Collection[str], status: int) -> list[User]:
        """``PUT /people/status/{1|2}``: 1 enables, 2 disables.

        All-or-nothing on the server: if any id is the owner, the caller, an admin (unless the
        caller is the owner), LDAP, or unknown, the whole call is a 403 and nothing changes.
        Call it for one user at a time so one protected id cannot block the others.
        """
        if status not in (1, 2):
            raise ValueError("status must be 1 (active) or 2 (disabled)")
        ids = [guid(u) for u in user_ids]
        path = f"people/status/{status}"
        envelope = self.transport.request("PUT", path, body={"userIds": ids, "resendAll": False})
        return list(parse_rows(as_list(envelope, path), User.from_wire, ScanStats()))

    def logout_all(self, user_id: str) -> None:
        """Log a user out of every session (``PUT /security/activeconnections/logoutall/{id}``)."""
        self.transport.request("PUT", f"security/activeconnections/logoutall/{guid(user_id)}")

    def group(self, group_id: str) -> Group:
        path = f"group/{guid(group_id, 'groupId')}"
        return Group.from_wire(as_object(self._get(path), path))

    # -- IP restrictions --------------------------------------------------------------------

    def ip_restrictions(self) -> list[IpRestriction]:
        """The portal's whole list. Read strictly: the list is only ever written back whole, so
        a row skipped here would be deleted from the portal by the next write."""
        path = "settings/iprestrictions"
        rows = as_list(self._get(path), path)
        try:
            return [IpRestriction.from_wire(row) for row in rows]
        except MalformedRecord as exc:
            raise MalformedResponse(
                f"an IP-restriction row cannot be read ({exc}); refusing to work with a partial "
                "list that a write would cut short",
                path=path,
            ) from None

    def ip_restriction_settings(self) -> IpRestrictionSettings:
        path = "settings/iprestrictions/settings"
        return IpRestrictionSettings.from_wire(as_object(self._get(path), path))

    def put_ip_restrictions(
        self, entries: Collection[IpRestriction], *, enable: bool | None = None
    ) -> list[IpRestriction]:
        """Replace the portal's whole list (single addresses only; CIDR and ranges are a 400).

        ``enable`` omitted keeps the server's rule: enabled when the list is not empty.
        """
        import ipaddress

        for entry in entries:
            try:
                ipaddress.ip_address(entry.ip)
            except ValueError:
                raise ValueError(
                    f"IP restrictions take single addresses only, got {entry.ip!r}"
                ) from None
        if enable and not entries:
            raise ValueError(
                "refusing to enable IP restrictions with an empty list (a 400 on the portal)"
            )
        body: dict[str, Any] = {"ipRestrictions": [e.to_wire() for e in entries]}
        if enable is not None:
            body["enable"] = enable
        path = "settings/iprestrictions"
        response = as_object(self.transport.request("PUT", path, body=body), path)
        echoed = response.get("ipRestrictions")
        rows = echoed if isinstance(echoed, list) else []
        return list(parse_rows(rows, IpRestriction.from_wire, ScanStats()))

    # -- portal protection settings (read-only; the settings snapshot) -----------------------

    def portal_settings(self) -> PortalSettings:
        """``GET settings``: the owner's id and the trusted mail domains."""
        return PortalSettings.from_wire(as_object(self._get("settings"), "settings"))

    def tfa_settings(self) -> list[TfaSetting]:
        """``GET settings/tfaapp``: one row per second factor the portal offers ("sms" only
        where SMS is sold). Rows that cannot be read are skipped."""
        path = "settings/tfaapp"
        return list(parse_rows(as_list(self._get(path), path), TfaSetting.from_wire, ScanStats()))

    def password_settings(self) -> PasswordSettings:
        path = "settings/security/password"
        return PasswordSettings.from_wire(as_object(self._get(path), path))

    def login_settings(self) -> LoginSettings:
        path = "settings/security/loginSettings"
        return LoginSettings.from_wire(as_object(self._get(path), path))

    def cookie_settings(self) -> CookieSettings:
        """``GET settings/cookiesettings``: the session lifetime."""
        path = "settings/cookiesettings"
        return CookieSettings.from_wire(as_object(self._get(path), path))

    def dev_tools_access(self) -> DevToolsAccess:
        path = "settings/devtoolsaccess"
        return DevToolsAccess.from_wire(as_object(self._get(path), path))

    def sso_settings(self) -> SsoSettings:
        """``GET settings/ssov2`` (402 without the SSO option). Secrets are dropped on read."""
        path = "settings/ssov2"
        return SsoSettings.from_wire(as_object(self._get(path), path))

    def audit_settings(self) -> AuditSettings:
        """``GET security/audit/settings/lifetime`` (an admin; 402 where the plan hides it)."""
        path = "security/audit/settings/lifetime"
        return AuditSettings.from_wire(as_object(self._get(path), path))

    # -- rooms and files --------------------------------------------------------------------

    def rooms(
        self, *, room_types: Collection[int] = (), stats: ScanStats | None = None
    ) -> Iterator[Room]:
        """Active rooms, optionally of the given ``roomType`` values (8 = Virtual Data Room).

        The rooms list keeps its paging inside ``response`` (``total``, ``count``), not in the
        envelope.
        """
        stats = stats if stats is not None else ScanStats()
        path = "files/rooms"
        params = [("type", int(t)) for t in room_types]
        for folders in pages_in_response(self._get, path, params, stats, self.max_pages):
            yield from parse_rows(folders, Room.from_wire, stats)

    def room(self, room_id: int | str) -> Room:
        path = f"files/rooms/{int_id(room_id, 'roomId')}"
        return Room.from_wire(as_object(self._get(path), path))

    def room_members(
        self, room_id: int | str, *, filter_type: int = 0, stats: ScanStats | None = None
    ) -> Iterator[RoomMember]:
        """Shares of a room (``filterType`` 0: users and groups; 16 users; 32 groups; 15 links)."""
        stats = stats if stats is not None else ScanStats()
        path = f"files/rooms/{int_id(room_id, 'roomId')}/share"
        params = {"filterType": int(filter_type)}
        for page in pages_with_total(self._get, path, params, stats, self.max_pages, share_ids):
            yield from parse_rows(page, RoomMember.from_wire, stats)

    def create_room(self, title: str, room_type: int = 8) -> Room:
        """Create a room (``roomType`` 8 is a Virtual Data Room). An administrator's action."""
        if not title.strip():
            raise ValueError("a room needs a title")
        path = "files/rooms"
        envelope = self.transport.request(
            "POST", path, body={"title": title, "roomType": int(room_type)}
        )
        return Room.from_wire(as_object(envelope, path))

    def file(self, file_id: int | str) -> FileEntry:
        """A file's entry (403 for another user's "My documents", 404 once deleted)."""
        path = f"files/file/{int_id(file_id, 'fileId')}"
        return FileEntry.from_wire(as_object(self._get(path), path))

    def folder_path(self, folder_id: int | str) -> list[Folder]:
        """Breadcrumbs from the "Rooms" root down to the folder; the room carries ``roomType``."""
        path = f"files/folder/{int_id(folder_id, 'folderId')}/path"
        return list(parse_rows(as_list(self._get(path), path), Folder.from_wire, ScanStats()))

    # -- webhooks ---------------------------------------------------------------------------

    def webhooks(self) -> list[WebhookConfig]:
        """Every webhook the caller may see (an admin: all), with its last delivery's status.

        A row that cannot be read is skipped: no write is built from this list."""
        path = "settings/webhook"
        rows = as_list(self._get(path), path)
        return list(parse_rows(rows, WebhookConfig.from_listing, ScanStats()))

    def create_webhook(
        self, name: str, uri: str, secret: Secret, triggers: int, *, ssl: bool = True
    ) -> WebhookConfig:
        """``POST settings/webhook``. The portal probes ``uri`` with a HEAD first (2xx or 400)
        and checks ``secret`` against its password policy. The secret is a ``Secret`` so any
        error message that echoes it is redacted."""
        path = "settings/webhook"
        body = _webhook_body(name, uri, triggers, ssl=ssl, enabled=True)
        body["secretKey"] = secret.reveal()
        return WebhookConfig.from_wire(
            as_object(self.transport.request("POST", path, body=body), path)
        )

    def update_webhook(
        self,
        webhook_id: int,
        name: str,
        uri: str,
        triggers: int,
        *,
        ssl: bool = True,
        enabled: bool = True,
        secret: Secret | None = None,
        target_id: str | None = None,
    ) -> WebhookConfig:
        """``PUT settings/webhook``: overwrites name, uri, enabled, ssl, triggers and targetId
        (an omitted ``target_id`` clears it); no ``secret`` keeps the old one."""
        path = "settings/webhook"
        body = _webhook_body(name, uri, triggers, ssl=ssl, enabled=enabled)
        body["id"] = int_id(webhook_id, "webhookId")
        if target_id:
            body["targetId"] = target_id
        if secret is not None:
            body["secretKey"] = secret.reveal()
        return WebhookConfig.from_wire(
            as_object(self.transport.request("PUT", path, body=body), path)
        )

    def enable_webhook(self, webhook_id: int, enabled: bool, name: str, uri: str) -> WebhookConfig:
        """``PUT settings/webhook/enable``: only ``id`` and ``enabled`` are used, but ``name``
        and ``uri`` are required by the DTO. Enabling probes the URI again."""
        path = "settings/webhook/enable"
        body = {"id": int_id(webhook_id, "webhookId"), "name": name, "uri": uri, "enabled": enabled}
        return WebhookConfig.from_wire(
            as_object(self.transport.request("PUT", path, body=body), path)
        )

    def delete_webhook(self, webhook_id: int) -> WebhookConfig:
        """``DELETE settings/webhook/{id}``: answers with the deleted config."""
        path = f"settings/webhook/{int_id(webhook_id, 'webhookId')}"
        return WebhookConfig.from_wire(as_object(self.transport.request("DELETE", path), path))


#: DocSpace's limit on a webhook's name.
MAX_WEBHOOK_NAME = 50


def _webhook_body(
    name: str, uri: str, triggers: int, *, ssl: bool, enabled: bool
) -> dict[str, Any]:
    if not name.strip() or len(name) > MAX_WEBHOOK_NAME:
        raise ValueError(f"a webhook name must be 1-{MAX_WEBHOOK_NAME} characters")
    if not uri.lower().startswith(("https://", "http://")):
        raise ValueError("a webhook uri must be an http or https URL")
    if ssl and not uri.lower().startswith("https://"):
        raise ValueError("ssl needs an https uri")
    if isinstance(triggers, bool) or not isinstance(triggers, int) or not 0 <= triggers < 2**63:
        raise ValueError("triggers must be a 64-bit bit mask (0 = every trigger)")
    return {"name": name, "uri": uri, "enabled": enabled, "ssl": ssl, "triggers": triggers}
