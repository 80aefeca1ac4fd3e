"""`api/2.0/settings`: IP restrictions (section 5) and the protection settings an admin reads.

GET `settings` (owner, trusted mail domains), `settings/tfaapp` and
`settings/security/password` answer any signed-in user; `settings/security/loginSettings`,
`settings/cookiesettings` and `settings/ssov2` demand the EditPortalSettings permission (an
admin); `settings/ssov2` is a 402 without the SSO option and returns the certificates with
their private keys, as the server does. None of them depends on the Audit option.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any

from local.simulator.model import IpRestriction
from local.simulator.routing import Request, Response, Router, ok
from local.simulator.scenario import Scenario
from local.simulator.wire import (
    ApiError,
    ValidationError,
    access_denied,
    format_plain_datetime,
)

TENANT_ID = 1


def _list(s: Scenario) -> list[dict[str, Any]]:
    return [
        {"id": e.id, "tenantId": TENANT_ID, "ip": e.ip, "forAdmin": e.for_admin}
        for e in s.ip_restrictions.entries
    ]


def get_restrictions(s: Scenario, r: Request) -> Response:
    payload = _list(s)
    digest = hashlib.md5(json.dumps(payload).encode(), usedforsecurity=False).hexdigest()
    etag = f'W/"{digest}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    sent = r.headers.get("if-none-match", "")
    if any(tag.strip() in (etag, f'"{digest}"', digest) for tag in sent.split(",")):
        return Response(304, None, headers)
    response = ok(r, payload)
    response.headers.update(headers)
    return response


def get_settings(s: Scenario, r: Request) -> Response:
    state = s.ip_restrictions
    # `lastModified` is a plain DateTime here, not an ApiDateTime.
    return ok(
        r, {"enable": state.enable, "lastModified": format_plain_datetime(state.last_modified)}
    )


def save_restrictions(s: Scenario, r: Request) -> Response:
    body = r.json()
    if not isinstance(body, dict) or "ipRestrictions" not in body:
        raise ValidationError(
            {
                "$": [
                    "JSON deserialization for type 'IpRestrictionsDto' was missing required "
                    "properties including: 'ipRestrictions'."
                ]
            }
        )
    raw = body["ipRestrictions"]
    enable = body.get("enable")
    if raw is not None and not isinstance(raw, list):
        raise ValidationError({"$.ipRestrictions": ["The JSON value could not be converted."]})
    if enable is not None and not isinstance(enable, bool):
        raise ValidationError({"$.enable": ["The JSON value could not be converted."]})
    items: list[tuple[str, bool]] = []
    for n, item in enumerate(raw or []):
        if not isinstance(item, dict) or "ip" not in item:
            raise ValidationError(
                {f"$.ipRestrictions[{n}]": ["JSON deserialization for type 'IpRestrictionBase' "
                                            "was missing required properties including: 'ip'."]}
            )  # fmt: skip
        ip, for_admin = item["ip"], item.get("forAdmin", False)
        if not isinstance(for_admin, bool) or not (ip is None or isinstance(ip, str)):
            raise ValidationError(
                {f"$.ipRestrictions[{n}]": ["The JSON value could not be converted."]}
            )
        items.append((ip or "", for_admin))
    for ip, _ in items:
        # IPAddress.TryParse: one address only; CIDR blocks and a-b ranges are refused.
        try:
            ipaddress.ip_address(ip.strip())
        except ValueError:
            raise ApiError(400, "IpRestrictions") from None
    effective = enable if enable is not None else bool(items)
    if effective and not items:
        raise ApiError(400, "Add at least 1 allowed IP address.")
    state = s.ip_restrictions
    state.entries = []
    for ip, for_admin in items:  # the whole list is replaced: every entry gets a new id
        state.entries.append(IpRestriction(state.next_id, ip.strip(), for_admin))
        state.next_id += 1
    state.enable = effective
    state.last_modified = s.clock()
    s.add_audit_event(6094)
    echo: dict[str, Any] = {
        "ipRestrictions": [{"ip": ip, "forAdmin": fa} for ip, fa in items]
        if raw is not None
        else None,
        "enable": enable,
    }
    return ok(r, echo)


def _demand_admin(s: Scenario) -> None:
    """`DemandPermissionsAsync(EditPortalSettings)`: owner and DocSpace admins only."""
    if not s.key_user.is_docspace_admin:
        raise access_denied()


def get_portal(s: Scenario, r: Request) -> Response:
    """SettingsDto as a signed-in caller sees it (the fields we model)."""
    state = s.portal_security
    return ok(r, {
        "timezone": "UTC", "trustedDomains": list(state.trusted_domains),
        "trustedDomainsType": state.trusted_domains_type, "culture": "en-US",
        "utcOffset": "00:00:00", "utcHoursOffset": 0, "ownerId": s.owner.id,
        "nameSchemaId": "Common", "enableAdmMess": False, "docSpace": True, "standalone": False,
        "tenantStatus": 0, "tenantAlias": "sim",
    })  # fmt: skip


def get_tfa(s: Scenario, r: Request) -> Response:
    state = s.portal_security
    rows = []
    for kind, title, visible in (
        ("sms", "Enable two-factor authentication by SMS", state.sms_visible),
        ("app", "Enable two-factor authentication by app", True),
    ):
        if visible:
            rows.append({
                "id": kind, "title": title, "enabled": state.tfa == kind, "available": True,
                "trustedIps": list(state.tfa_trusted_ips),
                "mandatoryUsers": list(state.tfa_mandatory_users),
                "mandatoryGroups": list(state.tfa_mandatory_groups),
            })  # fmt: skip
    return ok(r, rows)


def get_password(s: Scenario, r: Request) -> Response:
    state = s.portal_security
    return ok(r, {
        "minLength": state.password_min_length, "upperCase": state.password_upper_case,
        "digits": state.password_digits, "specSymbols": state.password_spec_symbols,
        "allowedCharactersRegexStr": "[\\x21-\\x7E]", "digitsRegexStr": "(?=.*\\d)",
        "upperCaseRegexStr": "(?=.*[A-Z])", "specSymbolsRegexStr": "(?=.*[\\x21-\\x2F])",
    })  # fmt: skip


def get_login_settings(s: Scenario, r: Request) -> Response:
    _demand_admin(s)
    state = s.portal_security
    values = (state.login_attempt_count, state.login_block_time, state.login_check_period)
    return ok(r, {
        "attemptCount": values[0], "blockTime": values[1], "checkPeriod": values[2],
        "isDefault": values == (5, 60, 60),
    })  # fmt: skip


def get_cookie_settings(s: Scenario, r: Request) -> Response:
    _demand_admin(s)
    state = s.portal_security
    return ok(r, {"lifeTime": state.cookie_life_time, "enabled": state.cookie_enabled})


def get_dev_tools(s: Scenario, r: Request) -> Response:
    state = s.portal_security
    return ok(r, {
        "limitedAccessForUsers": state.dev_tools_limited,
        "lastModified": format_plain_datetime(state.last_modified),
    })  # fmt: skip


def get_sso(s: Scenario, r: Request) -> Response:
    _demand_admin(s)
    state = s.portal_security
    if not state.sso_option:
        raise ApiError(402, "Your pricing plan does not support this option")
    sso = state.sso
    idp = [{"selfSigned": False, "crt": sso.idp_certificate, "action": "verification"}]
    sp = [{"selfSigned": True, "crt": "MIIC-simulated-sp", "key": sso.sp_key,
           "action": "signing and encrypt"}]  # fmt: skip
    return ok(r, {
        "lastModified": format_plain_datetime(state.last_modified), "enableSso": sso.enabled,
        "idpSettings": {
            "entityId": sso.entity_id, "ssoUrl": sso.sso_url,
            "ssoBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            "sloUrl": sso.slo_url,
            "sloBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            "nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        },
        "idpCertificates": idp if sso.idp_certificate else [],
        "spLoginLabel": "Single Sign-on", "spCertificates": sp if sso.sp_key else [],
        "fieldMapping": {"firstName": "givenName", "lastName": "sn", "email": "mail"},
        "hideAuthPage": sso.hide_auth_page, "usersType": sso.users_type,
        "disableEmailVerification": sso.disable_email_verification,
    })  # fmt: skip


def register(router: Router) -> None:
    router.add("GET", "/api/2.0/settings", get_portal)
    router.add("GET", "/api/2.0/settings/tfaapp", get_tfa)
    router.add("GET", "/api/2.0/settings/security/password", get_password)
    router.add("GET", "/api/2.0/settings/security/loginSettings", get_login_settings)
    router.add("GET", "/api/2.0/settings/cookiesettings", get_cookie_settings)
    router.add("GET", "/api/2.0/settings/devtoolsaccess", get_dev_tools)
    router.add("GET", "/api/2.0/settings/ssov2", get_sso)
    base = "/api/2.0/settings/iprestrictions"
    router.add("GET", base, get_restrictions)
    router.add("GET", f"{base}/settings", get_settings)
    router.add("PUT", base, save_restrictions)
    router.add("PUT", f"{base}/settings", save_restrictions)
