"""The IP allowlist's findings: what the login check saw (``ip_not_allowed``,
``ip_unverifiable``, ``login_blocked_by_ip``), stored allowlists too wide to check anything
(``allowlist_too_wide``), and what the portal sync did (``ip_sync_*``), with their evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ...docspace.client import DocSpaceClient
from ...docspace.errors import DocSpaceError
from ...docspace.logins import login_record
from ...enforcement.gate import OBSERVED
from ...findings.finding import ActionTaken, Finding, Severity, UserRef
from .entries import breadth_problems
from .rules import Sighting
from .settings import SyncSettings
from .store import Allowlist
from .sync_plan import SAMPLE as PLAN_SAMPLE
from .sync_plan import SyncPlan

WORKFLOW = "ip_allowlist"
SAMPLE = 20
ACTION = "ip_sync"


# -- the login check ----------------------------------------------------------------------------

_KIND = {
    "ip_not_allowed": (Severity.HIGH, "signed in from {ip}, outside their allowlist"),
    "ip_unverifiable": (Severity.LOW, "signed in from an address that cannot be checked ({ip})"),
    "login_blocked_by_ip": (Severity.MEDIUM, "was blocked by the portal's IP restrictions ({ip})"),
}


def sighting_finding(
    sighting: Sighting, portal_url: str, allowlist: Allowlist | None = None
) -> Finding:
    severity, what = _KIND[sighting.kind]
    latest = sighting.latest
    name = next((e.user for e in sighting.events if e.user), None)
    who = name or sighting.user_id or "unknown"
    ip = sighting.ip or "no address"
    count = len(sighting.events)
    evidence: dict[str, Any] = {
        **login_record(latest),
        "reason": sighting.reason,
        "logins": count,
        "sampleLogins": [login_record(e) for e in sighting.events[:SAMPLE]],
    }
    if allowlist is not None:
        evidence["allowedEntries"] = list(allowlist.entries)
    return Finding(
        workflow=WORKFLOW,
        kind=sighting.kind,
        severity=severity,
        title=f"{who} {what.format(ip=ip)}",
        summary=(
            f"{who} {what.format(ip=ip)}: {count} login(s), the latest at "
            f"{latest.date:%Y-%m-%d %H:%M:%S} UTC from {latest.city or '?'}, "
            f"{latest.country or '?'} ({latest.browser or '?'}, {latest.platform or '?'}). "
            f"{sighting.reason}."
        ),
        dedup=(sighting.user_id, sighting.ip, OBSERVED),  # see enforcement.staged
        portal_url=portal_url,
        user=UserRef(sighting.user_id, name, allowlist.email if allowlist else latest.login)
        if sighting.user_id
        else None,
        period_start=sighting.earliest.date,
        period_end=latest.date,
        evidence=evidence,
    )


def too_wide_findings(allowlists: Iterable[Allowlist], portal_url: str) -> list[Finding]:
    """Stored allowlists that all but switch the check off (stored before such entries were
    refused). They are still honoured as they are: treating them otherwise could start logging
    out or restricting users the day this version is deployed. Reported once per suppression
    period, so an operator replaces or removes them."""
    found: list[Finding] = []
    for allowlist in allowlists:
        problems = breadth_problems(allowlist.entries)
        if not problems:
            continue
        who = allowlist.email or allowlist.user_id
        found.append(
            Finding(
                workflow=WORKFLOW,
                kind="allowlist_too_wide",
                severity=Severity.MEDIUM,
                title=f"The IP allowlist of {who} allows (almost) every address",
                summary=(
                    f"The stored IP allowlist of {who} is too wide to restrict anything, so "
                    f"their logins are not really checked: {'; '.join(problems)[:600]}. It was "
                    "stored before such entries were refused; replace it with the networks the "
                    "user comes from, or remove it."
                ),
                dedup=(allowlist.user_id, "too_wide"),
                portal_url=portal_url,
                user=UserRef(allowlist.user_id, None, allowlist.email),
                evidence={"entries": list(allowlist.entries[:SAMPLE]), "problems": problems},
            )
        )
    return found


# -- the portal sync ----------------------------------------------------------------------------

_KINDS: Mapping[str, tuple[str, Severity, str]] = {
    # status → (kind, severity, action status)
    "planned": ("ip_sync_planned", Severity.LOW, "proposed"),
    "applied": ("ip_sync_applied", Severity.MEDIUM, "done"),
    "refused": ("ip_sync_refused", Severity.MEDIUM, "skipped"),
    "aborted": ("ip_sync_aborted", Severity.MEDIUM, "skipped"),
    "failed": ("ip_sync_failed", Severity.HIGH, "failed"),
}


def sync_finding(
    status: str,
    plan: SyncPlan,
    client: DocSpaceClient,
    settings: SyncSettings,
    workflow: str,
    detail: str,
    *,
    extra: tuple[str, ...] = (),
) -> Finding:
    """What one sync planned, applied, refused, aborted or failed to do (``status``)."""
    kind, severity, action_status = _KINDS[status]
    what = f"add {len(plan.add)}, remove {len(plan.remove)}"
    if plan.enable != plan.before.enable:
        what += ", switch restrictions " + ("on" if plan.enable else "off")
    titles = {
        "planned": f"IP restriction sync planned ({what})",
        "applied": f"IP restrictions updated ({what})",
        "refused": f"IP restriction sync refused ({what})",
        "aborted": f"IP restriction sync aborted ({what})",
        "failed": f"IP restriction sync failed ({what})",
    }
    dedup: tuple[str, ...] = (status, plan.diff_id, *extra)
    if status == "applied":
        dedup = (*dedup, plan.before.last_modified or "")
    return Finding(
        workflow=workflow,
        kind=kind,
        severity=severity,
        title=titles[status],
        summary=f"Portal IP restrictions: {what}. {detail}.",
        dedup=dedup,
        portal_url=client.portal_url,
        evidence={**plan.evidence(settings.mode), "detail": detail},
        actions=(ActionTaken(ACTION, "portal", action_status, detail),),
    )


def held_finding(
    plan: SyncPlan, client: DocSpaceClient, settings: SyncSettings, workflow: str
) -> Finding:
    """The always-allowed addresses kept on the list instead of removed, and how to confirm."""
    held = plan.held_back
    return Finding(
        workflow=workflow,
        kind="ip_sync_removal_held",
        severity=Severity.MEDIUM,
        title=f"IP restriction sync kept {len(held)} always-allowed address(es) on the list",
        summary=f"Portal IP restrictions: {plan.held_reason}.",
        dedup=("held", hashlib.sha256(json.dumps(sorted(held)).encode()).hexdigest()[:16]),
        portal_url=client.portal_url,
        evidence={
            "mode": settings.mode,
            "heldBack": list(held[:PLAN_SAMPLE]),
            "heldBackCount": len(held),
            "detail": plan.held_reason,
        },
        actions=(ActionTaken(ACTION, "portal", "skipped", plan.held_reason[:500]),),
    )


def sync_failure(exc: Exception, client: DocSpaceClient, workflow: str) -> Finding:
    """A sync that could not even read the portal's list, or that failed unexpectedly."""
    if not isinstance(exc, DocSpaceError):
        return Finding(
            workflow=workflow,
            kind="ip_sync_failed",
            severity=Severity.HIGH,
            title=f"IP restriction sync failed ({type(exc).__name__})",
            summary=(
                f"The portal sync failed: {type(exc).__name__}: {str(exc)[:300]}. The login "
                "check ran; the next run syncs again."
            ),
            dedup=("error", type(exc).__name__),
            portal_url=client.portal_url,
            evidence={"error": f"{type(exc).__name__}: {str(exc)[:500]}"},
            actions=(ActionTaken(ACTION, "portal", "failed", type(exc).__name__),),
        )
    return Finding(
        workflow=workflow,
        kind="ip_sync_failed",
        severity=Severity.HIGH,
        title="IP restriction sync failed: the portal's list could not be read",
        summary=f"The portal sync could not read the IP restrictions: {exc}.",
        dedup=("read", type(exc).__name__, str(exc.status_code or "")),
        portal_url=client.portal_url,
        evidence={"error": str(exc)[:500]},
        actions=(ActionTaken(ACTION, "portal", "failed", type(exc).__name__),),
    )
