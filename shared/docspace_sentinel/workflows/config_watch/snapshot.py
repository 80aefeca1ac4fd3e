"""Settings snapshots: what an admin key can read of the portal's protection, and its diff.

The audit trail tells who changed what; without the Audit option (the portal ignores audit
filters) it tells nothing, so each run also reads the settings themselves and compares them with
the last run's. ``read_snapshot`` does the I/O; ``diff`` is a pure function over two snapshots.

A section is one subject (``Subject`` values of ``catalogue``): its value is plain JSON so the
snapshot can be stored as is and its digest computed over canonical JSON. A section that cannot
be read (403, 404, 402: the portal lacks the option; or a malformed answer) is recorded in
``unreadable`` with the reason and never compared: "cannot read" is not "switched off".
Nothing secret is kept (SSO certificates are fingerprints; webhooks keep their URL's host).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from ...docspace.errors import (
    BadRequest,
    Forbidden,
    MalformedRecord,
    MalformedResponse,
    NotFound,
    PaymentRequired,
    RateLimited,
    Redirected,
    ServerError,
    TransportError,
)
from ...findings.finding import Severity

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ...docspace.client import DocSpaceClient

# Section names: the values of ``catalogue.Subject`` (kept literal here so this module stands on
# its own; a test checks they match).
IP_RESTRICTIONS = "ip_restrictions"
WEBHOOK = "webhook"
ADMINS = "admins"
OWNER = "owner"
TFA = "tfa"
PASSWORD = "password"  # noqa: S105 (a section name)
SSO = "sso"
LOGIN_SETTINGS = "login_settings"
SESSION = "session"
DEV_TOOLS = "dev_tools"
TRUSTED_DOMAINS = "trusted_domains"
AUDIT_SETTINGS = "audit_settings"

#: Errors that leave one section unread this run: the key may not read it on this portal (403,
#: 404, 402), or its endpoint answers badly even after the transport's retries (5xx, timeouts,
#: 429s, a malformed answer). One broken endpoint must not stop the audit path and every other
#: section; the section keeps its last known value (``carry_forward``). A 401 still fails the run.
_UNREADABLE = (
    Forbidden,
    NotFound,
    PaymentRequired,
    MalformedResponse,
    MalformedRecord,
    ServerError,
    TransportError,
    RateLimited,
    BadRequest,
    Redirected,
)


class Snapshot(NamedTuple):
    sections: dict[str, Any]
    unreadable: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """For the state table: the sections as one canonical JSON string (DynamoDB would turn
        numbers into ``Decimal`` and reject some shapes; a string round-trips exactly)."""
        return {"sections": _canonical(self.sections), "unreadable": dict(self.unreadable)}

    @classmethod
    def from_dict(cls, raw: Any) -> Snapshot:
        """Tolerant: a stored item of another shape reads as an empty snapshot (sections given
        as a dict, as an older item might hold, are accepted too)."""
        raw = raw if isinstance(raw, dict) else {}
        sections = raw.get("sections")
        if isinstance(sections, str):
            try:
                sections = json.loads(sections)
            except ValueError:
                sections = None
        unreadable = raw.get("unreadable")
        return cls(
            sections=_plain(sections) if isinstance(sections, dict) else {},
            unreadable={str(k): str(v) for k, v in unreadable.items()}
            if isinstance(unreadable, dict)
            else {},
        )

    def digest(self) -> str:
        """sha256 of the canonical JSON of the sections (key order does not matter)."""
        return hashlib.sha256(_canonical(self.sections).encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), default=str)


def _plain(value: Any) -> Any:
    """JSON-able plain values: ``Decimal`` (from DynamoDB) back to int, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class SnapshotChange(NamedTuple):
    subject: str
    key: str  # webhook id, user id, or "" for a setting
    change: str  # created, deleted, changed, enabled, disabled, added, removed, weakened, ...
    severity: Severity
    summary: str  # one line; portal strings in it are untrusted data (the renderer neutralises)
    before: Any
    after: Any
    actor: str | None = None


# --- reading ---------------------------------------------------------------------------------


