"""The login audit's findings: a brute-force burst (``brute_force``), a successful login right
after one (``login_after_failures``) and the digest (``login_digest``), with its evidence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ...docspace.dates import format_utc
from ...docspace.logins import is_guest, login_key, login_label
from ...findings.finding import Finding, Severity, UserRef
from .rules import Burst, Digest, Tally

WORKFLOW = "login_audit"
SAMPLE = 25


def _sample(values: Iterable[str]) -> tuple[list[str], int]:
    """The first ``SAMPLE`` of the distinct values, sorted, and how many there are in all."""
    distinct = sorted(set(values))
    return distinct[:SAMPLE], len(distinct)


def burst_finding(burst: Burst, portal_url: str) -> Finding:
    """Pure: a burst's finding, ``login_after_failures`` when a success followed it."""
    first, last = burst.failures[0], burst.failures[-1]
    ips, ip_count = _sample(f.ip for f in burst.failures if f.ip)
    logins, login_count = _sample(login_label(login_key(f.login)) for f in burst.failures)
    # What was hammered, as a reader can take it: a login is shown bounded and sanitized.
    # The IP is the request's X-Real-IP as the server saw it: shown bounded as well.
    shown = login_label(burst.key if burst.key_type == "login" else login_key(burst.key))
    what = f"{burst.key_type} {shown}"
    evidence: dict[str, Any] = {
        "failures": len(burst.failures),
        "distinctIps": ips,
        "distinctIpCount": ip_count,
        "logins": logins,
        "loginCount": login_count,
        "sampleEventIds": [f.id for f in burst.failures[:SAMPLE]],
    }
    user: UserRef | None = None
    if burst.success is not None:
        success = burst.success
        if not is_guest(success.user_id):
            user = UserRef(str(success.user_id), success.user, success.login)
        evidence["successEventId"] = success.id
        evidence["successIp"] = success.ip
        who = (success.user if user else None) or login_label(login_key(success.login))
        return Finding(
            workflow=WORKFLOW,
            kind="login_after_failures",
            severity=Severity.HIGH,
            title=f"Successful login after {len(burst.failures)} failures ({what})",
            summary=(
                f"{who} signed in from {success.ip or 'an unknown address'} "
                f"at {success.date:%Y-%m-%d %H:%M:%S} UTC right after {len(burst.failures)} failed attempts "
                f"for {what}."
            ),
            dedup=("success", burst.key_type, burst.key, str(success.id)),
            portal_url=portal_url,
            user=user,
            period_start=first.date,
            period_end=success.date,
            evidence=evidence,
        )
    return Finding(
        workflow=WORKFLOW,
        kind="brute_force",
        severity=Severity.MEDIUM,
        title=f"{len(burst.failures)} failed logins for {what}",
        summary=(
            f"{len(burst.failures)} failed logins for {what} between "
            f"{first.date:%Y-%m-%d %H:%M:%S} and {last.date:%H:%M:%S} UTC."
        ),
        dedup=("burst", burst.key_type, burst.key, first.date.strftime("%Y-%m-%d")),
        portal_url=portal_url,
        period_start=first.date,
        period_end=last.date,
        evidence=evidence,
    )


def _ranked(tallies: Iterable[Tally]) -> list[Tally]:
    return sorted(tallies, key=lambda d: (-(d.failures * 10 + d.successes), d.key))


def digest_evidence(digest: Digest, top: int) -> dict[str, Any]:
    """Pure rule: the digest's evidence. Real users on ``perUser``; the Guest account's failures
    on ``perGuestLogin``, one line per login typed, the ``top`` worst of them, then a count of
    the rest (a spray of random logins must not grow the finding)."""
    users = digest.users.values()
    guests = _ranked(digest.guest_logins.values())
    shown = guests[:top]
    rest = guests[top:]
    return {
        "successes": sum(d.successes for d in users) + sum(d.successes for d in guests),
        "failures": sum(d.failures for d in users) + sum(d.failures for d in guests),
        "users": len(digest.users),
        "perUser": [
            {
                "user": d.name,
                "userId": d.key,
                "successes": d.successes,
                "failures": d.failures,
                "distinctIps": sorted(d.ips),
                "countries": sorted(d.countries),
            }
            for d in _ranked(users)[:top]
        ],
        "guestFailures": sum(d.failures for d in guests),
        "guestLogins": len(guests),
        "perGuestLogin": [
            {
                "login": d.name,
                "failures": d.failures,
                "distinctIps": sorted(d.ips)[:SAMPLE],
                "countries": sorted(d.countries)[:SAMPLE],
            }
            for d in shown
        ],
        "guestLoginsNotShown": len(rest),
        "guestFailuresNotShown": sum(d.failures for d in rest),
    }


def digest_finding(
    digest: Digest, period: tuple[datetime, datetime], portal_url: str, top: int
) -> Finding:
    """Pure: the digest's finding over ``period`` (from the cursor, or the window's start)."""
    start, end = period
    evidence = digest_evidence(digest, top)
    successes, failures, users = evidence["successes"], evidence["failures"], evidence["users"]
    guests = evidence["guestLogins"]
    unknown = (
        f" ({evidence['guestFailures']} of them by unknown callers, on {guests} logins)"
        if guests
        else ""
    )
    return Finding(
        workflow=WORKFLOW,
        kind="login_digest",
        severity=Severity.LOW,
        title=f"Login digest: {successes} sign-ins, {failures} failures{unknown}, {users} users",
        summary=(
            f"Between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC: {successes} successful and "
            f"{failures} failed logins{unknown} by {users} users."
        ),
        dedup=("digest", format_utc(start), format_utc(end)),
        portal_url=portal_url,
        period_start=start,
        period_end=end,
        evidence=evidence,
    )
