"""The DocSpace client: one place for endpoints, pagination and the server's quirks.

Workflows never build URLs or unwrap envelopes; they call these methods and get typed records.
Histories are generators: a scan holds one page (100 rows) at a time, never a whole history.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .dates import format_query_date
from .errors import AuditUnavailable, MalformedRecord, MalformedResponse
from .models import (
    AuditEvent,
    FileEntry,
    Folder,
    Group,
    IpRestriction,
    IpRestrictionSettings,
    LoginEvent,
    Room,
    RoomMember,
    User,
    parse_int,
)
from .settings import ClientSettings
from .transport import Envelope, Transport

log = logging.getLogger(__name__)

#: The server's maximum (and default) page size: ``[Range(1, 100)]``, larger is a 400.
PAGE_SIZE = 100
#: What ``…/last`` returns, and what a portal without the Audit option returns for any filter.
LAST_EVENTS = 20
#: The most pages one paged read fetches (a million rows at 100 a page) before it gives up with
#: ``MalformedResponse``: a backstop for a portal, or a cache in front of it, that never sends
#: the short page that ends a read. Far beyond what a Lambda invocation can read anyway.
MAX_PAGES_PER_READ = 10_000
#: Pages in a row with no id unseen in the read that make ``_PageGuard`` refuse it. One or two
#: are a newest-first feed shifting by exactly a page (or two) of new events while it is read.
STALE_PAGES_IN_A_ROW = 3
#: Pages in a row without one row with a usable id that make ``_PageGuard`` refuse the read:
#: every real row has an id, and such pages cannot be judged stale, so only this ends them early.
IDLESS_PAGES_IN_A_ROW = 3
#: A string id longer than this is kept by ``_PageGuard`` as a digest, not raw: ids are unbounded
#: strings from the portal, and a read keeps every one it saw.
MAX_KEPT_ID = 64

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

R = TypeVar("R")
_ONE_SECOND = timedelta(seconds=1)


@dataclass
class ScanStats:
    """What a scan read: pages, rows, and the rows it had to skip."""

    pages: int = 0
    rows: int = 0
    malformed: int = 0
    duplicates: int = 0


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

    def _list(self, envelope: Envelope, path: str) -> list[Any]:
        if not isinstance(envelope.response, list):
            raise MalformedResponse(
                f"expected a list in response, got {type(envelope.response).__name__}", path=path
            )
        return envelope.response

    def _object(self, envelope: Envelope, path: str) -> dict[str, Any]:
        if not isinstance(envelope.response, dict):
            raise MalformedResponse(
                f"expected an object in response, got {type(envelope.response).__name__}", path=path
            )
        return envelope.response

    def _parse_rows(
        self, rows: Iterable[Any], parse: Callable[[Any], R], stats: ScanStats
    ) -> Iterator[R]:
        for row in rows:
            try:
                yield parse(row)
            except MalformedRecord as exc:
                stats.malformed += 1
                log.warning("skipping %s", exc)

    def _parse_page(self, rows: list[Any], parse: Callable[[Any], R], stats: ScanStats) -> list[R]:
        """A page's records. Pages are almost always clean: parse them in one go, and only on
        a malformed row go row by row, counting and skipping what cannot be read."""
        try:
            return [parse(row) for row in rows]
        except MalformedRecord:
            return list(self._parse_rows(rows, parse, stats))

    def _pages_without_total(
        self,
        path: str,
        params: dict[str, Any],
        stats: ScanStats,
        suspect: _Suspect | None = None,
    ) -> Iterator[list[Any]]:
        """Audit and login endpoints send no ``total``: page until a short page.

        Also detects the "no Audit option" fallback, where the portal ignores ``startIndex``
        and every filter and answers with its 20 newest events (``events/last``): a first page
        that could be that answer (exactly 20 rows, or up to 20 with rows the caller found
        outside its filter, ``suspect``) is followed by one more request, and the same rows
        again (most of its ids) means the fallback. A real filter answers that request with
        the rows after the first page: none, or only the few that new events pushed back.
        A short page that brings no id unseen in this read is the normal end of a newest-first
        feed that shifted while it was read (``_PageGuard``).
        """
        start = 0
        first_ids: set[Any] | None = None
        guard = _PageGuard(path, self.max_pages)
        while True:
            guard.before_page()
            page = self._list(
                self._get(path, {**params, "count": PAGE_SIZE, "startIndex": start}), path
            )
            stats.pages += 1
            ids = _row_ids(page)
            if first_ids is not None:
                if ids and 2 * len(ids & first_ids) > len(first_ids):
                    seen = (
                        "returned audit events outside the requested filter, and the same rows "
                        "again for the next page"
                        if suspect is not None and suspect.outside
                        else "ignores audit filters and paging (returns its 20 newest events for "
                        "every request)"
                    )
                    raise AuditUnavailable(
                        f"the portal {seen}: the tariff lacks the Audit option or the Login "
                        "History section is hidden",
                        path=path,
                    )
                first_ids = None
            if guard.check(ids, start):
                yield page
            if len(page) < PAGE_SIZE:
                maybe_last = len(page) == LAST_EVENTS or (
                    suspect is not None and suspect.outside and 0 < len(page) <= LAST_EVENTS
                )
                if start == 0 and maybe_last:
                    first_ids = ids
                    start += len(page)
                    continue
                return
            start += PAGE_SIZE

    def _pages_with_total(
        self,
        path: str,
        params: dict[str, Any],
        stats: ScanStats,
        row_ids: Callable[[list[Any]], set[Any]] | None = None,
    ) -> Iterator[list[Any]]:
        """People and room members send ``total``; ``count`` may even be negative past it."""
        start = 0
        guard = _PageGuard(path, self.max_pages)
        while True:
            guard.before_page()
            envelope = self._get(path, {**params, "count": PAGE_SIZE, "startIndex": start})
            page = self._list(envelope, path)
            stats.pages += 1
            if guard.check((row_ids or _row_ids)(page), start):
                yield page
            start += len(page)
            if not page or envelope.total is None or start >= envelope.total:
                return

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
        suspect = _Suspect()
        for page in self._pages_without_total(path, params, stats, suspect):
            events = self._parse_page(page, AuditEvent.from_wire, stats)
            stats.rows += len(events)
            current = {event.id for event in events}
            if not previous.isdisjoint(current):
                # New events push older ones back by a few places between two pages.
                stats.duplicates += len(previous & current)
                events = [event for event in events if event.id not in previous]
            events = _check_audit_page(events, low, high, user_id, action, stats, suspect)
            yield from events
            previous = current

    def last_audit_events(self) -> list[AuditEvent]:
        envelope = self._get("security/audit/events/last")
        rows = self._list(envelope, "security/audit/events/last")
        return list(self._parse_rows(rows, AuditEvent.from_wire, ScanStats()))

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
        for page in self._pages_without_total(path, {}, stats):
            current: set[int] = set()
            past_start = False
            for event in self._parse_rows(page, LoginEvent.from_wire, stats):
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
        rows = self._list(envelope, "security/audit/login/last")
        return list(self._parse_rows(rows, LoginEvent.from_wire, ScanStats()))

    # -- people -----------------------------------------------------------------------------

    def user(self, user_id: str) -> User:
        path = f"people/{guid(user_id)}"
        return User.from_wire(self._object(self._get(path), path))

    def me(self) -> User:
        """The user the API key acts as (its creator)."""
        return User.from_wire(self._object(self._get("people/@self"), "people/@self"))

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
        for page in self._pages_with_total("people/filter", params, stats):
            yield from self._parse_rows(page, User.from_wire, stats)

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
        return list(self._parse_rows(self._list(envelope, path), User.from_wire, ScanStats()))

    def logout_all(self, user_id: str) -> None:
        """Log a user out of every session (``PUT /security/activeconnections/logoutall/{id}``)."""
        self.transport.request("PUT", f"security/activeconnections/logoutall/{guid(user_id)}")

    def group(self, group_id: str) -> Group:
        path = f"group/{guid(group_id, 'groupId')}"
        return Group.from_wire(self._object(self._get(path), path))

    # -- IP restrictions --------------------------------------------------------------------

    def ip_restrictions(self) -> list[IpRestriction]:
        """The portal's whole list. Read strictly: the list is only ever written back whole, so
        a row skipped here would be deleted from the portal by the next write."""
        path = "settings/iprestrictions"
        rows = self._list(self._get(path), path)
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
        return IpRestrictionSettings.from_wire(self._object(self._get(path), path))

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
        response = self._object(self.transport.request("PUT", path, body=body), path)
        echoed = response.get("ipRestrictions")
        rows = echoed if isinstance(echoed, list) else []
        return list(self._parse_rows(rows, IpRestriction.from_wire, ScanStats()))

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
        start = 0
        guard = _PageGuard(path, self.max_pages)
        while True:
            guard.before_page()
            params: list[tuple[str, Any]] = [("type", int(t)) for t in room_types]
            params += [("count", PAGE_SIZE), ("startIndex", start)]
            content = self._object(self._get(path, params), path)
            folders = content.get("folders")
            if not isinstance(folders, list):
                raise MalformedResponse("rooms list has no folders", path=path)
            stats.pages += 1
            if guard.check(_row_ids(folders), start):
                yield from self._parse_rows(folders, Room.from_wire, stats)
            start += len(folders)
            total = content.get("total")
            if not folders or not isinstance(total, int) or start >= total:
                return

    def room(self, room_id: int | str) -> Room:
        path = f"files/rooms/{int_id(room_id, 'roomId')}"
        return Room.from_wire(self._object(self._get(path), path))

    def room_members(
        self, room_id: int | str, *, filter_type: int = 0, stats: ScanStats | None = None
    ) -> Iterator[RoomMember]:
        """Shares of a room (``filterType`` 0: users and groups; 16 users; 32 groups; 15 links)."""
        stats = stats if stats is not None else ScanStats()
        path = f"files/rooms/{int_id(room_id, 'roomId')}/share"
        params = {"filterType": int(filter_type)}
        for page in self._pages_with_total(path, params, stats, _share_ids):
            yield from self._parse_rows(page, RoomMember.from_wire, stats)

    def create_room(self, title: str, room_type: int = 8) -> Room:
        """Create a room (``roomType`` 8 is a Virtual Data Room). An administrator's action."""
        if not title.strip():
            raise ValueError("a room needs a title")
        path = "files/rooms"
        envelope = self.transport.request(
            "POST", path, body={"title": title, "roomType": int(room_type)}
        )
        return Room.from_wire(self._object(envelope, path))

    def file(self, file_id: int | str) -> FileEntry:
        """A file's entry (403 for another user's "My documents", 404 once deleted)."""
        path = f"files/file/{int_id(file_id, 'fileId')}"
        return FileEntry.from_wire(self._object(self._get(path), path))

    def folder_path(self, folder_id: int | str) -> list[Folder]:
        """Breadcrumbs from the "Rooms" root down to the folder; the room carries ``roomType``."""
        path = f"files/folder/{int_id(folder_id, 'folderId')}/path"
        return list(
            self._parse_rows(self._list(self._get(path), path), Folder.from_wire, ScanStats())
        )


