"""One run of a workflow, with its exactly-once and never-lose-events rules in one place.

1. Parse the invocation; its run key is schedule ARN + scheduled time.
2. Claim the run key (a completed key returns its stored summary and does nothing; a key held
   by a live invocation returns "busy") and the workflow's lock (one run at a time, so two
   overlapping runs never count the same events twice).
3. Plan the window from the cursor (or take the one the workflow declares, ``WindowOf``: it
   moves no cursor), let the workflow scan and detect: one scan per run.
4. Publish each finding unless a suppression rule names it (``findings.suppression``: the
   rules are read once per run, and the run's gate refuses to act on what they name) or its
   fingerprint was published within the suppression period (a claim in DynamoDB, then the
   publish, then the record).
5. Only then move the cursor, to the end of the last slice read whole, conditionally on it not
   having moved meanwhile. Any failure before this point leaves the cursor where it was, and
   the retry re-reads the same events without re-publishing what was already published.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from ..docspace.client import DocSpaceClient
from ..docspace.dates import format_utc
from ..findings.exports import ExportSettings
from ..findings.finding import Finding
from ..findings.publisher import FindingPublisher
from ..findings.routing import quiet_period
from ..findings.suppression import Rules, Subject
from ..state import keys as state_keys
from ..state.store import Cursor, StateStore
from .env import Env, env_float, env_int, env_required
from .invocation import Invocation, parse_invocation
from .scan import ScanPlan, SliceScan, plan_scan, trusted_cursor

log = logging.getLogger(__name__)

RUN_RECORD_DAYS = 14


@dataclass(frozen=True)
class RunSettings:
    """Settings every scanning workflow shares."""

    # The environment variables ``from_env`` reads.
    STATE_TABLE: ClassVar[str] = "STATE_TABLE"
    FINDINGS_TOPIC_ARN: ClassVar[str] = "FINDINGS_TOPIC_ARN"
    SCAN_LAG_MINUTES: ClassVar[str] = "SCAN_LAG_MINUTES"
    INITIAL_LOOKBACK_HOURS: ClassVar[str] = "INITIAL_LOOKBACK_HOURS"
    MAX_SCAN_HOURS: ClassVar[str] = "MAX_SCAN_HOURS"
    SCAN_SLICE_MINUTES: ClassVar[str] = "SCAN_SLICE_MINUTES"
    SCAN_SLICE_EVENTS: ClassVar[str] = "SCAN_SLICE_EVENTS"
    SUPPRESSION_HOURS: ClassVar[str] = "SUPPRESSION_HOURS"
    TIME_RESERVE_SECONDS: ClassVar[str] = "TIME_RESERVE_SECONDS"
    SCAN_CONCURRENCY: ClassVar[str] = "SCAN_CONCURRENCY"

    state_table: str
    topic_arn: str
    lag: timedelta = timedelta(minutes=15)
    initial_lookback: timedelta = timedelta(hours=24)
    max_span: timedelta = timedelta(days=7)
    slice_size: timedelta = timedelta(hours=1)
    slice_events: int = 2000
    suppression: timedelta = timedelta(hours=24)
    reserve_seconds: float = 60.0
    concurrency: int = 4
    #: Security Hub and EventBridge (``findings.exports``): off unless set.
    exports: ExportSettings = ExportSettings()  # noqa: RUF009 - frozen, shared safely

    @classmethod
    def from_env(cls, env: Env | None = None) -> RunSettings:
        return cls(
            state_table=env_required(
                cls.STATE_TABLE, env=env, hint="the DynamoDB state table name"
            ),
            topic_arn=env_required(
                cls.FINDINGS_TOPIC_ARN, env=env, hint="the SNS topic for findings"
            ),
            lag=timedelta(
                minutes=env_int(cls.SCAN_LAG_MINUTES, 15, minimum=0, maximum=1440, env=env)
            ),
            initial_lookback=timedelta(
                hours=env_int(cls.INITIAL_LOOKBACK_HOURS, 24, minimum=1, maximum=24 * 180, env=env)
            ),
            max_span=timedelta(
                hours=env_int(cls.MAX_SCAN_HOURS, 168, minimum=1, maximum=24 * 180, env=env)
            ),
            slice_size=timedelta(
                minutes=env_int(cls.SCAN_SLICE_MINUTES, 60, minimum=1, maximum=1440, env=env)
            ),
            # SCAN_CONCURRENCY slices are held at once (about 1 KB an event) and each is read
            # whole within the time reserve: the cap keeps both modest.
            slice_events=env_int(cls.SCAN_SLICE_EVENTS, 2000, minimum=100, maximum=20_000, env=env),
            suppression=timedelta(
                hours=env_int(cls.SUPPRESSION_HOURS, 24, minimum=0, maximum=24 * 90, env=env)
            ),
            reserve_seconds=env_float(
                cls.TIME_RESERVE_SECONDS, 60.0, minimum=0, maximum=600, env=env
            ),
            concurrency=env_int(cls.SCAN_CONCURRENCY, 4, minimum=1, maximum=32, env=env),
            exports=ExportSettings.from_env(env),
        )


@dataclass
class RunContext:
    """What a workflow's ``run`` function gets."""

    workflow: str
    invocation: Invocation
    plan: ScanPlan
    scan: SliceScan
    client: DocSpaceClient
    store: StateStore
    settings: RunSettings
    now: datetime
    #: Publish a finding now, under the same once-per-suppression-period rule as the findings a
    #: run returns; True when it was published (for effects that must follow a publish).
    publish: Callable[[Finding], bool] = lambda finding: False
    #: The suppression rules in force for this run (read once): give them to the ``Gate``.
    rules: Rules | None = None


