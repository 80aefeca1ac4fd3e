"""Login audit: login history by user, action and period, as a report and a digest.

* Query (a direct invoke with ``userId``, ``action``, ``from``, ``to``, ``limit``, or
  ``{"last": true}``): the matching login events as JSON, correct despite the server's paging
  bug (the client pages unfiltered and filters on its side).
* Scheduled digest since the cursor: successes and failures per user, distinct IPs and
  countries; findings for brute-force patterns (``BRUTE_FORCE_FAILURES`` failures for one login
  or one IP inside ``BRUTE_FORCE_WINDOW_MINUTES``) and for a successful login right after such
  a burst.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..actions import LOGIN_FAILURE, LOGIN_SUCCESS, LOGOUT, MessageAction
from ..client import DocSpaceClient, guid
from ..config import Env, env_bool, env_int
from ..dates import parse_user_date, utcnow
from ..errors import SentinelError
from ..findings import Finding, Severity, UserRef
from ..logins import login_record
from ..models import LoginEvent
from ..runner import RunContext, RunOutcome

WORKFLOW = "login_audit"
QUERY_KEYS = frozenset({"userId", "action", "limit", "last"})
GUEST = "712d9ec3-5d2b-4b13-824f-71f00191dcca"  # who failed logins by unknown callers belong to


class InvalidQuery(SentinelError, ValueError):
    """A login query asked for something that cannot be answered; the message says what."""


class LoginAuditSettings(NamedTuple):
    failures: int = 10
    window: timedelta = timedelta(minutes=5)
    digest: bool = True
    digest_top: int = 25

    @classmethod
    def from_env(cls, env: Env | None = None) -> LoginAuditSettings:
        return cls(
            failures=env_int("BRUTE_FORCE_FAILURES", 10, minimum=2, maximum=10_000, env=env),
            window=timedelta(
                minutes=env_int("BRUTE_FORCE_WINDOW_MINUTES", 5, minimum=1, maximum=1440, env=env)
            ),
            digest=env_bool("DIGEST_ENABLED", True, env=env),
            digest_top=env_int("DIGEST_TOP_USERS", 25, minimum=1, maximum=1000, env=env),
        )


# -- query ------------------------------------------------------------------------------------


def parse_actions(value: Any) -> frozenset[int] | None:
    """``"login"`` → every success code; ``"logout"`` → 1006; a code or a ``MessageAction`` name."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "login":
        return LOGIN_SUCCESS
    if isinstance(value, str) and value.strip().lower() == "logout":
        return frozenset({LOGOUT})
    if isinstance(value, str) and value.strip().lower() in ("failure", "failed", "fail"):
        return LOGIN_FAILURE
    try:
        return frozenset({MessageAction.lookup(value)})
    except (ValueError, TypeError):
        raise InvalidQuery(
            f"action {value!r} is not a MessageAction code or name, 'login' or 'logout'"
        ) from None


def event_to_dict(event: LoginEvent) -> dict[str, Any]:
    return {
        **login_record(event),
        "userId": event.user_id,
        "user": event.user,
        "login": event.login,
    }


def query(
    event: Mapping[str, Any], client: DocSpaceClient, now: datetime | None = None
) -> dict[str, Any] | None:
    """Answer a query invoke, or ``None`` when the event is a scheduled or windowed run."""
    if not isinstance(event, Mapping) or not (QUERY_KEYS & event.keys()):
        return None
    now = now or utcnow()
    if event.get("last"):
        latest = client.last_login_events()
        return {"events": [event_to_dict(e) for e in latest], "count": len(latest)}
    limit = event.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise InvalidQuery("limit must be a whole number from 1 to 10000")
    try:
        end = parse_user_date(event["to"]) if event.get("to") else now
        start = parse_user_date(event["from"]) if event.get("from") else end - timedelta(days=1)
        user_id = guid(event["userId"]) if event.get("userId") else None
    except (ValueError, TypeError) as exc:
        raise InvalidQuery(str(exc)) from None
    if start >= end:
        raise InvalidQuery("'from' must be before 'to'")
    actions = parse_actions(event.get("action"))
    rows: list[dict[str, Any]] = []
    for login in client.login_events(start, end, user_id=user_id, actions=actions):
        rows.append(event_to_dict(login))
        if len(rows) >= limit:
            break
    return {
        "from": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "events": rows,
        "count": len(rows),
        "truncated": len(rows) >= limit,
    }


# -- digest and detection ---------------------------------------------------------------------


@dataclass
class UserDigest:
    user_id: str
    name: str | None = None
    successes: int = 0
    failures: int = 0
    ips: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)


class Burst(NamedTuple):
    key_type: str  # "login" or "ip"
    key: str
    failures: list[LoginEvent]
    success: LoginEvent | None = None


def find_bursts(events: Iterable[LoginEvent], settings: LoginAuditSettings) -> list[Burst]:
    """Pure rule. Per login and per IP: the first window holding ``failures`` failed logins (one
    burst per key and day), and each success that follows such a window within the window length."""
    by_key: dict[tuple[str, str], list[LoginEvent]] = defaultdict(list)
    for event in events:
        if event.action_id not in LOGIN_FAILURE and event.action_id not in LOGIN_SUCCESS:
            continue
        if event.login:
            by_key[("login", event.login.lower())].append(event)
        if event.ip:
            by_key[("ip", event.ip)].append(event)
    bursts: list[Burst] = []
    for (key_type, key), rows in by_key.items():
        rows.sort(key=lambda e: (e.date, e.id))
        failures: list[LoginEvent] = []
        reported_days: set[str] = set()
        reported_success: set[int] = set()
        for event in rows:
            if event.action_id in LOGIN_FAILURE:
                failures.append(event)
                failures = [f for f in failures if event.date - f.date <= settings.window]
                day = failures[0].date.strftime("%Y-%m-%d")
                if len(failures) >= settings.failures and day not in reported_days:
                    reported_days.add(day)
                    bursts.append(Burst(key_type, key, list(failures)))
                continue
            recent = [f for f in failures if event.date - f.date <= settings.window]
            if len(recent) >= settings.failures and event.id not in reported_success:
                reported_success.add(event.id)
                bursts.append(Burst(key_type, key, recent, success=event))
    return _merge(bursts)


