"""`PortalActions`: what a user does to files, applied to the scenario's own state.

Each action changes the document tree, writes the audit event the server would write
(through `Scenario.add_audit_event`) and so also publishes the webhook, with
`event.createOn` equal to the audit event's date: the polling guard and the real-time
guard see one burst through both paths against one portal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from local.simulator.model import File
from local.simulator.wire import to_micros

if TYPE_CHECKING:
    from local.simulator.scenario import Scenario

FILE_UPDATED = 5002  # FileUpdated -> file.updated
FILE_CREATED = 5000  # FileCreated -> file.created
FILE_DOWNLOADED = 5009  # FileDownloaded -> file.downloaded
FOLDER_DOWNLOADED = 5057  # FolderDownloaded -> folder.downloaded
#: Actions that fire file.updated but leave the content (``updated``, version) as it was:
#: revision comment, lock, unlock, change owner, reorder.
NO_CONTENT_CHANGE = frozenset({5005, 5006, 5007, 5043, 5108})


class PortalActions:
    def __init__(self, scenario: Scenario) -> None:
        self._s = scenario

    def change_files(
        self,
        user_id: str,
        count: int,
        *,
        room_id: int | None = None,
        action: int = FILE_UPDATED,
        at: datetime | None = None,
        spacing: timedelta = timedelta(seconds=1),
    ) -> list[int]:
        """`count` distinct files changed by the user (new files are created, with
        FileCreated, when the room has too few); returns the file ids in order."""
        s = self._s
        with s.lock:
            files = self._files_in(room_id, count, user_id, at)
            for n, f in enumerate(files):
                when = self._when(at, spacing, n)
                if action not in NO_CONTENT_CHANGE:
                    f.updated, f.modified_by = when, user_id
                    f.version += 1
                self._audit(action, user_id, f, when, at)
        return [f.id for f in files]

    def download_files(
        self,
        user_id: str,
        count: int,
        *,
        room_id: int | None = None,
        at: datetime | None = None,
        spacing: timedelta = timedelta(seconds=1),
    ) -> list[int]:
        """`count` distinct files downloaded by the user (FileDownloaded, file.downloaded)."""
        s = self._s
        with s.lock:
            files = self._files_in(room_id, count, user_id, at)
            for n, f in enumerate(files):
                self._audit(FILE_DOWNLOADED, user_id, f, self._when(at, spacing, n), at)
        return [f.id for f in files]

    def download_folder(self, user_id: str, folder_id: int, *, at: datetime | None = None) -> int:
        """A folder downloaded as an archive (FolderDownloaded, folder.downloaded)."""
        s = self._s
        with s.lock:
            folder = s.folders[folder_id]
            return s.add_audit_event(FOLDER_DOWNLOADED, user_id=user_id, date=at,
                                     target=[folder.id], parts=[folder.title])  # fmt: skip

    def add_third_party_file(
        self, room_id: int, title: str, *, owner_id: str | None = None, provider: str = "box"
    ) -> File:
        """A file on connected third-party storage: string ids in webhooks and audit."""
        s = self._s
        with s.lock:
            now = s.clock()
            owner = owner_id or s.key_user.id
            f = File(max(s.files) + 1, title, room_id, owner, now, now,
                     provider_key=provider, provider_id=7)  # fmt: skip
            s.files[f.id] = f
            return f

    def third_party_id(self, f: File) -> str:
        return f"{f.provider_key}-{f.provider_id}-f{f.id}"

    # --- helpers ---------------------------------------------------------------------------

    def _audit(self, action: int, user_id: str, f: File, when: int, at: datetime | None) -> None:
        s = self._s
        target = self.third_party_id(f) if f.provider_key else f.id
        date = None if at is None else s.date_of(when)
        s.add_audit_event(action, user_id=user_id, date=date, target=[target], parts=[f.title],
                          context=s.context_of_folder(f.folder_id))  # fmt: skip

    def _when(self, at: datetime | None, spacing: timedelta, n: int) -> int:
        base = self._s.clock() if at is None else to_micros(at)
        return base + n * (spacing // timedelta(microseconds=1)) if at is not None else base

    def _files_in(
        self, room_id: int | None, count: int, user_id: str, at: datetime | None
    ) -> list[File]:
        s = self._s
        room = room_id if room_id is not None else s.rooms[0].id
        live = [f for f in s.files.values() if not f.deleted and not f.provider_key
                and s.folders[f.folder_id].room_id == room]  # fmt: skip
        while len(live) < count:
            now = s.clock() if at is None else to_micros(at)
            f = File(max(s.files) + 1, f"Generated {len(live) + 1}.docx", room, user_id, now, now)
            s.files[f.id] = f
            self._audit(FILE_CREATED, user_id, f, now, at)
            live.append(f)
        return live[:count]
