"""The queue consumer: one SQS batch of verified webhook bodies (the receiver's raw bodies).

Per message: parse (an unusable body is counted and acknowledged: it would only poison the
queue), skip triggers the guard does not count, claim the delivery (``dedup``), add its entry
to the user's window (``window``), look for a window over the threshold (``rules``), and for a
burst not yet reported (one ``rtburst`` claim per burst) confirm it against the portal
(``confirm``: anyone holding the webhook secret can sign deliveries), act through the gate only
when confirmed, enrich after (bounded; before, when a suppression rule for the user names a
room), publish once (``sent#realtime_guard``) unless a suppression rule names the finding (then
the gate did not act either: ``suppressed``). A DynamoDB, portal or SNS error releases the
claims and reports the message in ``batchItemFailures``: SQS redelivers it, and the DLQ takes
it after repeated failures. Bodies are never logged (PII): only ids and triggers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from ...enforcement.gate import DISABLE, ActionRequest, Gate, staged
from ...findings.finding import ActionTaken, Finding
from ...findings.suppression import Rules, Subject
from ...state import keys as state_keys
from ...state.restrictions import RestrictionStore
from ...state.store import StateStore
from ...webhooks.delivery import Delivery, UnusableDelivery, parse_delivery
from . import findings as rt_findings
from .confirm import CONFIRMED, FORGED, confirm
from .dedup import Claim
from .rules import CHANGE, DELETE_TRIGGERS, Burst, Entry, crossing, entry_key, kind_of
from .settings import RealtimeSettings
from .window import CapCounter, WindowStore

log = logging.getLogger(__name__)

WORKFLOW = rt_findings.WORKFLOW
BURST_LEASE = timedelta(minutes=5)
#: Statuses that took (or, in a dry run, would have taken) a slot of the cap.
COUNTED = frozenset({"done", "failed", "proposed"})

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")

OUTCOMES = (
    "counted",
    "burst",
    "reported",
    "suppressed",
    "duplicate",
    "ignored",
    "unusable",
    "failed",
)


class Consumer:
    """``client`` is a callable returning the DocSpace client (built on first use: most
    deliveries need no portal call); ``publish`` sends a finding and returns its message id."""

    def __init__(
        self,
        store: StateStore,
        settings: RealtimeSettings,
        client: Callable[[], Any],
        publish: Callable[[Finding], str],
        *,
        suppression: timedelta = timedelta(hours=24),
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.publish = publish
        self.suppression = max(suppression, timedelta(minutes=1))
        self.windows = WindowStore(store)
        self.cap = CapCounter(store, settings.window, settings.response.max_per_run)
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.findings: list[Finding] = []
        #: The suppression rules, read once per batch when a burst first needs them.
        self.rules = Rules(store, WORKFLOW)

    def batch(self, event: Mapping[str, Any]) -> dict[str, Any]:
        failures: list[dict[str, str]] = []
        records = event.get("Records") if isinstance(event, Mapping) else None
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, Mapping):
                self.counts["unusable"] += 1
                continue
            message_id = str(record.get("messageId") or "")
            try:
                outcome = self.message(record, message_id)
            except Exception as exc:  # noqa: BLE001 - transient (DynamoDB, portal, SNS) or a bug: redelivered, then the DLQ
                log.warning(
                    "delivery in message %s failed (%s); SQS will redeliver it",
                    message_id,
                    type(exc).__name__,
                )
                outcome = "failed"
                if message_id:
                    failures.append({"itemIdentifier": message_id})
            self.counts[outcome] += 1
        return {"batchItemFailures": failures}

    def message(self, record: Mapping[str, Any], message_id: str) -> str:
        body = record.get("body")
        if not isinstance(body, str) or not message_id:
            return "unusable"
        try:
            delivery = parse_delivery(body, now=self.store.now())
        except UnusableDelivery as exc:
            log.info("unusable delivery in message %s: %s", message_id, exc.reason)
            return "unusable"
        if delivery.create_by is not None and not _GUID.fullmatch(delivery.create_by):
            # No user can be acted on for it: redelivering would only poison the queue.
            log.info("unusable delivery in message %s: createBy is not a GUID", message_id)
            return "unusable"
        kind = kind_of(delivery.trigger)
        if kind is None or delivery.create_by is None or delivery.entity_id is None:
            return "ignored"
        claim = Claim(self.store, delivery, message_id)
        if not claim.take():
            log.info("duplicate delivery %s (%s)", delivery.event_id, delivery.trigger)
            return "duplicate"
        try:
            outcome = self.process(delivery, kind)
        except BaseException:
            claim.release()
            raise
        claim.confirm()
        return outcome

    def process(self, delivery: Delivery, kind: str) -> str:
        assert delivery.create_by is not None and delivery.entity_id is not None
        user = delivery.create_by.lower()
        window = self.settings.window
        at = delivery.create_on
        key = entry_key(delivery.trigger, delivery.entity_id)
        self.windows.add(user, kind, Entry(at, key, delivery.trigger in DELETE_TRIGGERS), window)
        if self._reported(user, kind):
            # A burst of this user and kind is already reported and held: another crossing
            # would meet the held claim anyway, so skip reading the whole window (a flood
            # would otherwise re-read it on every delivery).
            return "burst"
        entries = self.windows.read(user, kind, at - window, at + window)
        threshold = self.settings.threshold if kind == CHANGE else self.settings.download_threshold
        burst = crossing(entries, threshold, window)
        if burst is None:
            return "counted"
        # The finding tells what is known now of the window the burst started.
        seen = tuple(sorted(e for e in set(entries) if e.at - burst.start <= window))
        return self.burst(user, kind, burst._replace(entries=seen))

    def _reported(self, user: str, kind: str) -> bool:
        """True while a confirmed ``rtburst`` claim for the user and kind is within its period
        (a claim still in progress is not enough: its owner may have crashed)."""
        item = self.store.get(*state_keys.realtime_burst(user, kind))
        if item is None or item.get("state") != "done":
            return False
        return int(item.get("expiresAt") or 0) >= int(self.store.now().timestamp())

    def burst(self, user: str, kind: str, burst: Burst) -> str:
        """One finding per burst: the ``rtburst`` claim is held (its owner names the burst)
        until the window after it has passed."""
        key = state_keys.realtime_burst(user, kind)
        owner = f"{WORKFLOW}#{user}#{kind}#{rt_findings.burst_minute(burst.start)}"
        until = max(self.store.now(), burst.end) + self.settings.window
        if not self.store.claim(*key, owner, until=until, lease=BURST_LEASE):
            return "burst"
        try:
            finding = self.respond(user, kind, burst, owner)
            rule = self.rules.match(Subject.of(finding))
            if rule is not None:
                self.rules.hit(finding, rule)
                self.store.confirm(*key, owner, until=until, findingId=finding.fingerprint)
                return "suppressed"
            self.store.once(
                [state_keys.sent(WORKFLOW, finding.fingerprint)],
                owner,
                lambda _claimed: {"messageId": self.publish(finding)},
                until=self.store.now() + self.suppression,
                confirm_attempts=3,
            )
        except BaseException:
            self.store.release(*key, owner)
            raise
        self.store.confirm(*key, owner, until=until, findingId=finding.fingerprint)
        self.findings.append(finding)
        return "reported"

    def respond(self, user: str, kind: str, burst: Burst, owner: str) -> Finding:
        """Act first (through the gate), enrich after: the disable never waits for look-ups."""
        settings = self.settings
        build = rt_findings.change_finding if kind == CHANGE else rt_findings.download_finding
        portal = self.client()
        action: ActionTaken | None = None
        # A rule scoped to a room needs the room before the gate decides: enrich first then.
        early = (
            rt_findings.enrich(portal, burst.keys)
            if self.rules.names_a_room(WORKFLOW, user)
            else None
        )
        if kind == CHANGE or settings.act_on_downloads:
            # Anyone with the webhook secret can sign deliveries: the portal must agree first.
            check = confirm(portal, user, burst.entries, changes=kind == CHANGE)
            if check.verdict == FORGED:
                log.warning("deliveries the portal does not confirm (%s)", check.detail)
                return rt_findings.forged_finding(user, kind, burst, check, portal.portal_url)
            if check.verdict == CONFIRMED:
                finding_id = (
                    rt_findings.polling_finding_id(user, burst.start)
                    if kind == CHANGE
                    else build(user, burst, settings, portal.portal_url).fingerprint
                )
                seen = build(
                    user, burst, settings, portal.portal_url, early or rt_findings.NO_ENRICHMENT
                )
                action = self.act(portal, user, burst, owner, finding_id, kind, Subject.of(seen))
            else:
                action = ActionTaken(
                    DISABLE,
                    user,
                    "skipped",
                    f"reported only: not confirmed by the portal ({check.detail})",
                )
        around = early or rt_findings.enrich(portal, burst.keys)
        return staged(build(user, burst, settings, portal.portal_url, around), action)

    def act(
        self,
        portal: Any,
        user: str,
        burst: Burst,
        owner: str,
        finding_id: str,
        kind: str,
        subject: Subject | None = None,
    ) -> ActionTaken:
        settings = self.settings
        gate = Gate(
            portal,
            RestrictionStore(self.store),
            settings.response,
            source=WORKFLOW,
            owner=owner,
            rules=self.rules,
        )
        now = self.store.now()
        slot = self.cap.take(now)
        # The shared per-window cap stands in for the gate's per-run count: no slot, and the
        # gate refuses with CAP at its place among the checks (after protection, say).
        gate.counts[DISABLE] = 0 if slot else settings.response.max_per_run
        what = "distinct files changed" if kind == CHANGE else "distinct entries downloaded"
        request = ActionRequest(
            DISABLE,
            user,
            evidence_at=burst.end,
            finding_id=finding_id,
            reason=f"{len(burst.keys)} {what} within {settings.minutes} minutes (webhooks)",
            subject=subject,
        )
        try:
            action = gate.act(request)
        except BaseException:
            if slot:
                self.cap.give_back(now)
            raise
        if slot and action.status not in COUNTED:
            self.cap.give_back(now)
        return action
