"""The MessageActions the simulator writes, with their mapper data and English texts.

`actionType`, `product`, `location` and `entries` come from the server's `MessageMaps`
(section 2.3); the texts are the English `AuditReportResource` strings, `{0}`, `{1}`
being the event's description parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.simulator.message_actions import MESSAGE_ACTIONS
from local.simulator.texts_ru import RU_AUDIT_TEXTS, RU_MODULES, RUSSIAN

PRODUCT_DOCUMENTS = 2
PRODUCT_LOGIN = 3
PRODUCT_SETTINGS = 7
PRODUCT_CONTACTS = 8

LOCATION_FILES = 1
LOCATION_FOLDERS = 2
LOCATION_DOCUMENTS_SETTINGS = 3
LOCATION_ROOMS = 27
LOCATION_SETTINGS = 29
LOCATION_CONTACTS = 30

# ActionType values of the mappers (docspace-api.md section 2.1).
CREATE, UPDATE, DELETE, SEND, EXPORT, UPDATE_ACCESS, DOWNLOAD, UPLOAD = 1, 2, 3, 8, 10, 11, 12, 13
# OAuth actions: the server formats their text with the target items, not the description.
OAUTH_ACTIONS = range(9901, 10001)


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
    LOCATION_DOCUMENTS_SETTINGS: "Settings",
    LOCATION_ROOMS: "Rooms",
    LOCATION_SETTINGS: "Settings",
    LOCATION_CONTACTS: "Contacts",
}


def _file(code: int, text: str, action_type: int) -> ActionInfo:
    return ActionInfo(code, text, action_type, PRODUCT_DOCUMENTS, LOCATION_FILES, (1,))


def _room(code: int, text: str, action_type: int) -> ActionInfo:
    return ActionInfo(code, text, action_type, PRODUCT_DOCUMENTS, LOCATION_ROOMS, (25,))


def _settings(code: int, text: str, action_type: int) -> ActionInfo:
    return ActionInfo(code, text, action_type, PRODUCT_SETTINGS, LOCATION_SETTINGS, ())


def _people(code: int, text: str, action_type: int) -> ActionInfo:
    return ActionInfo(code, text, action_type, PRODUCT_CONTACTS, LOCATION_CONTACTS, (23,))


def _documents_settings(code: int, text: str, action_type: int) -> ActionInfo:
    return ActionInfo(code, text, action_type, PRODUCT_DOCUMENTS, LOCATION_DOCUMENTS_SETTINGS, ())


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
        # The configuration watch's catalogue (privileges and protection); the parts each
        # takes are those the server's controllers write, see its catalogue.py.
        _people(4019, "Users [{0}]. Updated Type", UPDATE),
        _people(4022, "Users Deleted: {0}", DELETE),
        _people(4033, "Authenticator application disconnected: {0}", DELETE),
        _documents_settings(5031, "Third-Party Settings Updated", UPDATE),
        _settings(5037, "Document Service Location Updated", UPDATE),
        _settings(5038, "Third-party authorization keys updated", UPDATE),
        _settings(5040, "Start portal region migration", UPDATE),
        _settings(5041, "Backup started", UPDATE),
        _settings(5050, "Start storage encryption", UPDATE),
        _settings(5053, "Start storage decryption", UPDATE),
        _documents_settings(5069, "Access settings for external links updated", UPDATE),
        _room(5106, "Export of the room index saved to Documents", EXPORT),
        _settings(5130, "Scheduled backup deleted", DELETE),
        _settings(5132, "Restore started", UPDATE),
        _settings(5501, "LDAP authentication enabled", UPDATE),
        _settings(5502, "LDAP authentication disabled", UPDATE),
        _settings(5503, "LDAP synchronization completed", UPDATE),
        _settings(6002, "DNS Settings Updated", UPDATE),
        _settings(6003, "Trusted mail domain settings updated", UPDATE),
        _settings(6004, "Password Strength Settings Updated", UPDATE),
        _settings(6005, "Two-factor Authentication Settings Updated", UPDATE),
        _settings(6009, "Administrator Added: {0}", CREATE),
        _settings(6010, "Administrators [{0}]. Full Access Opened", UPDATE_ACCESS),
        _settings(6011, "Administrator Deleted: {0}", UPDATE_ACCESS),
        _settings(6012, "Products: [{0}]. Users [{1}]. Access Opened", UPDATE_ACCESS),
        _settings(6013, "Products: [{0}]. Groups [{1}]. Access Opened", UPDATE_ACCESS),
        _settings(6014, "Products [{0}]. Access Opened", UPDATE_ACCESS),
        _settings(6016, "Products [{0}]. Administrator Added: {1}", CREATE),
        _settings(6017, "Products [{0}]. Administrator Deleted: {1}", DELETE),
        _settings(6021, "Owner [{0}]. Sent Change Owner Instructions", SEND),
        _settings(6022, "Owner Changed: {0}", UPDATE),
        _settings(6023, "Owner [{0}]. Sent Portal Deactivation Instructions", UPDATE),
        _settings(6024, "Owner [{0}]. Sent Portal Delete Instructions", SEND),
        _settings(6025, "Portal Deactivated", UPDATE),
        _settings(6026, "Portal Deleted", DELETE),
        _settings(6027, "Login History Report Downloaded", DOWNLOAD),
        _settings(6028, "Audit Trail Report Downloaded", DOWNLOAD),
        _settings(6029, "SSO Enabled", UPDATE),
        _settings(6030, "SSO Disabled", UPDATE),
        _settings(6031, "Portal Access Settings Updated", UPDATE),
        _settings(6033, "Mail Service Settings Updated", UPDATE),
        _settings(6035, "Audit Lifetime Settings Updated", UPDATE),
        _settings(
            6036, "Two-factor Authentication Settings Updated: Two-factor auth was disabled", UPDATE
        ),
        _settings(
            6037, "Two-factor Authentication Settings Updated: SMS confirmation was enabled", UPDATE
        ),
        _settings(
            6038,
            "Two-factor Authentication Settings Updated: Authentication app was enabled",
            UPDATE,
        ),
        _settings(6039, "Portal Renamed", UPDATE),
        _settings(6054, "Developer Tools access settings changed", UPDATE),
        _settings(6058, "User Api Key Created: {0}", CREATE),
        _settings(6059, "User Api Key Updated: {0}", UPDATE),
        _settings(6060, "User Api Key Deleted: {0}", DELETE),
        _settings(6085, "Plugin uploaded: {0}", UPLOAD),
        _settings(6086, "Plugin updated: {0}", UPDATE),
        _settings(6087, "Plugin deleted: {0}", DELETE),
        _settings(6093, "Invitation settings updated", UPDATE),
        _settings(6095, "Brute force protection settings updated", UPDATE),
        _settings(9901, "Client created", CREATE),
        _settings(9903, "Client's {0} secret regenerated", UPDATE),
        _settings(9909, "Generated personal access token for client {0}", UPDATE),
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
    """Mapper data for any audit code; unknown codes get neutral Documents/Files data, but
    for a code in the settings range (6000-6999), a newer server's settings action, the
    Settings product's."""
    known = AUDIT_ACTIONS.get(code)
    if known is not None:
        return known
    name = _NAMES.get(code, str(code))
    if 6000 <= code < 7000 and code not in _NAMES:
        return ActionInfo(code, name + ": {0}", UPDATE, PRODUCT_SETTINGS, LOCATION_SETTINGS, ())
    return ActionInfo(code, name + ": {0}", 0, PRODUCT_DOCUMENTS, LOCATION_FILES, ())


def audit_text(code: int, culture: str = "en-US") -> str:
    """The action's text template in a portal culture, English where the culture has none."""
    if culture == RUSSIAN:
        text = RU_AUDIT_TEXTS.get(code)
        if text is not None:
            return text
    return audit_action(code).text


def module_text(context: str, culture: str = "en-US") -> str:
    """An event's `context` in a portal culture: the module name, or its "Rooms: " prefix."""
    if culture != RUSSIAN:
        return context
    if context in RU_MODULES:
        return RU_MODULES[context]
    prefix, sep, rest = context.partition(": ")
    if sep and prefix in RU_MODULES:
        return f"{RU_MODULES[prefix]}: {rest}"
    return context


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
