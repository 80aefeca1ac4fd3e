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
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..docspace.client import DocSpaceClient, guid
from ..docspace.dates import format_utc, parse_user_date, utcnow
from ..docspace.logins import is_guest, login_key, login_label, login_record
from ..docspace.message_actions import LOGIN_FAILURE, LOGIN_SUCCESS, LOGOUT, MessageAction
from ..docspace.models import LoginEvent
from ..findings.finding import Finding, Severity, UserRef
from ..runtime.env import Env, env_bool, env_int
from ..runtime.errors import SentinelError
from ..runtime.runner import RunContext, RunOutcome

WORKFLOW = "login_audit"
QUERY_KEYS = frozenset({"userId", "action", "limit", "last"})
SAMPLE = 25


class InvalidQuery(SentinelError, ValueError):
    """A login query asked for something that cannot be answered; the message says what."""


class _LoginAuditValues(NamedTuple):
    failures: int = 10
    window: timedelta = timedelta(minutes=5)
    digest: bool = True
    digest_top: int = 25


class LoginAuditSettings(_LoginAuditValues):
    """The login audit's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    BRUTE_FORCE_FAILURES = "BRUTE_FORCE_FAILURES"
    BRUTE_FORCE_WINDOW_MINUTES = "BRUTE_FORCE_WINDOW_MINUTES"
    DIGEST_ENABLED = "DIGEST_ENABLED"
    DIGEST_TOP_USERS = "DIGEST_TOP_USERS"

    @classmethod
    def from_env(cls, env: Env | None = None) -> LoginAuditSettings:
        return cls(
            failures=env_int(cls.BRUTE_FORCE_FAILURES, 10, minimum=2, maximum=10_000, env=env),
            window=timedelta(
                minutes=env_int(cls.BRUTE_FORCE_WINDOW_MINUTES, 5, minimum=1, maximum=1440, env=env)
            ),
            digest=env_bool(cls.DIGEST_ENABLED, True, env=env),
            digest_top=env_int(cls.DIGEST_TOP_USERS, 25, minimum=1, maximum=1000, env=env),
        )


Settings = LoginAuditSettings


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
    guest = is_guest(event.user_id)
    return {
        **login_record(event),
        "userId": event.user_id,
        # For a Guest row the server fills ``user`` with the typed login: that names nobody.
        "user": None if guest else event.user,
        "login": event.login,
        "guest": guest,
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
        "from": format_utc(start),
        "to": format_utc(end),
        "events": rows,
        "count": len(rows),
        "truncated": len(rows) >= limit,
    }


# -- digest and detection ---------------------------------------------------------------------


@dataclass
class Tally:
    """Successes and failures of one user, or of one login string typed by unknown callers."""

    key: str
    name: str | None = None
    successes: int = 0
    failures: int = 0
    ips: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)

    def add(self, event: LoginEvent) -> None:
        if event.action_id in LOGIN_SUCCESS:
            self.successes += 1
        else:
            self.failures += 1
        if event.ip:
            self.ips.add(event.ip)
        if event.country:
            self.countries.add(event.country)


@dataclass
class Digest:
    """Real users by user id; Guest-account events (unknown callers) by the login typed."""

    users: dict[str, Tally] = field(default_factory=dict)
    guest_logins: dict[str, Tally] = field(default_factory=dict)
    skipped: int = 0

    def add(self, event: LoginEvent) -> None:
        if is_guest(event.user_id):
            # The Guest id is shared by every unknown caller and ``user`` is only the string
            # they typed: neither names a user, so the login string is the only honest key.
            key = login_key(event.login)
            tally = self.guest_logins.setdefault(key, Tally(key, login_label(key)))
        else:
            key = str(event.user_id).lower()
            tally = self.users.setdefault(key, Tally(key, event.user or event.login))
        tally.add(event)

    @property
    def empty(self) -> bool:
        return not self.users and not self.guest_logins


def tally_logins(events: Iterable[LoginEvent], since: datetime | None = None) -> Digest:
    """Pure rule: the digest of ``events`` newer than ``since`` (logouts are not counted;
    other non-login actions are counted as skipped)."""
    digest = Digest()
    for event in events:
        if since is not None and event.date <= since:
            continue
        if event.action_id not in LOGIN_SUCCESS and event.action_id not in LOGIN_FAILURE:
            if event.action_id != LOGOUT:
                digest.skipped += 1
            continue
        digest.add(event)
    return digest


class Burst(NamedTuple):
    key_type: str  # "login" or "ip"
    key: str
    failures: list[LoginEvent]
    success: LoginEvent | None = None


def find_bursts(events: Iterable[LoginEvent], settings: LoginAuditSettings) -> list[Burst]:
    """Pure rule. Per login and per IP: the first window holding ``failures`` failed logins (one
    burst per key and day), and each success that follows such a window within the window length.
    A login is the string typed (``login_key``), whoever the row's user id is: a Guest-account
    failure and the success of the user who owns that login meet under the same key."""
    by_key: dict[tuple[str, str], list[LoginEvent]] = defaultdict(list)
    for event in events:
        if event.action_id not in LOGIN_FAILURE and event.action_id not in LOGIN_SUCCESS:
            continue
        key = login_key(event.login)
        if key:
            by_key[("login", key)].append(event)
        if event.ip:
            by_key[("ip", event.ip)].append(event)
    bursts: list[Burst] = []
    for (key_type, key), rows in by_key.items():
        rows.sort(key=lambda e: (e.date, e.id))
        # A deque trimmed from the left: a spray of many thousand failures stays linear.
        failures: deque[LoginEvent] = deque()
        reported_days: set[str] = set()
        reported_success: set[int] = set()
        for event in rows:
            if event.action_id in LOGIN_FAILURE:
                failures.append(event)
                while event.date - failures[0].date > settings.window:
                    failures.popleft()
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
