"""The ``x-docspace-signature-256`` check: HMAC-SHA256 of the exact raw body, keyed with the
webhook secret as UTF-8, sent as ``sha256=<HEX>`` (DocSpace sends upper-case hex; ONLYOFFICE's
own samples compare lower-case, so the case is ignored here).

Verify the raw bytes before any JSON parsing: a re-serialised body would not match.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Mapping
from typing import Any

HEADER = "x-docspace-signature-256"
PREFIX = "sha256="
_HEX_LENGTH = 64
_HEX = frozenset(string.hexdigits)


def header_value(headers: Mapping[str, Any] | None) -> str | None:
    """The signature header, its name looked up case-insensitively (``None`` when absent or
    not a string)."""
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == HEADER:
            return value if isinstance(value, str) else None
    return None


def sign(secret: str, body: bytes) -> str:
    """The header value DocSpace sends for ``body``: ``sha256=`` and upper-case hex."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest.upper()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is a valid signature of ``body``. Anything malformed (no prefix,
    non-hex, wrong length) is simply invalid: the caller answers 401 without saying why."""
    if not header or not secret:
        return False
    value = header.strip()
    if value[: len(PREFIX)].lower() != PREFIX:
        return False
    given = value[len(PREFIX) :]
    if len(given) != _HEX_LENGTH or not _HEX.issuperset(given):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    # Both sides normalised to lower-case ASCII bytes, compared in constant time.
    return hmac.compare_digest(given.lower().encode("ascii"), expected.encode("ascii"))
