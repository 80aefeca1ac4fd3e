"""Enforcement: the one gate before every portal action.

Every action on a user (the bulk guard's disable, the IP allowlist's log-out or restrict, the
real-time guard's tomorrow) is an ``ActionRequest`` — a user id, when the behaviour acted on
was last seen, the finding's fingerprint, an action kind — put to the run's ``Gate``. The gate
asks one pure function, ``refusal``, for the reason not to act (``None``: go). The rules:

* Never act on a finding a suppression rule names (``findings.suppression``: the request's
  ``subject``, its finding's workflow, kind, user and room, against the run's rules): checked
  first, with no portal read, and reported ``skipped`` "suppressed by rule <id> (<reason>)".
* ``MODE`` is ``dry-run`` unless set to ``enforce``: a dry run reports what would be done. It is
  the last check, so a dry run also reports every refusal enforce would meet.
* Never touch the portal owner, DocSpace admins, the API key's own user, LDAP or SSO users
  (unless allowed), or any id in ``PROTECTED_USER_IDS`` — checked against ``GET /people/{id}``
  at the time of the action, not a stale list. A user that no longer exists is left alone.
* At most ``MAX_RESTRICTIONS_PER_RUN`` actions of a kind per run (proposals count too, so a dry
  run shows what enforce would do); past the cap the finding says so.
* One user per ``PUT /people/status/2`` call (the call is all-or-nothing), recorded before the
  call and confirmed after it, so a crash is finished by the next run and never repeated.
* A log-out is taken once per piece of evidence (the offending login): its once-record
  (``state_keys.logout``) is claimed right before the call and confirmed ``done`` or ``failed``
  after it, never released, since a timeout may have ended the sessions. A retry of the same
  run reports what it did (a claim it left unconfirmed: ``failed``, not repeated); a later run
  reports it skipped. The record is read only once every check above let the log-out through.
* A user already restricted by us is not restricted twice, and a finding already acted on is not
  acted on again (a lifted or refused restriction is not imposed a second time); a user an
  administrator disabled is never touched, nor one who has not activated the account.
* Only on recent evidence: what the action answers (a burst's last change, a login) must lie
  within ``SUPPRESSION_HOURS`` (at least ``ACT_WITHIN_FLOOR``) of now, by the wall clock. An
  on-demand re-scan of old days, or a scheduled run catching up a long backlog, reports what
  it finds but does not act on it: the moment to contain it has passed, and a burst from weeks
  of dry run must not disable anyone the day ``MODE`` becomes ``enforce``.

The order of the checks is ``ORDER``, per action kind. The gate reads what a check needs (the
user, the key's own user, the restriction record) only when that check is reached, so a stale
log-out asks the portal nothing and an owner's id never costs a ``GET /people/@self``.

Seeing a finding and acting on it are two reports: ``staged`` gives a finding the dedup part
that says which (``acted`` when the action was done or failed, else ``observed``), so a dry
run's report does not suppress the later enforce run's one, and repeats of either stay quiet.

Beside it, ``disabling`` moves a restriction record through its states with the portal calls
that go with them: the gate's disable, the release's lift and reconcile. (Some 460 lines: the
rules, their settings, the pure check and the gate that feeds it are read together.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from enum import Enum
from functools import cached_property
from typing import Any, NamedTuple, Protocol

from ..docspace.client import DocSpaceClient, guid
from ..docspace.errors import DocSpaceError, NotFound
from ..docspace.models import STATUS_PENDING, STATUS_TERMINATED, User
from ..findings.finding import ActionTaken, Finding
from ..findings.suppression import Rules, Subject, suppressed_detail
from ..runtime.env import Env, env_bool, env_choice, env_int, env_list
from ..runtime.errors import ConfigError
from ..state import journal
from ..state import keys as state_keys
from ..state.journal import OwnActions
from ..state.restrictions import Restriction, RestrictionStore
from . import disabling

log = logging.getLogger(__name__)

DISABLE = "disable_user"
LOGOUT = "logout_user"
MODES = ("dry-run", "enforce")
#: The shortest recency bound, whatever ``SUPPRESSION_HOURS`` says (0 there means "publish
#: every time", not "never act").
ACT_WITHIN_FLOOR = timedelta(hours=1)
#: Action statuses that count as having acted on a finding.
ACTED = frozenset({"done", "failed"})
OBSERVED = "observed"
ACTED_STAGE = "acted"
#: How long a claimed log-out is another run's before anyone may take it over.
LOGOUT_LEASE = timedelta(minutes=15)
#: A log-out's once-record outlives the time its evidence may be acted on by this much.
LOGOUT_KEEP_MARGIN = timedelta(hours=1)


class _ResponseValues(NamedTuple):
    mode: str = "dry-run"
    protected_ids: frozenset[str] = frozenset()
    max_per_run: int = 3
    duration: timedelta = timedelta(minutes=60)
    protect_ldap: bool = True
    protect_sso: bool = True
    #: Act only on evidence at most this old (``SUPPRESSION_HOURS``, at least an hour): the
    #: period in which a finding counts as news is the period in which it may be acted on.
    act_within: timedelta = timedelta(hours=24)

    @property
    def enforce(self) -> bool:
        return self.mode == "enforce"


class ResponseSettings(_ResponseValues):
    """How portal actions are taken (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    MODE = "MODE"
    PROTECTED_USER_IDS = "PROTECTED_USER_IDS"
    MAX_RESTRICTIONS_PER_RUN = "MAX_RESTRICTIONS_PER_RUN"
    RESTRICTION_MINUTES = "RESTRICTION_MINUTES"
    PROTECT_LDAP_USERS = "PROTECT_LDAP_USERS"
    PROTECT_SSO_USERS = "PROTECT_SSO_USERS"
    SUPPRESSION_HOURS = "SUPPRESSION_HOURS"  # the run's suppression period (RunSettings)

    @classmethod
    def from_env(cls, env: Env | None = None, *, mode_variable: str = MODE) -> ResponseSettings:
        ids = env_list(cls.PROTECTED_USER_IDS, env=env)
        try:
            protected = frozenset(guid(i, cls.PROTECTED_USER_IDS) for i in ids)
        except ValueError as exc:
            raise ConfigError(cls.PROTECTED_USER_IDS, str(exc)) from None
        return cls(
            mode=env_choice(mode_variable, "dry-run", MODES, env=env),
            protected_ids=protected,
            max_per_run=env_int(cls.MAX_RESTRICTIONS_PER_RUN, 3, minimum=0, maximum=100, env=env),
            duration=timedelta(
                minutes=env_int(
                    cls.RESTRICTION_MINUTES, 60, minimum=1, maximum=60 * 24 * 90, env=env
                )
            ),
            protect_ldap=env_bool(cls.PROTECT_LDAP_USERS, True, env=env),
            protect_sso=env_bool(cls.PROTECT_SSO_USERS, True, env=env),
            act_within=max(
                ACT_WITHIN_FLOOR,
                timedelta(
                    hours=env_int(cls.SUPPRESSION_HOURS, 24, minimum=0, maximum=24 * 90, env=env)
                ),
            ),
        )


# -- the pure check -----------------------------------------------------------------------------


class Why(Enum):
    """Every reason the gate gives not to act (``DRY_RUN``: only propose; ``DONE``: this very
    run did it before failing, so its retried finding says so)."""

    GONE = "gone"
    PROTECTED = "protected"
    HELD = "held"
    DONE = "done_by_this_run"
    TRIED = "tried_by_this_run"  # a log-out this run attempted: failed, or its outcome unknown
    ACTED_ON = "acted_on_evidence"  # a log-out another run took on the same evidence
    SAME_FINDING = "same_finding"
    STALE = "stale"
    ADMIN_DISABLED = "admin_disabled"
    PENDING = "pending"
    CAP = "cap"
    DRY_RUN = "dry_run"


class Refusal(NamedTuple):
    why: Why
    detail: str

    @property
    def status(self) -> str:
        """The ``ActionTaken`` status that reports it."""
        return {Why.DRY_RUN: "proposed", Why.DONE: "done", Why.TRIED: "failed"}.get(
            self.why, "skipped"
        )

    @property
    def counts(self) -> bool:
        """Whether it counts toward the cap like an action would."""
        return self.why in (Why.DRY_RUN, Why.DONE, Why.TRIED)


class ActionRequest(NamedTuple):
    """What a workflow (or a webhook consumer) asks the gate to do."""

    kind: str  # DISABLE | LOGOUT
    user_id: str
    evidence_at: datetime  # when the behaviour acted on was last seen
    finding_id: str  # the finding's fingerprint
    reason: str = ""  # recorded with a restriction
    #: What identifies the evidence (a log-out's offending login id): one log-out per id.
    evidence_id: str = ""
    #: The finding's identity, for the suppression rules (``Subject.of(finding)``); without it
    #: the gate matches the rules on its workflow and the user only (a rule naming a kind or a
    #: room then does not match).
    subject: Subject | None = None
    #: The finding's title as follow-ups name it ("[HIGH] ..."), recorded with a restriction.
    finding_title: str = ""

    @property
    def once_key(self) -> state_keys.Key:
        """The key of a log-out's once-record (evidence without an id: its time)."""
        evidence = self.evidence_id or self.evidence_at.isoformat()
        return state_keys.logout(self.user_id.lower(), evidence)


class Target(Protocol):
    """What the check knows of the target; ``Facts`` as plain data, or read lazily by ``Gate``."""

    @property
    def user(self) -> User | None: ...  # as read from the portal now; None: it is gone (404)
    @property
    def key_user_id(self) -> str: ...  # the API key's own user
    @property
    def record(self) -> Restriction | None: ...  # our restriction record of the user
    @property
    def owner(self) -> str: ...  # this run's key
    @property
    def acted(self) -> int: ...  # actions of this kind this run so far (the cap)
    @property
    def now(self) -> datetime: ...


class Facts(NamedTuple):
    now: datetime
    user: User | None = None
    key_user_id: str = ""
    record: Restriction | None = None
    owner: str = ""
    acted: int = 0


#: The checks, in the order they are made, per action kind. A log-out asks about recency first
#: (it needs no portal read) and does not look at restriction records.
ORDER: dict[str, tuple[Why, ...]] = {
    DISABLE: (
        Why.GONE,
        Why.PROTECTED,
        Why.HELD,
        Why.SAME_FINDING,
        Why.STALE,
        Why.ADMIN_DISABLED,
        Why.PENDING,
        Why.CAP,
        Why.DRY_RUN,
    ),
    LOGOUT: (Why.STALE, Why.GONE, Why.PROTECTED, Why.CAP, Why.DRY_RUN),
}


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 2 else f"{delta.total_seconds() / 60:.0f} min"


def stale(evidence_at: datetime, now: datetime, settings: ResponseSettings) -> str | None:
    """Why evidence from ``evidence_at`` is too old to act on ``now``, or ``None``."""
    age = now - evidence_at
    if age <= settings.act_within:
        return None
    return (
        f"reported only: the evidence is {_age(age)} old, older than the "
        f"{_age(settings.act_within)} within which Sentinel acts (SUPPRESSION_HOURS)"
    )


def protection(user: User, target: Target, settings: ResponseSettings) -> str | None:
    """Why ``user`` must never be acted on, or ``None`` (the key's user is asked for last)."""
    if user.is_owner:
        return "the portal owner"
    if user.is_admin:
        return "a DocSpace admin"
    if user.id.lower() == target.key_user_id.lower():
        return "the API key's own user"
    if user.id.lower() in settings.protected_ids:
        return "listed in PROTECTED_USER_IDS"
    if user.is_ldap and settings.protect_ldap:
        return "an LDAP user"
    if user.is_sso and settings.protect_sso:
        return "an SSO user"
    return None


def _check(why: Why, request: ActionRequest, t: Target, s: ResponseSettings) -> Refusal | None:
    if why is Why.STALE:
        too_old = stale(request.evidence_at, t.now, s)
        return Refusal(why, too_old) if too_old else None
    if why is Why.CAP:
        noun = "restrictions" if request.kind == DISABLE else "actions"
        if t.acted >= s.max_per_run:
            return Refusal(why, f"the cap of {s.max_per_run} {noun} per run was reached")
        return None
    if why is Why.DRY_RUN:
        if s.enforce:
            return None
        if request.kind == DISABLE:
            return Refusal(
                why, f"dry run: would disable until {t.now + s.duration:%Y-%m-%d %H:%M} UTC"
            )
        return Refusal(why, "dry run: would end every session")
    user = t.user
    if user is None:  # every check below is about the user, and GONE comes before them all
        return Refusal(Why.GONE, "the user no longer exists") if why is Why.GONE else None
    if why is Why.PROTECTED:
        protected = protection(user, t, s)
        return Refusal(why, f"protected: {protected}") if protected else None
    if why is Why.HELD:
        record = t.record
        if record is None or not record.held:
            return None
        lift = f" until {record.lift_at:%Y-%m-%d %H:%M} UTC" if record.lift_at else ""
        if record.owner == t.owner and user.status == STATUS_TERMINATED:
            return Refusal(Why.DONE, f"disabled{lift}")
        return Refusal(why, f"already restricted by Sentinel{lift}")
    if why is Why.SAME_FINDING:
        # The same burst, seen again (a later run's overlap, an on-demand re-scan): it was
        # acted on once; a lifted or refused restriction is not imposed a second time.
        record = t.record
        if record is not None and record.finding_id == request.finding_id:
            return Refusal(why, f"already acted on this finding ({record.state})")
        return None
    if why is Why.ADMIN_DISABLED and user.status == STATUS_TERMINATED:
        return Refusal(why, "disabled by an administrator: not touched")
    if why is Why.PENDING and user.status == STATUS_PENDING:
        return Refusal(why, "the user has not activated the account")
    return None


def refusal(request: ActionRequest, target: Target, settings: ResponseSettings) -> Refusal | None:
    """The first reason, in ``ORDER``, not to take ``request`` now; ``None``: go."""
    for why in ORDER[request.kind]:
        found = _check(why, request, target, settings)
        if found is not None:
            return found
    return None


def logged_out(
    record: Mapping[str, Any] | None, owner: str, now: datetime | None = None
) -> Refusal | None:
    """Why a log-out is not taken on evidence its once-``record`` says was acted on (``owner``:
    this run's key; ``now`` tells a live claim from a lapsed one), or ``None``: go (no record)."""
    if not record:
        return None
    mine = record.get("owner") == owner
    if record.get("state") == "done":
        outcome = str(record.get("outcome") or "done")
        if not mine:
            return Refusal(Why.ACTED_ON, f"already acted on this login ({outcome})")
        if outcome == "done":  # this very run did it before failing (its publish, say)
            return Refusal(Why.DONE, "every session was ended")
        return Refusal(Why.TRIED, f"{record.get('detail') or outcome}; not repeated")
    if mine:
        # This run claimed it and stopped before recording the outcome: the sessions may have
        # ended already, and a retry must not act twice.
        return Refusal(Why.TRIED, "an earlier attempt of this run may have done it")
    # Another run's claim is never taken over while the record lives, even once its lease ran
    # out: that run may have ended the sessions before it stopped, and a log-out is not repeated.
    lease = record.get("leaseUntil")  # a Decimal, as DynamoDB numbers read back
    if now is not None and lease is not None and float(lease) < now.timestamp():
        return Refusal(Why.ACTED_ON, "an earlier run may have done it; not repeated")
    return Refusal(Why.ACTED_ON, "another run is acting on this login")


def staged(finding: Finding, action: ActionTaken | None) -> Finding:
    """``finding`` with ``action`` attached and the last dedup part saying whether this report
    acted on it or only saw it: the one place "seen" and "acted" are told apart."""
    acted = action is not None and action.status in ACTED
    finding = replace(finding, dedup=(*finding.dedup[:-1], ACTED_STAGE if acted else OBSERVED))
    return finding.with_actions(action) if action is not None else finding


# -- the gate of one run ------------------------------------------------------------------------


class _Reads:
    """A ``Target`` read on first use: what the check does not reach is never asked for."""

    def __init__(self, gate: Gate, request: ActionRequest) -> None:
        self._gate = gate
        self._user_id = request.user_id.lower()
        self.owner = gate.owner
        self.acted = gate.counts.get(request.kind, 0)
        self.now = gate.records.store.now()

    @cached_property
    def user(self) -> User | None:
        try:
            return self._gate.client.user(self._user_id)
        except NotFound:
            return None
        except ValueError:
            # Not a user id the client will send (the portal's events are not trusted to name
            # real users): nobody to act on, and never a run that fails on every retry.
            log.warning("not acting on %r: not a user id", self._user_id[:64])
            return None

    @cached_property
    def key_user_id(self) -> str:
        return self._gate.me().id

    @cached_property
    def record(self) -> Restriction | None:
        return self._gate.records.get(self._user_id)


class Gate:
    """Takes the actions of one run under the rules above. One instance per run."""

    def __init__(
        self,
        client: DocSpaceClient,
        records: RestrictionStore,
        settings: ResponseSettings,
        *,
        source: str,
        owner: str,
        rules: Rules | None = None,
    ) -> None:
        self.client = client
        self.records = records
        self.settings = settings
        self.source = source
        self.owner = owner
        #: The run's suppression rules (``RunContext.rules``); read here, once, when not given.
        self.rules = rules if rules is not None else Rules(records.store, source)
        self.counts: dict[str, int] = {}
        self._me: User | None = None

    def me(self) -> User:
        if self._me is None:
            self._me = self.client.me()
        return self._me

    def act(self, request: ActionRequest) -> ActionTaken:
        """Take ``request`` or say why not; every outcome is an ``ActionTaken`` for the finding."""
        target = request.user_id.lower()
        subject = request.subject or Subject(self.source, "", target)
        rule = self.rules.match(subject._replace(user_id=target))
        if rule is not None:
            log.info("not acting on %s: suppressed by rule %s", target, rule.id)
            return ActionTaken(request.kind, target, "skipped", suppressed_detail(rule))
        facts = _Reads(self, request)
        refused = refusal(request, facts, self.settings)
        if refused is None and request.kind == LOGOUT:
            refused = logged_out(self.records.store.get(*request.once_key), self.owner, facts.now)
        if refused is None or refused.counts:
            self.counts[request.kind] = facts.acted + 1
        if refused is not None:
            held = request.kind == DISABLE and refused.why in (Why.HELD, Why.DONE)
            if held and facts.record and facts.user:
                disabling.finish_crashed(self.records, facts.record, facts.user)
            return ActionTaken(request.kind, target, refused.status, refused.detail)
        assert facts.user is not None  # GONE is checked before go
        if request.kind == DISABLE:
            return self._disable(request, facts.user, facts.now + self.settings.duration)
        return self._logout(request, facts.now)

    def _logout(self, request: ActionRequest, now: datetime) -> ActionTaken:
        target = request.user_id.lower()
        store, key = self.records.store, request.once_key
        # Kept while the evidence could still be acted on (after that it is too old anyway).
        until = max(request.evidence_at, now) + self.settings.act_within + LOGOUT_KEEP_MARGIN
        if not store.claim(*key, self.owner, until=until, lease=LOGOUT_LEASE):
            return ActionTaken(LOGOUT, target, "skipped", "another run is acting on this login")
        OwnActions(store).record(journal.LOGOUT, target)
        try:
            self.client.logout_all(target)
        except DocSpaceError as exc:
            # Refused or unknown, it is not tried again on this evidence: a timeout may have
            # ended the sessions, and a retried run must never act twice.
            detail = f"{type(exc).__name__}: {exc.message}"
            store.confirm(*key, self.owner, until=until, outcome="failed", detail=detail)
            return ActionTaken(LOGOUT, target, "failed", detail)
        store.confirm(*key, self.owner, until=until, outcome="done")
        log.warning("logged out %s everywhere (login from outside the allowlist)", target)
        return ActionTaken(LOGOUT, target, "done", "every session was ended")

    def _disable(self, request: ActionRequest, user: User, until: datetime) -> ActionTaken:
        target = request.user_id.lower()
        if not self.records.begin(
            target,
            source=self.source,
            reason=request.reason,
            finding_id=request.finding_id,
            duration=self.settings.duration,
            user_name=user.label,
            owner=self.owner,
            finding_title=request.finding_title or None,
        ):
            return ActionTaken(DISABLE, target, "skipped", "another run is restricting this user")
        status, detail = disabling.disable(self.client, self.records, target)
        if status == "done":
            log.warning("disabled user %s until %s (%s)", target, until.isoformat(), request.reason)
            detail = f"disabled until {until:%Y-%m-%d %H:%M} UTC"
        return ActionTaken(DISABLE, target, status, detail)
