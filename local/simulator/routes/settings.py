"""`api/2.0/settings/iprestrictions` (section 5)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any

from local.simulator.model import IpRestriction
from local.simulator.routing import Request, Response, Router, ok
from local.simulator.scenario import Scenario
from local.simulator.wire import ApiError, ValidationError, format_plain_datetime

TENANT_ID = 1


def _list(s: Scenario) -> list[dict[str, Any]]:
    return [
        {"id": e.id, "tenantId": TENANT_ID, "ip": e.ip, "forAdmin": e.for_admin}
        for e in s.ip_restrictions.entries
    ]


def get_restrictions(s: Scenario, r: Request) -> Response:
    payload = _list(s)
    digest = hashlib.md5(json.dumps(payload).encode(), usedforsecurity=False).hexdigest()
    etag = f'W/"{digest}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    sent = r.headers.get("if-none-match", "")
    if any(tag.strip() in (etag, f'"{digest}"', digest) for tag in sent.split(",")):
        return Response(304, None, headers)
    response = ok(r, payload)
    response.headers.update(headers)
    return response


def get_settings(s: Scenario, r: Request) -> Response:
    state = s.ip_restrictions
    # `lastModified` is a plain DateTime here, not an ApiDateTime.
    return ok(
        r, {"enable": state.enable, "lastModified": format_plain_datetime(state.last_modified)}
    )


def save_restrictions(s: Scenario, r: Request) -> Response:
    body = r.json()
    if not isinstance(body, dict) or "ipRestrictions" not in body:
        raise ValidationError(
            {
                "$": [
                    "JSON deserialization for type 'IpRestrictionsDto' was missing required "
                    "properties including: 'ipRestrictions'."
                ]
            }
        )
    raw = body["ipRestrictions"]
    enable = body.get("enable")
    if raw is not None and not isinstance(raw, list):
        raise ValidationError({"$.ipRestrictions": ["The JSON value could not be converted."]})
    if enable is not None and not isinstance(enable, bool):
        raise ValidationError({"$.enable": ["The JSON value could not be converted."]})
    items: list[tuple[str, bool]] = []
    for n, item in enumerate(raw or []):
        if not isinstance(item, dict) or "ip" not in item:
            raise ValidationError(
                {f"$.ipRestrictions[{n}]": ["JSON deserialization for type 'IpRestrictionBase' "
                                            "was missing required properties including: 'ip'."]}
            )  # fmt: skip
        ip, for_admin = item["ip"], item.get("forAdmin", False)
        if not isinstance(for_admin, bool) or not (ip is None or isinstance(ip, str)):
            raise ValidationError(
                {f"$.ipRestrictions[{n}]": ["The JSON value could not be converted."]}
            )
        items.append((ip or "", for_admin))
    for ip, _ in items:
        # IPAddress.TryParse: one address only; CIDR blocks and a-b ranges are refused.
        try:
            ipaddress.ip_address(ip.strip())
        except ValueError:
            raise ApiError(400, "IpRestrictions") from None
    effective = enable if enable is not None else bool(items)
    if effective and not items:
        raise ApiError(400, "Add at least 1 allowed IP address.")
    state = s.ip_restrictions
    state.entries = []
    for ip, for_admin in items:  # the whole list is replaced: every entry gets a new id
        state.entries.append(IpRestriction(state.next_id, ip.strip(), for_admin))
        state.next_id += 1
    state.enable = effective
    state.last_modified = s.clock()
    s.add_audit_event(6094)
    echo: dict[str, Any] = {
        "ipRestrictions": [{"ip": ip, "forAdmin": fa} for ip, fa in items]
        if raw is not None
        else None,
        "enable": enable,
    }
    return ok(r, echo)


def register(router: Router) -> None:
    base = "/api/2.0/settings/iprestrictions"
    router.add("GET", base, get_restrictions)
    router.add("GET", f"{base}/settings", get_settings)
    router.add("PUT", base, save_restrictions)
    router.add("PUT", f"{base}/settings", save_restrictions)
