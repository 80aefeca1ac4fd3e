"""Inactive members' settings: the rooms watched, the period, what counts as activity, the
reminder cooldown and the mail addresses (the environment variable names live here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from ...docspace.message_actions import FILE_CHANGE, MessageAction
from ...runtime.env import Env, env_bool, env_ids, env_int, env_list, env_str
from ...runtime.errors import ConfigError
from ...runtime.invocation import Invocation

A = MessageAction

#: What counts as taking part in a room: opening, reading, downloading, editing, uploading,
#: commenting (version comments), filling and submitting forms, and every file change.
DEFAULT_ACTIVITY: frozenset[int] = FILE_CHANGE | {
    A.FILE_OPENED_FOR_CHANGE,
    A.FILE_READED,
    A.FILE_DOWNLOADED,
    A.FILE_DOWNLOADED_AS,
    A.FOLDER_DOWNLOADED,
    A.FILE_UPDATED_REVISION_COMMENT,
    A.FILE_REVISION_DOWNLOADED,
    A.FOLDER_CREATED,
    A.FORM_SUBMIT,
    A.FORM_OPENED_FOR_FILLING,
    A.DOCUMENT_SIGN_COMPLETE,
}


class _InactiveValues(NamedTuple):
    room_ids: tuple[int, ...] = ()
    room_types: tuple[int, ...] = (8, 2)
    period: timedelta = timedelta(days=30)
    min_activity: int = 1
    activity_actions: frozenset[int] = DEFAULT_ACTIVITY
    cooldown: timedelta = timedelta(days=30)
    expand_groups: bool = False
    skip_owner: bool = True
    sender: str | None = None
    manager_email: str | None = None


class InactiveSettings(_InactiveValues):
    """Inactive members' settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    ROOM_IDS = "ROOM_IDS"
    ROOM_TYPES = "ROOM_TYPES"
    PERIOD_DAYS = "PERIOD_DAYS"
    MIN_ACTIVITY = "MIN_ACTIVITY"
    ACTIVITY_ACTIONS = "ACTIVITY_ACTIONS"
    REMINDER_COOLDOWN_DAYS = "REMINDER_COOLDOWN_DAYS"
    EXPAND_GROUPS = "EXPAND_GROUPS"
    SKIP_OWNER = "SKIP_OWNER"
    REMINDER_SENDER = "REMINDER_SENDER"
    MANAGER_EMAIL = "MANAGER_EMAIL"

    @classmethod
    def from_env(cls, env: Env | None = None) -> InactiveSettings:
        actions = env_list(cls.ACTIVITY_ACTIONS, env=env)
        try:
            codes = (
                frozenset(MessageAction.lookup(a) for a in actions) if actions else DEFAULT_ACTIVITY
            )
        except ValueError as exc:
            raise ConfigError(cls.ACTIVITY_ACTIONS, str(exc)) from None
        return cls(
            room_ids=env_ids(cls.ROOM_IDS, env=env),
            room_types=env_ids(cls.ROOM_TYPES, env=env) or (8, 2),
            period=timedelta(days=env_int(cls.PERIOD_DAYS, 30, minimum=1, maximum=365, env=env)),
            min_activity=env_int(cls.MIN_ACTIVITY, 1, minimum=1, env=env),
            activity_actions=codes,
            cooldown=timedelta(
                days=env_int(cls.REMINDER_COOLDOWN_DAYS, 30, minimum=0, maximum=365, env=env)
            ),
            expand_groups=env_bool(cls.EXPAND_GROUPS, False, env=env),
            skip_owner=env_bool(cls.SKIP_OWNER, True, env=env),
            sender=_email(cls.REMINDER_SENDER, env),
            manager_email=_email(cls.MANAGER_EMAIL, env),
        )

    def scan_window(self, invocation: Invocation) -> tuple[datetime, datetime]:
        """The audit trail the rule reads: an on-demand window as given, else the last
        ``PERIOD_DAYS`` up to the scheduled time (the runner plans this one scan; no cursor)."""
        if invocation.window is not None:
            return invocation.window
        end = invocation.scheduled_time
        return end - self.period, end


def _email(name: str, env: Env | None) -> str | None:
    value = env_str(name, env=env)
    if value is not None and ("@" not in value or " " in value):
        raise ConfigError(name, f"must be an email address, got {value!r}")
    return value
