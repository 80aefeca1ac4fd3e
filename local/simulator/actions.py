"""The MessageActions the simulator writes, with their mapper data and English texts.

`actionType`, `product`, `location` and `entries` come from the server's `MessageMaps`
(section 2.3); the texts are the English `AuditReportResource` strings, `{0}`, `{1}`
being the event's description parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.simulator.message_actions import MESSAGE_ACTIONS

PRODUCT_DOCUMENTS = 2
PRODUCT_LOGIN = 3
PRODUCT_SETTINGS = 7
PRODUCT_CONTACTS = 8

LOCATION_FILES = 1
LOCATION_FOLDERS = 2
LOCATION_ROOMS = 27
LOCATION_SETTINGS = 29
LOCATION_CONTACTS = 30


@dataclass(frozen=True)
class ActionInfo:
    code: int
    text: str
    action_type: int
    product: int
    location: int
    entries: tuple[int, ...]

    @property
    def name(self) -> str:
        return _NAMES[self.code]

    @property
    def module(self) -> str:
        """The localized module name, the default `context`."""
        return _MODULES.get(self.location, "Files")


_NAMES = {value: name for name, value in MESSAGE_ACTIONS.items()}
_MODULES = {
    LOCATION_FILES: "Files",
    LOCATION_FOLDERS: "Folders",
    LOCATION_ROOMS: "Rooms",
    LOCATION_SETTINGS: "Settings",
    LOCATION_CONTACTS: "Contacts",
}


def _file(code: int, text: str, action_type: int) -> ActionInfo:
    return ActionInfo(code, text, action_type, PRODUCT_DOCUMENTS, LOCATION_FILES, (1,))


def _room(code: int, text: str, action_type: int) -> ActionInfo:
    return ActionInfo(code, text, action_type, PRODUCT_DOCUMENTS, LOCATION_ROOMS, (25,))


AUDIT_ACTIONS: dict[int, ActionInfo] = {
    a.code: a
    for a in (
        _file(5000, "File Created: {0}", 1),
        _file(5001, "File Renamed: {0}", 2),
        _file(5002, "File Updated: {0}", 2),
        _file(5003, "File Version Created: {0}", 1),
        _file(5009, "File Downloaded: {0}", 12),
        _file(5011, "File Uploaded: {0}", 13),
        _file(5012, "File Imported: {0}", 9),
        _file(5013, "File Copied: {0}", 14),
        _file(5014, "File Copied With Overwriting: {0}", 14),
        _file(5015, "File Moved: {0}", 15),
        _file(5016, "File Moved With Overwriting: {0}", 15),
        _file(5017, "File Moved To Trash: {0}", 3),
        _file(5018, "File Deleted: {0}", 3),
        _file(5034, "Users [{0}]. File Updated: {1}", 2),
        _file(5035, "File Converted: {0}", 2),
        _file(5044, "File Version Restored: {0}", 2),
        _file(5054, "File Opened For Change: {0}", 0),
        _file(5064, "File Read: {0}", 0),
        _file(5099, "File Uploaded With Overwriting: {0}", 13),
        ActionInfo(5019, "Folder Created: {0}", 1, PRODUCT_DOCUMENTS, LOCATION_FOLDERS, (2,)),
        _room(5070, "Room Created: {0}", 1),
        _room(5071, "Room Renamed: {0}", 2),
        _room(5075, "Room Access Updated. User: {0}. Role: {1}", 11),
        _room(5084, "Removed User: {0}", 5),
        _room(5085, "Added User: {0}. Role: {1}", 4),
        ActionInfo(
            4020, "Users [{0}]. Updated Status", 2, PRODUCT_CONTACTS, LOCATION_CONTACTS, (23,)
        ),
        ActionInfo(
            4036,
            "User [{0}]. Logged Out Of All Active Connections",
            19,
            PRODUCT_CONTACTS,
            LOCATION_CONTACTS,
            (23,),
        ),
        ActionInfo(5057, "Folder Downloaded: {0}", 12, PRODUCT_DOCUMENTS, LOCATION_FOLDERS, (2,)),
        ActionInfo(6055, "Webhook created: {0}", 1, PRODUCT_SETTINGS, LOCATION_SETTINGS, ()),
        ActionInfo(6056, "Webhook updated: {0}", 2, PRODUCT_SETTINGS, LOCATION_SETTINGS, ()),
        ActionInfo(6057, "Webhook deleted: {0}", 3, PRODUCT_SETTINGS, LOCATION_SETTINGS, ()),
        ActionInfo(6032, "Cookie Settings Updated", 2, PRODUCT_SETTINGS, LOCATION_SETTINGS, ()),
        ActionInfo(
            6094, "IP Security settings updated", 2, PRODUCT_SETTINGS, LOCATION_SETTINGS, ()
        ),
    )
}

LOGIN_TEXTS: dict[int, str] = {
    1000: "Successful Login",
    1001: "Successful Login Via Social Account",
    1002: "Login Fail. Invalid Combination",
    1005: "Login Fail",
    1006: "Logout",
    1009: "Login Fail. IP Security",
    1010: "Successful Login Via API",
    1013: "Login Fail Via API",
    1015: "Successful Login Via SSO",
    1023: "Login Fail. Brute Force",
    1029: "Successful Login Via Password",
}

# The codes `LoginEventsRepository.GetLastSuccessEventAsync` counts as a success.
LOGIN_SUCCESS = frozenset(
    {1000, 1001, 1007, 1010, 1011, 1012, 1015, 1019, 1021, 1024, 1027, 1028, 1029}
)
LOGIN_FAILURES = frozenset({1002, 1005, 1009, 1013, 1023})

# Actions that change a file's content or existence, for the bulk-change case.
FILE_CHANGES = (5000, 5001, 5002, 5003, 5011, 5013, 5014, 5015, 5016, 5017, 5018, 5034, 5035,
                5044, 5099)  # fmt: skip
FILE_READS = (5009, 5054, 5064)


def audit_action(code: int) -> ActionInfo:
    """Mapper data for any audit code; unknown codes get neutral Documents/Files data."""
    known = AUDIT_ACTIONS.get(code)
    if known is not None:
        return known
    name = _NAMES.get(code, str(code))
    return ActionInfo(code, name + ": {0}", 0, PRODUCT_DOCUMENTS, LOCATION_FILES, ())


def login_text(code: int) -> str:
    return LOGIN_TEXTS.get(code) or _NAMES.get(code, str(code))


def render_text(template: str, parts: tuple[str, ...], limited: bool = False) -> str:
    """Format the description parts; `/last` cuts each part of 50+ chars to 47 + '...'."""
    if limited:
        parts = tuple(p if len(p) < 50 else p[:47] + "..." for p in parts)
    padded = parts + ("",) * (template.count("{") - len(parts))
    try:
        return template.format(*padded)
    except (IndexError, KeyError):
        return template
