"""The portal's protection settings an administrator's API key can read (DocSpace 3.7).

One record per endpoint (routes and who may read them; quirks on each class):
``settings/tfaapp`` (any signed-in user), ``settings/security/password`` (any signed-in
user), ``settings/security/loginSettings``, ``settings/cookiesettings``,
``settings/devtoolsaccess``, ``settings`` (owner id and trusted mail domains),
``settings/ssov2`` (402 without the SSO option on a cloud portal) and
``security/audit/settings/lifetime`` (an admin; 402 only where the plan hides the login
history settings: the GET does not demand the Audit option, the setter does).

Nothing secret is kept: ``settings/ssov2`` returns the SAML certificates *with their private
keys*; only a fingerprint of each public certificate is read here, never ``key``.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from ..errors import MalformedRecord
from .wire import Wire, _bool, _int, _require_mapping, _str

_MAX_LIST = 1000  # more entries than any real portal has: the rest is ignored


def _strings(raw: Wire, key: str) -> tuple[str, ...]:
    """A list of strings, sorted and de-duplicated (GUIDs lower-cased); other items skipped."""
    value = raw.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(sorted({v.lower() for v in value[:_MAX_LIST] if isinstance(v, str)}))


def _open_enum(raw: Wire, key: str) -> int | str | None:
    """An enum the server may send as a number or as its name: kept as given."""
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= 100:
        return value
    return None


class TfaSetting(NamedTuple):
    """One row of ``GET settings/tfaapp``: ``id`` is "sms" or "app" (a newer server may add
    more). ``trustedIps`` skip the second factor; ``mandatoryUsers``/``Groups`` must use it."""

    id: str
    enabled: bool = False
    available: bool = False
    trusted_ips: tuple[str, ...] = ()
    mandatory_users: tuple[str, ...] = ()
    mandatory_groups: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, raw: Any) -> TfaSetting:
        raw = _require_mapping("tfa setting", raw)
        kind = _str(raw, "id")
        if not kind or len(kind) > 50:
            raise MalformedRecord("tfa setting", "missing id", raw.get("id"))
        return cls(
            id=kind,
            enabled=_bool(raw, "enabled"),
            available=_bool(raw, "available"),
            trusted_ips=_strings(raw, "trustedIps"),
            mandatory_users=_strings(raw, "mandatoryUsers"),
            mandatory_groups=_strings(raw, "mandatoryGroups"),
        )


class PasswordSettings(NamedTuple):
    """``GET settings/security/password`` (the regex strings are derived: not kept)."""

    min_length: int | None = None
    upper_case: bool = False
    digits: bool = False
    spec_symbols: bool = False

    @classmethod
    def from_wire(cls, raw: Any) -> PasswordSettings:
        raw = _require_mapping("password settings", raw)
        return cls(
            min_length=_int(raw, "minLength"),
            upper_case=_bool(raw, "upperCase"),
            digits=_bool(raw, "digits"),
            spec_symbols=_bool(raw, "specSymbols"),
        )


class LoginSettings(NamedTuple):
    """``GET settings/security/loginSettings``: brute-force protection (attempts within
    ``checkPeriod`` seconds block the login for ``blockTime`` minutes)."""

    attempt_count: int | None = None
    block_time: int | None = None
    check_period: int | None = None
    is_default: bool = False

    @classmethod
    def from_wire(cls, raw: Any) -> LoginSettings:
        raw = _require_mapping("login settings", raw)
        return cls(
            attempt_count=_int(raw, "attemptCount"),
            block_time=_int(raw, "blockTime"),
            check_period=_int(raw, "checkPeriod"),
            is_default=_bool(raw, "isDefault"),
        )


class CookieSettings(NamedTuple):
    """``GET settings/cookiesettings``: the session lifetime in minutes, when enabled."""

    enabled: bool = False
    life_time: int | None = None

    @classmethod
    def from_wire(cls, raw: Any) -> CookieSettings:
        raw = _require_mapping("cookie settings", raw)
        return cls(enabled=_bool(raw, "enabled"), life_time=_int(raw, "lifeTime"))


class DevToolsAccess(NamedTuple):
    """``GET settings/devtoolsaccess``: whether only admins may open Developer Tools (and
    create API keys)."""

    limited_access_for_users: bool = False

    @classmethod
    def from_wire(cls, raw: Any) -> DevToolsAccess:
        raw = _require_mapping("dev tools access", raw)
        return cls(limited_access_for_users=_bool(raw, "limitedAccessForUsers"))


class PortalSettings(NamedTuple):
    """The part of ``GET settings`` we keep: the owner and the trusted mail domains (both only
    sent to a signed-in caller). ``trustedDomainsType``: 0 none, 1 custom, 2 any domain."""

    owner_id: str | None = None
    trusted_domains_type: int | str | None = None
    trusted_domains: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, raw: Any) -> PortalSettings:
        raw = _require_mapping("portal settings", raw)
        owner = _str(raw, "ownerId")
        return cls(
            owner_id=owner.lower() if owner and len(owner) <= 64 else None,
            trusted_domains_type=_open_enum(raw, "trustedDomainsType"),
            trusted_domains=_strings(raw, "trustedDomains"),
        )


class SsoSettings(NamedTuple):
    """``GET settings/ssov2``, without anything secret: certificates are reduced to a
    fingerprint of the public part (``crt``); a private ``key`` is never read."""

    enabled: bool = False
    entity_id: str | None = None
    sso_url: str | None = None
    slo_url: str | None = None
    hide_auth_page: bool = False
    users_type: int | None = None
    disable_email_verification: bool = False
    idp_certificates: tuple[str, ...] = ()  # sha256 of each certificate, 16 hex digits
    #: ``idpCertificateAdvanced``: whether the identity provider's signed answers are checked
    #: (``SsoSettingsV2.cs`` ``SsoIdpCertificateAdvanced``); switching one off lets forged
    #: SAML answers through.
    verify_auth_responses_sign: bool = False
    verify_logout_requests_sign: bool = False
    verify_logout_responses_sign: bool = False
    decrypt_assertions: bool = False

    @classmethod
    def from_wire(cls, raw: Any) -> SsoSettings:
        raw = _require_mapping("sso settings", raw)
        idp = raw.get("idpSettings")
        idp = idp if isinstance(idp, dict) else {}
        advanced = raw.get("idpCertificateAdvanced")
        advanced = advanced if isinstance(advanced, dict) else {}
        certificates = raw.get("idpCertificates")
        fingerprints: set[str] = set()
        for cert in certificates[:_MAX_LIST] if isinstance(certificates, list) else ():
            crt = _str(cert, "crt") if isinstance(cert, dict) else None
            if crt:
                fingerprints.add(hashlib.sha256(crt.strip().encode()).hexdigest()[:16])
        return cls(
            enabled=_bool(raw, "enableSso"),
            entity_id=_str(idp, "entityId"),
            sso_url=_str(idp, "ssoUrl"),
            slo_url=_str(idp, "sloUrl"),
            hide_auth_page=_bool(raw, "hideAuthPage"),
            users_type=_int(raw, "usersType"),
            disable_email_verification=_bool(raw, "disableEmailVerification"),
            idp_certificates=tuple(sorted(fingerprints)),
            verify_auth_responses_sign=_bool(advanced, "verifyAuthResponsesSign"),
            verify_logout_requests_sign=_bool(advanced, "verifyLogoutRequestsSign"),
            verify_logout_responses_sign=_bool(advanced, "verifyLogoutResponsesSign"),
            decrypt_assertions=_bool(advanced, "decryptAssertions"),
        )


class AuditSettings(NamedTuple):
    """``GET security/audit/settings/lifetime``: days the login history and audit trail are
    kept (at most 180)."""

    login_history_life_time: int | None = None
    audit_trail_life_time: int | None = None

    @classmethod
    def from_wire(cls, raw: Any) -> AuditSettings:
        raw = _require_mapping("audit settings", raw)
        return cls(
            login_history_life_time=_int(raw, "loginHistoryLifeTime"),
            audit_trail_life_time=_int(raw, "auditTrailLifeTime"),
        )