def url_host(uri: str | None) -> str | None:
    if not uri:
        return None
    try:
        host = urlsplit(uri.strip()).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _ip_restrictions(client: DocSpaceClient) -> dict[str, Any]:
    enabled = client.ip_restriction_settings().enable
    entries = sorted({(e.ip, e.for_admin) for e in client.ip_restrictions()})
    return {"enabled": enabled, "entries": [[ip, for_admin] for ip, for_admin in entries]}


def _webhooks(client: DocSpaceClient) -> dict[str, Any]:
    return {
        str(w.id): {
            "name": w.name,
            "host": url_host(w.uri),
            "enabled": w.enabled,
            "ssl": w.ssl,
            "triggers": w.triggers,
            "createdBy": w.created_by.lower() if w.created_by else None,
        }
        for w in client.webhooks()
    }


def _admins(client: DocSpaceClient) -> dict[str, Any]:
    """Members of the admin group (``isAdministrator=true``); the owner is not one of them on
    the server and is its own section."""
    return {
        u.id.lower(): u.display_name or u.email or u.id
        for u in client.users(is_admin=True)
        if u.is_admin or u.is_owner
    }


def _tfa(client: DocSpaceClient) -> dict[str, Any]:
    return {
        t.id: {
            "enabled": t.enabled,
            "trustedIps": list(t.trusted_ips),
            "mandatoryUsers": list(t.mandatory_users),
            "mandatoryGroups": list(t.mandatory_groups),
        }
        for t in client.tfa_settings()
    }


def _password(client: DocSpaceClient) -> dict[str, Any]:
    p = client.password_settings()
    return {
        "minLength": p.min_length,
        "upperCase": p.upper_case,
        "digits": p.digits,
        "specSymbols": p.spec_symbols,
    }


def _sso(client: DocSpaceClient) -> dict[str, Any]:
    s = client.sso_settings()
    return {
        "enabled": s.enabled,
        "entityId": s.entity_id,
        "ssoHost": url_host(s.sso_url),
        "sloHost": url_host(s.slo_url),
        "hideAuthPage": s.hide_auth_page,
        "usersType": s.users_type,
        "disableEmailVerification": s.disable_email_verification,
        "idpCertificates": list(s.idp_certificates),
        "verifyAuthResponsesSign": s.verify_auth_responses_sign,
        "verifyLogoutRequestsSign": s.verify_logout_requests_sign,
        "verifyLogoutResponsesSign": s.verify_logout_responses_sign,
        "decryptAssertions": s.decrypt_assertions,
    }


def _login_settings(client: DocSpaceClient) -> dict[str, Any]:
    s = client.login_settings()
    return {
        "attemptCount": s.attempt_count,
        "blockTime": s.block_time,
        "checkPeriod": s.check_period,
    }


def _session(client: DocSpaceClient) -> dict[str, Any]:
    s = client.cookie_settings()
    return {"enabled": s.enabled, "lifeTime": s.life_time}


def _dev_tools(client: DocSpaceClient) -> dict[str, Any]:
    return {"limitedAccessForUsers": client.dev_tools_access().limited_access_for_users}


def _audit_settings(client: DocSpaceClient) -> dict[str, Any]:
    s = client.audit_settings()
    return {
        "loginHistoryLifeTime": s.login_history_life_time,
        "auditTrailLifeTime": s.audit_trail_life_time,
    }


_READERS: tuple[tuple[str, Callable[[DocSpaceClient], Any]], ...] = (
    (IP_RESTRICTIONS, _ip_restrictions),
    (WEBHOOK, _webhooks),
    (ADMINS, _admins),
    (TFA, _tfa),
    (PASSWORD, _password),
    (SSO, _sso),
    (LOGIN_SETTINGS, _login_settings),
    (SESSION, _session),
    (DEV_TOOLS, _dev_tools),
    (AUDIT_SETTINGS, _audit_settings),
)


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    return f"{status} {name}" if isinstance(status, int) else name


def carry_forward(before: Snapshot | None, after: Snapshot) -> Snapshot:
    """What is kept for the next run: a section this run could not read keeps its last known
    value, so a change made while it was unreadable (o1 → unreadable → o2) is still seen."""
    if before is None:
        return after
    sections, unreadable = dict(after.sections), dict(after.unreadable)
    for name in list(unreadable):
        if name in before.sections and name not in before.unreadable:
            sections[name] = before.sections[name]
            del unreadable[name]
            shrunk = f"{name}#shrunk"  # kept as digests (state.fit): compared the same way
            if shrunk in before.unreadable:
                unreadable[shrunk] = before.unreadable[shrunk]
    return Snapshot(sections, unreadable)