@dataclass
class RunOutcome:
    """What a workflow's ``run`` function returns."""

    findings: list[Finding] = field(default_factory=list)
    events_scanned: int = 0
    events_skipped: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    #: For query-style invocations: returned to the caller instead of a run summary.
    result: Any = None
    #: False for runs that read nothing incrementally (queries): the cursor stays.
    advances_cursor: bool = True


Work = Callable[[RunContext], RunOutcome]
#: A workflow that reads its own window rather than the cursor's (inactive members: the last
#: ``PERIOD_DAYS``) declares it as a function of the invocation; the runner plans that one scan.
WindowOf = Callable[[Invocation], tuple[datetime, datetime]]


class Runner:
    def __init__(
        self,
        workflow: str,
        settings: RunSettings,
        *,
        client: DocSpaceClient,
        store: StateStore,
        publisher: FindingPublisher,
        remaining_time: Callable[[], float] | None = None,
        scope: str = "default",
    ) -> None:
        self.workflow = workflow
        self.settings = settings
        self.client = client
        self.store = store
        self.publisher = publisher
        self.remaining_time = remaining_time
        self.scope = scope
        #: The suppression rules, read once (at the start of a run, else at the first publish).
        self.rules = Rules(store, workflow)
        self.suppressed_by_rule = 0
        #: Follow-ups not published because the finding they follow was closed (the CLI).
        self.closed_follow_ups = 0

    def _lease(self) -> timedelta:
        seconds = self.remaining_time() if self.remaining_time else 900.0
        return timedelta(seconds=seconds + 60)

    def run(self, event: Any, work: Work, window: WindowOf | None = None) -> dict[str, Any]:
        now = self.store.now()
        invocation = parse_invocation(event, now)
        keep = timedelta(days=RUN_RECORD_DAYS)
        claim = self.store.claim_run(self.workflow, invocation.run_key, self._lease(), keep)
        if claim.state == "done":
            log.info("run %s already completed: nothing to do", invocation.run_key)
            return {
                "workflow": self.workflow,
                "runKey": invocation.run_key,
                "source": invocation.source,
                "status": "duplicate",
                "findingsPublished": 0,
                "firstRun": claim.summary or {},
            }
        if claim.state == "busy":
            log.warning(
                "run %s is in progress elsewhere: not starting it twice", invocation.run_key
            )
            return self._busy(invocation)
        if not self.store.acquire_lock(self.workflow, invocation.run_key, self._lease()):
            self.store.fail_run(self.workflow, invocation.run_key, keep)
            log.warning(
                "another %s run holds the lock: skipping (the next run catches up)", self.workflow
            )
            return self._busy(invocation)
        try:
            summary = self._run_locked(invocation, now, work, window)
        except BaseException:
            self.store.fail_run(self.workflow, invocation.run_key, keep)
            raise
        finally:
            self.store.release_lock(self.workflow, invocation.run_key)
        self.store.finish_run(self.workflow, invocation.run_key, summary, keep)
        return summary

    def _busy(self, invocation: Invocation) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "runKey": invocation.run_key,
            "source": invocation.source,
            "status": "busy",
        }

    def _run_locked(
        self, invocation: Invocation, now: datetime, work: Work, window: WindowOf | None
    ) -> dict[str, Any]:
        cursor: Cursor | None = self.store.get_cursor(self.workflow, self.scope)
        if window is not None:
            plan = ScanPlan(*window(invocation), cursor.position if cursor else None, False)
        else:
            plan = plan_scan(
                invocation,
                trusted_cursor(cursor, now),
                lag=self.settings.lag,
                initial_lookback=self.settings.initial_lookback,
                max_span=self.settings.max_span,
            )
        scan = SliceScan(
            self.client,
            plan,
            slice_size=self.settings.slice_size,
            slice_events=self.settings.slice_events,
            remaining_time=self.remaining_time,
            reserve_seconds=self.settings.reserve_seconds,
            concurrency=self.settings.concurrency,
        )
        self.rules.load()  # one Query, before the workflow acts or publishes
        early = {"published": 0, "suppressed": 0}

        def publish_now(finding: Finding) -> bool:
            done, held = self.publish([finding], invocation.run_key)
            early["published"] += done
            # a rule's hit and a closed finding's follow-up are counted by ``publish``
            early["suppressed"] += held
            return bool(done)

        context = RunContext(
            self.workflow,
            invocation,
            plan,
            scan,
            self.client,
            self.store,
            self.settings,
            now,
            publish_now,
            self.rules,
        )
        outcome = work(context)
        published, suppressed = self.publish(outcome.findings, invocation.run_key)
        published += early["published"]
        suppressed += early["suppressed"]
        cursor_after = cursor.position if cursor else None
        reached = scan.completed_until
        if plan.moves_cursor and outcome.advances_cursor and reached is not None:
            # The store moves it only forward (or back from a position past now), and never past
            # the real now, whatever the invocation said.
            moved = self.store.commit_cursor(
                self.workflow,
                reached,
                expected=cursor.position if cursor else None,
                run_key=invocation.run_key,
                scope=self.scope,
            )
            cursor_after = moved or cursor_after
        summary: dict[str, Any] = {
            "workflow": self.workflow,
            "runKey": invocation.run_key,
            "source": invocation.source,
            "status": "partial" if scan.stopped_early else "completed",
            "window": {"from": format_utc(plan.start), "to": format_utc(plan.end)},
            "eventsScanned": outcome.events_scanned,
            "eventsSkipped": outcome.events_skipped + scan.stats.malformed,
            "findingsPublished": published,
            "findingsSuppressed": suppressed,
            "findingsSuppressedByRule": self.suppressed_by_rule,
            "followUpsOfClosed": self.closed_follow_ups,
            "apiCalls": self.client.requests_sent,
            "cursorBefore": format_utc(cursor.position) if cursor else None,
            "cursorAfter": format_utc(cursor_after) if cursor_after else None,
            **outcome.details,
        }
        if outcome.result is not None:
            summary["result"] = outcome.result
        return summary

    def publish(self, findings: list[Finding], owner: str) -> tuple[int, int]:
        """Publish each finding once per suppression period. A failed publish raises (after
        dropping its claim), so the run fails and its cursor stays. Once the message is out,
        failing the run would make its retry send it again: the record is tried a few times,
        then only logged."""
        published = suppressed = 0
        for finding in findings:
            if self._kept_back(finding) or self._follows_closed(finding):
                continue
            period = quiet_period(finding, max(self.settings.suppression, timedelta(minutes=1)))
            until = self.store.now() + period
            done = self.store.once(
                [state_keys.sent(self.workflow, finding.fingerprint)],
                owner,
                self._publisher_of(finding),
                until=until,
                confirm_attempts=3,
            )
            if done.claimed:
                published += 1
            else:
                suppressed += 1
        return published, suppressed

    def _kept_back(self, finding: Finding) -> bool:
        """True when a suppression rule names ``finding``: not published, counted
        (``findingsSuppressedByRule``) and recorded as the rule's hit. A failed lift is never
        kept back (``ALWAYS_FOLLOWED``): it leaves a user disabled."""
        if finding.kind in self.ALWAYS_FOLLOWED:
            return False
        rule = self.rules.match(Subject.of(finding))
        if rule is None:
            return False
        self.rules.hit(finding, rule)
        self.suppressed_by_rule += 1
        return True

    #: Follow-ups that are news even after their finding was closed or a rule silences its
    #: user: a lift that failed leaves the user disabled (a false positive's victim most of
    #: all), so it is always said.
    ALWAYS_FOLLOWED = frozenset({"restriction_failed"})

    def _follows_closed(self, finding: Finding) -> bool:
        """A follow-up of a finding an operator closed: not published, but counted and logged."""
        if finding.follows is None or finding.kind in self.ALWAYS_FOLLOWED:
            return False
        from ..findings.closures import closure_of
        from ..state.errors import StateError

        try:
            closure = closure_of(self.store, finding.follows.id)
        except StateError as exc:
            # A follow-up of a closed finding is noise; a run failing on every retry is worse
            # (e.g. a function not granted the record): publish it, and say why.
            log.warning(
                "could not read whether %s is closed (%s): publishing its follow-up %s",
                finding.follows.id,
                exc,
                finding.fingerprint,
            )
            return False
        if closure is None:
            return False
        self.closed_follow_ups += 1
        log.info(
            "not publishing %s (%s): it follows %s, closed as %s by %s at %s",
            finding.fingerprint,
            finding.kind,
            finding.follows.id,
            closure.reason,
            closure.by,
            closure.at,
        )
        return True

    def _publisher_of(self, finding: Finding) -> Callable[[object], dict[str, str]]:
        return lambda _claimed: {"messageId": self.publisher.publish(finding)}
