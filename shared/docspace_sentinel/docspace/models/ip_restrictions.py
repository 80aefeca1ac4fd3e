"""The portal's IP restrictions: the entries and the switch that turns them on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..errors import MalformedRecord
from .wire import _bool, _int, _require_mapping, _str


class IpRestriction(NamedTuple):
    """One portal IP-restriction entry: a single address, for everyone or for admins only."""

    ip: str
    for_admin: bool = False
    id: int | None = None

    @classmethod
    def from_wire(cls, raw: Any) -> IpRestriction:
        raw = _require_mapping("ip restriction", raw)
        ip = _str(raw, "ip")
        if not ip:
            raise MalformedRecord("ip restriction", "missing ip", raw.get("id"))
        return cls(ip=ip, for_admin=_bool(raw, "forAdmin"), id=_int(raw, "id"))

    def to_wire(self) -> dict[str, Any]:
        return {"ip": self.ip, "forAdmin": self.for_admin}


class IpRestrictionSettings(NamedTuple):
    enable: bool
    last_modified: str | None = None  # a plain DateTime string, not an ApiDateTime

    @classmethod
    def from_wire(cls, raw: Any) -> IpRestrictionSettings:
        raw = _require_mapping("ip restriction settings", raw)
        return cls(enable=_bool(raw, "enable"), last_modified=_str(raw, "lastModified"))


def list_digest(enable: bool, entries: Iterable[tuple[str, bool]]) -> str:
    """A digest of an IP-restriction state (switch and entries, order-free): what the portal
    sync notes it wrote, and what the configuration watch's snapshot compares it with."""
    state = {"enabled": bool(enable), "entries": sorted([ip, bool(a)] for ip, a in set(entries))}
    text = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
