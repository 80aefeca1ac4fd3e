"""The tolerant readers every record's ``from_wire`` is built from (package-private).

The server omits null properties, so a field of the wrong type or absent reads as ``None``
(or ``()``, or ``False``); only a record's identity is required (``MalformedRecord``). The
short ``_s``/``_i`` forms are for the per-event hot path (``AuditEvent.from_wire``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..dates import parse_wire_date
from ..errors import MalformedRecord

Wire = Mapping[str, Any]


def _require_mapping(kind: str, raw: Any) -> Wire:
    if not isinstance(raw, Mapping):
        raise MalformedRecord(kind, f"expected an object, got {type(raw).__name__}")
    return raw


def _int(raw: Wire, key: str) -> int | None:
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_int(value)
    return None


def parse_int(text: str) -> int | None:
    """A plain ASCII integer ("-12"), or None: no "²", "١٢", "--5" or 5000-digit numbers."""
    digits = text[1:] if text.startswith("-") else text
    if not digits or len(digits) > 18 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def _s(value: Any) -> str | None:
    return value if value.__class__ is str else None


def _i(value: Any) -> int | None:
    if value.__class__ is int:
        return value
    return parse_int(value) if value.__class__ is str else None


def _str(raw: Wire, key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _bool(raw: Wire, key: str) -> bool:
    return raw.get(key) is True


def _date(raw: Wire, key: str) -> datetime | None:
    value = raw.get(key)
    if not isinstance(value, str):
        return None
    try:
        return parse_wire_date(value)
    except ValueError:
        return None


def _int_list(raw: Wire, key: str) -> tuple[int, ...]:
    value = raw.get(key)
    if not isinstance(value, list):
        return ()
    items = tuple(value)
    if set(map(type, items)) <= _INT:  # the usual case, checked in C
        return items
    return tuple(v for v in items if isinstance(v, int) and not isinstance(v, bool))


def _str_list(raw: Wire, key: str) -> tuple[str, ...]:
    value = raw.get(key)
    if not isinstance(value, list):
        return ()
    items = tuple(value)
    if set(map(type, items)) <= _STR:
        return items
    return tuple(str(v) for v in items if isinstance(v, str | int) and not isinstance(v, bool))


_INT = frozenset({int})
_STR = frozenset({str})


def _identity(kind: str, raw: Wire) -> tuple[int, datetime]:
    event_id = raw.get("id")
    if event_id.__class__ is not int:  # bool is an int subclass: rejected too
        raise MalformedRecord(kind, "missing or non-integer id", event_id)
    date = raw.get("date")
    if date.__class__ is not str:
        raise MalformedRecord(kind, "missing date", event_id)
    try:
        return event_id, parse_wire_date(date)
    except ValueError as exc:
        raise MalformedRecord(kind, f"unparseable date {date!r} ({exc})", event_id) from None
