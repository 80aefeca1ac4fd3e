"""The protection-settings reads: routes, tolerant records, no secret kept."""

from __future__ import annotations

import pytest
import responses

from docspace_sentinel.docspace.errors import PaymentRequired
from docspace_sentinel.docspace.models import (
    AuditSettings,
    CookieSettings,
    DevToolsAccess,
    LoginSettings,
    PasswordSettings,
    PortalSettings,
    SsoSettings,
    TfaSetting,
)
from tests.support import API, envelope, make_client

OWNER = "6C9F6D2A-1E0B-4C2D-9F3A-0A1B2C3D4E5F"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----MIIEv-secret-----END PRIVATE KEY-----"


@responses.activate
def test_portal_settings_reads_owner_and_trusted_domains() -> None:
    responses.get(f"{API}/settings", json=envelope({
        "timezone": "UTC", "ownerId": OWNER, "trustedDomainsType": 1,
        "trustedDomains": ["Example.com", "corp.example.org", 7, "example.com"],
        "culture": "en-US",
    }))  # fmt: skip
    assert make_client().portal_settings() == PortalSettings(
        owner_id=OWNER.lower(),
        trusted_domains_type=1,
        trusted_domains=("corp.example.org", "example.com"),
    )


@responses.activate
def test_portal_settings_without_owner_is_none_not_a_crash() -> None:
    responses.get(f"{API}/settings", json=envelope({"ownerId": 5, "trustedDomainsType": True}))
    assert make_client().portal_settings() == PortalSettings()


@responses.activate
def test_tfa_settings_skips_rows_without_an_id() -> None:
    responses.get(f"{API}/settings/tfaapp", json=envelope([
        {"id": "app", "title": "By app", "enabled": True, "available": True,
         "trustedIps": ["10.0.0.9", None], "mandatoryUsers": [OWNER], "mandatoryGroups": None},
        {"title": "no id", "enabled": True},
        "junk",
        {"id": "sms", "enabled": "true"},
    ]))  # fmt: skip
    assert make_client().tfa_settings() == [
        TfaSetting("app", True, True, ("10.0.0.9",), (OWNER.lower(),), ()),
        TfaSetting("sms", enabled=False),
    ]


@responses.activate
def test_password_login_cookie_and_dev_tools_settings() -> None:
    responses.get(f"{API}/settings/security/password", json=envelope({
        "minLength": 12, "upperCase": True, "digits": False, "specSymbols": True,
        "allowedCharactersRegexStr": "[\\x21-\\x7E]", "digitsRegexStr": "(?=.*\\d)",
    }))  # fmt: skip
    responses.get(f"{API}/settings/security/loginSettings", json=envelope(
        {"attemptCount": 5, "blockTime": 60, "checkPeriod": "60", "isDefault": True}
    ))  # fmt: skip
    responses.get(f"{API}/settings/cookiesettings", json=envelope(
        {"lifeTime": 1440, "enabled": True}
    ))  # fmt: skip
    responses.get(f"{API}/settings/devtoolsaccess", json=envelope(
        {"limitedAccessForUsers": True, "lastModified": "2026-11-01T10:00:00Z"}
    ))  # fmt: skip
    client = make_client()
    assert client.password_settings() == PasswordSettings(12, True, False, True)
    assert client.login_settings() == LoginSettings(5, 60, 60, True)
    assert client.cookie_settings() == CookieSettings(True, 1440)
    assert client.dev_tools_access() == DevToolsAccess(True)


@responses.activate
def test_sso_settings_keep_a_certificate_fingerprint_and_never_the_private_key() -> None:
    responses.get(f"{API}/settings/ssov2", json=envelope({
        "enableSso": True,
        "idpSettings": {"entityId": "https://idp.example.org/x",
                        "ssoUrl": "https://idp.example.org/sso", "sloUrl": None},
        "idpCertificates": [{"crt": "MIIC-public", "action": "verification"}, "junk", {}],
        "spCertificates": [{"crt": "MIIC-sp", "key": PRIVATE_KEY}],
        "hideAuthPage": False, "usersType": 1, "disableEmailVerification": True,
    }))  # fmt: skip
    sso = make_client().sso_settings()
    assert sso.enabled and sso.entity_id == "https://idp.example.org/x"
    assert sso.sso_url == "https://idp.example.org/sso" and sso.slo_url is None
    assert sso.disable_email_verification and sso.users_type == 1
    assert len(sso.idp_certificates) == 1 and len(sso.idp_certificates[0]) == 16
    assert "MIIC" not in repr(sso) and "PRIVATE" not in repr(sso)


@responses.activate
def test_sso_settings_402_without_the_option() -> None:
    responses.get(f"{API}/settings/ssov2", status=402, json={
        "error": {"message": "Your pricing plan does not support this option"},
        "status": 1, "statusCode": 402,
    })  # fmt: skip
    with pytest.raises(PaymentRequired):
        make_client().sso_settings()


@responses.activate
def test_audit_settings() -> None:
    responses.get(f"{API}/security/audit/settings/lifetime", json=envelope(
        {"loginHistoryLifeTime": 180, "auditTrailLifeTime": 30, "lastModified": "x"}
    ))  # fmt: skip
    assert make_client().audit_settings() == AuditSettings(180, 30)


def test_records_tolerate_wrong_types() -> None:
    assert SsoSettings.from_wire({"enableSso": "yes", "idpSettings": [], "usersType": 1.5}) == (
        SsoSettings()
    )
    assert PasswordSettings.from_wire({"minLength": "²"}) == PasswordSettings()
