"""The audit actions that change privileges or protection: one catalogue, one place.

Each ``Watched`` entry is a ``MessageAction`` code of DocSpace 3.7.2 with what it means for
security, its default severity and what the event's ``target`` list holds. The facts come from
the server: ``MessageAction.cs`` (codes), ``ASC.AuditTrail/Mappers`` (product, location, action
type) and the ``messageService.Send`` calls of the controllers (target and description parts).
The description parts are written to the database but the API never returns them: a client sees
only ``action``, the localized text formatted with them. The comment on each entry says which
parts the server writes (``parts``) and which target, so that the simulator emits the same.

Severity defaults (overridable per action id by a setting): a new administrator, an owner change,
2FA switched off = HIGH; other protection settings MEDIUM; report downloads and exports LOW. A
webhook or API key created by someone who is not a DocSpace admin is HIGH, which the event alone
cannot tell: ``actor_must_be_admin`` asks the caller to check the actor. ``raises_privilege``
asks it to read the target user's current role back (``GET people/{id}``): the event does not
say which type a user was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from ...docspace.models import AuditEvent
from ...findings.finding import Severity

# The audit mappers' ProductType.Settings and LocationType.Settings.
SETTINGS_PRODUCT = 7
SETTINGS_LOCATION = 29


class Subject:
    """What a change is about; the settings-snapshot side uses the same values."""

    ADMINS = "admins"
    OWNER = "owner"
    USER_TYPE = "user_type"
    DEV_TOOLS = "dev_tools"
    WEBHOOK = "webhook"
    API_KEY = "api_key"
    ACCESS_TOKEN = "access_token"  # noqa: S105 (a subject name, not a secret)
    IP_RESTRICTIONS = "ip_restrictions"
    TFA = "tfa"
    LOGIN_SETTINGS = "login_settings"
    SESSION = "session"
    PASSWORD = "password"  # noqa: S105 (a subject name, not a secret)
    PORTAL_ACCESS = "portal_access"
    SSO = "sso"
    LDAP = "ldap"
    TRUSTED_DOMAINS = "trusted_domains"
    AUDIT_SETTINGS = "audit_settings"
    REPORTS = "reports"
    PORTAL = "portal"
    BACKUP = "backup"
    EXPORT = "export"
    USERS = "users"
    OTHER = "other"
    # Added for 3.7.2 codes the list above has no home for.
    OAUTH = "oauth"  # OAuth applications (clients) registered on the portal
    PLUGIN = "plugin"  # web plugins: code that runs in every user's browser
    ENCRYPTION = "encryption"  # storage encryption at rest
    DOC_SERVICE = "doc_service"  # the Document Server every document is sent to
    MAIL = "mail"  # the mail server that carries password-reset and invitation links
    SHARING = "sharing"  # external links and third-party storage
    AUTH_KEYS = "auth_keys"  # third-party service keys (sign-in providers, SMS, storage)


class Watched(NamedTuple):
    action_id: int
    name: str  # the server's MessageAction name, e.g. "WebhookCreated"
    severity: Severity  # the default
    subject: str
    meaning: str
    target: str  # what the event's target list holds: "user", "users", "webhook", "" ...
    actor_must_be_admin: bool = False
    raises_privilege: bool = False


H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
S = Subject

# Per entry: ``parts`` = the description parts the server writes, in order; "not sent by
# 3.7.2" = the code is mapped (so a portal can show it) but no 3.7.2 controller writes it: an
# older or newer server may, and what it puts in the target is then unknown.
_ENTRIES: tuple[Watched, ...] = (
    # --- administrators: PUT settings/security/administrator (productId empty = the portal) ---
    # Not sent by 3.7.2 (admins are made through 6010 or a user type change, 4019). Target
    # unknown; the text has one part, the user's name.
    Watched(6009, "AdministratorAdded", H, S.ADMINS, "a user was made a DocSpace administrator",
            "", raises_privilege=True),
    # target [userId]; parts [user name].
    Watched(6010, "AdministratorOpenedFullAccess", H, S.ADMINS,
            "a user was given full administrator access to the portal", "user",
            raises_privilege=True),
    # target [userId]; parts [user name].
    Watched(6011, "AdministratorDeleted", M, S.ADMINS,
            "a user's administrator rights were removed", "user"),
    # target [userId]; parts [product name, user name].
    Watched(6016, "ProductAddedAdministrator", H, S.ADMINS,
            "a user was made administrator of a product (module)", "user",
            raises_privilege=True),
    # target [userId]; parts [product name, user name].
    Watched(6017, "ProductDeletedAdministrator", M, S.ADMINS,
            "a user's product administrator rights were removed", "user"),
    # --- owner: settings/owner ---
    # target [current owner's id]; parts [current owner's name]. The intended new owner is in
    # neither: only the e-mail to the owner names them.
    Watched(6021, "OwnerSentChangeOwnerInstructions", M, S.OWNER,
            "a transfer of portal ownership was requested", "user"),
    # No target; parts [new owner's name]. The new owner's id is not in the event: read the
    # current owner back (the people list's isOwner) to name them.
    Watched(6022, "OwnerUpdated", H, S.OWNER, "the portal owner was changed", "",
            raises_privilege=True),
    # --- user types: PUT people/type/{type} (one event per user) and the reassign-and-change
    # operation (POST people/type) ---
    # target [userId]; parts [user name, JSON {"UserIds":[id],"UserRole":<EmployeeType>}]
    # (EmployeeType: 1 RoomAdmin, 2 Guest, 3 DocSpaceAdmin, 4 User). The text shows only the
    # name and the API does not return the parts, so the event does not tell the new type, nor
    # whether it was raised or lowered: read the role back. MEDIUM until the read-back shows a
    # DocSpace or room admin.
    Watched(4019, "UsersUpdatedType", M, S.USER_TYPE,
            "a user's type (role) was changed, possibly to administrator", "user",
            raises_privilege=True),
    # target [userId, ...]; parts [names joined with ", "]. DELETE people: users must be
    # disabled (4020) first.
    Watched(4022, "UsersDeleted", M, S.USERS, "users were deleted, with their data", "users"),
    # --- developer tools: POST security/devtoolsaccess ---
    # No target, no parts: whether access was limited to admins or opened to every user is in
    # GET settings/devtoolsaccess (limitedAccessForUsers), not in the event.
    Watched(6054, "DevToolsAccessSettingsChanged", M, S.DEV_TOOLS,
            "who may use the Developer Tools (API keys, webhooks) was changed", ""),
    # --- webhooks: settings/webhook ---
    # target [webhook config id]; parts [webhook name]. Non-admin users may create webhooks
    # unless Developer Tools access is limited to admins.
    Watched(6055, "WebhookCreated", M, S.WEBHOOK,
            "a webhook now sends portal events to an outside URL", "webhook",
            actor_must_be_admin=True),
    # target [webhook config id]; parts [webhook name]. Also written by the webhook sender when
    # it disables a failing webhook: parts ["<name> (more than N days without success)"] or
    # ["<name> (<validation error>)"].
    Watched(6056, "WebhookUpdated", M, S.WEBHOOK,
            "a webhook's URL, triggers or secret may have changed", "webhook"),
    # target [webhook config id]; parts [webhook name]; the sender writes it too when the
    # receiver answers 410 ("<name> (HTTP status 410)") or the URL is blacklisted
    # ("<name> (blacklist)").
    Watched(6057, "WebhookDeleted", L, S.WEBHOOK, "a webhook was deleted", "webhook"),
    # --- API keys: api/2.0/keys (any non-guest user unless Developer Tools are limited) ---
    # target [key id (GUID)]; parts ["sk-***" + the key's last 4 characters].
    Watched(6058, "ApiKeyCreated", M, S.API_KEY,
            "an API key was created: a bearer credential for the API", "api_key",
            actor_must_be_admin=True),
    # target [key id]; parts ["sk-***" + last 4]. Name, permissions or active flag changed.
    Watched(6059, "ApiKeyUpdated", M, S.API_KEY,
            "an API key's permissions, name or active state were changed", "api_key"),
    # target [key id]; parts ["sk-***" + last 4].
    Watched(6060, "ApiKeyDeleted", L, S.API_KEY, "an API key was deleted", "api_key"),
    # --- OAuth: written by the identity service, not by this repository: target and parts
    # are not visible in 3.7.2. The server formats 9901-10000 texts with the TARGET items
    # (AuditActionMapper), so target[0] is presumably the client id. ---
    Watched(9909, "GeneratePersonalAccessToken", M, S.ACCESS_TOKEN,
            "a personal access token was generated for an OAuth client", "oauth_client"),
    Watched(9901, "CreateClient", M, S.OAUTH,
            "an OAuth application was registered on the portal", "oauth_client"),
    Watched(9903, "RegenerateSecret", M, S.OAUTH,
            "an OAuth application's client secret was regenerated", "oauth_client"),
    # --- sign-in protection ---
    # No target, no parts; written for PUT settings/iprestrictions (the list) and
    # PUT settings/iprestrictions/settings (the enabled flag) alike, so the event does not say
    # whether restrictions were switched off: the settings snapshot does (HIGH there).
    Watched(6094, "IPRestrictionsSettingsUpdated", M, S.IP_RESTRICTIONS,
            "the IP restrictions (allowed addresses or the on/off switch) were changed", ""),
    # PUT settings/tfaapp, no target, no parts.
    Watched(6036, "TwoFactorAuthenticationDisabled", H, S.TFA,
            "two-factor authentication was switched off for the portal", ""),
    # No target, no parts; also written when 2FA stays on and its trusted IPs or mandatory
    # users change.
    Watched(6037, "TwoFactorAuthenticationEnabledBySms", M, S.TFA,
            "two-factor authentication by SMS was switched on or its settings saved", ""),
    Watched(6038, "TwoFactorAuthenticationEnabledByTfaApp", M, S.TFA,
            "two-factor authentication by app was switched on or its settings saved", ""),
    # Deprecated, not sent by 3.7.2 (the server says: use 6036-6038).
    Watched(6005, "TwoFactorAuthenticationSettingsUpdated", M, S.TFA,
            "two-factor authentication settings were changed", ""),
    # target [userId]; parts [user name]. Written when a user resets their own app (actor ==
    # target) and when the owner resets someone else's, which is the one to look at.
    Watched(4033, "UserDisconnectedTfaApp", M, S.TFA,
            "a user's authenticator app was reset: the next sign-in enrols a new one", "user"),
    # PUT settings/security/loginSettings: brute-force lock-out. No target, no parts.
    Watched(6095, "LoginSettingsUpdated", M, S.LOGIN_SETTINGS,
            "the brute-force protection (attempts, lock-out time) was changed", ""),
    # No target, no parts. PUT settings/cookiesettings (session lifetime), but the server ALSO
    # writes it after every session reset: a password change (4017), a user disabled (4020 or
    # 4006): only a 6032 without such a neighbour is a lifetime change.
    Watched(6032, "CookieSettingsUpdated", M, S.SESSION,
            "the session lifetime was changed (or sessions were reset)", ""),
    # PUT settings/security/password, no target, no parts.
    Watched(6004, "PasswordStrengthSettingsUpdated", M, S.PASSWORD,
            "the password strength policy was changed", ""),
    # Not sent by 3.7.2.
    Watched(6031, "PortalAccessSettingsUpdated", M, S.PORTAL_ACCESS,
            "the portal access settings were changed", ""),
    # PUT settings/invitationsettings, no target, no parts.
    Watched(6093, "InvitationSettingsUpdated", M, S.PORTAL_ACCESS,
            "who may invite users and guests was changed", ""),
    # PUT settings/security (module access): no target; parts [product name].
    Watched(6014, "ProductAccessOpened", M, S.PORTAL_ACCESS,
            "a module was opened to every user", ""),
    # No target; parts [product name, user names joined with ", "].
    Watched(6012, "UsersOpenedProductAccess", M, S.PORTAL_ACCESS,
            "a module was opened to the users named", ""),
    # No target; parts [product name, group names joined with ", "].
    Watched(6013, "GroupsOpenedProductAccess", M, S.PORTAL_ACCESS,
            "a module was opened to the groups named", ""),
    # The SSO settings save and reset: no target, no parts. Every save writes one of the two,
    # so "SSO Enabled" also means "SSO settings (IdP, certificates) saved while on".
    Watched(6029, "SSOEnabled", M, S.SSO,
            "single sign-on was switched on or its identity provider settings saved", ""),
    Watched(6030, "SSODisabled", M, S.SSO, "single sign-on was switched off", ""),
    # Written by the LDAP job (initiator System) as the admin who started it: no target, no
    # parts. Every save of LDAP settings writes 5501 or 5502.
    Watched(5501, "LdapEnabled", M, S.LDAP,
            "LDAP sign-in was switched on or its settings (server, group mapping) saved", ""),
    Watched(5502, "LdapDisabled", M, S.LDAP, "LDAP sign-in was switched off", ""),
    # An LDAP sync can add users and grant admin rights through the group mapping.
    Watched(5503, "LdapSync", L, S.LDAP, "users were synchronised from LDAP", ""),
    # POST settings/maildomainsettings, no target, no parts.
    Watched(6003, "TrustedMailDomainSettingsUpdated", M, S.TRUSTED_DOMAINS,
            "which e-mail domains may register on their own was changed", ""),
    # POST security/audit/settings/lifetime, no target, no parts.
    Watched(6035, "AuditSettingsUpdated", M, S.AUDIT_SETTINGS,
            "how long the audit trail and login history are kept was changed", ""),
    # POST security/audit/login/report and .../events/report, no target, no parts.
    Watched(6027, "LoginHistoryReportDownloaded", L, S.REPORTS,
            "the login history was exported as a report", ""),
    Watched(6028, "AuditTrailReportDownloaded", L, S.REPORTS,
            "the audit trail was exported as a report", ""),
    # --- the portal itself ---
    # target [tenant id]; parts [old alias, new alias] (the text shows neither).
    Watched(6039, "PortalRenamed", M, S.PORTAL,
            "the portal's address (name) was changed", "portal"),
    # No target; parts [old domain, new domain].
    Watched(6002, "DnsSettingsUpdated", M, S.PORTAL, "the portal's custom domain was changed", ""),
    # target [owner id]; parts [owner name].
    Watched(6023, "OwnerSentPortalDeactivationInstructions", M, S.PORTAL,
            "deactivation of the portal was requested", "user"),
    # Not sent by 3.7.2 (the delete instructions are mailed without an audit event).
    Watched(6024, "OwnerSentPortalDeleteInstructions", M, S.PORTAL,
            "deletion of the portal was requested", "user"),
    # No target, no parts. Deactivation and deletion cannot be undone from inside: HIGH.
    Watched(6025, "PortalDeactivated", H, S.PORTAL, "the portal was deactivated", ""),
    Watched(6026, "PortalDeleted", H, S.PORTAL, "the portal was deleted", ""),
    # Not sent by 3.7.2.
    Watched(5040, "StartTransferSetting", M, S.PORTAL,
            "a move of the portal to another region was started", ""),
    # --- backups, restores, exports (backup service) ---
    # No target, no parts; a manual backup (a scheduled run, 5127, is the BackupService's and
    # not watched). Creating or changing the backup schedule writes no event in 3.7.2.
    Watched(5041, "BackupStarted", L, S.EXPORT,
            "a full backup of the portal's data was started", ""),
    # target [tenant id]; no parts.
    Watched(5130, "ScheduledBackupDeleted", M, S.BACKUP,
            "the automatic backup schedule was removed", "portal"),
    # target [tenant id]; parts ["dump"] for a dump restore, else [""]. A restore replaces the
    # portal's data, its users and admins included.
    Watched(5132, "RestoreStarted", M, S.BACKUP,
            "a restore of the portal from a backup was started", "portal"),
    # Documents product, Rooms location: target [room id]; the index of a VDR room exported.
    Watched(5106, "RoomIndexExportSaved", L, S.EXPORT,
            "a room's index was exported to a file", "room"),
    # --- where data goes ---
    # The storage encryption start: no target, no parts.
    Watched(5050, "StartStorageEncryption", M, S.ENCRYPTION,
            "encryption of the stored files was started", ""),
    # Decryption removes encryption at rest: HIGH like any protection switched off.
    Watched(5053, "StartStorageDecryption", H, S.ENCRYPTION,
            "the stored files are being decrypted: encryption at rest is being switched off", ""),
    # The editors' docservice settings (PUT .../docservice): no target, no parts.
    Watched(5037, "DocumentServiceLocationSetting", M, S.DOC_SERVICE,
            "the Document Server address (where documents are opened) was changed", ""),
    # Not sent by 3.7.2 (SMTP settings are saved by another service).
    Watched(6033, "MailServiceSettingsUpdated", M, S.MAIL,
            "the mail server settings were changed", ""),
    # Integration > third-party services: no target, no parts.
    Watched(5038, "AuthorizationKeysSetting", M, S.AUTH_KEYS,
            "third-party service keys (sign-in providers, SMS, storage) were changed", ""),
    # target ["<pluginName><version>"]; parts [plugin display name].
    Watched(6085, "WebpluginUploaded", M, S.PLUGIN,
            "a plugin was uploaded: its code runs in every user's browser", "plugin"),
    Watched(6086, "WebpluginUpdated", M, S.PLUGIN,
            "a plugin was enabled, disabled or reconfigured", "plugin"),
    Watched(6087, "WebpluginDeleted", L, S.PLUGIN, "a plugin was deleted", "plugin"),
    # Documents product, DocumentsSettings location (3): no target, no parts.
    Watched(5069, "DocumentsExternalShareSettingsUpdated", M, S.SHARING,
            "whether files and rooms may be shared by external link was changed", ""),
    Watched(5031, "DocumentsThirdPartySettingsUpdated", M, S.SHARING,
            "whether users may connect third-party storage was changed", ""),
)  # fmt: skip

CATALOGUE: Mapping[int, Watched] = MappingProxyType({w.action_id: w for w in _ENTRIES})

# Settings-product codes of 3.7.2 deliberately NOT watched: they are ignored, not reported as
# unknown. Cosmetics, quotas, billing, AI features and outcomes of something already watched.
NOT_WATCHED: frozenset[int] = frozenset(
    {
        6000, 6001,  # language, time zone
        6006, 6007, 6008,  # administrator message, default start page, products list
        6015,  # ProductAccessRestricted: "not used" in the source
        6018, 6019, 6020,  # greeting, team template, colour theme
        6034,  # custom navigation
        6040, 6041, 6042, 6043, 6044, 6045,  # quotas
        6048, 6049, 6050, 6051, 6052, 6053,  # custom quotas
        6061, 6062, 6063, 6064, 6065, 6066, 6067,  # billing, banner
        6068, 6069, 6070, 6071, 6072,  # AI agent quotas
        6073, 6074, 6075, 6076, 6077, 6078, 6079, 6080,  # AI providers, MCP servers
        6081, 6082, 6083, 6084, 6096, 6097, 6098, 6099,  # AI search, vectorization, access
        6088, 6089, 6090, 6091, 6092,  # white label
        7000,  # a visitor's message to the admin
        5039, 5042,  # full-text search, licence key
        5051, 5052,  # the private-rooms switch (a desktop-editors feature)
        5125, 5126, 5131,  # backup completed, failed, cancelled (the start is watched)
        5127, 5128, 5129,  # scheduled backup runs (the BackupService's, not a change)
        5133,  # restore cancelled
        9902, 9904, 9905, 9906, 9907, 9908,  # OAuth client edits, revocations, auth codes
    }
)  # fmt: skip


def is_settings_event(event: AuditEvent) -> bool:
    """Whether the event belongs to the Settings product (by product or by location)."""
    return event.product == SETTINGS_PRODUCT or event.location == SETTINGS_LOCATION
