"""Wire DTOs built from scenario records: events, people, groups, rooms, folders, files.

Builders may put None in a field; the envelope drops nulls at every level, as the
server's `WhenWritingNull` does.
"""

from __future__ import annotations

from typing import Any

from local.simulator.actions import (
    OAUTH_ACTIONS,
    audit_action,
    audit_text,
    login_text,
    module_text,
    render_text,
)
from local.simulator.enums import (
    ACCESS_ROOM_MANAGER,
    FOLDER_TYPE_USER,
    FOLDER_TYPE_VIRTUAL_ROOMS,
    ROOM_FOLDER_TYPES,
    SUBJECT_GROUP,
    SUBJECT_INVITATION_LINK,
    SUBJECT_USER,
)
from local.simulator.events import AuditRow, LoginRow
from local.simulator.model import STATUS_TERMINATED, File, Folder, Group, Share, User
from local.simulator.scenario import PORTAL, Scenario
from local.simulator.texts_ru import RU_SYSTEM_ACCOUNT, RUSSIAN
from local.simulator.wire import format_api_datetime, html_encode

JsonDict = dict[str, Any]
_AVATAR = "/static/images/default_user_photo_size_82-82.png"


def _date(s: Scenario, micros: int) -> str:
    return format_api_datetime(micros, s.offset_minutes)


def audit_event(s: Scenario, row: AuditRow, limited: bool = False) -> JsonDict:
    info = audit_action(row.action)
    p = row.profile
    target = row.target
    # The server formats an OAuth action's text with its target items, unlimited.
    oauth = row.action in OAUTH_ACTIONS and bool(target)
    text = audit_text(row.action, s.culture)
    event = {
        "id": row.id,
        "date": _date(s, row.micros),
        "user": s.user_name_at(row.user) if row.user >= 0 else _system_account(s),
        "userId": s.user_id_at(row.user),
        "action": render_text(text, target if oauth else row.parts, limited and not oauth),
        "actionId": row.action,
        "ip": p.ip,
        "country": p.country,
        "city": p.city,
        "browser": p.browser,
        "platform": p.platform,
        "page": _audit_page(row.action, target),
        "actionType": info.action_type,
        "product": info.product,
        "location": info.location,
        "target": list(target) if target else None,
        "entries": list(info.entries),
        "context": module_text(row.context, s.culture),
    }
    for key, value in s.audit_overrides.get(row.id, {}).items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def _system_account(s: Scenario) -> str:
    return RU_SYSTEM_ACCOUNT if s.culture == RUSSIAN else "System Account"


def _audit_page(action: int, target: tuple[str, ...]) -> str:
    if 5000 <= action < 5070 or action in (5099,):
        return f"{PORTAL}/doceditor?fileId={target[0]}" if target else f"{PORTAL}/rooms/shared"
    if 5070 <= action < 5100:
        return f"{PORTAL}/rooms/shared/{target[0]}" if target else f"{PORTAL}/rooms/shared"
    if 4000 <= action < 5000:
        return f"{PORTAL}/accounts/people"
    return f"{PORTAL}/portal-settings/security"


def login_event(s: Scenario, row: LoginRow, limited: bool = False) -> JsonDict:
    p = row.profile
    text = login_text(row.action)
    return {
        "id": row.id,
        "date": _date(s, row.micros),
        # A failed login by an unauthenticated caller shows the login string as the user.
        "user": s.user_name_at(row.user) if row.user >= 0 else row.login,
        "userId": s.user_id_at(row.user),
        "login": row.login,
        "action": render_text(text, (), limited),
        "actionId": row.action,
        "ip": p.ip,
        "country": p.country,
        "city": p.city,
        "browser": p.browser,
        "platform": p.platform,
        "page": row.page,
    }


