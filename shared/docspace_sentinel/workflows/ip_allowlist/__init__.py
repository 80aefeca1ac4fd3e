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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from ...docspace.client import DocSpaceClient, guid
from ...docspace.dates import utcnow
from ...docspace.errors import NotFound
from ...docspace.logins import login_record
from ...docspace.message_actions import LOGIN_SUCCESS, MessageAction
from ...docspace.models import LoginEvent
from ...enforcement.gate import (
    DISABLE,
    LOGOUT,
    OBSERVED,
    ActionRequest,
    Gate,
    ResponseSettings,
    staged,
    stale,
)
from ...findings.finding import ActionTaken, Finding, Severity, UserRef
from ...runtime.env import Env, env_choice
from ...runtime.runner import RunContext, RunOutcome
from ...state import keys as state_keys
from ...state.restrictions import RestrictionStore
from ...state.store import StateStore
from .allowlist import (
    OPERATIONS,
    AllowEntry,
    Allowlist,
    AllowlistStore,
    Matcher,
    apply_operation,
    breadth_problems,
    matchers,
    parse_entries,
    parse_entry,
)
from .errors import AllowlistConflict, InvalidAllowlist
from .sync import (
    MAX_ALLOWLIST_EXPANDED,
    SyncResult,
    SyncSettings,
    expanded_size,
    sync_failure,
    sync_portal,
)

log = logging.getLogger(__name__)

WORKFLOW = "ip_allowlist"
SYNC_LOCK = state_keys.IP_SYNC_LOCK  # one sync at a time, a run's or a registration's
SYNC_LEASE = timedelta(minutes=5)
VIOLATION_MODES = ("alert", "logout", "restrict")
SAMPLE = 20


class _AllowlistValues(NamedTuple):
    sync: SyncSettings = SyncSettings()
    on_violation: str = "alert"
    response: ResponseSettings = ResponseSettings()


class AllowlistSettings(_AllowlistValues):
    """The IP allowlist's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    ON_VIOLATION = "ON_VIOLATION"

    @classmethod
    def from_env(cls, env: Env | None = None) -> AllowlistSettings:
        return cls(
            sync=SyncSettings.from_env(env),
            on_violation=env_choice(cls.ON_VIOLATION, "alert", VIOLATION_MODES, env=env),
            response=ResponseSettings.from_env(env),
        )


Settings = AllowlistSettings


# -- login check (pure) -------------------------------------------------------------------------


@dataclass
class Sighting:
    """The logins of one user from one address that share a verdict (newest first)."""

    kind: str  # ip_not_allowed | ip_unverifiable | login_blocked_by_ip
    user_id: str
    ip: str
    reason: str
    events: list[LoginEvent] = field(default_factory=list)

    @property
    def latest(self) -> LoginEvent:
        return self.events[0]

    @property
    def earliest(self) -> LoginEvent:
        return self.events[-1]


def check_logins(
    events: Iterable[LoginEvent], allowed: Mapping[str, Matcher]
) -> tuple[list[Sighting], int]:
    """Pure rule: sightings, and how many events were read. Users without an allowlist are not
    judged; the portal's own IP blocks (1009) are reported for everyone."""
    found: dict[tuple[str, str, str], Sighting] = {}
    read = 0
    for event in events:
        read += 1
        user_id = (event.user_id or "").lower()
        ip = event.ip or ""
        if event.action_id == MessageAction.LOGIN_FAIL_IP_SECURITY:
            who = user_id or (event.login or "").lower()
            key = ("login_blocked_by_ip", who, ip)
            reason = "the portal's IP restrictions blocked the sign-in"
        elif event.action_id in LOGIN_SUCCESS and user_id in allowed:
            judgement = allowed[user_id].judge(event.ip)
            if judgement.verdict == "allowed":
                continue
            kind = "ip_not_allowed" if judgement.verdict == "not_allowed" else "ip_unverifiable"
            key, reason = (kind, user_id, ip), judgement.reason
        else:
            continue
        sighting = found.get(key)
        if sighting is None:
            sighting = found[key] = Sighting(key[0], key[1], ip, reason)
        sighting.events.append(event)
    return list(found.values()), read


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


# -- responses ----------------------------------------------------------------------------------