class _PageGuard:
    """Ends a paged read that would never end: a portal, or a cache in front of it, that ignores
    ``startIndex`` sends the same page (or the same few pages in turn) forever.

    A page is *stale* when every id on it was seen earlier in this read. Newest-first feeds shift
    by the events written while we page, so a stale page alone is normal (``check`` returns
    False and the caller skips it; a short one ends a feed). ``STALE_PAGES_IN_A_ROW`` stale pages
    in a row are the repeat. Rows without a usable id cannot be judged and are let through,
    but ``IDLESS_PAGES_IN_A_ROW`` pages in a row without any usable id end the read."""

    __slots__ = ("idless", "limit", "pages", "path", "seen", "stale")

    def __init__(self, path: str, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.pages = 0
        self.seen: set[Any] = set()
        self.stale = 0
        self.idless = 0

    def before_page(self) -> None:
        if self.pages >= self.limit:
            raise MalformedResponse(
                f"the portal did not end the list after {self.limit} pages", path=self.path
            )
        self.pages += 1

    def check(self, ids: set[Any], start: int) -> bool:
        """Whether the page brings an id not seen before in this read (or cannot be judged)."""
        self.idless = 0 if ids else self.idless + 1
        if self.idless >= IDLESS_PAGES_IN_A_ROW:
            raise MalformedResponse(
                f"the page at startIndex {start} and the {self.idless - 1} before it hold no row "
                "with a usable id",
                path=self.path,
            )
        if not ids or not ids <= self.seen:
            self.seen |= ids
            self.stale = 0
            return True
        self.stale += 1
        if self.stale >= STALE_PAGES_IN_A_ROW:
            raise MalformedResponse(
                f"the page at startIndex {start} and the {self.stale - 1} before it bring no id "
                "not seen earlier in this read: the portal or a cache in front of it ignores "
                "paging",
                path=self.path,
            )
        return False


def _row_ids(page: list[Any]) -> set[Any]:
    """The ids of a page's rows; ids that are not a number or a string are left out, and a
    string longer than ``MAX_KEPT_ID`` stands as a fixed-size digest (the guard keeps them all)."""
    return {
        _kept_id(row_id)
        for row in page
        if isinstance(row, dict) and isinstance(row_id := row.get("id"), int | str)
    }


def _kept_id(row_id: int | str) -> int | str | bytes:
    if isinstance(row_id, str) and len(row_id) > MAX_KEPT_ID:
        return hashlib.blake2b(row_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return row_id


def _share_ids(page: list[Any]) -> set[Any]:
    """Shares have no id of their own: the user's, group's or link's (``sharedTo``) stands in."""
    return _row_ids([row.get("sharedTo") for row in page if isinstance(row, dict)])


class _Suspect:
    """Set by ``audit_events`` when a page held rows outside its filter: ``_pages_without_total``
    then checks whether the portal ignores paging too (the no-Audit-option fallback)."""

    __slots__ = ("outside",)

    def __init__(self) -> None:
        self.outside = False


def _check_audit_page(
    events: list[AuditEvent],
    low: datetime,
    high: datetime,
    user_id: str | None,
    action: int | None,
    stats: ScanStats,
    suspect: _Suspect,
) -> list[AuditEvent]:
    """The page's rows inside the requested filter; the others are counted and skipped.

    A row outside it alone does not mean the portal ignored the filter: one misdated row (the
    tenant-local date of the DST fall-back hour, or a hostile portal) would then fail every run
    that reads its slice, and the cursor could never pass it. The fallback's own signature
    (its 20 newest events again for the next page) is what ``_pages_without_total`` checks.

    ``high`` is the query's ``to`` in whole seconds plus one: the latest date it can return."""
    wanted = user_id.lower() if user_id is not None else None
    inside = [
        event
        for event in events
        if low <= event.date <= high
        and (wanted is None or (event.user_id or "").lower() == wanted)
        and (action is None or event.action_id == action)
    ]
    if len(inside) < len(events):
        suspect.outside = True
        stats.malformed += len(events) - len(inside)
        kept = {event.id for event in inside}
        log.warning(
            "skipping %d audit event(s) outside the requested filter (%s .. %s): ids %s",
            len(events) - len(inside),
            low.isoformat(),
            high.isoformat(),
            [event.id for event in events if event.id not in kept][:10],
        )
    return inside
