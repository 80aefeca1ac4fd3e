"""A string that never shows itself in logs, reprs or exception messages, and ``redact`` for
text that came from elsewhere (a portal's error body, a ``Location`` header) and may echo it."""

from __future__ import annotations

import re

#: The most characters of outside text an error message keeps (a portal may answer 1 MB).
MAX_TEXT = 400
#: Values shorter than this are not redacted by value: "ab" would be cut out of every word.
_MIN_REDACTED = 8
# Every key this process has held (the one in use and any it rotated from): redacted by value.
_KNOWN: set[str] = set()

_AUTH_HEADER = re.compile(
    r"""(?i)((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s"'<>,;]+"""
)
_BEARER = re.compile(r"""(?i)\b(bearer)(\s+|%20|\+)[^\s"'<>,;&]+""")
# DocSpace API keys are "sk-" and a long token; anything shaped like one is hidden too.
_API_KEY_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@]*@")
_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


class Secret:
    """Holds the API key. ``str()`` and ``repr()`` are redacted; ``reveal()`` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= _MIN_REDACTED:
            _KNOWN.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key out in the clear (e.g. into a multiprocessing queue).
        raise TypeError("Secret values cannot be pickled")


def redact(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` fit for an error message or a log line: every key this process holds, bearer
    tokens, ``Authorization`` values and URL credentials replaced by ``***``; whitespace and
    control characters (a forged log line) folded to one space; cut to ``limit`` characters.

    Redaction runs over the whole text before the cut, so a cut never leaves half a key."""
    # Longest first, so a key that contains another is not left half shown.
    for value in sorted(_KNOWN, key=len, reverse=True):
        if value in text:
            text = text.replace(value, "***")
    text = _AUTH_HEADER.sub(r"\1***", text)
    text = _BEARER.sub(r"\1 ***", text)
    text = _API_KEY_SHAPE.sub("sk-***", text)
    text = _USERINFO.sub(r"\1***@", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text