class ViolationResponse:
    """``ON_VIOLATION``: nothing (alert), log the user out, or restrict them, once per user per
    run, through the enforcement gate (``MODE`` dry-run/enforce, protections, cap, recency)."""

    def __init__(self, context: RunContext, settings: AllowlistSettings) -> None:
        self.mode = settings.on_violation
        self.gate = Gate(
            context.client,
            RestrictionStore(context.store),
            settings.response,
            source=WORKFLOW,
            owner=context.invocation.run_key,
        )
        self.clock = context.store.now
        self.settings = settings.response
        self.taken: dict[str, ActionTaken] = {}

    def respond(self, offence: Sighting, finding_id: str) -> ActionTaken | None:
        """Act on a user's newest offending login (``offence``, see ``newest_offences``); the
        login's id is the evidence the gate keeps a log-out's once-record under."""
        if self.mode == "alert":
            return None
        user_id, evidence_at = offence.user_id, offence.latest.date
        if user_id not in self.taken:
            request = ActionRequest(
                DISABLE if self.mode == "restrict" else LOGOUT,
                user_id,
                evidence_at,
                finding_id,
                f"signed in from {offence.ip}, outside their IP allowlist",
                evidence_id=str(offence.latest.id),
            )
            action = self.gate.act(request)
            if action.status == "skipped" and stale(evidence_at, self.clock(), self.settings):
                return action  # not kept: it says nothing about a newer login of the same user
            self.taken[user_id] = action
        return self.taken[user_id]


def newest_offences(sightings: Iterable[Sighting]) -> dict[str, Sighting]:
    """Each user's newest ``ip_not_allowed`` sighting: it decides what is done about the user,
    so an older one (from another address, too old to act on, say) does not decide for it."""
    newest: dict[str, Sighting] = {}
    for sighting in sorted(sightings, key=lambda s: (s.latest.date, s.latest.id)):
        if sighting.kind == "ip_not_allowed":
            newest[sighting.user_id] = sighting
    return newest


# -- the scheduled run --------------------------------------------------------------------------


def sync_locked(
    client: DocSpaceClient, store: StateStore, settings: SyncSettings, owner: str
) -> SyncResult:
    """One portal sync under the sync lock; ``busy`` when another one holds it."""
    if settings.mode == "off":
        return SyncResult("off")
    if not store.acquire_lock(SYNC_LOCK, owner, SYNC_LEASE):
        return SyncResult("busy", detail="another sync is running; the next run syncs again")
    try:
        allowlists = AllowlistStore(store).all()
        return sync_portal(client, store, allowlists, settings, workflow=WORKFLOW)
    except Exception as exc:  # noqa: BLE001 - nothing from the sync may fail the run for good
        # Reading the list failed (e.g. the key's user is not an admin), or anything else: the
        # login check and a registration must not fail with it, so this is a finding, not an
        # exception. (A record written before a PUT that raised keeps its addresses: the PUT
        # may have happened, and the next applied sync prunes what the list does not hold.)
        log.warning("the portal sync failed: %s: %s", type(exc).__name__, exc)
        return SyncResult("failed", findings=[sync_failure(exc, client, WORKFLOW)], detail=str(exc))
    finally:
        store.release_lock(SYNC_LOCK, owner)


def _too_wide(allowlists: Iterable[Allowlist], portal_url: str) -> list[Finding]:
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


def run(context: RunContext, settings: AllowlistSettings) -> RunOutcome:
    allowlists = {a.user_id: a for a in AllowlistStore(context.store).all()}
    sightings, scanned = check_logins(context.scan.login_events(), matchers(allowlists.values()))
    responder = ViolationResponse(context, settings)
    since = context.plan.cursor_before
    portal_url = context.client.portal_url
    findings: list[Finding] = [*_too_wide(allowlists.values(), portal_url)]
    newest = newest_offences(sightings)
    for sighting in sorted(sightings, key=lambda s: (s.kind, s.user_id, s.ip)):
        finding = sighting_finding(sighting, portal_url, allowlists.get(sighting.user_id))
        fresh = since is None or sighting.latest.date > since  # older ones were acted on
        if sighting.kind == "ip_not_allowed" and fresh:
            offence = newest[sighting.user_id]
            offending = sighting_finding(offence, portal_url, allowlists.get(offence.user_id))
            finding = staged(finding, responder.respond(offence, offending.fingerprint))
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


# -- registration -------------------------------------------------------------------------------


