"""Reading settings from the environment, once, at start.

Every reader raises ``ConfigError`` naming the variable, so a bad deployment fails on its first
invocation with a message that says what to fix, instead of misbehaving later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from ..docspace.models import parse_int
from .errors import ConfigError

Env = Mapping[str, str]
T = TypeVar("T")


def _raw(env: Env, name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(name: str, default: str | None = None, *, env: Env | None = None) -> str | None:
    value = _raw(os.environ if env is None else env, name)
    return default if value is None else value


def env_required(name: str, *, env: Env | None = None, hint: str = "") -> str:
    value = _raw(os.environ if env is None else env, name)
    if value is None:
        raise ConfigError(name, "is required but not set" + (f"; {hint}" if hint else ""))
    return value


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    env: Env | None = None,
) -> int:
    value = _raw(os.environ if env is None else env, name)
    if value is None:
        return default
    try:
        number = int(value, 10)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {value!r}") from None
    return _bounded(name, number, minimum, maximum)


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    env: Env | None = None,
) -> float:
    value = _raw(os.environ if env is None else env, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, f"must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ConfigError(name, f"must be a finite number, got {value!r}")
    return _bounded(name, number, minimum, maximum)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool, *, env: Env | None = None) -> bool:
    value = _raw(os.environ if env is None else env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(name, f"must be true or false, got {value!r}")


def env_choice(name: str, default: str, choices: tuple[str, ...], *, env: Env | None = None) -> str:
    value = _raw(os.environ if env is None else env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}; got {value!r}")
    return lowered


def env_list(name: str, *, env: Env | None = None) -> tuple[str, ...]:
    """A comma- or whitespace-separated list; empty when unset."""
    value = _raw(os.environ if env is None else env, name)
    if value is None:
        return ()
    return tuple(part for part in value.replace(",", " ").split() if part)


def env_ids(name: str, *, env: Env | None = None, alias: str | None = None) -> tuple[int, ...]:
    """Positive whole numbers (room ids, room types), comma- or whitespace-separated; empty when
    unset. ``alias`` is a deprecated older name still accepted: when only it is set, its value is
    used; when both are set they must agree (the error names both)."""
    ids = _ids(name, env)
    if alias is None:
        return ids
    old = _ids(alias, env)
    if not env_list(name, env=env):
        return old
    if env_list(alias, env=env) and old != ids:
        raise ConfigError(
            name, f"and {alias} (its deprecated older name) are both set, to different values"
        )
    return ids


def _ids(name: str, env: Env | None) -> tuple[int, ...]:
    values = env_list(name, env=env)
    bad = [v for v in values if (parse_int(v) or 0) <= 0]
    if bad:
        raise ConfigError(name, f"must be positive whole numbers, got {', '.join(bad)}")
    return tuple(int(v) for v in values)


def _bounded(name: str, number: T, minimum: T | None, maximum: T | None) -> T:
    if minimum is not None and number < minimum:  # type: ignore[operator]
        raise ConfigError(name, f"must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:  # type: ignore[operator]
        raise ConfigError(name, f"must be at most {maximum}, got {number}")
    return number