def read_snapshot(client: DocSpaceClient) -> Snapshot:
    """Read every section on its own: a section whose read fails (``_UNREADABLE``) is marked
    unreadable and the others are still read; a 401 propagates so the run fails."""
    sections: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    for name, reader in _READERS:
        try:
            sections[name] = reader(client)
        except _UNREADABLE as exc:
            unreadable[name] = _reason(exc)
    # One GET serves two sections: the owner and the trusted mail domains.
    try:
        portal = client.portal_settings()
    except _UNREADABLE as exc:
        unreadable[OWNER] = unreadable[TRUSTED_DOMAINS] = _reason(exc)
    else:
        if portal.owner_id:
            sections[OWNER] = portal.owner_id
        else:
            unreadable[OWNER] = "no ownerId in GET settings"
        sections[TRUSTED_DOMAINS] = {
            "type": portal.trusted_domains_type,
            "domains": list(portal.trusted_domains),
        }
    return Snapshot(sections, unreadable)


# --- comparing -------------------------------------------------------------------------------


def _change(
    subject: str,
    change: str,
    severity: Severity,
    summary: str,
    before: Any,
    after: Any,
    *,
    key: str = "",
    actor: str | None = None,
) -> SnapshotChange:
    return SnapshotChange(subject, key, change, severity, summary, before, after, actor)


def _diff_ip(before: Any, after: Any) -> list[SnapshotChange]:
    was, now = bool(before.get("enabled")), bool(after.get("enabled"))
    old, new = before.get("entries") or [], after.get("entries") or []
    if was and not now:
        return [_change(IP_RESTRICTIONS, "disabled", Severity.HIGH,
                        "IP restrictions were switched off", before, after)]  # fmt: skip
    if was and now and old and not new:
        return [_change(IP_RESTRICTIONS, "removed", Severity.HIGH,
                        "every IP-restriction entry was removed", before, after)]  # fmt: skip
    if not was and now:
        return [_change(IP_RESTRICTIONS, "enabled", Severity.LOW,
                        "IP restrictions were switched on", before, after)]  # fmt: skip
    if old != new:
        added = [e for e in new if e not in old]
        removed = [e for e in old if e not in new]
        summary = f"IP-restriction entries changed: {len(added)} added, {len(removed)} removed" + (
            "" if now else " (restrictions are off)"
        )
        severity = Severity.MEDIUM if now else Severity.LOW
        return [_change(IP_RESTRICTIONS, "changed", severity, summary, before, after)]
    return []


def _diff_webhooks(before: Any, after: Any) -> list[SnapshotChange]:
    before = {k: v for k, v in before.items() if isinstance(v, dict)}
    after = {k: v for k, v in after.items() if isinstance(v, dict)}
    changes: list[SnapshotChange] = []
    for hook_id in sorted(set(before) | set(after), key=_id_order):
        old, new = before.get(hook_id), after.get(hook_id)
        if old == new:
            continue
        if old is None:
            summary = f"webhook {new.get('name')!r} created, sending to {new.get('host')}"
            changes.append(_change(WEBHOOK, "created", Severity.HIGH, summary, None, new,
                                   key=hook_id, actor=new.get("createdBy")))  # fmt: skip
            continue
        # Only a creation has a known actor: the list names the creator, not who changed it.
        name, actor = old.get("name"), None
        if new is None:
            summary = f"webhook {name!r} deleted (was sending to {old.get('host')})"
            changes.append(_change(WEBHOOK, "deleted", Severity.MEDIUM, summary, old, None,
                                   key=hook_id, actor=actor))  # fmt: skip
            continue
        if old.get("host") != new.get("host") or old.get("triggers") != new.get("triggers"):
            change, severity = "changed", Severity.MEDIUM
            summary = (
                f"webhook {new.get('name')!r} now sends to {new.get('host')}"
                f" (was {old.get('host')}), triggers {new.get('triggers')}"
            )
        elif old.get("ssl") and not new.get("ssl"):
            change, severity = "weakened", Severity.MEDIUM
            summary = f"webhook {name!r} no longer verifies SSL"
        elif old.get("enabled") != new.get("enabled"):
            change = "enabled" if new.get("enabled") else "disabled"
            severity = Severity.LOW
            summary = f"webhook {name!r} {change}"
        else:
            change, severity = "changed", Severity.LOW
            summary = f"webhook {name!r} changed (now {new.get('name')!r})"
        changes.append(_change(WEBHOOK, change, severity, summary, old, new,
                               key=hook_id, actor=actor))  # fmt: skip
    return changes


