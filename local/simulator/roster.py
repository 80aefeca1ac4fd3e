"""The people of a generated portal: special accounts, regular staff, guests, groups."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from local.simulator.model import (
    ACTIVATION_PENDING,
    STATUS_PENDING,
    STATUS_TERMINATED,
    ClientProfile,
    Group,
    User,
)

DAY = 86_400_000_000
DOMAIN = "sim-corp.example"

_FIRST = ("Anna", "Ben", "Chloe", "David", "Elena", "Felix", "Grace", "Hugo", "Irene", "Jonas",
          "Kira", "Leon", "Mia", "Nikolai", "Olga", "Pavel", "Quinn", "Rosa", "Samir", "Tara",
          "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zara", "Aiko", "Bruno", "Carla", "Dmitri")  # fmt: skip
_LAST = ("Novak", "Schmidt", "Rossi", "Kowalski", "Jensen", "Moreau", "Silva", "Ivanova",
         "Okafor", "Tanaka", "Berg", "Costa", "Fischer", "Haddad", "Lindqvist", "Mendes",
         "Nakamura", "Petrov", "Quist", "Romero", "Sato", "Weber", "Yilmaz", "Zielinski")  # fmt: skip

# Country, city (None: GeoIP knew only the country), first two octets of the IPs.
_PLACES = (("Germany", "Berlin", "85.214"), ("Germany", "Munich", "91.65"),
           ("France", "Paris", "82.64"), ("Latvia", "Riga", "87.246"),
           ("United Kingdom", "London", "81.2"), ("Netherlands", None, "145.53"),
           ("United States", "New York", "104.28"), ("Spain", "Madrid", "88.12"),
           ("Poland", None, "83.24"), ("Italy", "Milan", "93.44"))  # fmt: skip
_CLIENTS = (("Chrome 132", "Windows 10"), ("Edge 131", "Windows 10"), ("Firefox 134", "Linux"),
            ("Safari 18", "Mac OS X 10.15"), ("Chrome 131", "Mac OS X 10.15"),
            ("Mobile Safari 18", "iOS 18"))  # fmt: skip


@dataclass(frozen=True)
class Roster:
    users: list[User]
    groups: dict[str, Group]
    owner: User
    key_user: User
    admins: tuple[User, ...]
    ldap: User
    sso: User
    disabled: User
    pending: User
    html: User
    ipv6: User  # connects from IPv6, which the server truncates at the first ':'
    regulars: tuple[User, ...]  # ordinary active staff, safe to give roles in scenarios
    guests: tuple[User, ...]


def build_roster(rng: random.Random, count: int, now: int, days: int) -> Roster:
    if count < 16:
        raise ValueError("a scenario needs at least 16 users")
    used: set[str] = set()

    def person(first: str = "", last: str = "", **flags: object) -> User:
        while not first or f"{first} {last}" in used:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
        used.add(f"{first} {last}")
        user_name = _ascii(f"{first}.{last}").lower()
        user = User(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            first_name=first,
            last_name=last,
            user_name=user_name,
            email=f"{user_name}@{DOMAIN}",
            registered=now - (days + rng.randint(30, 700)) * DAY,
        )
        for key, value in flags.items():
            setattr(user, key, value)
        user.profiles = _profiles(rng)
        return user

    owner = person("Maria", "Lopez", is_owner=True)
    key_user = person("Sentinel", "Service", is_admin=True)
    admins = (person("Arjun", "Mehta", is_admin=True), person("Claire", "Dubois", is_admin=True))
    ldap = person(is_ldap=True, is_collaborator=True)
    sso = person(is_sso=True, is_collaborator=True)
    disabled = person(
        is_collaborator=True, status=STATUS_TERMINATED, terminated=now - 9 * DAY - 3_600_000_000
    )
    pending = person(
        is_collaborator=True, status=STATUS_PENDING, activation_status=ACTIVATION_PENDING
    )
    html = person("Liam", "O'Neil & <Partners>", is_collaborator=True)
    ipv6 = person(is_collaborator=True)
    ipv6.profiles = [ClientProfile("2a02", "Germany", "Hamburg", "Chrome 132", "Windows 10")]

    rest = count - 10
    n_guests = max(2, rest // 7)
    n_room_admins = max(2, rest // 4)
    regulars = tuple(
        person(is_room_admin=True) if i < n_room_admins else person(is_collaborator=True)
        for i in range(rest - n_guests)
    )
    guests = tuple(person(is_visitor=True) for _ in range(n_guests))
    users = [owner, key_user, *admins, ldap, sso, disabled, pending, html, ipv6, *regulars, *guests]

    groups: dict[str, Group] = {}
    pool = [*regulars, html, sso]
    for name in ("Legal", "Finance", "Engineering"):
        members = rng.sample(pool, k=min(4, len(pool)))
        group = Group(str(uuid.UUID(int=rng.getrandbits(128), version=4)), name, members[0].id,
                      [m.id for m in members])  # fmt: skip
        groups[group.id] = group
        for member in members:
            member.group_ids.append(group.id)
    return Roster(users, groups, owner, key_user, admins, ldap, sso, disabled, pending, html,
                  ipv6, regulars, guests)  # fmt: skip


def _profiles(rng: random.Random) -> list[ClientProfile]:
    country, city, prefix = rng.choice(_PLACES)
    browser, platform = rng.choice(_CLIENTS)
    profiles = [ClientProfile(f"{prefix}.{rng.randint(1, 254)}.{rng.randint(1, 254)}", country,
                              city, browser, platform)]  # fmt: skip
    if rng.random() < 0.5:  # a second usual place: home, phone
        country2, city2, prefix2 = rng.choice(_PLACES)
        browser2, platform2 = rng.choice(_CLIENTS)
        profiles.append(ClientProfile(f"{prefix2}.{rng.randint(1, 254)}.{rng.randint(1, 254)}",
                                      country2, city2, browser2, platform2))  # fmt: skip
    return profiles


def _ascii(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and (ch.isalnum() or ch == "."))
