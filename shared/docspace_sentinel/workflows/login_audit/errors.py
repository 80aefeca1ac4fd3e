"""The login audit's errors."""

from __future__ import annotations

from ...runtime.errors import SentinelError


class InvalidQuery(SentinelError, ValueError):
    """A login query asked for something that cannot be answered; the message says what."""
