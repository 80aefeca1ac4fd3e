"""Audit and login events: the rows a scan parses, one ``from_wire`` call per event."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from ..errors import MalformedRecord
from .wire import _i, _identity, _int, _int_list, _require_mapping, _s, _str, _str_list


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
        # helpers of .wire are inlined where a call per field would double the cost.
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
