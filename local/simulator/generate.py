"""`generate_scenario`: a deterministic portal with background activity and planted cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from local.simulator.activity import AuditBuilder, LoginBuilder, as_profile
from local.simulator.events import AuditLog, LoginLog, Profile
from local.simulator.model import STATUS_ACTIVE, User
from local.simulator.planting import plant_cases, prepare_allowlists
from local.simulator.portal import RENAMED_TITLE, Portal, build_portal, share_room
from local.simulator.roster import DAY, Roster, build_roster
from local.simulator.scenario import Layout, Scenario
from local.simulator.wire import from_micros, to_micros

MINUTE = 60_000_000

# Background audit mix: (code, weight). Reads dominate, as on a real portal.
_READS = ((5064, 36), (5054, 16), (5009, 12))
_CHANGES = ((5002, 8), (5034, 8), (5011, 5), (5000, 3), (5003, 2), (5013, 2), (5035, 1),
            (5044, 1), (5099, 1), (5001, 1))  # fmt: skip

# Failed logins in the background come from these, never from a planted address.
_NOISE_IPS = ("102.129.152.4", "177.54.146.9", "196.251.70.12", "5.188.62.140", "31.184.198.71")


def generate_scenario(
    seed: int = 7,
    days: int = 30,
    users: int = 40,
    audit_events: int = 20_000,
    login_events: int | None = None,
    now: datetime | None = None,
    tenant_offset: str = "+03:00",
    audit_option: bool = True,
    plant: bool = True,
    culture: str = "en-US",
) -> Scenario:
    """Build a portal whose history spans `days` up to `now` (default: the current time).

    Deterministic for a given seed and `now`. Stores events columnar, so a million audit
    events take seconds and tens of megabytes. `culture` "ru-RU" serves a Russian portal's
    audit texts and module names.
    """
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    now_us = to_micros(now)
    roster = build_roster(rng, users, now_us, days)
    portal = build_portal(rng, roster, now_us, days)
    room_ids = sorted(portal.room_files)
    renamed_room = room_ids[3]
    renamed_at = now_us - days * DAY // 2
    old_title = portal.folders[renamed_room].title
    portal.folders[renamed_room].title = RENAMED_TITLE
    portal.folders[renamed_room].updated = renamed_at

    plan = _Membership(rng, roster, portal, room_ids, plant)
    allowlisted = prepare_allowlists(roster, plan) if plant else {}
    audit_log, login_log = AuditLog(), LoginLog()
    audit = AuditBuilder(audit_log, roster.users, portal, (renamed_room, old_title, renamed_at))
    logins = LoginBuilder(login_log, roster.users)
    window_start = now_us - days * DAY

    # Structure: the rename itself (context keeps the old title), and one deleted file.
    room_owner = roster.users[audit.index[portal.shares[renamed_room][0].subject_id]]
    audit.room_event(renamed_at, room_owner, 5071, renamed_room, (RENAMED_TITLE,))
    deleted_room = room_ids[0]
    deleted_file = portal.room_files[deleted_room].pop()
    portal.files[deleted_file].deleted = True
    audit.file_event(now_us - 5 * DAY, room_owner, 5017, deleted_file)

    rows = (
        plant_cases(
            rng, roster, portal, plan, allowlisted, audit, logins, now_us, days, audit_events
        )
        if plant
        else None
    )
    background = max(0, audit_events - len(audit.t) - len(plan.pairs))
    _guaranteed_activity(rng, plan, portal, audit, now_us, days)
    _background_audit(rng, plan, portal, audit, background, window_start, now_us)
    n_logins = login_events if login_events is not None else max(400, audit_events // 8)
    _background_logins(rng, roster, logins, max(0, n_logins - len(logins.t)), window_start, now_us)

    audit.load(rng)
    logins.load()
    planted = rows.resolve(audit, logins, plan, portal) if rows else None
    first_overlap = min(
        r
        for r in room_ids
        if r in portal.files and portal.folders[portal.files[r].folder_id].room_id
    )
    foreign_owner = roster.admins[0].id
    duplicates = [r for r in room_ids if portal.folders[r].title == "Shared Drafts"]
    layout = Layout(
        rooms_root_id=portal.rooms_root,
        owner_id=roster.owner.id,
        key_user_id=roster.key_user.id,
        admin_ids=(*(a.id for a in roster.admins), roster.key_user.id),
        ldap_user_id=roster.ldap.id,
        sso_user_id=roster.sso.id,
        disabled_user_id=roster.disabled.id,
        pending_user_id=roster.pending.id,
        html_user_id=roster.html.id,
        renamed_room_id=renamed_room,
        renamed_room_old_title=old_title,
        renamed_at=from_micros(renamed_at),
        duplicate_title="Shared Drafts",
        duplicate_title_room_ids=(duplicates[0], duplicates[1]),
        overlapping_id=first_overlap,
        deleted_file_id=deleted_file,
        foreign_personal_file_id=portal.personal_files[foreign_owner][0],
        own_personal_file_id=portal.personal_files[roster.key_user.id][0],
    )
    scenario = Scenario(
        seed=seed,
        tenant_offset=tenant_offset,
        now=now,
        audit_option=audit_option,
        users=roster.users,
        groups=roster.groups,
        folders=portal.folders,
        files=portal.files,
        shares=portal.shares,
        audit=audit_log,
        logins=login_log,
        layout=layout,
        culture=culture,
    )
    if planted is not None:
        scenario.planted = planted
    scenario.ip_restrictions.last_modified = now_us - 40 * DAY
    return scenario


class _Membership:
    """Who belongs to which room, and which (user, room) pairs produce activity."""

    def __init__(
        self, rng: random.Random, roster: Roster, portal: Portal, room_ids: list[int], plant: bool
    ) -> None:
        regulars = list(roster.regulars)
        workers = [*regulars, roster.ldap, roster.sso, roster.html, roster.ipv6]
        # Users with room access but no activity anywhere exist only when planted.
        self.never_active: list[User] = regulars[-2:] if plant else []
        self.elsewhere: User | None = regulars[-3] if plant else None
        active_pool = [u for u in workers if u not in self.never_active]
        groups = list(roster.groups)
        self.inactive: list[tuple[int, str, str]] = []  # room, user, reason
        for n, room_id in enumerate(room_ids):
            members = rng.sample(active_pool, k=min(len(active_pool), rng.randint(4, 7)))
            members += rng.sample(list(roster.guests), k=1)
            if n == 1:
                members.append(roster.admins[1])
            group = groups[n % len(groups)] if n % 3 == 0 else None
            share_room(portal, rng, room_id, members, group, link=n in (0, 9))
        if plant:
            self._plant_inactive(rng, roster, portal, room_ids)
        self.pairs: list[tuple[User, int | None]] = []
        by_id = {u.id: u for u in roster.users}
        for room_id in room_ids:
            for user_id in _members(portal, roster, room_id):
                user = by_id[user_id]
                if user.status == STATUS_ACTIVE and all(
                    not (r == room_id and u == user_id) for r, u, _ in self.inactive
                ):
                    self.pairs.append((user, room_id))
        for user in workers + list(roster.admins):
            if user not in self.never_active and user is not self.elsewhere:
                self.pairs.append((user, None))  # "My documents"

    def _plant_inactive(
        self, rng: random.Random, roster: Roster, portal: Portal, room_ids: list[int]
    ) -> None:
        for i, user in enumerate(self.never_active):
            for room_id in room_ids[i::4]:
                share_room(portal, rng, room_id, [user])
                self.inactive.append((room_id, user.id, "never_active"))
        assert self.elsewhere is not None
        active_room, idle_room = room_ids[1], room_ids[2]
        share_room(portal, rng, active_room, [self.elsewhere])
        share_room(portal, rng, idle_room, [self.elsewhere])
        self.inactive.append((idle_room, self.elsewhere.id, "active_elsewhere"))
        share_room(portal, rng, room_ids[4], [roster.disabled])
        self.inactive.append((room_ids[4], roster.disabled.id, "disabled"))
        # A group share brings a never-active user in too: the check must expand groups.
        for room_id in room_ids:
            for share in portal.shares[room_id]:
                if share.subject_type == 2:
                    members = roster.groups[share.subject_id].member_ids
                    for user in self.never_active:
                        if user.id in members:
                            self.inactive.append((room_id, user.id, "never_active"))
        # Remove duplicates while keeping order.
        self.inactive = list(dict.fromkeys(self.inactive))


def _members(portal: Portal, roster: Roster, room_id: int) -> list[str]:
    ids: list[str] = []
    for share in portal.shares[room_id]:
        if share.subject_type == 0:
            ids.append(share.subject_id)
        elif share.subject_type == 2:
            ids.extend(roster.groups[share.subject_id].member_ids)
    return list(dict.fromkeys(ids))


def _pick_file(rng: random.Random, portal: Portal, user: User, room_id: int | None) -> int | None:
    files = portal.room_files[room_id] if room_id is not None else portal.personal_files[user.id]
    return rng.choice(files) if files else None


def _guaranteed_activity(
    rng: random.Random, plan: _Membership, portal: Portal, audit: AuditBuilder, now: int, days: int
) -> None:
    """Every active (user, room) pair acts at least once in the last 30 days."""
    recent = min(days, 28) * DAY
    for user, room_id in plan.pairs:
        file_id = _pick_file(rng, portal, user, room_id)
        if file_id is not None:
            action = 5064 if user.is_visitor else rng.choice((5064, 5054, 5002))
            audit.file_event(now - rng.randrange(MINUTE, recent), user, action, file_id, rng)


def _background_audit(
    rng: random.Random,
    plan: _Membership,
    portal: Portal,
    audit: AuditBuilder,
    count: int,
    start: int,
    end: int,
) -> None:
    weights = [
        (0.15 if room is None else 1.0) * (0.3 + rng.random() * 1.7) for _user, room in plan.pairs
    ]
    pairs = rng.choices(range(len(plan.pairs)), weights=weights, k=count)
    read_codes = [c for c, _ in _READS]
    all_codes = [c for c, _ in (*_READS, *_CHANGES)]
    all_weights = [w for _, w in (*_READS, *_CHANGES)]
    codes = rng.choices(all_codes, weights=all_weights, k=count)
    span = end - MINUTE - start
    for pair, code in zip(pairs, codes, strict=True):
        user, room_id = plan.pairs[pair]
        file_id = _pick_file(rng, portal, user, room_id)
        if file_id is None:
            continue
        if user.is_visitor and code not in read_codes:
            code = 5064
        dest = None
        if code == 5013:  # copies land in a folder of the same room (or the personal root)
            folder = portal.files[file_id].folder_id
            room = portal.folders[folder].room_id
            dest = rng.choice([room, *portal.room_folders[room]]) if room is not None else folder
        audit.file_event(start + int(rng.random() * span), user, code, file_id, rng, dest)


def _background_logins(
    rng: random.Random,
    roster: Roster,
    logins: LoginBuilder,
    count: int,
    start: int,
    end: int,
) -> None:
    people = [u for u in roster.users if u.status != 4 and u is not roster.key_user]
    weights = [0.3 if u.is_visitor else 1.0 for u in people]
    chosen = rng.choices(range(len(people)), weights=weights, k=count)
    for index in chosen:
        user = people[index]
        stop = user.terminated if user.terminated is not None else end
        micros = start + int(rng.random() * (stop - start - MINUTE))
        roll = rng.random()
        if roll < 0.04:  # a mistyped password: recorded against the Guest account
            ip = rng.choice(_NOISE_IPS)
            logins.add(micros, None, rng.choice((1002, 1013)), user.email,
                       Profile(ip, None, None, "Chrome 132", "Windows 10"))  # fmt: skip
            continue
        if roll < 0.05:
            login = rng.choice(("admin", "root", "test@" + roster.owner.email.split("@")[1]))
            logins.add(micros, None, 1005, login,
                       Profile(rng.choice(_NOISE_IPS), None, None, "Other", "Other"))  # fmt: skip
            continue
        profile = user.profiles[0] if len(user.profiles) == 1 or rng.random() < 0.8 else (
            user.profiles[1])  # fmt: skip
        if roll < 0.2:
            action = 1006
        elif user.is_sso:
            action = 1015
        elif roll < 0.3:
            action = 1010
        elif roll < 0.35:
            action = 1000
        else:
            action = 1029
        logins.add(micros, user, action, user.email, as_profile(profile))
