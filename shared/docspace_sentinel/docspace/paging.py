"""Paged reads of the DocSpace API: the loops, their stop rules and the guards against a portal
that never ends a list.

``DocSpaceClient`` keeps the endpoints; these functions page one of them through ``get`` (the
client's GET) and hand back the raw rows a page at a time, ``parse_page`` turning them into
records. Audit and login reads send no ``total`` (``pages_without_total``, which also detects
the portal without the Audit option); people and room members do (``pages_with_total``); the
rooms list keeps its paging inside ``response`` (``pages_in_response``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from .envelope import Envelope
from .errors import AuditUnavailable, MalformedRecord, MalformedResponse
from .models import AuditEvent

log = logging.getLogger(__name__)

#: The server's maximum (and default) page size: ``[Range(1, 100)]``, larger is a 400.
PAGE_SIZE = 100
#: What ``…/last`` returns, and what a portal without the Audit option returns for any filter.
LAST_EVENTS = 20
#: The most pages one paged read fetches (a million rows at 100 a page) before it gives up with
#: ``MalformedResponse``: a backstop for a portal, or a cache in front of it, that never sends
#: the short page that ends a read. Far beyond what a Lambda invocation can read anyway.
MAX_PAGES_PER_READ = 10_000
#: Pages in a row with no id unseen in the read that make ``PageGuard`` refuse it. One or two
#: are a newest-first feed shifting by exactly a page (or two) of new events while it is read.
STALE_PAGES_IN_A_ROW = 3
#: Pages in a row without one row with a usable id that make ``PageGuard`` refuse the read:
#: every real row has an id, and such pages cannot be judged stale, so only this ends them early.
IDLESS_PAGES_IN_A_ROW = 3
#: A string id longer than this is kept by ``PageGuard`` as a digest, not raw: ids are unbounded
#: strings from the portal, and a read keeps every one it saw.
MAX_KEPT_ID = 64

R = TypeVar("R")
#: The client's GET: a path and its query parameters to the server's answer.
Get = Callable[[str, dict[str, Any] | list[tuple[str, Any]] | None], Envelope]


@dataclass
class ScanStats:
    """What a scan read: pages, rows, and the rows it had to skip."""

    pages: int = 0
    rows: int = 0
    malformed: int = 0
    duplicates: int = 0


def as_list(envelope: Envelope, path: str) -> list[Any]:
    """The answer's ``response`` as a list (of rows), or ``MalformedResponse``."""
    if not isinstance(envelope.response, list):
        raise MalformedResponse(
            f"expected a list in response, got {type(envelope.response).__name__}", path=path
        )
    return envelope.response


def as_object(envelope: Envelope, path: str) -> dict[str, Any]:
    """The answer's ``response`` as an object, or ``MalformedResponse``."""
    if not isinstance(envelope.response, dict):
        raise MalformedResponse(
            f"expected an object in response, got {type(envelope.response).__name__}", path=path
        )
    return envelope.response


def parse_rows(rows: Iterable[Any], parse: Callable[[Any], R], stats: ScanStats) -> Iterator[R]:
    """The rows' records, one by one; a malformed row is counted and skipped."""
    for row in rows:
        try:
            yield parse(row)
        except MalformedRecord as exc:
            stats.malformed += 1
            log.warning("skipping %s", exc)


def parse_page(rows: list[Any], parse: Callable[[Any], R], stats: ScanStats) -> list[R]:
    """A page's records. Pages are almost always clean: parse them in one go, and only on
    a malformed row go row by row, counting and skipping what cannot be read."""
    try:
        return [parse(row) for row in rows]
    except MalformedRecord:
        return list(parse_rows(rows, parse, stats))


def pages_without_total(
    get: Get,
    path: str,
    params: dict[str, Any],
    stats: ScanStats,
    max_pages: int,
    suspect: Suspect | None = None,
) -> Iterator[list[Any]]:
    """Audit and login endpoints send no ``total``: page until a short page.

    Also detects the "no Audit option" fallback, where the portal ignores ``startIndex``
    and every filter and answers with its 20 newest events (``events/last``): a first page
    that could be that answer (exactly 20 rows, or up to 20 with rows the caller found
    outside its filter, ``suspect``) is followed by one more request, and the same rows
    again (most of its ids) means the fallback. A real filter answers that request with
    the rows after the first page: none, or only the few that new events pushed back.
    A short page that brings no id unseen in this read is the normal end of a newest-first
    feed that shifted while it was read (``PageGuard``).
    """
    start = 0
    first_ids: set[Any] | None = None
    guard = PageGuard(path, max_pages)
    while True:
        guard.before_page()
        page = as_list(get(path, {**params, "count": PAGE_SIZE, "startIndex": start}), path)
        stats.pages += 1
        ids = row_ids(page)
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


def pages_with_total(
    get: Get,
    path: str,
    params: dict[str, Any],
    stats: ScanStats,
    max_pages: int,
    ids_of: Callable[[list[Any]], set[Any]] | None = None,
) -> Iterator[list[Any]]:
    """People and room members send ``total``; ``count`` may even be negative past it."""
    start = 0
    guard = PageGuard(path, max_pages)
    while True:
        guard.before_page()
        envelope = get(path, {**params, "count": PAGE_SIZE, "startIndex": start})
        page = as_list(envelope, path)
        stats.pages += 1
        if guard.check((ids_of or row_ids)(page), start):
            yield page
        start += len(page)
        if not page or envelope.total is None or start >= envelope.total:
            return


def pages_in_response(
    get: Get, path: str, params: list[tuple[str, Any]], stats: ScanStats, max_pages: int
) -> Iterator[list[Any]]:
    """The rooms list keeps its paging inside ``response`` (``folders``, ``total``), not in the
    envelope."""
    start = 0
    guard = PageGuard(path, max_pages)
    while True:
        guard.before_page()
        content = as_object(get(path, [*params, ("count", PAGE_SIZE), ("startIndex", start)]), path)
        folders = content.get("folders")
        if not isinstance(folders, list):
            raise MalformedResponse("rooms list has no folders", path=path)
        stats.pages += 1
        if guard.check(row_ids(folders), start):
            yield folders
        start += len(folders)
        total = content.get("total")
        if not folders or not isinstance(total, int) or start >= total:
            return


class PageGuard:
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


def row_ids(page: list[Any]) -> set[Any]:
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


def share_ids(page: list[Any]) -> set[Any]:
    """Shares have no id of their own: the user's, group's or link's (``sharedTo``) stands in."""
    return row_ids([row.get("sharedTo") for row in page if isinstance(row, dict)])


class Suspect:
    """Set by ``audit_events`` when a page held rows outside its filter: ``pages_without_total``
    then checks whether the portal ignores paging too (the no-Audit-option fallback)."""

    __slots__ = ("outside",)

    def __init__(self) -> None:
        self.outside = False


def check_audit_page(
    events: list[AuditEvent],
    low: datetime,
    high: datetime,
    user_id: str | None,
    action: int | None,
    stats: ScanStats,
    suspect: Suspect,
) -> list[AuditEvent]:
    """The page's rows inside the requested filter; the others are counted and skipped.

    A row outside it alone does not mean the portal ignored the filter: one misdated row (the
    tenant-local date of the DST fall-back hour, or a hostile portal) would then fail every run
    that reads its slice, and the cursor could never pass it. The fallback's own signature
    (its 20 newest events again for the next page) is what ``pages_without_total`` checks.

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