def employee(s: Scenario, user: User) -> JsonDict:
    """EmployeeDto: the short form used in `createdBy` and friends."""
    return {
        "id": user.id,
        "displayName": html_encode(user.name),
        "avatar": _AVATAR,
        "avatarOriginal": _AVATAR,
        "avatarMax": _AVATAR,
        "avatarMedium": _AVATAR,
        "avatarSmall": _AVATAR,
        "profileUrl": f"{PORTAL}/accounts/people/filter?email={user.email}",
        "hasAvatar": False,
        "isAnonim": False,
    }


def employee_full(s: Scenario, user: User) -> JsonDict:
    dto = employee(s, user)
    dto.update(
        {
            "firstName": user.first_name,
            "lastName": user.last_name,
            "userName": user.user_name,
            "email": user.email,
            "status": user.status,
            "activationStatus": user.activation_status,
            "terminated": _date(s, user.terminated)
            if user.terminated is not None and user.status == STATUS_TERMINATED
            else None,
            "groups": [
                {"id": g, "name": s.groups[g].name, "manager": s.groups[g].manager_id}
                for g in user.group_ids
            ],
            "isAdmin": user.is_admin and not user.is_owner,
            "isRoomAdmin": user.is_room_admin,
            "isLDAP": user.is_ldap,
            "isOwner": user.is_owner,
            "isVisitor": user.is_visitor,
            "isCollaborator": user.is_collaborator,
            "cultureName": "en-US",
            "mobilePhoneActivationStatus": 0,
            "isSSO": user.is_sso,
            "quotaLimit": -1,
            "usedSpace": 0,
            "isCustomQuota": False,
            "createdBy": employee(s, s.owner) if not user.is_owner else None,
            "registrationDate": _date(s, user.registered),
            "hasPersonalFolder": not user.is_visitor,
        }
    )
    return dto


def group(s: Scenario, g: Group) -> JsonDict:
    members = [s.user_by_id(m) for m in g.member_ids]
    return {
        "name": g.name,
        "category": "00000000-0000-0000-0000-000000000000",
        "id": g.id,
        "isLDAP": False,
        "isSystem": False,
        "manager": employee_full(s, s.user_by_id(g.manager_id)) if g.manager_id else None,
        "members": [employee_full(s, m) for m in members],
        "membersCount": len(members),
    }


def group_summary(s: Scenario, g: Group) -> JsonDict:
    return {"id": g.id, "name": g.name, "manager": g.manager_id}


def folder(s: Scenario, f: Folder) -> JsonDict:
    """FolderDto; rooms carry `roomType` and, in 3.7.2, no FolderType `type`."""
    in_rooms = f.room_id is not None or f.folder_type == FOLDER_TYPE_VIRTUAL_ROOMS
    root_id = s.layout.rooms_root_id if in_rooms else _personal_root(s, f)
    children = [x for x in s.folders.values() if x.parent_id == f.id]
    files = [x for x in s.files.values() if x.folder_id == f.id and not x.deleted]
    owner = s.user_by_id(f.owner_id)
    room = s.folders[f.room_id] if f.room_id is not None else None
    system = f.folder_type in (FOLDER_TYPE_VIRTUAL_ROOMS, FOLDER_TYPE_USER)
    return {
        "parentId": f.parent_id,
        "filesCount": len(files),
        "foldersCount": len(children),
        "new": 0,
        "mute": False,
        "tags": [] if f.is_room else None,
        "pinned": False if f.is_room else None,
        "roomType": f.room_type,
        "private": False if f.is_room else None,
        "indexing": False if f.is_room else None,
        "denyDownload": False if f.is_room else None,
        "type": f.folder_type if system else None,
        "inRoom": True if f.room_id is not None and not f.is_room else None,
        "quotaLimit": -1 if f.is_room else None,
        "isCustomQuota": False if f.is_room else None,
        "usedSpace": sum(x.size for x in files) if f.is_room else None,
        "id": f.id,
        "rootFolderId": root_id,
        "canShare": f.is_room,
        "title": f.title,
        "access": ACCESS_ROOM_MANAGER if in_rooms else 0,
        "shared": False,
        "created": _date(s, f.created),
        "createdBy": employee(s, owner),
        "updated": _date(s, f.updated),
        "rootFolderType": FOLDER_TYPE_VIRTUAL_ROOMS if in_rooms else FOLDER_TYPE_USER,
        "parentRoomType": room.folder_type if room is not None and not f.is_room else None,
        "updatedBy": employee(s, owner),
        "fileEntryType": 1,
    }


