"""The portal's webhook configurations (``GET/POST/PUT/DELETE settings/webhook``).

``triggers`` is an open 64-bit bit mask (0 means every trigger; values >= 2**31 exist that the
SPEC misses). The secret is never returned by the portal, so no record here holds one.
``lastFailureContent`` is whatever the receiving end answered (attacker-influenced when the
URI is not ours): cut to ``MAX_FAILURE_TEXT`` and folded to one line when read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from ..dates import parse_user_date
from ..errors import MalformedRecord
from ..secret import redact
from .wire import Wire, _bool, _int, _require_mapping, _str

#: The most characters of ``lastFailureContent`` kept (the portal stores a receiver's answer).
MAX_FAILURE_TEXT = 300
_MAX_INT64 = 2**63 - 1


def _plain_date(raw: Wire, key: str) -> datetime | None:
    """These DTO dates are plain ``DateTime`` values: with an offset, ``Z`` or (DB values) no
    zone at all, which is taken as UTC. Unreadable → None."""
    value = raw.get(key)
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        return parse_user_date(value)
    except ValueError:
        return None


def _triggers(raw: Wire) -> int:
    value = _int(raw, "triggers")
    return value if value is not None and 0 <= value <= _MAX_INT64 else 0


class WebhookConfig(NamedTuple):
    """``WebhooksConfigDto``, with ``status`` (the HTTP status of the last delivery, 0 if none)
    from the list's ``{"configs": ..., "status": ...}`` wrapper."""

    id: int
    name: str | None = None
    uri: str | None = None
    enabled: bool = False
    ssl: bool = False
    triggers: int = 0  # 0 = every trigger
    target_id: str | None = None
    created_by: str | None = None  # the creator's user id
    last_failure_on: datetime | None = None
    last_failure_content: str | None = None
    last_success_on: datetime | None = None
    status: int = 0

    @classmethod
    def from_wire(cls, raw: Any, status: Any = 0) -> WebhookConfig:
        raw = _require_mapping("webhook", raw)
        config_id = _int(raw, "id")
        if config_id is None:
            raise MalformedRecord("webhook", "missing or non-integer id", raw.get("id"))
        creator = raw.get("createdBy")
        created_by = _str(creator, "id") if isinstance(creator, dict) else None
        content = _str(raw, "lastFailureContent")
        target = raw.get("targetId")
        return cls(
            id=config_id,
            name=_str(raw, "name"),
            uri=_str(raw, "uri"),
            enabled=_bool(raw, "enabled"),
            ssl=_bool(raw, "ssl"),
            triggers=_triggers(raw),
            target_id=str(target)[:255] if isinstance(target, str | int) and target != "" else None,
            created_by=created_by,
            last_failure_on=_plain_date(raw, "lastFailureOn"),
            last_failure_content=redact(content, MAX_FAILURE_TEXT) if content else None,
            last_success_on=_plain_date(raw, "lastSuccessOn"),
            status=status if isinstance(status, int) and not isinstance(status, bool) else 0,
        )

    @classmethod
    def from_listing(cls, raw: Any) -> WebhookConfig:
        """One row of ``GET settings/webhook``: ``{"configs": WebhooksConfigDto, "status": n}``."""
        raw = _require_mapping("webhook", raw)
        return cls.from_wire(raw.get("configs"), raw.get("status", 0))

    @property
    def failing(self) -> bool:
        """The last delivery failed: a failure newer than the last success, or a last status
        of 400 or more."""
        if self.status >= 400:
            return True
        if self.last_failure_on is None:
            return False
        return self.last_success_on is None or self.last_failure_on > self.last_success_on

    def to_dict(self) -> dict[str, Any]:
        """For the CLI and findings: everything but the creator (never a secret: none is held)."""
        from ..dates import format_utc

        return {
            "id": self.id,
            "name": self.name,
            "uri": self.uri,
            "enabled": self.enabled,
            "ssl": self.ssl,
            "triggers": self.triggers,
            "targetId": self.target_id,
            "lastSuccessOn": format_utc(self.last_success_on) if self.last_success_on else None,
            "lastFailureOn": format_utc(self.last_failure_on) if self.last_failure_on else None,
            "lastFailureContent": self.last_failure_content,
            "lastStatus": self.status,
        }