def _id_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() and len(key) < 19 else (2**63, key)


def _diff_admins(before: Any, after: Any) -> list[SnapshotChange]:
    changes: list[SnapshotChange] = []
    for user_id in sorted(set(after) - set(before)):
        changes.append(_change(ADMINS, "added", Severity.HIGH,
                               f"{after[user_id]} became a DocSpace administrator",
                               None, after[user_id], key=user_id))  # fmt: skip
    for user_id in sorted(set(before) - set(after)):
        changes.append(_change(ADMINS, "removed", Severity.MEDIUM,
                               f"{before[user_id]} is no longer a DocSpace administrator",
                               before[user_id], None, key=user_id))  # fmt: skip
    return changes


def _diff_owner(before: Any, after: Any) -> list[SnapshotChange]:
    if before == after:
        return []
    return [_change(OWNER, "changed", Severity.HIGH,
                    f"the portal owner changed from {before} to {after}", before, after,
                    key=str(after))]  # fmt: skip


def _tfa_kind(value: Any) -> str:
    on = sorted(k for k, v in value.items() if isinstance(v, dict) and v.get("enabled"))
    return "+".join(on) or "off"


def _diff_tfa(before: Any, after: Any) -> list[SnapshotChange]:
    if before == after:
        return []
    was, now = _tfa_kind(before), _tfa_kind(after)
    if was != "off" and now == "off":
        return [_change(TFA, "disabled", Severity.HIGH,
                        f"two-factor authentication was switched off (was {was})",
                        before, after)]  # fmt: skip
    if was == "off" and now != "off":
        return [_change(TFA, "enabled", Severity.LOW,
                        f"two-factor authentication was switched on ({now})", before, after)]  # fmt: skip
    return [_change(TFA, "changed", Severity.MEDIUM,
                    f"two-factor authentication settings changed ({was} -> {now}); trusted "
                    "IPs or mandatory users may differ", before, after)]  # fmt: skip


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _diff_password(before: Any, after: Any) -> list[SnapshotChange]:
    if before == after:
        return []
    weaker = _number(after.get("minLength")) < _number(before.get("minLength")) or any(
        before.get(k) and not after.get(k) for k in ("upperCase", "digits", "specSymbols")
    )
    if weaker:
        return [_change(PASSWORD, "weakened", Severity.MEDIUM,
                        "the password policy was weakened", before, after)]  # fmt: skip
    return [_change(PASSWORD, "strengthened", Severity.LOW,
                    "the password policy was strengthened", before, after)]  # fmt: skip


def _diff_switch(subject: str, flag: str, label: str) -> Callable[[Any, Any], list[SnapshotChange]]:
    """A section with an on/off ``flag``: switched off or otherwise changed is MEDIUM."""

    def compare(before: Any, after: Any) -> list[SnapshotChange]:
        if before == after:
            return []
        was, now = bool(before.get(flag)), bool(after.get(flag))
        if was and not now:
            return [_change(subject, "disabled", Severity.MEDIUM, f"{label} switched off",
                            before, after)]  # fmt: skip
        if now and not was:
            return [_change(subject, "enabled", Severity.MEDIUM, f"{label} switched on",
                            before, after)]  # fmt: skip
        return [_change(subject, "changed", Severity.MEDIUM, f"{label} changed", before, after)]

    return compare


def _diff_dev_tools(before: Any, after: Any) -> list[SnapshotChange]:
    if before == after:
        return []
    if before.get("limitedAccessForUsers") and not after.get("limitedAccessForUsers"):
        return [_change(DEV_TOOLS, "weakened", Severity.MEDIUM,
                        "Developer Tools (API keys) opened to every user", before, after)]  # fmt: skip
    return [_change(DEV_TOOLS, "strengthened", Severity.LOW,
                    "Developer Tools limited to administrators", before, after)]  # fmt: skip


