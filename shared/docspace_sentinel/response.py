"""Taking a portal action in response to a finding, safely.

Used by the bulk file-change guard and the IP allowlist's ``restrict`` mode. The rules:

* ``MODE`` is ``dry-run`` unless set to ``enforce``: a dry run reports what would be done.
* Never touch the portal owner, DocSpace admins, the API key's own user, LDAP or SSO users
  (unless allowed), or any id in ``PROTECTED_USER_IDS`` — checked against ``GET /people/{id}``
  at the time of the action, not a stale list.
* At most ``MAX_RESTRICTIONS_PER_RUN`` users per run (proposals count too, so a dry run shows
  what enforce would do); past the cap the finding says so.
* One user per ``PUT /people/status/2`` call (the call is all-or-nothing), recorded before the
  call and confirmed after it, so a crash is finished by the next run and never repeated.
* A user already restricted by us is not restricted twice; a user an administrator disabled is
  never touched.
* Only on recent evidence: what the action answers (a burst's last change, a login) must lie
  within ``SUPPRESSION_HOURS`` (at least ``ACT_WITHIN_FLOOR``) of now, by the wall clock. An
  on-demand re-scan of old days, or a scheduled run catching up a long backlog, reports what
  it finds but does not act on it: the moment to contain it has passed, and a burst from weeks
  of dry run must not disable anyone the day ``MODE`` becomes ``enforce``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from .client import DocSpaceClient, guid
from .config import Env, env_bool, env_choice, env_int, env_list
from .errors import ConfigError, DocSpaceError, Forbidden, NotFound
from .findings import ActionTaken
from .models import STATUS_PENDING, STATUS_TERMINATED, User
from .restrictions import ACTIVE, FAILED, RESTRICTING, RestrictionStore
from .state import to_iso

log = logging.getLogger(__name__)

DISABLE = "disable_user"
MODES = ("dry-run", "enforce")
#: The shortest recency bound, whatever ``SUPPRESSION_HOURS`` says (0 there means "publish
#: every time", not "never act").
ACT_WITHIN_FLOOR = timedelta(hours=1)


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


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 2 else f"{delta.total_seconds() / 60:.0f} min"


class Restrictor:
    """Disables users temporarily, under the rules above. One instance per run."""

    def __init__(
        self,
        client: DocSpaceClient,
        records: RestrictionStore,
        settings: ResponseSettings,
        *,
        source: str,
        owner: str,
    ) -> None:
        self.client = client
        self.records = records
        self.settings = settings
        self.source = source
        self.owner = owner
        self.attempts = 0
        self._me: User | None = None

    def me(self) -> User:
        if self._me is None:
            self._me = self.client.me()
        return self._me

    def protection(self, user: User) -> str | None:
        """Why ``user`` must never be restricted, or ``None``."""
        if user.is_owner:
            return "the portal owner"
        if user.is_admin:
            return "a DocSpace admin"
        if user.id.lower() == self.me().id.lower():
            return "the API key's own user"
        if user.id.lower() in self.settings.protected_ids:
            return "listed in PROTECTED_USER_IDS"
        if user.is_ldap and self.settings.protect_ldap:
            return "an LDAP user"
        if user.is_sso and self.settings.protect_sso:
            return "an SSO user"
        return None

    def stale(self, evidence_at: datetime) -> str | None:
        """Why evidence from ``evidence_at`` is too old to act on now, or ``None``."""
        age = self.records.store.now() - evidence_at
        if age <= self.settings.act_within:
            return None
        return (
            f"reported only: the evidence is {_age(age)} old, older than the "
            f"{_age(self.settings.act_within)} within which Sentinel acts (SUPPRESSION_HOURS)"
        )

    def restrict(
        self, user_id: str, *, reason: str, finding_id: str, evidence_at: datetime
    ) -> ActionTaken:
        """Disable ``user_id`` for the configured duration, or say why not. ``evidence_at`` is
        when the behaviour acted on was last seen (see ``stale``)."""
        target = user_id.lower()
        until = self.records.store.now() + self.settings.duration
        try:
            user = self.client.user(target)
        except NotFound:
            return ActionTaken(DISABLE, target, "skipped", "the user no longer exists")
        protected = self.protection(user)
        if protected:
            return ActionTaken(DISABLE, target, "skipped", f"protected: {protected}")
        record = self.records.get(target)
        if record is not None and record.held:
            if record.state == RESTRICTING and user.status == STATUS_TERMINATED:
                # A crashed run's work, finished.
                self.records.transition(target, RESTRICTING, ACTIVE)
            lift = f" until {record.lift_at:%Y-%m-%d %H:%M} UTC" if record.lift_at else ""
            if record.owner == self.owner and user.status == STATUS_TERMINATED:
                # This very run did it before failing (its publish failed, say): the retried
                # finding says what happened.
                self.attempts += 1
                return ActionTaken(DISABLE, target, "done", f"disabled{lift}")
            return ActionTaken(DISABLE, target, "skipped", f"already restricted by Sentinel{lift}")
        if record is not None and record.finding_id == finding_id:
            # The same burst, seen again (a later run's overlap, an on-demand re-scan): it was
            # acted on once; a lifted or refused restriction is not imposed a second time.
            return ActionTaken(
                DISABLE, target, "skipped", f"already acted on this finding ({record.state})"
            )
        too_old = self.stale(evidence_at)
        if too_old:
            return ActionTaken(DISABLE, target, "skipped", too_old)
        if user.status == STATUS_TERMINATED:
            return ActionTaken(
                DISABLE, target, "skipped", "disabled by an administrator: not touched"
            )
        if user.status == STATUS_PENDING:
            return ActionTaken(DISABLE, target, "skipped", "the user has not activated the account")
        if self.attempts >= self.settings.max_per_run:
            return ActionTaken(
                DISABLE,
                target,
                "skipped",
                f"the cap of {self.settings.max_per_run} restrictions per run was reached",
            )
        self.attempts += 1
        if not self.settings.enforce:
            return ActionTaken(
                DISABLE,
                target,
                "proposed",
                f"dry run: would disable until {until:%Y-%m-%d %H:%M} UTC",
            )
        if not self.records.begin(
            target,
            source=self.source,
            reason=reason,
            finding_id=finding_id,
            duration=self.settings.duration,
            user_name=user.label,
            owner=self.owner,
        ):
            return ActionTaken(DISABLE, target, "skipped", "another run is restricting this user")
        try:
            updated = self.client.set_user_status([target], STATUS_TERMINATED)
        except Forbidden as exc:
            # A definite refusal: nothing changed on the portal.
            self.records.transition(target, RESTRICTING, FAILED, lastError=str(exc)[:500])
            return ActionTaken(DISABLE, target, "failed", f"the portal refused: {exc.message}")
        except DocSpaceError as exc:
            # Outcome unknown (5xx, timeout): the record stays "restricting" and the release
            # function reconciles it against the user's real status on its next run.
            self.records.note_failure(target, RESTRICTING, str(exc))
            return ActionTaken(
                DISABLE,
                target,
                "failed",
                f"{type(exc).__name__}: {exc.message}; will be reconciled",
            )
        if not any(u.id.lower() == target and u.status == STATUS_TERMINATED for u in updated):
            # The answer did not confirm it: leave the record "restricting" so the release
            # reconciles it against the user's real status instead of guessing here.
            self.records.note_failure(
                target, RESTRICTING, "the answer did not show the user disabled"
            )
            return ActionTaken(
                DISABLE,
                target,
                "failed",
                "the portal did not confirm the user disabled; will be reconciled",
            )
        disabled_at = next(
            (u.terminated for u in updated if u.id.lower() == target and u.terminated), None
        )
        # When the portal stamped the disable, keep the stamp: the release lifts only a
        # disable that is still ours, not one an administrator made after re-enabling the user.
        stamp = {"terminatedAt": to_iso(disabled_at)} if disabled_at else {}
        if not self.records.transition(target, RESTRICTING, ACTIVE, **stamp):
            # The release reconciled the record as failed while this call was in flight: the
            # user is disabled, so the record must say so, or nothing would ever lift it.
            self.records.transition(target, FAILED, ACTIVE, **stamp)
        log.warning("disabled user %s until %s (%s)", target, until.isoformat(), reason)
        return ActionTaken(DISABLE, target, "done", f"disabled until {until:%Y-%m-%d %H:%M} UTC")
