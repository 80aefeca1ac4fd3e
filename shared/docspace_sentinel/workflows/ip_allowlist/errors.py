"""Errors of the IP allowlist workflow: a rejected allowlist, a concurrent change, tables
still in the pre-migration key layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...runtime.errors import SentinelError
from ...state.errors import StateError


class InvalidAllowlist(SentinelError, ValueError):
    """An allowlist (or a registration carrying one) was rejected whole.

    ``problems`` holds one line per bad entry or field; the message lists them all, so the
    sending system can fix everything in one go.
    """

    def __init__(self, problems: Sequence[str], *, subject: str = "allowlist") -> None:
        self.problems = tuple(problems)
        listed = "; ".join(self.problems)
        super().__init__(f"{subject} rejected, nothing was stored: {listed}")


class AllowlistConflict(SentinelError):
    """Someone else changed the same allowlist meanwhile; re-read and try again."""


class LegacyAllowlists(StateError):
    """Allowlists are still stored under their pre-version-2 keys: run the migration first."""