class Registration(NamedTuple):
    user_id: str | None
    email: str | None
    operation: str
    entries: tuple[AllowEntry, ...]
    updated_by: str


def parse_registration(event: Any, *, default_by: str = "invoke") -> Registration:
    """A record sent directly or as an EventBridge event's ``detail``. Every problem is
    collected, so the error names them all at once."""
    by = default_by
    if isinstance(event, Mapping) and "detail" in event and "detail-type" in event:
        by = f"eventbridge:{event.get('source') or '?'}"
        event = event["detail"]
    if not isinstance(event, Mapping):
        raise InvalidAllowlist(["the record must be a JSON object"], subject="registration")
    problems: list[str] = []
    user_id = event.get("userId")
    if user_id is not None:
        try:
            user_id = guid(user_id)
        except ValueError as exc:
            problems.append(str(exc))
    email = event.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        problems.append(f"email must be an email address, got {email!r}")
        email = None
    if user_id is None and not email and not any("userId" in p for p in problems):
        problems.append("userId or email is required")
    operation = event.get("operation", "replace")
    if operation not in OPERATIONS:
        problems.append(f"operation must be one of {', '.join(OPERATIONS)}, got {operation!r}")
    entries: tuple[AllowEntry, ...] = ()
    raw = event.get("allowedIps")
    try:
        # Entries to remove may be as wide as they like: removing one narrows the list.
        entries = parse_entries(raw, bounded=operation != "remove")
    except InvalidAllowlist as exc:
        problems.extend(exc.problems)
    else:
        if not entries:
            problems.append(
                "allowedIps is empty (to stop checking a user, remove their entries)"
                if operation != "remove"
                else "allowedIps names nothing to remove"
            )
    if problems:
        raise InvalidAllowlist(problems, subject="registration")
    updated_by = event.get("updatedBy")
    if isinstance(updated_by, str) and updated_by.strip():
        by = f"{by}:{updated_by.strip()[:100]}"
    return Registration(
        user_id=user_id,
        email=email.strip().lower() if isinstance(email, str) else None,
        operation=str(operation),
        entries=entries,
        updated_by=by,
    )


def resolve_user(client: DocSpaceClient, registration: Registration) -> tuple[str, str | None]:
    """The portal user the record is about: by id (checked), or by an email that names exactly
    one user."""
    if registration.user_id is not None:
        try:
            user = client.user(registration.user_id)
        except NotFound:
            raise InvalidAllowlist(
                [f"userId {registration.user_id} is not a user of this portal"],
                subject="registration",
            ) from None
        email = (user.email or "").lower() or None
        if registration.email and email and registration.email != email:
            raise InvalidAllowlist(
                [f"email {registration.email} does not belong to user {user.id} ({email})"],
                subject="registration",
            )
        return user.id.lower(), email or registration.email
    assert registration.email is not None
    users = client.users_by_email(registration.email)
    if len(users) != 1:
        found = "no portal user" if not users else f"{len(users)} portal users"
        raise InvalidAllowlist(
            [f"email {registration.email} matches {found}; send the userId"],
            subject="registration",
        )
    return users[0].id.lower(), registration.email


class Change(NamedTuple):
    user_id: str
    email: str | None
    operation: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    updated_by: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_dict(self, max_expanded: int) -> dict[str, Any]:
        large = [e for e in self.after if parse_entry(e).size > max_expanded]
        return {
            "userId": self.user_id,
            "email": self.email,
            "operation": self.operation,
            "entries": list(self.after),
            "added": [e for e in self.after if e not in self.before],
            "removed": [e for e in self.before if e not in self.after],
            "changed": self.changed,
            "updatedBy": self.updated_by,
            # Matched at login, but too large to put on the portal as single addresses.
            "monitoredOnly": large,
        }


def expansion_problems(entries: Iterable[str], max_expanded: int) -> list[str]:
    """Why a list would put too many addresses on the portal's list, if it would."""
    size = expanded_size(entries, max_expanded)
    if size <= MAX_ALLOWLIST_EXPANDED:
        return []
    return [
        f"the entries of at most {max_expanded} addresses (MAX_EXPANDED_RANGE) add up to "
        f"{size:,} addresses, and one allowlist may put at most {MAX_ALLOWLIST_EXPANDED:,} on "
        "the portal's list (it holds single addresses); list fewer networks, or larger ones "
        "(those are checked at login only)"
    ]


