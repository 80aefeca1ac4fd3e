"""Webhook triggers and body pieces as DocSpace builds them (webhooks doc sections 1.3, 1.6).

Bodies are serialised with `WhenWritingDefault`: null, false, 0 and empty strings of
optional members are omitted at every level. File, folder and room payloads are the
declared `FileEntry<T>` members only; `rootId` is the section root (the "Rooms" folder or
a "My documents" folder), never the room; third-party entries carry string ids.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from local.simulator.enums import FOLDER_TYPE_USER, FOLDER_TYPE_VIRTUAL_ROOMS
from local.simulator.wire import format_plain_datetime, from_micros

if TYPE_CHECKING:
    from local.simulator.model import File, Folder, User
    from local.simulator.scenario import Scenario

# `WebhookTrigger` in [Order]; values at and above 1<<31 are missing from the 3.7.0 SPEC.
TRIGGERS: dict[str, int] = {
    "user.created": 1, "user.invited": 2, "user.updated": 4, "user.deleted": 8,
    "group.created": 16, "group.updated": 32, "group.deleted": 64,
    "file.created": 128, "file.uploaded": 256, "file.updated": 512, "file.trashed": 1024,
    "file.deleted": 2048, "file.restored": 4096, "file.copied": 8192, "file.moved": 16384,
    "file.downloaded": 1 << 34,
    "folder.created": 32768, "folder.updated": 65536, "folder.trashed": 131072,
    "folder.deleted": 262144, "folder.restored": 524288, "folder.copied": 1048576,
    "folder.moved": 2097152, "folder.downloaded": 1 << 35,
    "room.created": 4194304, "room.updated": 8388608, "room.archived": 16777216,
    "room.deleted": 33554432, "room.restored": 67108864, "room.copied": 134217728,
    "form.submit": 268435456, "form.filled.out": 536870912, "form.stopped": 1073741824,
    "agent.created": 1 << 31, "agent.updated": 1 << 32, "agent.deleted": 1 << 33,
}  # fmt: skip
TRIGGER_NAMES = {value: name for name, value in TRIGGERS.items()}
ALL_TRIGGERS = sum(TRIGGERS.values())
# Triggers a room admin or user may not subscribe to (`[AvailableFor]`); the simulator's
# caller is an admin, so this only documents the rule for `available`.
ADMIN_AND_ROOM_ADMIN_ONLY = frozenset(
    {"user.created", "user.invited", "group.created", "group.updated", "group.deleted",
     "room.created", "room.copied", "agent.created"}
)  # fmt: skip

# The audit action that goes with each simulated operation, and the trigger it fires.
AUDIT_TRIGGERS: dict[int, str] = {
    5000: "file.created", 5011: "file.uploaded", 5099: "file.uploaded",
    5001: "file.updated", 5002: "file.updated", 5003: "file.updated", 5034: "file.updated",
    5035: "file.updated", 5044: "file.updated", 5017: "file.trashed", 5018: "file.deleted",
    5013: "file.copied", 5014: "file.copied", 5015: "file.moved", 5016: "file.moved",
    5009: "file.downloaded", 5019: "folder.created", 5057: "folder.downloaded",
    5070: "room.created", 5071: "room.updated", 4020: "user.updated",
}  # fmt: skip


def trigger_names(mask: int) -> list[str]:
    """`webhook.triggers`: the config's subscribed names, `["*"]` for 0."""
    if mask == 0:
        return ["*"]
    return [name for name, value in TRIGGERS.items() if mask & value]


def sparse(value: Any) -> Any:
    """`JsonIgnoreCondition.WhenWritingDefault` at every level (empty objects stay)."""
    if isinstance(value, dict):
        return {k: sparse(v) for k, v in value.items() if v not in (None, False, 0, "")}
    if isinstance(value, list):
        return [sparse(v) for v in value]
    return value


def sparse_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {k: sparse(v) for k, v in value.items() if v not in (None, False, 0, "")}


