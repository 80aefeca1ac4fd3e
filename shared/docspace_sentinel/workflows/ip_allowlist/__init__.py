"""IP allowlists: per-user allowed addresses, checked against every login, kept on the portal.

* Registration (``register_handler``; the CLI's ``allowlist`` commands): an external system
  sends ``{"userId", "email", "allowedIps"}`` directly or as an EventBridge ``detail``; entries
  are validated whole (one bad entry rejects the record and the error names every bad one),
  stored normalised, and the portal sync runs.
* Login check (``handler``, scheduled): each successful login of a user *with* an allowlist
  from an address outside it is a finding (``ip_not_allowed``), once per user and address per
  suppression period; an address the server truncated (IPv6) is ``ip_unverifiable``, never a
  violation; the portal's own blocks (1009) are ``login_blocked_by_ip``. ``ON_VIOLATION``
  ``logout`` or ``restrict`` acts on logins newer than the cursor (older ones were already
  acted on), through the enforcement gate (``MODE``, protections, cap, recency), on each
  user's newest offending login, whose id the gate keeps a log-out's once-record under, so a
  retried run or a later run over the same login never logs the user out twice.
* A stored allowlist too wide to restrict anything (stored before such entries were refused,
  e.g. ``0.0.0.0/0``) is still honoured as it is, and reported (``allowlist_too_wide``).
* Portal sync (``ipsync``) after the login check and after every registration change.

The package: ``settings`` (the environment), ``entries`` (parsing and normal form, breadth
rules), ``store`` (the allowlists' records), ``migration`` (their one-off move to today's keys),
``rules`` (the pure login check), ``violations`` (log-out or restrict, through the gate),
``findings`` (what is published), ``sync`` (the portal sync: ``sync_plan``, its pure plan and
guards; ``sync_records``, what it added), ``registration`` (the registration handler),
``errors``; ``run`` here wires them.
"""

from __future__ import annotations

from ...enforcement.gate import staged
from ...findings.finding import Finding
from ...findings.suppression import Subject
from ...runtime.runner import RunContext, RunOutcome
from .findings import WORKFLOW, sighting_finding, too_wide_findings
from .registration import registration_handler
from .rules import check_logins, matchers, newest_offences
from .settings import AllowlistSettings
from .store import AllowlistStore
from .sync import sync_locked
from .violations import ViolationResponse

__all__ = ["WORKFLOW", "AllowlistSettings", "Settings", "registration_handler", "run"]

Settings = AllowlistSettings


def run(context: RunContext, settings: AllowlistSettings) -> RunOutcome:
    allowlists = {a.user_id: a for a in AllowlistStore(context.store).all()}
    sightings, scanned = check_logins(context.scan.login_events(), matchers(allowlists.values()))
    responder = ViolationResponse(context, settings)
    since = context.plan.cursor_before
    portal_url = context.client.portal_url
    findings: list[Finding] = [*too_wide_findings(allowlists.values(), portal_url)]
    newest = newest_offences(sightings)
    for sighting in sorted(sightings, key=lambda s: (s.kind, s.user_id, s.ip)):
        finding = sighting_finding(sighting, portal_url, allowlists.get(sighting.user_id))
        fresh = since is None or sighting.latest.date > since  # older ones were acted on
        if sighting.kind == "ip_not_allowed" and fresh:
            offence = newest[sighting.user_id]
            offending = sighting_finding(offence, portal_url, allowlists.get(offence.user_id))
            finding = staged(
                finding, responder.respond(offence, offending.fingerprint, Subject.of(offending))
            )
        findings.append(finding)
    sync = sync_locked(context.client, context.store, settings.sync, context.invocation.run_key)
    findings.extend(sync.findings)
    counts: dict[str, int] = {}
    for sighting in sightings:
        counts[sighting.kind] = counts.get(sighting.kind, 0) + 1
    return RunOutcome(
        findings=findings,
        events_scanned=scanned,
        details={
            "usersWithAllowlist": len(allowlists),
            "sightings": counts,
            "onViolation": settings.on_violation,
            "mode": settings.response.mode,
            "portalSync": {"mode": settings.sync.mode, **sync.to_dict()},
        },
    )
