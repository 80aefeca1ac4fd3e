"""`AdminActions`: a test acting as an administrator OUTSIDE the product, between runs.

Each method changes the portal's state (what the settings and people endpoints serve) and
writes the audit event the server writes for it, with the target and description parts the
controller passes to `messageService.Send` (DocSpace 3.7.2):

    add_admin / remove_admin   6010 / 6011 target [user id], parts [display name]
                               (PUT settings/security/administrator, productId empty)
    set_user_type              4019 target [user id], parts [display name,
                               '{"userIds":[id],"userRole":type}'] (PUT people/type/{type})
    change_owner               6022 no target, parts [new owner's display name]
    create/update/delete_webhook 6055/6056/6057 target [config id], parts [name]
    set_ip_restrictions        6094, set_tfa 6036/6037/6038, set_password_policy 6004,
    set_login_settings 6095, set_cookie_lifetime 6032, set_dev_tools_access 6054,
    set_trusted_domains 6003, set_audit_lifetime 6035, download_audit_report 6028,
    download_login_report 6027: no target, no parts
    set_sso                    6029 (enabled) / 6030 (disabled): no target, no parts
    create_api_key / delete_api_key 6058 / 6060 target [key id], parts [masked key]
    settings_action            any code, target and parts as given

Every method takes the acting user's id and an optional `at` (default: scenario time).
The audit trail is written whatever `scenario.audit_option` says: the option only decides
whether the portal can *filter* it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from local.simulator.model import ApiKey, IpRestriction
from local.simulator.webhooks import WebhookConfig
from local.simulator.wire import to_micros

if TYPE_CHECKING:
    from local.simulator.scenario import Scenario

USERS_UPDATED_TYPE = 4019
TRUSTED_MAIL_DOMAINS = 6003
PASSWORD_STRENGTH = 6004
ADMINISTRATOR_ADDED = 6010  # AdministratorOpenedFullAccess
ADMINISTRATOR_DELETED = 6011
OWNER_UPDATED = 6022
LOGIN_HISTORY_REPORT = 6027
AUDIT_TRAIL_REPORT = 6028
SSO_ENABLED = 6029
SSO_DISABLED = 6030
COOKIE_SETTINGS = 6032
AUDIT_SETTINGS = 6035
TFA_DISABLED = 6036
TFA_BY_SMS = 6037
TFA_BY_APP = 6038
DEV_TOOLS_ACCESS = 6054
WEBHOOK_CREATED = 6055
WEBHOOK_UPDATED = 6056
WEBHOOK_DELETED = 6057
API_KEY_CREATED = 6058
API_KEY_DELETED = 6060
IP_RESTRICTIONS = 6094
LOGIN_SETTINGS = 6095

#: EmployeeType: 1 room admin, 2 guest, 3 DocSpace admin, 4 user.
ROOM_ADMIN, GUEST, DOCSPACE_ADMIN, USER = 1, 2, 3, 4

_TFA_CODES = {"none": TFA_DISABLED, "sms": TFA_BY_SMS, "app": TFA_BY_APP}


class AdminActions:
    def __init__(self, scenario: Scenario) -> None:
        self._s = scenario

    # --- plumbing ----------------------------------------------------------------------

    def _audit(
        self,
        code: int,
        actor_id: str,
        at: datetime | None,
        *,
        target: Sequence[str | int] | None = None,
        parts: Sequence[str] = (),
    ) -> int:
        # An explicit empty `parts` keeps add_audit_event from guessing a description.
        return self._s.add_audit_event(
            code, user_id=actor_id, date=at, target=target, parts=list(parts)
        )

    def _micros(self, at: datetime | None) -> int:
        return self._s.clock() if at is None else to_micros(at)

    # --- people ------------------------------------------------------------------------

    def add_admin(self, actor_id: str, user_id: str, *, at: datetime | None = None) -> int:
        """Full access for a user (6010); returns the audit event's id."""
        with self._s.lock:
            user = self._s.user_by_id(user_id)
            user.is_admin, user.is_room_admin = True, False
            user.is_collaborator = user.is_visitor = False
            return self._audit(ADMINISTRATOR_ADDED, actor_id, at, target=[user.id],
                               parts=[user.name])  # fmt: skip

    def remove_admin(self, actor_id: str, user_id: str, *, at: datetime | None = None) -> int:
        with self._s.lock:
            user = self._s.user_by_id(user_id)
            user.is_admin = False
            return self._audit(ADMINISTRATOR_DELETED, actor_id, at, target=[user.id],
                               parts=[user.name])  # fmt: skip

    def set_user_type(
        self, actor_id: str, user_id: str, user_type: int, *, at: datetime | None = None
    ) -> int:
        """The people list's "change type" (4019); `user_type` is an EmployeeType value.
        The server appends a JSON notification parameter as a second description part."""
        with self._s.lock:
            user = self._s.user_by_id(user_id)
            user.is_admin = user_type == DOCSPACE_ADMIN
            user.is_room_admin = user_type == ROOM_ADMIN
            user.is_visitor = user_type == GUEST
            user.is_collaborator = False
            note = json.dumps({"userIds": [user.id], "userRole": int(user_type)})
            return self._audit(USERS_UPDATED_TYPE, actor_id, at, target=[user.id],
                               parts=[user.name, note])  # fmt: skip

    def change_owner(self, actor_id: str, new_owner_id: str, *, at: datetime | None = None) -> int:
        """The old owner stays a DocSpace admin; the new one is raised to admin first."""
        s = self._s
        with s.lock:
            new_owner = s.user_by_id(new_owner_id)
            old_owner = s.owner
            old_owner.is_owner, old_owner.is_admin = False, True
            new_owner.is_owner, new_owner.is_admin = True, False
            new_owner.is_room_admin = new_owner.is_collaborator = new_owner.is_visitor = False
            s.layout = replace(s.layout, owner_id=new_owner.id)
            return self._audit(OWNER_UPDATED, actor_id, at, parts=[new_owner.name])

    # --- webhooks ----------------------------------------------------------------------

    def create_webhook(
        self,
        actor_id: str,
        name: str,
        uri: str,
        *,
        secret: str = "Outside-secret-1",  # noqa: S107 (a test fixture)
        triggers: int = 0,
        ssl: bool | None = None,
        enabled: bool = True,
        at: datetime | None = None,
    ) -> WebhookConfig:
        """A webhook config created by `actor_id` (no reachability probe: the test decides)."""
        s = self._s
        with s.lock:
            config = s.webhooks.add_config(
                name=name, uri=uri, secret=secret, enabled=enabled,
                ssl=uri.lower().startswith("https://") if ssl is None else ssl,
                triggers=triggers, target_id=None, created_by=actor_id,
                created_on=self._micros(at),
            )  # fmt: skip
            self._audit(WEBHOOK_CREATED, actor_id, at, target=[config.id], parts=[name])
            return config

    def update_webhook(
        self,
        actor_id: str,
        webhook_id: int,
        *,
        name: str | None = None,
        uri: str | None = None,
        triggers: int | None = None,
        enabled: bool | None = None,
        at: datetime | None = None,
    ) -> WebhookConfig:
        s = self._s
        with s.lock:
            config = s.webhooks.configs[webhook_id]
            config.name = config.name if name is None else name
            config.uri = config.uri if uri is None else uri
            config.triggers = config.triggers if triggers is None else triggers
            config.enabled = config.enabled if enabled is None else enabled
            config.modified_by, config.modified_on = actor_id, self._micros(at)
            self._audit(WEBHOOK_UPDATED, actor_id, at, target=[config.id], parts=[config.name])
            return config

    def delete_webhook(
        self, actor_id: str, webhook_id: int, *, at: datetime | None = None
    ) -> WebhookConfig:
        s = self._s
        with s.lock:
            config = s.webhooks.remove_config(webhook_id)
            if config is None:
                raise KeyError(f"no webhook {webhook_id}")
            self._audit(WEBHOOK_DELETED, actor_id, at, target=[config.id], parts=[config.name])
            return config

    # --- protection settings -----------------------------------------------------------

    def set_ip_restrictions(
        self,
        actor_id: str,
        enable: bool,
        entries: Sequence[str | tuple[str, bool]] | None = None,
        *,
        at: datetime | None = None,
    ) -> int:
        """`entries` (addresses, or (address, forAdmin) pairs) replace the list; None keeps it."""
        s = self._s
        with s.lock:
            state = s.ip_restrictions
            if entries is not None:
                state.entries = []
                for entry in entries:
                    ip, for_admin = (entry, False) if isinstance(entry, str) else entry
                    state.entries.append(IpRestriction(state.next_id, ip, for_admin))
                    state.next_id += 1
            state.enable = enable
            state.last_modified = self._micros(at)
            return self._audit(IP_RESTRICTIONS, actor_id, at)

    def set_tfa(
        self,
        actor_id: str,
        kind: str,
        *,
        trusted_ips: Sequence[str] = (),
        mandatory_users: Sequence[str] = (),
        at: datetime | None = None,
    ) -> int:
        """`kind` "none" (6036), "sms" (6037) or "app" (6038)."""
        if kind not in _TFA_CODES:
            raise ValueError(f"kind must be one of {sorted(_TFA_CODES)}")
        with self._s.lock:
            state = self._s.portal_security
            state.tfa = kind
            state.tfa_trusted_ips = list(trusted_ips)
            state.tfa_mandatory_users = list(mandatory_users)
            return self._audit(_TFA_CODES[kind], actor_id, at)

    def set_password_policy(
        self,
        actor_id: str,
        min_length: int,
        *,
        upper_case: bool = False,
        digits: bool = False,
        spec_symbols: bool = False,
        at: datetime | None = None,
    ) -> int:
        with self._s.lock:
            state = self._s.portal_security
            state.password_min_length, state.password_upper_case = min_length, upper_case
            state.password_digits, state.password_spec_symbols = digits, spec_symbols
            return self._audit(PASSWORD_STRENGTH, actor_id, at)

    def set_login_settings(
        self,
        actor_id: str,
        attempt_count: int,
        block_time: int,
        check_period: int,
        *,
        at: datetime | None = None,
    ) -> int:
        with self._s.lock:
            state = self._s.portal_security
            state.login_attempt_count, state.login_block_time = attempt_count, block_time
            state.login_check_period = check_period
            return self._audit(LOGIN_SETTINGS, actor_id, at)

    def set_cookie_lifetime(
        self, actor_id: str, enabled: bool, life_time: int, *, at: datetime | None = None
    ) -> int:
        with self._s.lock:
            state = self._s.portal_security
            state.cookie_enabled, state.cookie_life_time = enabled, life_time
            return self._audit(COOKIE_SETTINGS, actor_id, at)

    def set_dev_tools_access(
        self, actor_id: str, limited_for_users: bool, *, at: datetime | None = None
    ) -> int:
        with self._s.lock:
            self._s.portal_security.dev_tools_limited = limited_for_users
            return self._audit(DEV_TOOLS_ACCESS, actor_id, at)

    def set_trusted_domains(
        self,
        actor_id: str,
        domains: Sequence[str],
        *,
        domains_type: int | None = None,
        at: datetime | None = None,
    ) -> int:
        with self._s.lock:
            state = self._s.portal_security
            state.trusted_domains = list(domains)
            state.trusted_domains_type = (
                (1 if domains else 0) if domains_type is None else domains_type
            )
            return self._audit(TRUSTED_MAIL_DOMAINS, actor_id, at)

    def set_audit_lifetime(
        self, actor_id: str, audit_days: int, login_days: int, *, at: datetime | None = None
    ) -> int:
        with self._s.lock:
            state = self._s.portal_security
            state.audit_life_time, state.login_history_life_time = audit_days, login_days
            return self._audit(AUDIT_SETTINGS, actor_id, at)

    def set_sso(
        self,
        actor_id: str,
        enabled: bool,
        *,
        entity_id: str = "https://idp.example.org/metadata",
        sso_url: str = "https://idp.example.org/sso",
        certificate: str = "MIIC-simulated-idp-certificate",
        at: datetime | None = None,
    ) -> int:
        """SSO on (6029) with the given identity provider, or off (6030)."""
        with self._s.lock:
            sso = self._s.portal_security.sso
            sso.enabled = enabled
            if enabled:
                sso.entity_id, sso.sso_url, sso.idp_certificate = entity_id, sso_url, certificate
                sso.sp_key = "-----BEGIN PRIVATE KEY-----simulated-----END PRIVATE KEY-----"
            return self._audit(SSO_ENABLED if enabled else SSO_DISABLED, actor_id, at)

    # --- keys, reports, anything else --------------------------------------------------

    def create_api_key(self, actor_id: str, name: str, *, at: datetime | None = None) -> ApiKey:
        """The audit event carries the key as the portal stores it (masked), never the key."""
        s = self._s
        with s.lock:
            key_id = str(uuid.uuid4())
            key = ApiKey(key_id, name, "sk-***" + key_id[-4:], actor_id, self._micros(at))
            s.portal_security.api_keys.append(key)
            self._audit(API_KEY_CREATED, actor_id, at, target=[key.id], parts=[key.key_postfix])
            return key

    def delete_api_key(self, actor_id: str, key_id: str, *, at: datetime | None = None) -> int:
        s = self._s
        with s.lock:
            keys = s.portal_security.api_keys
            key = next(k for k in keys if k.id == key_id)
            keys.remove(key)
            return self._audit(API_KEY_DELETED, actor_id, at, target=[key.id],
                               parts=[key.key_postfix])  # fmt: skip

    def download_audit_report(self, actor_id: str, *, at: datetime | None = None) -> int:
        return self._audit(AUDIT_TRAIL_REPORT, actor_id, at)

    def download_login_report(self, actor_id: str, *, at: datetime | None = None) -> int:
        return self._audit(LOGIN_HISTORY_REPORT, actor_id, at)

    def settings_action(
        self,
        actor_id: str,
        code: int,
        parts: Sequence[str] = (),
        *,
        target: Sequence[str | int] | None = None,
        at: datetime | None = None,
    ) -> int:
        """Any audit code (an id a newer server writes): only the event, no state change."""
        with self._s.lock:
            return self._audit(code, actor_id, at, target=target, parts=parts)
