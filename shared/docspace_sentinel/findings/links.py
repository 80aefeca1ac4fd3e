"""Deep links into the DocSpace web client: a user, a room, a file.

The routes are the DocSpace web client's (github.com/ONLYOFFICE/DocSpace-client, read at commit
4b8d3aa; facts only, no code taken):

- room: ``/rooms/shared/<roomId>/filter`` (``packages/client/src/routes/client.js`` route
  ``rooms/shared/:room/filter``; ``helpers/utils.js`` ``getCategoryUrl`` builds it for a shared
  room) with ``?folder=<roomId>``, the files filter's folder parameter
  (``packages/shared/api/files/filter.ts``, ``FOLDER = "folder"``);
- file: ``/doceditor?fileId=<fileId>`` (``packages/client/src/store/FilesStore.js`` and
  ``helpers/files-helpers.js`` open files so);
- user: the client has no page for another user's profile (``profile`` is one's own), so the
  link is the people list filtered to them: ``/accounts/people/filter?search=<email>``
  (``helpers/contacts/constants.ts`` ``PEOPLE_ROUTE_WITH_FILTER``; ``SEARCH = "search"`` in
  ``packages/shared/api/people/filter.ts``), or the unfiltered list when the e-mail address does
  not pass the strict check below.

Links are built only from values checked here (an integer id, a GUID, an address of plain
characters, URL-encoded); no other portal text ever reaches a URL.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")


def _base(portal_url: str) -> str | None:
    """The portal's origin (``https://host[:port]``), or None for anything else."""
    try:
        parts = urlsplit(portal_url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def int_id(value: object) -> int | None:
    """A positive integer id (an int, or a string of ASCII digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def room(portal_url: str, room_id: object) -> str | None:
    """The room in the web client, or None when the id or the portal URL is not usable."""
    base, number = _base(portal_url), int_id(room_id)
    if base is None or number is None:
        return None
    return f"{base}/rooms/shared/{number}/filter?folder={number}"


def file(portal_url: str, file_id: object) -> str | None:
    """The file opened in the editor (or viewer), or None."""
    base, number = _base(portal_url), int_id(file_id)
    if base is None or number is None:
        return None
    return f"{base}/doceditor?fileId={number}"


def user(portal_url: str, user_id: object, email: object = None) -> str | None:
    """The people list filtered to this user (by e-mail address), or the list itself.

    None unless ``user_id`` is a GUID (a user the finding names for certain)."""
    base = _base(portal_url)
    if base is None or not isinstance(user_id, str) or not _GUID.fullmatch(user_id):
        return None
    if isinstance(email, str) and _EMAIL.fullmatch(email):
        return f"{base}/accounts/people/filter?search={quote(email, safe='@')}"
    return f"{base}/accounts/people/filter"
