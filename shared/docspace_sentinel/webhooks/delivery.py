"""A verified webhook body, parsed tolerantly into a ``Delivery``.

The body is ``{"event": {...}, "payload": {...entity...}, "webhook": {...}}``; DocSpace omits
default values (``null``, ``0``, ``false``) at every level, so only ``event.id``,
``event.createOn`` and ``event.trigger`` are required here. Anything the guard cannot use (not
JSON, an unknown trigger, a ``createOn`` outside ``MAX_AGE``/``MAX_SKEW``) raises
``UnusableDelivery``: the receiver still answers 2xx (DocSpace would only retry it) and counts it.

``content_key`` identifies a delivery across manual retries, which get a new ``event.id`` but
copy the stored body: ``sha256(trigger|createOn|payload id|createBy)``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from ..docspace.webhook_triggers import TRIGGERS
from ..runtime.errors import SentinelError

#: A delivery older than this is not used (manual retries keep the original createOn, so a
#: few days must pass; the issue asks not to refuse those).
MAX_AGE = timedelta(days=14)
#: How far ahead of our clock a createOn may be (the portal's clock may run ahead).
MAX_SKEW = timedelta(hours=1)
_MAX_INT64 = 2**63 - 1
_MAX_ID_TEXT = 255  # targetId's limit; third-party storage ids are strings
_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$"
)


class UnusableDelivery(SentinelError, ValueError):
    """A validly signed body the guard cannot use; ``reason`` is short and holds no body text."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"unusable webhook delivery: {reason}")


class Delivery(NamedTuple):
    event_id: int
    create_on: datetime  # UTC
    create_by: str | None  # the acting user's GUID (absent when Guid.Empty)
    trigger: str
    trigger_id: int | None
    entity_id: int | str | None  # payload.id: a number, or a string (third-party storage, users)
    webhook_id: int | None
    retry_count: int  # webhook.retryCount: 0 on the first attempt
    content_key: str


def parse_delivery(body: bytes | str, *, now: datetime | None = None) -> Delivery:
    """Parse a verified body, or raise ``UnusableDelivery``."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise UnusableDelivery("the body is not JSON") from None
    if not isinstance(data, dict):
        raise UnusableDelivery("the body is not a JSON object")
    event = _object(data.get("event"))
    if event is None:
        raise UnusableDelivery("no event object")
    event_id = _int(event.get("id"))
    if event_id is None or event_id <= 0:
        raise UnusableDelivery("event.id is not a positive integer")
    trigger = event.get("trigger")
    if not isinstance(trigger, str) or trigger not in TRIGGERS:
        raise UnusableDelivery("unknown trigger")
    create_on = parse_time(event.get("createOn"))
    if create_on is None:
        raise UnusableDelivery("event.createOn is not a date")
    now = now or datetime.now(UTC)
    if not now - MAX_AGE <= create_on <= now + MAX_SKEW:
        raise UnusableDelivery("event.createOn is out of range")
    create_by = event.get("createBy")
    create_by = create_by if isinstance(create_by, str) and 0 < len(create_by) <= 64 else None
    payload = _object(data.get("payload")) or {}
    entity_id = _entity_id(payload.get("id"))
    if entity_id is None:  # form.submit: {"originalForm": ..., "submittedForm": ...}
        entity_id = _entity_id((_object(payload.get("submittedForm")) or {}).get("id"))
    webhook = _object(data.get("webhook")) or {}
    retry_count = _int(webhook.get("retryCount"))
    return Delivery(
        event_id=event_id,
        create_on=create_on,
        create_by=create_by,
        trigger=trigger,
        trigger_id=_int(event.get("triggerId")),
        entity_id=entity_id,
        webhook_id=_int(webhook.get("id")),
        retry_count=retry_count if retry_count is not None and retry_count >= 0 else 0,
        content_key=content_key(trigger, create_on, entity_id, create_by),
    )


def content_key(
    trigger: str, create_on: datetime, entity_id: int | str | None, create_by: str | None
) -> str:
    """The same for a manual retry (new event.id, same createOn, trigger and payload)."""
    parts = (trigger, create_on.isoformat(), _key_part(entity_id), (create_by or "").lower())
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time as DocSpace writes it (``Z``, an offset, or no zone: UTC), else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _DATE.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if offset > timedelta(hours=14):
            return None
        try:
            parsed -= sign * offset
        except OverflowError:
            return None
    return parsed


def _object(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if -_MAX_INT64 <= number <= _MAX_INT64 else None


def _entity_id(value: Any) -> int | str | None:
    number = _int(value) if not isinstance(value, str) else None
    if number is not None:
        return number
    if isinstance(value, str) and 0 < len(value) <= _MAX_ID_TEXT:
        return value
    return None


def _key_part(entity_id: int | str | None) -> str:
    if entity_id is None:
        return ""
    return f"n:{entity_id}" if isinstance(entity_id, int) else f"s:{entity_id}"
