"""Login audit: login history by user, action and period, as a report and a digest.

* Query (a direct invoke with ``userId``, ``action``, ``from``, ``to``, ``limit``, or
  ``{"last": true}``): the matching login events as JSON, correct despite the server's paging
  bug (the client pages unfiltered and filters on its side).
* Scheduled digest since the cursor: successes and failures per user, distinct IPs and
  countries; findings for brute-force patterns (``BRUTE_FORCE_FAILURES`` failures for one login
  or one IP inside ``BRUTE_FORCE_WINDOW_MINUTES``) and for a successful login right after such
  a burst.

DocSpace records every failed login by an unknown caller under one shared Guest account, with
the login string as typed. Those failures are never a user's: the digest groups them by the
login string (``logins.login_key``) on lines of their own, at most ``DIGEST_TOP_USERS`` of them.

The package: ``settings``, ``query`` (the query invoke), ``rules`` (the pure digest and burst
rules), ``findings`` (what is published), ``errors``; ``run`` here wires them.
"""

from __future__ import annotations

from ...runtime.runner import RunContext, RunOutcome
from .errors import InvalidQuery
from .findings import WORKFLOW, burst_finding, digest_finding
from .query import query
from .rules import find_bursts, tally_logins
from .settings import LoginAuditSettings

__all__ = ["WORKFLOW", "InvalidQuery", "LoginAuditSettings", "Settings", "query", "run"]

Settings = LoginAuditSettings


def run(context: RunContext, settings: LoginAuditSettings) -> RunOutcome:
    events = list(context.scan.login_events())
    # The digest counts only what is new since the cursor; detection also sees the overlap.
    cursor = context.plan.cursor_before if context.plan.moves_cursor else None
    digest = tally_logins(events, cursor)
    url = context.client.portal_url
    findings = [burst_finding(b, url) for b in find_bursts(events, settings)]
    if settings.digest and not digest.empty:
        period = (cursor or context.plan.start, context.plan.end)
        findings.append(digest_finding(digest, period, url, settings.digest_top))
    return RunOutcome(
        findings=findings,
        events_scanned=len(events),
        events_skipped=digest.skipped + context.scan.stats.malformed,
        details={"usersActive": len(digest.users), "guestLogins": len(digest.guest_logins)},
    )
