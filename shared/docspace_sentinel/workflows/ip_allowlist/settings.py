"""The IP allowlist's settings: the portal sync's (``SyncSettings``, all a registration needs)
and the login check's response (``AllowlistSettings``); the environment variable names live here.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from ...enforcement.gate import ResponseSettings
from ...runtime.env import Env, env_bool, env_choice, env_int, env_list
from ...runtime.errors import ConfigError
from .entries import unmapped

SYNC_MODES = ("off", "dry-run", "enforce")
VIOLATION_MODES = ("alert", "logout", "restrict")


class _SyncValues(NamedTuple):
    mode: str = "dry-run"
    enable: bool = False
    max_expanded: int = 256
    always_allowed: tuple[str, ...] = ()
    #: Always-allowed addresses the operator agrees to see dropped while restrictions apply.
    confirm_remove: tuple[str, ...] = ()


class SyncSettings(_SyncValues):
    """The portal sync's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    PORTAL_SYNC = "PORTAL_SYNC"
    PORTAL_SYNC_ENABLE = "PORTAL_SYNC_ENABLE"
    MAX_EXPANDED_RANGE = "MAX_EXPANDED_RANGE"
    ALWAYS_ALLOWED_IPS = "ALWAYS_ALLOWED_IPS"
    PORTAL_SYNC_CONFIRM_REMOVE = "PORTAL_SYNC_CONFIRM_REMOVE"

    @classmethod
    def from_env(cls, env: Env | None = None) -> SyncSettings:
        return cls(
            mode=env_choice(cls.PORTAL_SYNC, "dry-run", SYNC_MODES, env=env),
            enable=env_bool(cls.PORTAL_SYNC_ENABLE, False, env=env),
            max_expanded=env_int(cls.MAX_EXPANDED_RANGE, 256, minimum=1, maximum=65_536, env=env),
            always_allowed=_addresses(cls.ALWAYS_ALLOWED_IPS, env, routable=True),
            confirm_remove=_addresses(cls.PORTAL_SYNC_CONFIRM_REMOVE, env),
        )


def _addresses(name: str, env: Env | None, *, routable: bool = False) -> tuple[str, ...]:
    """Single addresses, normal form (IPv4-mapped ones as IPv4), duplicates dropped.

    ``routable``: refuse addresses no administrator can sign in from (unspecified, loopback,
    multicast, broadcast, link-local, zone-indexed): set only to those, the "always-allowed is
    set" safety gate would pass with no real address on the list. Private ranges are fine.
    """
    found: list[str] = []
    bad: list[str] = []
    meaningless: list[str] = []
    for value in env_list(name, env=env):
        try:
            address = unmapped(ipaddress.ip_address(value))
        except ValueError:
            bad.append(value)
            continue
        if routable and (
            "%" in value
            or address.is_unspecified
            or address.is_loopback
            or address.is_multicast
            or address.is_link_local
            or address == ipaddress.IPv4Address("255.255.255.255")
        ):
            meaningless.append(value)
            continue
        found.append(str(address))
    if bad:
        raise ConfigError(
            name,
            f"must be single IP addresses (the portal stores no ranges), got {', '.join(bad)}",
        )
    if meaningless:
        raise ConfigError(
            name,
            "must be addresses the administrators sign in from; unspecified, loopback, "
            "multicast, broadcast, link-local and zone-indexed addresses admit nobody, got "
            + ", ".join(meaningless),
        )
    return tuple(dict.fromkeys(found))


class _AllowlistValues(NamedTuple):
    sync: SyncSettings = SyncSettings()
    on_violation: str = "alert"
    response: ResponseSettings = ResponseSettings()


class AllowlistSettings(_AllowlistValues):
    """The IP allowlist's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    ON_VIOLATION = "ON_VIOLATION"

    @classmethod
    def from_env(cls, env: Env | None = None) -> AllowlistSettings:
        return cls(
            sync=SyncSettings.from_env(env),
            on_violation=env_choice(cls.ON_VIOLATION, "alert", VIOLATION_MODES, env=env),
            response=ResponseSettings.from_env(env),
        )