def _personal_root(s: Scenario, f: Folder) -> int:
    while f.parent_id and f.parent_id in s.folders:
        f = s.folders[f.parent_id]
    return f.id


_FILE_TYPES = {".docx": 7, ".xlsx": 5, ".pptx": 6, ".pdf": 10}


def file(s: Scenario, f: File) -> JsonDict:
    parent = s.folders[f.folder_id]
    in_room = parent.room_id is not None
    room = s.folders[parent.room_id] if parent.room_id is not None else None
    ext = "." + f.title.rsplit(".", 1)[-1] if "." in f.title else ""
    owner = s.user_by_id(f.owner_id)
    return {
        "folderId": f.folder_id,
        "version": f.version,
        "versionGroup": f.version,
        "contentLength": f"{f.size / 1024:.1f} KB",
        "pureContentLength": f.size,
        "fileStatus": 0,
        "mute": False,
        "viewUrl": f"{PORTAL}/filehandler.ashx?action=view&fileid={f.id}",
        "webUrl": f"{PORTAL}/doceditor?fileid={f.id}",
        "fileType": _FILE_TYPES.get(ext, 0),
        "fileExst": ext,
        "id": f.id,
        "rootFolderId": s.layout.rooms_root_id if in_room else _personal_root(s, parent),
        "canShare": in_room,
        "title": f.title,
        "access": ACCESS_ROOM_MANAGER if in_room else 0,
        "shared": False,
        "created": _date(s, f.created),
        "createdBy": employee(s, owner),
        "updated": _date(s, f.updated),
        "rootFolderType": FOLDER_TYPE_VIRTUAL_ROOMS if in_room else FOLDER_TYPE_USER,
        "parentRoomType": ROOM_FOLDER_TYPES[room.room_type] if room and room.room_type else None,
        "updatedBy": employee(s, s.user_by_id(f.modified_by) if f.modified_by else owner),
        "fileEntryType": 2,
    }


def share(s: Scenario, room: Folder, sh: Share) -> JsonDict:
    editable = not sh.is_owner
    dto: JsonDict = {
        "access": sh.access,
        "isLocked": False,
        "isOwner": sh.is_owner,
        "canEditAccess": editable,
        "canEditInternal": False,
        "canEditDenyDownload": False,
        "canEditExpirationDate": sh.subject_type not in (SUBJECT_USER, SUBJECT_GROUP),
        "canRevoke": editable and sh.subject_type != SUBJECT_USER,
        "subjectType": sh.subject_type,
    }
    if sh.subject_type == SUBJECT_USER:
        user = employee_full(s, s.user_by_id(sh.subject_id))
        dto["sharedTo"] = user
        dto["sharedToUser"] = user
    elif sh.subject_type == SUBJECT_GROUP:
        summary = group_summary(s, s.groups[sh.subject_id])
        dto["sharedTo"] = summary
        dto["sharedToGroup"] = summary
    else:
        link = {
            "id": sh.subject_id,
            "title": sh.title,
            "shareLink": f"{PORTAL}/s/{sh.subject_id[:12]}",
            "linkType": 0 if sh.subject_type == SUBJECT_INVITATION_LINK else 1,
            "denyDownload": False,
            "isExpired": False,
            "primary": sh.subject_type == 4,
            "internal": False,
            "requestToken": sh.subject_id.replace("-", ""),
        }
        dto["sharedTo"] = link
        dto["sharedLink"] = link
    return dto
