"""The document tree of a generated portal: the Rooms root, rooms, folders, files, shares.

Folder ids and file ids are separate sequences that both start at 1001, so the same
number names a room and a file: clients must never key one cache by a bare id.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from local.simulator.enums import (
    ACCESS_CONTENT_CREATOR,
    ACCESS_EDITING,
    ACCESS_READ,
    ACCESS_ROOM_MANAGER,
    FOLDER_TYPE_USER,
    FOLDER_TYPE_VIRTUAL_ROOMS,
    ROOM_FOLDER_TYPES,
    SUBJECT_EXTERNAL_LINK,
    SUBJECT_GROUP,
    SUBJECT_INVITATION_LINK,
    SUBJECT_PRIMARY_EXTERNAL_LINK,
    SUBJECT_USER,
)
from local.simulator.model import File, Folder, Share, User
from local.simulator.roster import DAY, Roster

FIRST_ID = 1001

# (title, roomType, files); "Contracts 2024" is renamed mid-history, "Shared Drafts" twice.
_ROOMS = (("Project Atlas VDR", 8, 14), ("M&A Due Diligence", 8, 12), ("Board Materials", 8, 10),
          ("Contracts 2024", 8, 10), ("Marketing Collaboration", 2, 12),
          ("Engineering Specs", 2, 40), ("Shared Drafts", 2, 8), ("Shared Drafts", 5, 8),
          ("HR Policies", 5, 8), ("Press Kit", 6, 6))  # fmt: skip
RENAMED_TITLE = "Contracts Archive"
_SUBFOLDERS = ("Contracts", "Reports", "Drafts", "Finance", "Specs")
_WORDS = ("Contract", "Budget", "Roadmap", "Minutes", "Invoice", "Proposal", "NDA", "Forecast",
          "Summary", "Policy", "Report", "Pitch", "Checklist", "Agreement", "Audit")  # fmt: skip
_EXTS = (".docx", ".xlsx", ".pptx", ".pdf")


@dataclass
class Portal:
    folders: dict[int, Folder] = field(default_factory=dict)
    files: dict[int, File] = field(default_factory=dict)
    shares: dict[int, list[Share]] = field(default_factory=dict)
    rooms_root: int = FIRST_ID
    personal_roots: dict[str, int] = field(default_factory=dict)
    room_files: dict[int, list[int]] = field(default_factory=dict)  # room -> live file ids
    room_folders: dict[int, list[int]] = field(default_factory=dict)  # room -> sub-folders
    personal_files: dict[str, list[int]] = field(default_factory=dict)

    def add_folder(self, folder: Folder) -> Folder:
        self.folders[folder.id] = folder
        return folder


def build_portal(rng: random.Random, roster: Roster, now: int, days: int) -> Portal:
    portal = Portal()
    born = now - (days + 120) * DAY
    next_folder = iter(range(FIRST_ID, FIRST_ID + 100_000))
    next_file = iter(range(FIRST_ID, FIRST_ID + 100_000))
    owner = roster.owner
    root = portal.add_folder(Folder(next(next_folder), "Rooms", 0, FOLDER_TYPE_VIRTUAL_ROOMS,
                                    owner.id, born, born))  # fmt: skip
    portal.rooms_root = root.id

    managers = [*roster.admins, *(u for u in roster.regulars if u.is_room_admin)]
    for title, room_type, n_files in _ROOMS:
        created = born + rng.randint(0, 60) * DAY
        room_owner = rng.choice(managers)
        room_id = next(next_folder)
        room = portal.add_folder(Folder(room_id, title, root.id, ROOM_FOLDER_TYPES[room_type],
                                        room_owner.id, created, created, room_type=room_type,
                                        room_id=room_id))  # fmt: skip
        portal.shares[room.id] = [Share(SUBJECT_USER, room_owner.id, ACCESS_ROOM_MANAGER, True)]
        portal.room_folders[room.id] = []
        for sub_title in rng.sample(_SUBFOLDERS, k=rng.randint(1, 3)):
            sub = portal.add_folder(Folder(next(next_folder), sub_title, room.id, 0,
                                           room_owner.id, created, created,
                                           room_id=room.id))  # fmt: skip
            portal.room_folders[room.id].append(sub.id)
        portal.room_files[room.id] = []
        parents = [room.id, *portal.room_folders[room.id]]
        for _ in range(n_files):
            file = _file(rng, next(next_file), rng.choice(parents), room_owner, created)
            portal.files[file.id] = file
            portal.room_files[room.id].append(file.id)
    # Personal folders come after the rooms, so room files and rooms share numbers.
    for user in roster.users:
        if user.is_visitor:
            continue
        personal = portal.add_folder(Folder(next(next_folder), "My documents", 0,
                                            FOLDER_TYPE_USER, user.id, born, born,
                                            personal_owner=user.id))  # fmt: skip
        portal.personal_roots[user.id] = personal.id
        portal.personal_files[user.id] = []
        for _ in range(rng.randint(1, 3)):
            file = _file(rng, next(next_file), personal.id, user, born)
            portal.files[file.id] = file
            portal.personal_files[user.id].append(file.id)

    # One title long enough for `/last` to cut it to 47 characters plus "...".
    first_room = portal.room_files[next(iter(portal.room_files))]
    portal.files[
        first_room[0]
    ].title = "Quarterly consolidated financial statements and auditor notes FY2024.xlsx"
    return portal


def share_room(
    portal: Portal,
    rng: random.Random,
    room_id: int,
    members: list[User],
    group_id: str | None = None,
    link: bool = False,
) -> None:
    """Give a room its members: managers, creators, editors, readers; a group; links."""
    shares = portal.shares[room_id]
    present = {s.subject_id for s in shares}
    for user in members:
        if user.id in present:
            continue
        if user.is_visitor:
            access = ACCESS_READ
        elif user.is_room_admin:
            access = rng.choice((ACCESS_ROOM_MANAGER, ACCESS_CONTENT_CREATOR))
        else:
            access = rng.choice((ACCESS_CONTENT_CREATOR, ACCESS_EDITING, ACCESS_READ))
        shares.append(Share(SUBJECT_USER, user.id, access))
        present.add(user.id)
    if group_id is not None:
        shares.append(Share(SUBJECT_GROUP, group_id, ACCESS_EDITING))
    if link:
        shares.append(Share(SUBJECT_PRIMARY_EXTERNAL_LINK, _link_id(rng), ACCESS_READ,
                            title="Shared link"))  # fmt: skip
        shares.append(Share(SUBJECT_EXTERNAL_LINK, _link_id(rng), ACCESS_READ,
                            title="Partner link"))  # fmt: skip
        shares.append(Share(SUBJECT_INVITATION_LINK, _link_id(rng), ACCESS_CONTENT_CREATOR,
                            title="Invitation link"))  # fmt: skip


def _link_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _file(rng: random.Random, file_id: int, folder_id: int, owner: User, born: int) -> File:
    title = f"{rng.choice(_WORDS)} {rng.randint(1, 999)}{rng.choice(_EXTS)}"
    created = born + rng.randint(0, 20) * DAY
    return File(file_id, title, folder_id, owner.id, created, created,
                version=rng.randint(1, 6), size=rng.randint(8_000, 4_000_000))  # fmt: skip
