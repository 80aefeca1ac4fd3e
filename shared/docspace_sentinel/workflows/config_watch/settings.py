"""The configuration watch's settings (the environment variable names live here)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import NamedTuple

from ...findings.finding import Severity
from ...runtime.env import Env, env_bool, env_int, env_list
from ...runtime.errors import ConfigError

_NO_OVERRIDES: Mapping[int, Severity] = MappingProxyType({})


class _ConfigWatchValues(NamedTuple):
    #: Severity per ``actionId``, replacing the catalogue's default.
    severity_overrides: Mapping[int, Severity] = _NO_OVERRIDES
    #: Read the portal's settings each scheduled run and report what changed.
    snapshots: bool = True
    #: How far an audit event may lie from our own journalled write to be called ours.
    own_action_tolerance: timedelta = timedelta(minutes=10)


class ConfigWatchSettings(_ConfigWatchValues):
    """The configuration watch's settings (a NamedTuple; the variable names live here)."""

    __slots__ = ()
    SEVERITY_OVERRIDES = "SEVERITY_OVERRIDES"
    SETTINGS_SNAPSHOTS = "SETTINGS_SNAPSHOTS"
    OWN_ACTION_TOLERANCE_MINUTES = "OWN_ACTION_TOLERANCE_MINUTES"

    @classmethod
    def from_env(cls, env: Env | None = None) -> ConfigWatchSettings:
        return cls(
            severity_overrides=parse_overrides(
                cls.SEVERITY_OVERRIDES, env_list(cls.SEVERITY_OVERRIDES, env=env)
            ),
            snapshots=env_bool(cls.SETTINGS_SNAPSHOTS, True, env=env),
            own_action_tolerance=timedelta(
                minutes=env_int(
                    cls.OWN_ACTION_TOLERANCE_MINUTES, 10, minimum=1, maximum=120, env=env
                )
            ),
        )


def parse_overrides(name: str, parts: tuple[str, ...]) -> Mapping[int, Severity]:
    """``6094=high 6028=medium`` (``:`` works as well as ``=``): an ``actionId`` and a severity
    per item. A repeated id must not say two different things."""
    overrides: dict[int, Severity] = {}
    choices = ", ".join(s.value for s in Severity)
    for part in parts:
        code, sep, level = part.replace(":", "=").partition("=")
        if not sep or not code.isascii() or not code.isdigit() or len(code) > 9:
            raise ConfigError(name, f"items must be <actionId>=<severity>, got {part!r}")
        try:
            severity = Severity(level.strip().lower())
        except ValueError:
            raise ConfigError(
                name, f"severity of {code} must be one of {choices}, got {level!r}"
            ) from None
        if overrides.get(int(code), severity) != severity:
            raise ConfigError(name, f"gives {code} two different severities")
        overrides[int(code)] = severity
    return MappingProxyType(overrides)
