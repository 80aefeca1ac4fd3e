"""The planted cases (see planted_cases.py for what each one promises to tests)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol

from local.simulator.activity import AuditBuilder, LoginBuilder, as_profile
from local.simulator.events import Profile
from local.simulator.model import ClientProfile, User
from local.simulator.planted_cases import (
    BruteForce,
    BulkChange,
    InactiveMember,
    Planted,
    PlantedLogin,
    RepeatedEdit,
    VdrHeavy,
)
from local.simulator.portal import Portal
from local.simulator.roster import DAY, Roster
from local.simulator.wire import from_micros

MINUTE = 60_000_000
BULK_ROOM_INDEX = 5  # "Engineering Specs", the room with 40 files
BRUTE_FORCE_IP = "185.220.101.7"

ALLOWLISTS: tuple[tuple[str, ...], ...] = (
    ("203.0.113.0/24", "198.51.100.0-198.51.100.255"),
    ("2001:db8::/32", "203.0.113.10"),
    ("198.51.100.23",),
)
_IN_LIST_IPS = ("198.51.100.77", "203.0.113.10", "198.51.100.23")
_OFF_LIST_IPS = ("45.137.21.9", "91.203.5.146", "203.0.113.99")  # the last is in list 1, not 3


class MembershipPlan(Protocol):
    pairs: list[tuple[User, int | None]]
    inactive: list[tuple[int, str, str]]
    never_active: list[User]
    elsewhere: User | None


def prepare_allowlists(roster: Roster, plan: MembershipPlan) -> dict[str, User]:
    """Give three regular users allowlists; their usual addresses sit inside them."""
    busy = {u.id for u in plan.never_active} | ({plan.elsewhere.id} if plan.elsewhere else set())
    chosen = [u for u in roster.regulars if u.id not in busy][:3]
    result: dict[str, User] = {}
    for user, ip in zip(chosen, ("203.0.113.14", "203.0.113.10", "198.51.100.23"), strict=True):
        user.profiles = [ClientProfile(ip, "Netherlands", "Amsterdam", "Chrome 132", "Windows 10")]
        result[user.id] = user
    return result


@dataclass
class PlantedRows:
    """Row numbers of planted events, turned into event ids once the stores are loaded."""

    heavy: tuple[User, int, int, int, float] | None = None  # user, room, start, end, baseline
    heavy_rows: list[int] = field(default_factory=list)
    bulk: tuple[User, int, int, int, list[int]] | None = None
    bulk_rows: list[int] = field(default_factory=list)
    repeat: tuple[User, int, int, int, int] | None = None  # user, room, file, start, end
    repeat_rows: list[int] = field(default_factory=list)
    allowlists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    off_rows: list[tuple[int, str, str, int]] = field(default_factory=list)  # row, user, ip, t
    in_rows: list[tuple[int, str, str, int]] = field(default_factory=list)
    truncated_row: tuple[int, str, str, int] | None = None
    brute: tuple[str, str, str, int, int] | None = None  # login, ip, user, start, end
    brute_failed: list[int] = field(default_factory=list)
    brute_success: int = -1

    def resolve(
        self, audit: AuditBuilder, logins: LoginBuilder, plan: MembershipPlan, portal: Portal
    ) -> Planted:
        def login_events(rows: list[tuple[int, str, str, int]]) -> tuple[PlantedLogin, ...]:
            ids = logins.ids([r for r, *_ in rows])
            return tuple(
                PlantedLogin(i, user, ip, from_micros(t))
                for i, (_, user, ip, t) in zip(ids, rows, strict=True)
            )

        assert self.heavy and self.bulk and self.repeat and self.brute
        h_user, h_room, h_start, h_end, baseline = self.heavy
        b_user, b_room, b_start, b_end, b_files = self.bulk
        r_user, r_room, r_file, r_start, r_end = self.repeat
        login, ip, victim, bf_start, bf_end = self.brute
        return Planted(
            vdr_heavy=VdrHeavy(
                h_user.id,
                h_room,
                portal.folders[h_room].title,
                from_micros(h_start),
                from_micros(h_end),
                audit.ids(self.heavy_rows),
                baseline,
            ),
            bulk_changer=BulkChange(
                b_user.id,
                b_room,
                portal.folders[b_room].title,
                from_micros(b_start),
                from_micros(b_end),
                tuple(b_files),
                audit.ids(self.bulk_rows),
            ),
            repeated_editor=RepeatedEdit(
                r_user.id,
                r_room,
                r_file,
                from_micros(r_start),
                from_micros(r_end),
                audit.ids(self.repeat_rows),
            ),
            inactive_members=tuple(
                InactiveMember(room, portal.folders[room].title, user, reason)
                for room, user, reason in plan.inactive
            ),
            allowlists=dict(self.allowlists),
            off_allowlist_logins=login_events(self.off_rows),
            in_allowlist_logins=login_events(self.in_rows),
            truncated_ipv6_login=login_events([self.truncated_row])[0]
            if self.truncated_row
            else None,
            brute_force=BruteForce(
                login,
                ip,
                victim,
                logins.ids(self.brute_failed),
                logins.ids([self.brute_success])[0],
                from_micros(bf_start),
                from_micros(bf_end),
            ),
        )


def plant_cases(
    rng: random.Random,
    roster: Roster,
    portal: Portal,
    plan: MembershipPlan,
    allowlisted: dict[str, User],
    audit: AuditBuilder,
    logins: LoginBuilder,
    now: int,
    days: int,
    audit_events: int,
) -> PlantedRows:
    rows = PlantedRows()
    rooms = sorted(portal.room_files)
    taken = set(allowlisted)

    def member_of(room_id: int) -> User:
        for user, room in plan.pairs:
            if (
                room == room_id
                and user.is_collaborator
                and not user.is_ldap
                and not user.is_sso  # planted actors are plain users a response may act on
                and user.id not in taken
            ):
                taken.add(user.id)
                return user
        raise RuntimeError(f"no free collaborator in room {room_id}")

    # 1. vdr_heavy: ~10x the background rate of a user-day, in one VDR, on one day.
    heavy_room = rooms[0]
    heavy_user = member_of(heavy_room)
    active_users = len({u.id for u, _ in plan.pairs})
    baseline = audit_events / max(1, active_users) / max(1, days)
    n_heavy = max(150, int(baseline * 10))
    # 09:00-18:00 UTC two days ago: inside one UTC day whatever the time of generation, so a
    # per-day detector sees the whole burst on one day.
    start = (now // DAY) * DAY - 2 * DAY + 9 * 60 * MINUTE
    end = start + 9 * 60 * MINUTE
    files = portal.room_files[heavy_room]
    for _ in range(n_heavy):
        code = rng.choice((5064, 5064, 5009, 5009, 5054, 5002))
        micros = start + rng.randrange(end - start)
        rows.heavy_rows.append(audit.file_event(micros, heavy_user, code, rng.choice(files), rng))
    rows.heavy = (heavy_user, heavy_room, start, end, round(baseline, 2))

    # 2. bulk_changer: 32 distinct files changed in 8 minutes; plus one file edited 50 times.
    # The burst is a few hours old: recent enough for an enforce run to act on it (a response
    # acts only on evidence within SUPPRESSION_HOURS, 24 by default).
    bulk_room = rooms[BULK_ROOM_INDEX]
    bulk_user = member_of(bulk_room)
    bulk_files = rng.sample(portal.room_files[bulk_room], k=32)
    start = now - 3 * 60 * MINUTE
    for n, file_id in enumerate(bulk_files):
        code = rng.choice((5002, 5002, 5034, 5011, 5003))
        micros = start + n * 15_000_000 + rng.randrange(10_000_000)
        rows.bulk_rows.append(audit.file_event(micros, bulk_user, code, file_id, rng))
    rows.bulk = (bulk_user, bulk_room, start, start + 8 * MINUTE, bulk_files)

    repeat_user = member_of(bulk_room)
    repeat_file = next(f for f in portal.room_files[bulk_room] if f not in bulk_files)
    start = now - DAY - 20 * 60 * MINUTE
    for n in range(50):
        micros = start + n * 11_000_000
        rows.repeat_rows.append(audit.file_event(micros, repeat_user, 5034, repeat_file, rng))
    rows.repeat = (repeat_user, bulk_room, repeat_file, start, start + 49 * 11_000_000)

    # 4. allowlists: off-list and in-list logins, and an IPv6 login truncated to "2001".
    users = list(allowlisted.values())
    for n, user in enumerate(users):
        rows.allowlists[user.id] = ALLOWLISTS[n]
        for kind, ip, hours in (("in", _IN_LIST_IPS[n], 30), ("off", _OFF_LIST_IPS[n], 20 + n)):
            micros = now - hours * 60 * MINUTE
            base = user.profiles[0]
            row = logins.add(micros, user, 1029 if n != 1 else 1010, user.email,
                             as_profile(base, ip))  # fmt: skip
            (rows.in_rows if kind == "in" else rows.off_rows).append((row, user.id, ip, micros))
    micros = now - 26 * 60 * MINUTE
    row = logins.add(
        micros, users[1], 1029, users[1].email, as_profile(users[1].profiles[0], "2001")
    )
    rows.truncated_row = (row, users[1].id, "2001", micros)

    # 5. brute_force: 12 failures in 4 minutes from one IP, then the owner of the login succeeds.
    victim = next(u for u in roster.regulars if u.id not in taken)
    start = now - 20 * 60 * MINUTE
    attacker = Profile(BRUTE_FORCE_IP, "Germany", None, "Python Requests 2", "Other")
    for n in range(12):
        row = logins.add(start + n * 20_000_000, None, 1013, victim.email, attacker)
        rows.brute_failed.append(row)
    success_at = start + 12 * 20_000_000 + 30_000_000
    rows.brute_success = logins.add(success_at, victim, 1010, victim.email, attacker)
    rows.brute = (victim.email, BRUTE_FORCE_IP, victim.id, start, success_at)
    return rows