def _diff_plain(subject: str, label: str) -> Callable[[Any, Any], list[SnapshotChange]]:
    def compare(before: Any, after: Any) -> list[SnapshotChange]:
        if before == after:
            return []
        return [_change(subject, "changed", Severity.MEDIUM, f"{label} changed", before, after)]

    return compare


#: SSO checks whose switching off lets a forged identity-provider answer through.
_SSO_CHECKS = ("verifyAuthResponsesSign", "verifyLogoutRequestsSign", "verifyLogoutResponsesSign")


def _diff_sso(before: Any, after: Any) -> list[SnapshotChange]:
    # Only what both snapshots read: a field a newer version reads is no change on upgrade.
    common = set(before) & set(after)
    before = {k: v for k, v in before.items() if k in common}
    after = {k: v for k, v in after.items() if k in common}
    if before.get("enabled") and after.get("enabled"):
        dropped = [k for k in _SSO_CHECKS if before.get(k) and not after.get(k)]
        if dropped:
            return [_change(SSO, "weakened", Severity.HIGH,
                            "single sign-on no longer checks the identity provider's signatures"
                            f" ({', '.join(dropped)})", before, after)]  # fmt: skip
    return _diff_switch(SSO, "enabled", "single sign-on (SSO)")(before, after)


_DIFFS: tuple[tuple[str, Callable[[Any, Any], list[SnapshotChange]]], ...] = (
    (OWNER, _diff_owner),
    (ADMINS, _diff_admins),
    (IP_RESTRICTIONS, _diff_ip),
    (TFA, _diff_tfa),
    (WEBHOOK, _diff_webhooks),
    (SSO, _diff_sso),
    (PASSWORD, _diff_password),
    (LOGIN_SETTINGS, _diff_plain(LOGIN_SETTINGS, "brute-force login protection")),
    (SESSION, _diff_switch(SESSION, "enabled", "the session lifetime setting")),
    (DEV_TOOLS, _diff_dev_tools),
    (TRUSTED_DOMAINS, _diff_plain(TRUSTED_DOMAINS, "trusted mail domains")),
    (AUDIT_SETTINGS, _diff_plain(AUDIT_SETTINGS, "audit and login-history retention")),
)

_DICT_SECTIONS = frozenset(
    {IP_RESTRICTIONS, WEBHOOK, ADMINS, TFA, PASSWORD, SSO, LOGIN_SETTINGS, SESSION, DEV_TOOLS,
     TRUSTED_DOMAINS, AUDIT_SETTINGS}
)  # fmt: skip


def _digests(old: Any, new: Any) -> bool:
    return any(isinstance(v, str) and v.startswith("sha256:") for v in (old, new))


def diff(before: Snapshot | None, after: Snapshot) -> list[SnapshotChange]:
    """What changed from ``before`` to ``after``, in a fixed order (subjects as listed in
    ``_DIFFS``, then by key). Nothing on a first snapshot; a section missing or unreadable on
    either side gives nothing (a section that cannot be read is not "switched off"); a stored
    value of the wrong shape is skipped the same way."""
    if before is None:
        return []
    changes: list[SnapshotChange] = []
    for section, compare in _DIFFS:
        if section in before.unreadable or section in after.unreadable:
            continue
        if section not in before.sections or section not in after.sections:
            continue
        old, new = before.sections[section], after.sections[section]
        if _digests(old, new):
            # Kept only as a digest (too large for the state table): changed or not, no more.
            if old != new:
                changes.append(_change(section, "changed", Severity.MEDIUM,
                                       f"the {section} settings changed (too many entries to "
                                       "compare one by one)", None, None))  # fmt: skip
            continue
        if section in _DICT_SECTIONS and not (isinstance(old, dict) and isinstance(new, dict)):
            continue
        try:
            changes.extend(compare(old, new))
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # A stored value of an odd shape (an older layout, a corrupted item): this section
            # is compared again from the next snapshot on, rather than failing every run.
            log.warning("could not compare the %s settings: %s", section, exc)
    return changes
