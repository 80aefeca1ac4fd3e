"""Finding values in JSON form: normalized, bounded and trimmed.

What ``Finding`` applies to its fields: ``json_safe`` when it is built (evidence and context
become plain JSON data), ``bounded``/``bounded_part`` for the portal text it keeps (user, room,
dedup parts), and ``trim`` for ``Finding.trimmed`` (sample lists cut, every cut recorded).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..docspace import dates

#: Suffix of the key that records how many items ``trimmed`` cut from a list.
TRUNCATED_SUFFIX = "Truncated"

#: The longest user id, name and e-mail, room title and dedup part a finding keeps. They are
#: portal text and, unlike evidence, never trimmed later: one huge value would otherwise leave
#: only the degraded message. A longer dedup part keeps a digest of the whole part, so parts
#: that differ only past the cut stay different findings.
FIELD_MAX_CHARS = 256
_DIGEST_CHARS = 16


def format_utc(value: datetime) -> str:
    """ISO-8601 UTC with ``Z``; microseconds only when there are some (so round trips are exact)."""
    return dates.format_utc(value, "exact")


def _sort_key(value: Any) -> tuple[str, str]:
    return (type(value).__name__, json.dumps(value, sort_keys=True, default=str))


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: dicts with string keys, lists, str, int, float, bool, None.

    Datetimes become ISO-8601 UTC strings with ``Z`` (a naive one is taken as UTC), tuples lists,
    sets sorted lists, enums their value, dataclasses dicts of their fields; anything else its
    ``str()``. Non-finite floats become strings: JSON has no NaN.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple record
        return {k: json_safe(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [json_safe(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=_sort_key)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def trim(mapping: Mapping[str, Any], max_items: int, max_chars: int | None) -> dict[str, Any]:
    """Cut every list in ``mapping`` (recursively) to ``max_items``, recording the cut.

    Next to a cut list ``key`` the count of dropped items goes into ``key + "Truncated"``, added
    to any count an earlier trim left there. Scalars (counts) are kept as they are; with
    ``max_chars`` long strings are shortened too.
    """
    out: dict[str, Any] = {}
    dropped: dict[str, int] = {}
    for key, value in mapping.items():
        if isinstance(value, list):
            if len(value) > max_items:
                dropped[key] = len(value) - max_items
                value = value[:max_items]
            value = [_trim_item(v, max_items, max_chars) for v in value]
        else:
            value = _trim_item(value, max_items, max_chars)
        out[key] = value
    for key, count in dropped.items():
        marker = key + TRUNCATED_SUFFIX
        earlier = out.get(marker)
        previous = earlier if isinstance(earlier, int) and not isinstance(earlier, bool) else 0
        out[marker] = previous + count
    return out


def _trim_item(value: Any, max_items: int, max_chars: int | None) -> Any:
    if isinstance(value, Mapping):
        return trim(value, max_items, max_chars)
    if max_chars is not None and isinstance(value, str) and len(value) > max_chars:
        return shorten(value, max_chars)
    return value


def bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > FIELD_MAX_CHARS:
        return shorten(value, FIELD_MAX_CHARS)
    return value


def bounded_part(part: str) -> str:
    """A dedup part of at most ``FIELD_MAX_CHARS``: parts that fit are kept exactly (their
    fingerprint is unchanged), longer ones are cut and end with a digest of the whole."""
    if len(part) <= FIELD_MAX_CHARS:
        return part
    digest = hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    suffix = f" sha256:{digest}"
    return shorten(part, FIELD_MAX_CHARS - len(suffix)) + suffix


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"
