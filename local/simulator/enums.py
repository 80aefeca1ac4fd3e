"""Enum name tables the query binder needs (enums travel as integers on the wire)."""

from __future__ import annotations

ACTION_TYPES: dict[str, int] = {
    "None": 0, "Create": 1, "Update": 2, "Delete": 3, "Link": 4, "Unlink": 5, "Attach": 6,
    "Detach": 7, "Send": 8, "Import": 9, "Export": 10, "UpdateAccess": 11, "Download": 12,
    "Upload": 13, "Copy": 14, "Move": 15, "Reassigns": 16, "Follow": 17, "Unfollow": 18,
    "Logout": 19,
}  # fmt: skip

ENTRY_TYPES: dict[str, int] = {
    "None": 0, "File": 1, "Folder": 2, "User": 23, "Group": 24, "Room": 25, "Tag": 26, "Agent": 27,
}  # fmt: skip

LOCATION_TYPES: dict[str, int] = {
    "None": 0, "Files": 1, "Folders": 2, "DocumentsSettings": 3, "Rooms": 27, "Settings": 29,
    "Contacts": 30, "Agents": 31,
}  # fmt: skip

ROOM_TYPES: dict[str, int] = {
    "FillingFormsRoom": 1, "EditingRoom": 2, "CustomRoom": 5, "PublicRoom": 6,
    "VirtualDataRoom": 8, "AiRoom": 9,
}  # fmt: skip

# The FolderType of a room, which files and sub-folders report as `parentRoomType`.
ROOM_FOLDER_TYPES: dict[int, int] = {1: 15, 2: 16, 5: 19, 6: 22, 8: 29, 9: 31}

SEARCH_AREAS: dict[str, int] = {
    "Active": 0, "Archive": 1, "Any": 2, "RecentByLinks": 3, "Templates": 4,
}  # fmt: skip

EMPLOYEE_STATUSES: dict[str, int] = {
    "Active": 1, "Terminated": 2, "Pending": 4, "Default": 5, "All": 7,
}  # fmt: skip

SHARE_FILTER_TYPES: dict[str, int] = {
    "UserOrGroup": 0, "InvitationLink": 1, "ExternalLink": 2, "AdditionalExternalLink": 4,
    "PrimaryExternalLink": 8, "Link": 15, "User": 16, "Group": 32,
}  # fmt: skip

# FileShare access levels used for room members.
ACCESS_READ = 2
ACCESS_ROOM_MANAGER = 9
ACCESS_EDITING = 10
ACCESS_CONTENT_CREATOR = 11

# FolderType values of system folders.
FOLDER_TYPE_USER = 5  # "My documents"
FOLDER_TYPE_VIRTUAL_ROOMS = 14  # the "Rooms" root

# SubjectType of a FileShareDto.
SUBJECT_USER = 0
SUBJECT_EXTERNAL_LINK = 1
SUBJECT_GROUP = 2
SUBJECT_INVITATION_LINK = 3
SUBJECT_PRIMARY_EXTERNAL_LINK = 4
