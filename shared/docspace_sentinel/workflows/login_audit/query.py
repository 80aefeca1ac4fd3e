"""The login query (a direct invoke with ``userId``, ``action``, ``from``, ``to``, ``limit``,
or ``{"last": true}``): the matching login events as JSON, correct despite the server's paging
bug (the client pages unfiltered and filters on its side)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ...docspace.client import DocSpaceClient, guid
from ...docspace.dates import format_utc, parse_user_date, utcnow
from ...docspace.logins import is_guest, login_record
from ...docspace.message_actions import LOGIN_FAILURE, LOGIN_SUCCESS, LOGOUT, MessageAction
from ...docspace.models import LoginEvent
from .errors import InvalidQuery

QUERY_KEYS = frozenset({"userId", "action", "limit", "last"})


def parse_actions(value: Any) -> frozenset[int] | None:
    """``"login"`` → every success code; ``"logout"`` → 1006; a code or a ``MessageAction`` name."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "login":
        return LOGIN_SUCCESS
    if isinstance(value, str) and value.strip().lower() == "logout":
        return frozenset({LOGOUT})
    if isinstance(value, str) and value.strip().lower() in ("failure", "failed", "fail"):
        return LOGIN_FAILURE
    try:
        return frozenset({MessageAction.lookup(value)})
    except (ValueError, TypeError):
        raise InvalidQuery(
            f"action {value!r} is not a MessageAction code or name, 'login' or 'logout'"
        ) from None


def event_to_dict(event: LoginEvent) -> dict[str, Any]:
    guest = is_guest(event.user_id)
    return {
        **login_record(event),
        "userId": event.user_id,
        # For a Guest row the server fills ``user`` with the typed login: that names nobody.
        "user": None if guest else event.user,
        "login": event.login,
        "guest": guest,
    }


def query(
    event: Mapping[str, Any], client: DocSpaceClient, now: datetime | None = None
) -> dict[str, Any] | None:
    """Answer a query invoke, or ``None`` when the event is a scheduled or windowed run."""
    if not isinstance(event, Mapping) or not (QUERY_KEYS & event.keys()):
        return None
    now = now or utcnow()
    if event.get("last"):
        latest = client.last_login_events()
        return {"events": [event_to_dict(e) for e in latest], "count": len(latest)}
    limit = event.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise InvalidQuery("limit must be a whole number from 1 to 10000")
    try:
        end = parse_user_date(event["to"]) if event.get("to") else now
        start = parse_user_date(event["from"]) if event.get("from") else end - timedelta(days=1)
        user_id = guid(event["userId"]) if event.get("userId") else None
    except (ValueError, TypeError) as exc:
        raise InvalidQuery(str(exc)) from None
    if start >= end:
        raise InvalidQuery("'from' must be before 'to'")
    actions = parse_actions(event.get("action"))
    rows: list[dict[str, Any]] = []
    for login in client.login_events(start, end, user_id=user_id, actions=actions):
        rows.append(event_to_dict(login))
        if len(rows) >= limit:
            break
    return {
        "from": format_utc(start),
        "to": format_utc(end),
        "events": rows,
        "count": len(rows),
        "truncated": len(rows) >= limit,
    }