def serialize(body: dict[str, Any]) -> bytes:
    """Compact JSON, non-ASCII escaped as `\\uXXXX` like System.Text.Json's default encoder."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("utf-8")


def short_utc(moment: datetime) -> str:
    """`GetShortUtcNow`: whole seconds, UTC, `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def dotnet_utc(micros: int) -> str:
    return format_plain_datetime(micros)


def section_root(s: Scenario, folder: Folder) -> Folder:
    """The top-level ancestor: the "Rooms" folder or a "My documents" folder."""
    while folder.parent_id and folder.parent_id in s.folders:
        folder = s.folders[folder.parent_id]
    return folder


def _entry_id(file_or_folder_id: int, provider: tuple[str, int] | None, kind: str) -> Any:
    if provider is None:
        return file_or_folder_id
    key, provider_id = provider
    return f"{key}-{provider_id}-{kind}{file_or_folder_id}"


def file_entry(s: Scenario, f: File) -> dict[str, Any]:
    parent = s.folders[f.folder_id]
    root = section_root(s, parent)
    provider = (f.provider_key, f.provider_id) if f.provider_key else None
    parent_id = _entry_id(parent.id, provider, "d")
    return sparse_dict(
        {
            "id": _entry_id(f.id, provider, "f"),
            "parentId": parent_id,
            "folderIdDisplay": parent_id,
            "rootId": root.id,
            "securityByUsers": {},
            "title": f.title,
            "createBy": f.owner_id,
            "modifiedBy": f.modified_by or f.owner_id,
            "createOn": dotnet_utc(f.created),
            "modifiedOn": dotnet_utc(f.updated),
            "rootFolderType": _root_type(root),
            "rootCreateBy": root.owner_id,
            "providerId": f.provider_id if provider else None,
            "providerKey": f.provider_key,
            "fileEntryType": 2,
        }
    )


def folder_entry(s: Scenario, folder: Folder) -> dict[str, Any]:
    root = section_root(s, folder)
    room = s.folders.get(folder.room_id) if folder.room_id is not None else None
    return sparse_dict(
        {
            "id": folder.id,
            "parentId": folder.parent_id,
            "folderIdDisplay": folder.parent_id,
            "rootId": root.id,
            "securityByUsers": {},
            "title": folder.title,
            "createBy": folder.owner_id,
            "modifiedBy": folder.owner_id,
            "createOn": dotnet_utc(folder.created),
            "modifiedOn": dotnet_utc(folder.updated),
            "rootFolderType": _root_type(root),
            "rootCreateBy": root.owner_id,
            "parentRoomType": room.folder_type if room and room is not folder else None,
            "fileEntryType": 1,
        }
    )


def user_info(user: User) -> dict[str, Any]:
    """The raw `UserInfo` entity (no role field)."""
    return sparse_dict(
        {
            "id": user.id,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "userName": user.user_name,
            "email": user.email,
            "status": user.status,
            "activationStatus": user.activation_status,
            "terminatedDate": dotnet_utc(user.terminated) if user.terminated else None,
            "createDate": dotnet_utc(user.registered),
            "tenantId": 1,
            "isActive": user.status == 1,
        }
    )


def _root_type(root: Folder) -> int:
    if root.folder_type in (FOLDER_TYPE_VIRTUAL_ROOMS, FOLDER_TYPE_USER):
        return root.folder_type
    return FOLDER_TYPE_USER if root.personal_owner else FOLDER_TYPE_VIRTUAL_ROOMS


def entity_for(s: Scenario, trigger: str, target: str) -> tuple[dict[str, Any], Any] | None:
    """(payload, entity id for `targetId` matching) for one audit target, or None."""
    prefix = trigger.split(".", 1)[0]
    if prefix == "user":
        user = s.find_user(target)
        return (user_info(user), user.id) if user else None
    third_party = re.search(r"-f(\d+)$", target) if prefix == "file" else None
    if not target.isdigit() and third_party is None:
        return None
    number = int(third_party.group(1) if third_party else target)
    if prefix == "file":
        f = s.files.get(number)
        if f is None:
            return None
        entry = file_entry(s, f)
        return entry, entry["id"]
    folder = s.folders.get(number)
    return (folder_entry(s, folder), folder.id) if folder else None


def micros_to_datetime(micros: int) -> datetime:
    return from_micros(micros)
