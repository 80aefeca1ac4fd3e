"""Row builders for generated audit and login events.

Rows are collected column by column in plain lists (cheap to append), loaded into the
columnar stores in one sort at the end, and only then receive their ids. Builders hand
out row numbers, which `ids()` turns into served event ids afterwards.
"""

from __future__ import annotations

import random
from array import array

from local.simulator.events import NO_USER, AuditLog, LoginLog, Profile
from local.simulator.model import ClientProfile, User
from local.simulator.portal import Portal
from local.simulator.scenario import PORTAL

FIRST_AUDIT_ID = 10_001
FIRST_LOGIN_ID = 5_001


def as_profile(p: ClientProfile, ip: str | None = None) -> Profile:
    return Profile(ip or p.ip, p.country, p.city, p.browser, p.platform)


class AuditBuilder:
    def __init__(
        self,
        log: AuditLog,
        users: list[User],
        portal: Portal,
        renamed: tuple[int, str, int],  # room id, old title, rename time
    ) -> None:
        self.log = log
        self.portal = portal
        # Arrays, not lists: a million rows stay a few megabytes per column.
        self.t = array("q")
        self.cols: dict[str, array[int]] = {
            name: array("i") for name in ("user", "action", "target", "parts", "context", "profile")
        }
        self.index = {u.id: i for i, u in enumerate(users)}
        self.profiles = {u.id: [log.profiles.add(as_profile(p)) for p in u.profiles] for u in users}
        self._renamed_room, old_title, self._renamed_at = renamed
        self._old_context = log.contexts.add("Rooms: " + old_title)
        self._file_cache: dict[int, tuple[int, int, int]] = {}  # file -> target, parts, context
        self._positions: array[int] | None = None

    def _profile(self, user: User, rng: random.Random | None) -> int:
        choices = self.profiles[user.id]
        if rng is None or len(choices) == 1 or rng.random() < 0.8:
            return choices[0]
        return choices[1]

    def add(self, micros: int, user: User, action: int, target: int, parts: int, context: int,
            profile: int) -> int:  # fmt: skip
        self.t.append(micros)
        c = self.cols
        c["user"].append(self.index[user.id])
        c["action"].append(action)
        c["target"].append(target)
        c["parts"].append(parts)
        c["context"].append(context)
        c["profile"].append(profile)
        return len(self.t) - 1

    def file_event(
        self,
        micros: int,
        user: User,
        action: int,
        file_id: int,
        rng: random.Random | None = None,
        dest: int | None = None,
    ) -> int:
        cached = self._file_cache.get(file_id)
        if cached is None:
            file = self.portal.files[file_id]
            folder = self.portal.folders[file.folder_id]
            if folder.room_id is not None:
                context = "Rooms: " + self.portal.folders[folder.room_id].title
            else:
                context = "My documents"
            cached = (
                self.log.targets.add((str(file_id),)),
                self.log.parts.add((file.title,)),
                self.log.contexts.add(context),
            )
            self._file_cache[file_id] = cached
        target, parts, context_index = cached
        if dest is not None:
            target = self.log.targets.add((str(file_id), str(dest)))
        if action == 5034:  # an editor save names the users who edited
            title = self.portal.files[file_id].title
            parts = self.log.parts.add((user.name, title))
        if micros < self._renamed_at and self._in_renamed_room(file_id):
            context_index = self._old_context  # the title at the time of the event
        return self.add(micros, user, action, target, parts, context_index,
                        self._profile(user, rng))  # fmt: skip

    def room_event(
        self, micros: int, user: User, action: int, room_id: int, parts: tuple[str, ...]
    ) -> int:
        title = self.portal.folders[room_id].title
        context = self.log.contexts.add("Rooms: " + title)
        if room_id == self._renamed_room and micros <= self._renamed_at:
            context = self._old_context
        return self.add(micros, user, action, self.log.targets.add((str(room_id),)),
                        self.log.parts.add(parts), context, self._profile(user, None))  # fmt: skip

    def _in_renamed_room(self, file_id: int) -> bool:
        folder = self.portal.folders[self.portal.files[file_id].folder_id]
        return folder.room_id == self._renamed_room

    def load(self, rng: random.Random) -> None:
        self._positions = self.log.store.load(self.t, dict(self.cols))
        self.log.store.assign_ids(FIRST_AUDIT_ID, rng)

    def ids(self, rows: list[int]) -> tuple[int, ...]:
        assert self._positions is not None, "load() first"
        store, positions = self.log.store, self._positions
        return tuple(store.ids[positions[r]] for r in rows)


class LoginBuilder:
    def __init__(self, log: LoginLog, users: list[User]) -> None:
        self.log = log
        self.t = array("q")
        self.cols: dict[str, array[int]] = {
            name: array("i") for name in ("user", "action", "login", "profile", "page")
        }
        self.index = {u.id: i for i, u in enumerate(users)}
        self._pages = {
            "web": log.strings.add(f"{PORTAL}/login"),
            "api": log.strings.add(f"{PORTAL}/api/2.0/authentication"),
            "logout": log.strings.add(f"{PORTAL}/api/2.0/authentication/logout"),
            "sso": log.strings.add(f"{PORTAL}/sso/login"),
        }
        self._positions: array[int] | None = None

    def add(self, micros: int, user: User | None, action: int, login: str, profile: Profile) -> int:
        page = {1010: "api", 1013: "api", 1006: "logout", 1015: "sso"}.get(action, "web")
        self.t.append(micros)
        c = self.cols
        c["user"].append(NO_USER if user is None else self.index[user.id])
        c["action"].append(action)
        c["login"].append(self.log.strings.add(login))
        c["profile"].append(self.log.profiles.add(profile))
        c["page"].append(self._pages[page])
        return len(self.t) - 1

    def load(self) -> None:
        self._positions = self.log.store.load(self.t, dict(self.cols))
        # Login events are written synchronously: their ids follow the dates.
        self.log.store.assign_ids(FIRST_LOGIN_ID, None)

    def ids(self, rows: list[int]) -> tuple[int, ...]:
        assert self._positions is not None, "load() first"
        store, positions = self.log.store, self._positions
        return tuple(store.ids[positions[r]] for r in rows)