def _merge(bursts: list[Burst]) -> list[Burst]:
    """One attacker hammering one login from one IP is one burst, not a login and an IP burst."""
    by_login = {
        (frozenset(f.id for f in b.failures), b.success.id if b.success else None)
        for b in bursts
        if b.key_type == "login"
    }
    return [
        b
        for b in bursts
        if b.key_type == "login"
        or (frozenset(f.id for f in b.failures), b.success.id if b.success else None)
        not in by_login
    ]


def _burst_finding(burst: Burst, portal_url: str) -> Finding:
    first, last = burst.failures[0], burst.failures[-1]
    ips = sorted({f.ip for f in burst.failures if f.ip})
    logins = sorted({f.login for f in burst.failures if f.login})
    evidence: dict[str, Any] = {
        "failures": len(burst.failures),
        "distinctIps": ips,
        "logins": logins,
        "sampleEventIds": [f.id for f in burst.failures],
    }
    user: UserRef | None = None
    if burst.success is not None:
        success = burst.success
        if success.user_id and success.user_id != GUEST:
            user = UserRef(success.user_id, success.user, success.login)
        evidence["successEventId"] = success.id
        evidence["successIp"] = success.ip
        return Finding(
            workflow=WORKFLOW,
            kind="login_after_failures",
            severity=Severity.HIGH,
            title=f"Successful login after {len(burst.failures)} failures ({burst.key_type} {burst.key})",
            summary=(
                f"{success.user or success.login or 'A user'} signed in from {success.ip or 'an unknown address'} "
                f"at {success.date:%Y-%m-%d %H:%M:%S} UTC right after {len(burst.failures)} failed attempts "
                f"for {burst.key_type} {burst.key}."
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
        title=f"{len(burst.failures)} failed logins for {burst.key_type} {burst.key}",
        summary=(
            f"{len(burst.failures)} failed logins for {burst.key_type} {burst.key} between "
            f"{first.date:%Y-%m-%d %H:%M:%S} and {last.date:%H:%M:%S} UTC."
        ),
        dedup=("burst", burst.key_type, burst.key, first.date.strftime("%Y-%m-%d")),
        portal_url=portal_url,
        period_start=first.date,
        period_end=last.date,
        evidence=evidence,
    )


def run(context: RunContext) -> RunOutcome:
    settings = LoginAuditSettings.from_env()
    events = list(context.scan.login_events())
    # The digest counts only what is new since the cursor; detection also sees the overlap.
    cursor = context.plan.cursor_before
    digests: dict[str, UserDigest] = {}
    skipped = 0
    for event in events:
        if cursor is not None and context.plan.moves_cursor and event.date <= cursor:
            continue
        if event.action_id not in LOGIN_SUCCESS and event.action_id not in LOGIN_FAILURE:
            if event.action_id != LOGOUT:
                skipped += 1
            continue
        key = (event.user_id or event.login or "unknown").lower()
        digest = digests.setdefault(key, UserDigest(key, event.user or event.login))
        if event.action_id in LOGIN_SUCCESS:
            digest.successes += 1
        else:
            digest.failures += 1
        if event.ip:
            digest.ips.add(event.ip)
        if event.country:
            digest.countries.add(event.country)
    findings = [_burst_finding(b, context.client.portal_url) for b in find_bursts(events, settings)]
    if settings.digest and digests:
        findings.append(_digest_finding(context, digests, settings))
    return RunOutcome(
        findings=findings,
        events_scanned=len(events),
        events_skipped=skipped + context.scan.stats.malformed,
        details={"usersActive": len(digests)},
    )


def _digest_finding(
    context: RunContext, digests: dict[str, UserDigest], settings: LoginAuditSettings
) -> Finding:
    start = (
        context.plan.cursor_before
        if context.plan.moves_cursor and context.plan.cursor_before
        else context.plan.start
    )
    end = context.plan.end
    ranked = sorted(digests.values(), key=lambda d: (-(d.failures * 10 + d.successes), d.user_id))
    rows = [
        {
            "user": d.name,
            "userId": d.user_id,
            "successes": d.successes,
            "failures": d.failures,
            "distinctIps": sorted(d.ips),
            "countries": sorted(d.countries),
        }
        for d in ranked[: settings.digest_top]
    ]
    successes = sum(d.successes for d in digests.values())
    failures = sum(d.failures for d in digests.values())
    return Finding(
        workflow=WORKFLOW,
        kind="login_digest",
        severity=Severity.LOW,
        title=f"Login digest: {successes} sign-ins, {failures} failures, {len(digests)} users",
        summary=(
            f"Between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC: {successes} successful and "
            f"{failures} failed logins by {len(digests)} users or logins."
        ),
        dedup=("digest", start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")),
        portal_url=context.client.portal_url,
        period_start=start,
        period_end=end,
        evidence={
            "successes": successes,
            "failures": failures,
            "users": len(digests),
            "perUser": rows,
        },
    )
