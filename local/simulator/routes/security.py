"""`api/2.0/security`: audit trail and its retention settings, login history, active
connections (sections 2 and 3)."""

from __future__ import annotations

from local.simulator import render
from local.simulator.enums import ACTION_TYPES, ENTRY_TYPES, LOCATION_TYPES
from local.simulator.events import AuditQuery
from local.simulator.message_actions import MESSAGE_ACTIONS
from local.simulator.routing import Request, Response, Router, ok
from local.simulator.scenario import Scenario
from local.simulator.wire import (
    ApiError,
    access_denied,
    bind_api_datetime,
    bind_count,
    bind_enum,
    bind_guid,
    bind_int,
    format_plain_datetime,
    not_found,
)

_UNKNOWN_USER = -999  # a userId nobody has: matches nothing


def _user_filter(s: Scenario, raw: str | None) -> int | None:
    user_id = bind_guid("userId", raw)
    if user_id is None:
        return None
    index = s.user_index(user_id)
    return _UNKNOWN_USER if index is None else index


def _action(raw: str | None) -> int | None:
    action = bind_enum("action", raw, MESSAGE_ACTIONS)
    return None if action == -1 else action  # MessageAction.None means "no filter"


def audit_filter(s: Scenario, r: Request) -> Response:
    # Bind everything first: a bad value is a 400 whether or not the option is missing.
    user = _user_filter(s, r.arg("userId"))
    module = bind_enum("moduleType", r.arg("moduleType"), LOCATION_TYPES)
    action_type = bind_enum("actionType", r.arg("actionType"), ACTION_TYPES)
    action = _action(r.arg("action"))
    entry_type = bind_enum("entryType", r.arg("entryType"), ENTRY_TYPES)
    start = bind_api_datetime("from", r.arg("from"))
    end = bind_api_datetime("to", r.arg("to"))
    count = bind_count(r.arg("count"))
    start_index = bind_int("startIndex", r.arg("startIndex"), 0)
    if not s.audit_option:
        # Without the Audit tariff option every filter is silently ignored (section 2.1).
        return audit_last(s, r)
    if module:
        # v3.6-3.7: no location exists in all four mappers, so Find() returns null.
        raise ApiError(500, "Object reference not set to an instance of an object.")
    query = AuditQuery(user, action, action_type or None, entry_type, r.arg("target"), start, end)
    rows = [s.audit.row(p) for p in s.audit.query(query, start_index, count)]
    return ok(r, [render.audit_event(s, row) for row in rows])


def audit_last(s: Scenario, r: Request) -> Response:
    rows = [s.audit.row(p) for p in s.audit.last(s.clock())]
    return ok(r, [render.audit_event(s, row, limited=True) for row in rows])


def login_filter(s: Scenario, r: Request) -> Response:
    user = _user_filter(s, r.arg("userId"))
    action = _action(r.arg("action"))
    start = bind_api_datetime("from", r.arg("from"))
    end = bind_api_datetime("to", r.arg("to"))
    count = bind_count(r.arg("count"))
    start_index = bind_int("startIndex", r.arg("startIndex"), 0)
    if not s.audit_option:
        return login_last(s, r)
    rows = [s.logins.row(p) for p in s.logins.query(user, action, start, end, start_index, count)]
    return ok(r, [render.login_event(s, row) for row in rows])


def login_last(s: Scenario, r: Request) -> Response:
    rows = [s.logins.row(p) for p in s.logins.last()]
    return ok(r, [render.login_event(s, row, limited=True) for row in rows])


def logout_all(s: Scenario, r: Request) -> Response:
    user = s.find_user(r.params["userid"])
    if user is None:
        raise not_found("The user could not be found")
    s.add_audit_event(4036, target=[user.id], parts=[user.name], context="Contacts")
    # The action returns nothing: the envelope has no `response` and count 0.
    return ok(r, None)


def audit_lifetime(s: Scenario, r: Request) -> Response:
    """Admins only; answers without the Audit option too (only the *setter* demands it)."""
    if not s.key_user.is_docspace_admin:
        raise access_denied()
    state = s.portal_security
    return ok(r, {
        "loginHistoryLifeTime": state.login_history_life_time,
        "auditTrailLifeTime": state.audit_life_time,
        "lastModified": format_plain_datetime(state.last_modified),
    })  # fmt: skip


def register(router: Router) -> None:
    base = "/api/2.0/security"
    router.add("GET", f"{base}/audit/settings/lifetime", audit_lifetime)
    router.add("GET", f"{base}/audit/events/filter", audit_filter)
    router.add("GET", f"{base}/audit/events/last", audit_last)
    router.add("GET", f"{base}/audit/login/filter", login_filter)
    router.add("GET", f"{base}/audit/login/last", login_last)
    router.add("PUT", f"{base}/activeconnections/logoutall/{{userid}}", logout_all)
