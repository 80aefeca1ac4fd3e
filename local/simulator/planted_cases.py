"""What `generate_scenario(plant=True)` hides in the data, for tests of the workflows.

Every planted event sits inside the last few days before `now`, so a default look-back
of three days sees all of them. With `plant=False` the object is `Planted.empty()`.
Datetimes are timezone-aware UTC; ids are audit or login event ids as served.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class VdrHeavy:
    """One user with far more activity in one VDR on one day than anyone else."""

    user_id: str
    room_id: int
    room_title: str
    start: datetime
    end: datetime
    event_ids: tuple[int, ...]
    baseline_per_user_day: float  # mean events per active user per day in the background


@dataclass(frozen=True)
class BulkChange:
    """A user changing many distinct files in one room within a short window."""

    user_id: str
    room_id: int
    room_title: str
    start: datetime
    end: datetime
    file_ids: tuple[int, ...]
    event_ids: tuple[int, ...]


@dataclass(frozen=True)
class RepeatedEdit:
    """A user editing ONE file many times: busy, but not a bulk change."""

    user_id: str
    room_id: int
    file_id: int
    start: datetime
    end: datetime
    event_ids: tuple[int, ...]


@dataclass(frozen=True)
class InactiveMember:
    """A room member with no audit activity in that room over the last 30 days.

    reason: "never_active" (no activity anywhere), "active_elsewhere" (active only in
    another room), "disabled" (a Terminated user still listed as a member).
    """

    room_id: int
    room_title: str
    user_id: str
    reason: str


@dataclass(frozen=True)
class PlantedLogin:
    event_id: int
    user_id: str
    ip: str
    date: datetime


@dataclass(frozen=True)
class BruteForce:
    """Failed logins for one login from one IP within 5 minutes, then a success."""

    login: str
    ip: str
    user_id: str
    failed_event_ids: tuple[int, ...]
    success_event_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Planted:
    vdr_heavy: VdrHeavy | None = None
    bulk_changer: BulkChange | None = None
    repeated_editor: RepeatedEdit | None = None
    inactive_members: tuple[InactiveMember, ...] = ()
    # user id -> allowed entries (single IPs, CIDR blocks, a-b ranges, IPv6 prefixes)
    allowlists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    off_allowlist_logins: tuple[PlantedLogin, ...] = ()
    in_allowlist_logins: tuple[PlantedLogin, ...] = ()
    # An IPv6 login the server truncated at the first ':' ("2001"): not decidable.
    truncated_ipv6_login: PlantedLogin | None = None
    brute_force: BruteForce | None = None

    @classmethod
    def empty(cls) -> Planted:
        return cls()
