"""The real-time guard's settings: the polling guard's names (``FILE_CHANGE_THRESHOLD``,
``WINDOW_MINUTES``, ``MODE``, ``MAX_RESTRICTIONS_PER_RUN``, ``PROTECTED_USER_IDS``,
``RESTRICTION_MINUTES``, ``PROTECT_LDAP_USERS``, ``PROTECT_SSO_USERS``) with the same meaning,
and the download rule's. ``MAX_RESTRICTIONS_PER_RUN`` is here a cap per ``WINDOW_MINUTES``
window across all consumers (there are no runs)."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from ...enforcement.gate import ResponseSettings
from ...runtime.env import Env, env_bool, env_int


class _Values(NamedTuple):
    threshold: int = 20
    window: timedelta = timedelta(minutes=10)
    download_threshold: int = 50
    act_on_downloads: bool = False
    response: ResponseSettings = ResponseSettings()


class RealtimeSettings(_Values):
    __slots__ = ()
    FILE_CHANGE_THRESHOLD = "FILE_CHANGE_THRESHOLD"
    WINDOW_MINUTES = "WINDOW_MINUTES"
    DOWNLOAD_THRESHOLD = "DOWNLOAD_THRESHOLD"
    ACT_ON_DOWNLOADS = "ACT_ON_DOWNLOADS"

    @classmethod
    def from_env(cls, env: Env | None = None) -> RealtimeSettings:
        return cls(
            threshold=env_int(cls.FILE_CHANGE_THRESHOLD, 20, minimum=1, maximum=100_000, env=env),
            window=timedelta(
                minutes=env_int(cls.WINDOW_MINUTES, 10, minimum=1, maximum=24 * 60, env=env)
            ),
            download_threshold=env_int(
                cls.DOWNLOAD_THRESHOLD, 50, minimum=1, maximum=100_000, env=env
            ),
            act_on_downloads=env_bool(cls.ACT_ON_DOWNLOADS, False, env=env),
            response=ResponseSettings.from_env(env),
        )

    @property
    def minutes(self) -> int:
        return int(self.window.total_seconds() // 60)


Settings = RealtimeSettings