def store_registration(
    store: StateStore,
    user_id: str,
    email: str | None,
    registration: Registration,
    *,
    max_expanded: int = SyncSettings().max_expanded,
) -> Change:
    """Apply the operation to the stored list (conditional writes, re-read on a race)."""
    records = AllowlistStore(store)
    for _attempt in range(3):
        current = records.get(user_id)
        before = current.entries if current else ()
        after = apply_operation(before, registration.operation, registration.entries)
        change = Change(
            user_id, email, registration.operation, before, after, registration.updated_by
        )
        if not change.changed:
            return change
        wide = (
            breadth_problems(after) or expansion_problems(after, max_expanded)
            if registration.operation != "remove"
            else []
        )
        if wide:
            # The record's own entries passed; together with the stored ones they do not.
            raise InvalidAllowlist(wide, subject=f"registration for {user_id}")
        try:
            if after:
                records.save(
                    user_id,
                    after,
                    email=email or (current.email if current else None),
                    updated_by=registration.updated_by,
                    expected_version=current.version if current else 0,
                )
            elif current is not None:
                records.delete(user_id, expected_version=current.version)
        except AllowlistConflict:
            continue
        return change
    raise AllowlistConflict(f"the allowlist of {user_id} kept changing; try again")


Publish = Callable[[list[Finding]], Any]


def register(
    event: Any,
    *,
    client: DocSpaceClient,
    store: StateStore,
    sync_settings: SyncSettings,
    owner: str,
    publish: Publish | None = None,
    default_by: str = "invoke",
) -> dict[str, Any]:
    """Validate, store, and sync one registration; the answer for the caller.

    Registration needs only the sync settings: a bad ``ON_VIOLATION`` or response setting
    must not block onboarding (the scheduled check reports it).
    """
    registration = parse_registration(event, default_by=default_by)
    user_id, email = resolve_user(client, registration)
    change = store_registration(
        store, user_id, email, registration, max_expanded=sync_settings.max_expanded
    )
    answer = change.to_dict(sync_settings.max_expanded)
    sync = SyncResult("unchanged")
    if change.changed:
        sync = sync_locked(client, store, sync_settings, owner)
        if sync.findings and publish is not None:
            publish(sync.findings)
    answer["portalSync"] = {"mode": sync_settings.mode, **sync.to_dict()}
    return answer


def registration_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler for registrations, with the same logging and metrics as runs."""
    from aws_lambda_powertools.metrics import MetricUnit

    from ...docspace.settings import ClientSettings
    from ...runtime import handler as shared
    from ...runtime.runner import Runner, RunSettings

    @shared.logger.inject_lambda_context(clear_state=True)
    @shared.metrics.log_metrics(capture_cold_start_metric=True)
    def register_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        shared.logger.append_keys(workflow=WORKFLOW)
        shared.set_workflow_dimension(WORKFLOW)
        # Registration needs only the sync settings of its own (see ``register``); all are
        # checked before the first AWS call, the API key's read last.
        entry = shared.read_settings(SyncSettings)
        run_settings, sync_settings = entry.run, entry.workflow
        store = shared.state_store(run_settings.state_table)
        owner = f"register@{getattr(context, 'aws_request_id', None) or utcnow().isoformat()}"
        remaining = shared.remaining_time_of(context)
        with DocSpaceClient(entry.client(), remaining_time=remaining) as client:
            runner = Runner(
                WORKFLOW,
                run_settings,
                client=client,
                store=store,
                publisher=shared.finding_publisher(run_settings.topic_arn),
            )
            try:
                answer = register(
                    event,
                    client=client,
                    store=store,
                    sync_settings=sync_settings,
                    owner=owner,
                    publish=lambda findings: runner.publish(findings, owner),
                )
            except InvalidAllowlist as exc:
                shared.metrics.add_metric(
                    name="RegistrationsRejected", unit=MetricUnit.Count, value=1
                )
                shared.logger.warning("registration rejected", extra={"problems": exc.problems})
                raise
        shared.metrics.add_metric(name="RegistrationsStored", unit=MetricUnit.Count, value=1)
        shared.logger.info("registration stored", extra={"registration": answer})
        return answer

    # The settings classes it reads (tests derive the environment it needs from them).
    register_handler.settings_classes = (
        RunSettings,
        ClientSettings,
        SyncSettings,
    )
    return register_handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped
