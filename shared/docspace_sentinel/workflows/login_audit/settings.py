"""The login audit's settings: the brute-force rule and the digest (the environment variable
names live here)."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from ...runtime.env import Env, env_bool, env_int


class _LoginAuditValues(NamedTuple):
    failures: int = 10
    window: timedelta = timedelta(minutes=5)
    digest: bool = True
    digest_top: int = 25


class LoginAuditSettings(_LoginAuditValues):
    """The login audit's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    BRUTE_FORCE_FAILURES = "BRUTE_FORCE_FAILURES"
    BRUTE_FORCE_WINDOW_MINUTES = "BRUTE_FORCE_WINDOW_MINUTES"
    DIGEST_ENABLED = "DIGEST_ENABLED"
    DIGEST_TOP_USERS = "DIGEST_TOP_USERS"

    @classmethod
    def from_env(cls, env: Env | None = None) -> LoginAuditSettings:
        return cls(
            failures=env_int(cls.BRUTE_FORCE_FAILURES, 10, minimum=2, maximum=10_000, env=env),
            window=timedelta(
                minutes=env_int(cls.BRUTE_FORCE_WINDOW_MINUTES, 5, minimum=1, maximum=1440, env=env)
            ),
            digest=env_bool(cls.DIGEST_ENABLED, True, env=env),
            digest_top=env_int(cls.DIGEST_TOP_USERS, 25, minimum=1, maximum=1000, env=env),
        )
