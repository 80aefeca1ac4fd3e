"""`api/2.0/settings/webhook*` (webhooks doc section 1.2): configs, triggers, log, retries.

The caller (the API key's user) is a DocSpace admin, so it sees and manages every config.
Validation follows `CheckWebhook`: name and uri required; the secret (required on create)
is 1-30 printable ASCII characters without spaces passing the default password policy
(minimum 8), so a 64-hex secret is a 400; http or https only, `ssl: true` needs https,
blacklisted literal addresses are refused except loopback with `ssl: false` (the
simulator's allowance for local receivers); name+uri must be unique; and a HEAD probe of
the uri must answer 2xx on create, update and enable. The secret is never returned.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from local.simulator import render
from local.simulator.routing import Request, Response, Router, ok
from local.simulator.scenario import Scenario
from local.simulator.webhook_payloads import ADMIN_AND_ROOM_ADMIN_ONLY, ALL_TRIGGERS, TRIGGERS
from local.simulator.webhooks import WebhookConfig, WebhookLog
from local.simulator.wire import (
    ApiError,
    ValidationError,
    bind_count,
    bind_int,
    format_plain_datetime,
    not_found,
)

_BLACKLIST = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "::/128", "::1/128", "fc00::/8", "fd00::/8",
    "fe80::/10"))  # fmt: skip
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _date(micros: int | None) -> str | None:
    return format_plain_datetime(micros) if micros else None


def _dto(s: Scenario, c: WebhookConfig) -> dict[str, Any]:
    """WebhooksConfigDto: never the secret."""
    modified_by = s.find_user(c.modified_by) if c.modified_by else None
    return {
        "id": c.id, "name": c.name, "uri": c.uri, "enabled": c.enabled, "ssl": c.ssl,
        "triggers": c.triggers, "targetId": c.target_id,
        "createdBy": render.employee(s, s.user_by_id(c.created_by)),
        "createdOn": _date(c.created_on),
        "modifiedBy": render.employee(s, modified_by) if modified_by else None,
        "modifiedOn": _date(c.modified_on), "lastFailureOn": _date(c.last_failure_on),
        "lastFailureContent": c.last_failure_content, "lastSuccessOn": _date(c.last_success_on),
    }  # fmt: skip


def _log_dto(log: WebhookLog) -> dict[str, Any]:
    return {
        "id": log.id, "configName": log.config_name, "trigger": log.trigger,
        "creationTime": _date(log.created), "requestHeaders": json.dumps(log.request_headers),
        "requestPayload": log.request_payload or None,
        "responseHeaders": json.dumps({}) if log.delivery else None,
        "responsePayload": log.response_payload or None, "status": log.status,
        "delivery": _date(log.delivery),
    }  # fmt: skip


def _body(r: Request) -> dict[str, Any]:
    raw = r.json()
    if not isinstance(raw, dict):
        raise ValidationError({"$": ["The JSON value could not be converted."]})
    return {str(k).lower(): v for k, v in raw.items()}


def _required(body: dict[str, Any]) -> tuple[str, str]:
    errors = {}
    for key, label in (("name", "Name"), ("uri", "Uri")):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            errors[label] = [f"The {label} field is required."]
    if errors:
        raise ValidationError(errors)
    name, uri = body["name"], body["uri"]
    if len(name) > 50:
        message = "The field Name must be a string with a maximum length of 50."
        raise ValidationError({"Name": [message]})
    return name, uri


def _flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationError({f"$.{key}": ["The JSON value could not be converted."]})
    return value


def _triggers(body: dict[str, Any]) -> int:
    value = body.get("triggers", 0) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError({"$.triggers": ["The JSON value could not be converted."]})
    if value & ~ALL_TRIGGERS:
        raise ApiError(400, "Trigger is not available")
    return value


def _target(body: dict[str, Any]) -> str | None:
    value = body.get("targetid")
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > 255:
        raise ValidationError({"$.targetId": ["The JSON value could not be converted."]})
    return str(value)


def _check_secret(s: Scenario, secret: Any) -> str:
    if not isinstance(secret, str):
        raise ValidationError({"$.secretKey": ["The JSON value could not be converted."]})
    printable = all(0x21 <= ord(ch) <= 0x7E for ch in secret)
    if not printable or not s.webhooks.password_min_length <= len(secret) <= 30:
        raise ApiError(400, "The password does not meet the password policy requirements")
    return secret


def _check_uri(uri: str, ssl: bool) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "Invalid URL")
    if ssl and parts.scheme != "https":
        raise ApiError(400, "SSL is required: the URL must use https")
    host = parts.hostname
    if host in _LOOPBACK_NAMES and not ssl:
        return  # the simulator's only exception: local receivers over plain http
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if any(address in net for net in _BLACKLIST):
        raise ApiError(400, "The URL resolves to a blocked address")


def _probe(s: Scenario, uri: str) -> None:
    if not s.webhooks.probe(uri):
        raise ApiError(400, "ErrorWebhookUrlNotAvaliable")


def _duplicate(s: Scenario, name: str, uri: str, except_id: int | None = None) -> None:
    for c in s.webhooks.configs.values():
        if c.id != except_id and c.name == name and c.uri == uri:
            raise ApiError(400, "Webhook with the same name and payload URL already exists")


def _config(s: Scenario, raw: Any) -> WebhookConfig:
    config_id = bind_int("id", None if raw is None else str(raw), -1)
    config = s.webhooks.configs.get(config_id)
    if config is None:
        raise not_found("Webhook not found")
    return config


def list_configs(s: Scenario, r: Request) -> Response:
    payload = [{"configs": _dto(s, c), "status": s.webhooks.last_status(c.id)}
               for c in sorted(s.webhooks.configs.values(), key=lambda c: c.id)]  # fmt: skip
    return ok(r, payload)


def create_config(s: Scenario, r: Request) -> Response:
    body = _body(r)
    name, uri = _required(body)
    ssl = _flag(body, "ssl", True)
    triggers = _triggers(body)
    if not body.get("secretkey"):
        raise ApiError(400, "Secret key is required")
    secret = _check_secret(s, body["secretkey"])
    _check_uri(uri, ssl)
    _duplicate(s, name, uri)
    _probe(s, uri)
    config = s.webhooks.add_config(
        name=name, uri=uri, secret=secret, enabled=_flag(body, "enabled", True), ssl=ssl,
        triggers=triggers, target_id=_target(body), created_by=s.key_user.id,
        created_on=s.clock(),
    )  # fmt: skip
    s.add_audit_event(6055, target=[config.id], parts=[name])
    return ok(r, _dto(s, config))


def update_config(s: Scenario, r: Request) -> Response:
    body = _body(r)
    name, uri = _required(body)
    config = _config(s, body.get("id"))
    ssl = _flag(body, "ssl", True)
    triggers = _triggers(body)
    secret = _check_secret(s, body["secretkey"]) if body.get("secretkey") else config.secret
    _check_uri(uri, ssl)
    _duplicate(s, name, uri, config.id)
    _probe(s, uri)
    config.name, config.uri, config.secret, config.ssl = name, uri, secret, ssl
    config.enabled, config.triggers = _flag(body, "enabled", True), triggers
    config.target_id = _target(body)  # an omitted targetId clears it
    config.modified_by, config.modified_on = s.key_user.id, s.clock()
    s.add_audit_event(6056, target=[config.id], parts=[name])
    return ok(r, _dto(s, config))


def enable_config(s: Scenario, r: Request) -> Response:
    body = _body(r)
    _required(body)
    config = _config(s, body.get("id"))
    enabled = _flag(body, "enabled", False)
    if enabled:
        _probe(s, config.uri)
    config.enabled = enabled
    config.modified_by, config.modified_on = s.key_user.id, s.clock()
    s.add_audit_event(6056, target=[config.id], parts=[config.name])
    return ok(r, _dto(s, config))


def delete_config(s: Scenario, r: Request) -> Response:
    config = _config(s, r.params["id"])
    s.webhooks.remove_config(config.id)
    s.add_audit_event(6057, target=[config.id], parts=[config.name])
    return ok(r, _dto(s, config))


def list_triggers(s: Scenario, r: Request) -> Response:
    caller = s.key_user
    payload = [
        {"name": name, "id": value,
         "available": caller.is_docspace_admin or caller.is_room_admin
         or name not in ADMIN_AND_ROOM_ADMIN_ONLY}
        for name, value in TRIGGERS.items()
    ]  # fmt: skip
    return ok(r, payload)


def list_logs(s: Scenario, r: Request) -> Response:
    logs = sorted(s.webhooks.logs.values(), key=lambda x: x.id, reverse=True)
    config_id = r.arg("configId")
    if config_id:
        logs = [x for x in logs if str(x.config_id) == config_id]
    event_id = r.arg("eventId")
    if event_id:
        logs = [x for x in logs if str(x.id) == event_id]
    trigger = r.arg("trigger")
    if trigger:
        logs = [x for x in logs if x.trigger == trigger or str(TRIGGERS[x.trigger]) == trigger]
    group = bind_int("groupStatus", r.arg("groupStatus"), 0)
    if group:
        logs = [x for x in logs if group & _group(x.status)]
    count = min(bind_count(r.arg("count")), 100)
    start = max(0, bind_int("startIndex", r.arg("startIndex"), 0))
    page = logs[start : start + count]
    return ok(r, [_log_dto(x) for x in page], count=len(page), total=len(logs))


def _group(status: int) -> int:
    if status == 0:
        return 1
    return {2: 2, 3: 4, 4: 8}.get(status // 100, 16)


def retry_one(s: Scenario, r: Request) -> Response:
    log_id = bind_int("id", r.params["id"], -1)
    new = s.webhooks.retry(log_id)
    if new is None:
        raise not_found("Webhook log not found")
    return ok(r, _log_dto(new))


def retry_many(s: Scenario, r: Request) -> Response:
    body = _body(r)
    ids = body.get("ids") or []
    if not isinstance(ids, list):
        raise ValidationError({"$.ids": ["The JSON value could not be converted."]})
    retried = [s.webhooks.retry(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    return ok(r, [_log_dto(x) for x in retried if x is not None])


def register(router: Router) -> None:
    base = "/api/2.0/settings"
    router.add("GET", f"{base}/webhook/triggers", list_triggers)
    router.add("GET", f"{base}/webhooks/log", list_logs)
    router.add("PUT", f"{base}/webhook/enable", enable_config)
    router.add("PUT", f"{base}/webhook/retry", retry_many)
    router.add("PUT", f"{base}/webhook/{{id}}/retry", retry_one)
    router.add("GET", f"{base}/webhook", list_configs)
    router.add("POST", f"{base}/webhook", create_config)
    router.add("PUT", f"{base}/webhook", update_config)
    router.add("DELETE", f"{base}/webhook/{{id}}", delete_config)
