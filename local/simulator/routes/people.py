"""`api/2.0/people` and `api/2.0/group` (section 6)."""

from __future__ import annotations

from typing import Any

from local.simulator import render
from local.simulator.enums import EMPLOYEE_STATUSES
from local.simulator.model import (
    ACTIVATION_PENDING,
    STATUS_ACTIVE,
    STATUS_PENDING,
    STATUS_TERMINATED,
    User,
)
from local.simulator.routing import Request, Response, Router, ok
from local.simulator.scenario import Scenario
from local.simulator.wire import (
    ApiError,
    ValidationError,
    access_denied,
    bind_bool,
    bind_count,
    bind_enum,
    bind_guid,
    bind_int,
    not_found,
)


def _page(s: Scenario, r: Request, users: list[User]) -> Response:
    count = bind_count(r.arg("count"))
    start_index = max(0, bind_int("startIndex", r.arg("startIndex"), 0))
    text = (r.arg("filterValue") or "").strip().lower()
    if text:
        users = [u for u in users if text in u.name.lower() or text in u.email.lower()]
    users = sorted(users, key=lambda u: (u.first_name.lower(), u.last_name.lower()))
    page = users[start_index : start_index + count]
    return ok(r, [render.employee_full(s, u) for u in page], count=len(page), total=len(users))


def _with_status(s: Scenario, status: int) -> list[User]:
    if status == 7:  # All
        return list(s.users)
    if status == 5:  # Default: everyone who is not disabled
        return [u for u in s.users if u.status != STATUS_TERMINATED]
    return [u for u in s.users if u.status == status]


def list_active(s: Scenario, r: Request) -> Response:
    return _page(s, r, _with_status(s, STATUS_ACTIVE))


def list_by_status(s: Scenario, r: Request) -> Response:
    status = bind_enum("status", r.params["status"], EMPLOYEE_STATUSES)
    return _page(s, r, _with_status(s, status or STATUS_ACTIVE))


def filter_people(s: Scenario, r: Request) -> Response:
    status = bind_enum("employeeStatus", r.arg("employeeStatus"), EMPLOYEE_STATUSES)
    is_admin = bind_bool("isAdministrator", r.arg("isAdministrator"))
    users = _with_status(s, status or 5)
    if is_admin is not None:
        users = [u for u in users if u.is_docspace_admin == is_admin]
    return _page(s, r, users)


def get_user(s: Scenario, r: Request) -> Response:
    key = r.params["userid"]
    user = s.key_user if key == "@self" else s.find_user(key)
    if user is None:
        raise not_found("The user could not be found")
    return ok(r, render.employee_full(s, user))


def self_user(s: Scenario, r: Request) -> Response:
    return ok(r, render.employee_full(s, s.key_user))


def update_status(s: Scenario, r: Request) -> Response:
    status = bind_enum("status", r.params["status"], EMPLOYEE_STATUSES)
    body = r.json()
    if not isinstance(body, dict):
        raise ValidationError({"inDto": ["The inDto field is required."]})
    raw_ids: Any = body.get("userIds") or []
    if not isinstance(raw_ids, list) or not all(isinstance(i, str) for i in raw_ids):
        raise ValidationError({"$.userIds": ["The JSON value could not be converted."]})
    ids = [bind_guid("userIds", i) or "" for i in raw_ids]
    if status not in (STATUS_ACTIVE, STATUS_TERMINATED):
        raise ApiError(400, "Incorrect status")
    caller = s.key_user
    users: list[User] = []
    for user_id in ids:
        user = s.find_user(user_id) if user_id else None
        # All or nothing: unknown ids resolve to LostUser, a system account.
        if (
            user is None
            or user.is_ldap
            or user.is_owner
            or user.id == caller.id
            or (user.is_admin and not caller.is_owner)
        ):
            raise access_denied()
        users.append(user)
    now = s.clock()
    for user in users:
        if status == STATUS_TERMINATED:
            user.status, user.terminated = STATUS_TERMINATED, now
            # Resetting the user's auth cookies is logged as a cookie-settings change.
            s.add_audit_event(6032)
        elif user.status == STATUS_TERMINATED:
            invited = user.activation_status == ACTIVATION_PENDING
            user.status = STATUS_PENDING if invited else STATUS_ACTIVE
            user.terminated = None
    if users:
        names = ", ".join(u.name for u in users)
        s.add_audit_event(4020, target=[u.id for u in users], parts=[names], context="Contacts")
    # An IAsyncEnumerable without SetCount: the envelope count is 1 whatever the length.
    return ok(r, [render.employee_full(s, u) for u in users], count=1)


def get_group(s: Scenario, r: Request) -> Response:
    group_id = bind_guid("id", r.params["id"])
    group = s.groups.get(group_id or "")
    if group is None:
        raise not_found("Group not found")
    return ok(r, render.group(s, group))


def register(router: Router) -> None:
    base = "/api/2.0/people"
    router.add("GET", f"{base}/filter", filter_people)
    router.add("GET", f"{base}/@self", self_user)
    router.add("GET", f"{base}/status/{{status}}", list_by_status)
    router.add("PUT", f"{base}/status/{{status}}", update_status)
    router.add("GET", f"{base}/{{userid}}", get_user)
    router.add("GET", base, list_active)
    router.add("GET", "/api/2.0/group/{id}", get_group)
