"""Suppression rules: "don't alert on user X for workflow Y (kind Z, room R) until D, because …".

A rule lives at ``pk = "suppress"``, ``sk = <rule id>`` (``state_keys.suppress_rule``) with who
added it (``createdBy``), when (``createdAt``) and why (``reason``). It is active until
``until`` (UTC) or, when ``permanent``, until it is removed; a non-permanent rule's TTL
(``expiresAt``) is ``until`` + ``TTL_MARGIN``, and ``until`` itself is what counts (DynamoDB
deletes lazily): an expired rule silences nothing even while it is still stored.

A finding matches a rule when its workflow and ``user.id`` are the rule's, and so are its
``kind`` and ``room.id`` when the rule names them. A run reads the active rules once
(``Rules.load``: one Query; a malformed stored rule is skipped and logged, never fatal) and:

* the enforcement gate refuses an action on a finding a rule matches (``skipped``, "suppressed
  by rule <id> (<reason>)"): nothing is done on the portal for it;
* the publish step does not publish it: it is counted (``findingsSuppressedByRule``, the
  ``FindingsSuppressedByRule`` metric) and recorded as a hit at ``sent#<workflow>`` /
  ``rule#<rule id>#<fingerprint>`` (``state_keys.suppress_hit``; kept ``HIT_DAYS``, at most
  ``MAX_HITS_PER_RUN`` records a run), which ``python -m local.cli suppress list --hits`` lists.
  The hits sit in the workflow's own ``sent#`` partition, which every publishing function may
  already write, so the only new grant is the Query of the rules.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..docspace.dates import parse_user_date
from ..state import keys as state_keys
from ..state.errors import StateError
from ..state.table import Table, to_epoch, to_iso
from .finding import Finding

log = logging.getLogger(__name__)

#: Every workflow that publishes findings (a test checks these against the workflows).
WORKFLOWS = (
    "bulk_change_guard",
    "config_watch",
    "inactive_members",
    "ip_allowlist",
    "login_audit",
    "realtime_guard",
    "restriction_release",
    "vdr_activity",
)
#: The farthest ``until`` a rule may have; past it, ``permanent`` says so explicitly.
MAX_SPAN = timedelta(days=366)
#: How long DynamoDB keeps a rule after its ``until`` (``suppress list --all`` shows it).
TTL_MARGIN = timedelta(days=30)
#: How long a hit (a finding a rule kept back) stays listable.
HIT_DAYS = 30
#: Hits recorded per run at most (the rest are only counted): a flood stays bounded.
MAX_HITS_PER_RUN = 50
#: More stored rules than this are not read (a run reads one partition, page by page).
MAX_RULES = 500
MAX_REASON = 500
MAX_TITLE = 200

_RULE_ID = re.compile(r"sr-[0-9a-f]{10}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_GUID = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}")


class Subject(NamedTuple):
    """What a rule is matched against: a finding's (or an action's) identity."""

    workflow: str
    kind: str
    user_id: str | None
    room_id: int | None = None

    @classmethod
    def of(cls, finding: Finding) -> Subject:
        user = finding.user.id.lower() if finding.user else None
        room = finding.room.id if finding.room else None
        return cls(finding.workflow, finding.kind, user, room)


class Rule(NamedTuple):
    id: str
    user_id: str
    workflow: str
    reason: str
    created_by: str
    created_at: datetime
    until: datetime | None  # None: permanent
    kind: str | None = None
    room_id: int | None = None

    @property
    def permanent(self) -> bool:
        return self.until is None

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    def matches(self, subject: Subject) -> bool:
        return (
            subject.workflow == self.workflow
            and subject.user_id is not None
            and subject.user_id.lower() == self.user_id
            and (self.kind is None or subject.kind == self.kind)
            and (self.room_id is None or subject.room_id == self.room_id)
        )

    def item(self) -> dict[str, Any]:
        return {
            **state_keys.suppress_rule(self.id).item(),
            "ruleId": self.id,
            "userId": self.user_id,
            "workflow": self.workflow,
            "kind": self.kind,
            "roomId": self.room_id,
            "reason": self.reason,
            "createdBy": self.created_by,
            "createdAt": to_iso(self.created_at),
            "until": to_iso(self.until) if self.until else None,
            "permanent": self.permanent,
            "expiresAt": to_epoch(self.until + TTL_MARGIN) if self.until else None,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Rule:
        """A stored rule; ``ValueError`` for one that is malformed."""
        until = item.get("until")
        if not until and item.get("permanent") is not True:
            raise ValueError("neither until nor permanent")
        room = item.get("roomId")
        return cls(
            id=rule_id(str(item.get("ruleId") or item.get("sk"))),
            user_id=user_id(str(item["userId"])),
            workflow=workflow(str(item["workflow"])),
            reason=reason(str(item["reason"])),
            created_by=str(item.get("createdBy") or "?"),
            created_at=parse_user_date(str(item["createdAt"])),
            until=parse_user_date(str(until)) if until else None,
            kind=kind(str(item["kind"])) if item.get("kind") else None,
            room_id=room_id(room) if room is not None else None,
        )

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        shown = {
            "id": self.id,
            "userId": self.user_id,
            "workflow": self.workflow,
            "kind": self.kind,
            "roomId": self.room_id,
            "until": to_iso(self.until) if self.until else None,
            "permanent": self.permanent,
            "reason": self.reason,
            "createdBy": self.created_by,
            "createdAt": to_iso(self.created_at),
        }
        if now is not None:
            shown["active"] = self.active(now)
        return shown


# -- validation (the CLI's and the stored rules') ------------------------------------------------


def rule_id(value: str) -> str:
    if not _RULE_ID.fullmatch(value):
        raise ValueError(f"not a rule id (sr- and 10 hex digits): {value[:40]!r}")
    return value


def new_rule_id() -> str:
    return f"sr-{secrets.token_hex(5)}"


def user_id(value: str) -> str:
    lowered = value.strip().lower()
    if not _GUID.fullmatch(lowered):
        raise ValueError(f"the user must be a user id (a GUID), got {value[:60]!r}")
    return lowered


def workflow(value: str) -> str:
    if value not in WORKFLOWS:
        raise ValueError(f"unknown workflow {value[:40]!r} (one of: {', '.join(WORKFLOWS)})")
    return value


def kind(value: str) -> str:
    if not _KIND.fullmatch(value):
        raise ValueError(f"not a finding kind (e.g. bulk_file_change): {value[:40]!r}")
    return value


def room_id(value: object) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ValueError(f"a room id is a positive whole number, got {text[:20]!r}")
    number = int(text)
    if number <= 0:
        raise ValueError(f"a room id is a positive whole number, got {text[:20]!r}")
    return number


def reason(value: str) -> str:
    """One printable line, 1 to ``MAX_REASON`` characters."""
    text = " ".join(value.split())
    if not text:
        raise ValueError('a reason is required (--reason "...")')
    if len(text) > MAX_REASON:
        raise ValueError(f"the reason is longer than {MAX_REASON} characters")
    if not text.isprintable():
        raise ValueError("the reason must be printable text")
    return text


def until_of(value: str, now: datetime) -> datetime:
    """``--until``: an ISO 8601 time (UTC unless it says otherwise); a bare date means the end of
    that day (``2026-12-31``: up to 2027-01-01 00:00 UTC). In the future, within ``MAX_SPAN``."""
    text = value.strip()
    bare_date = re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None
    until = parse_user_date(text) + (timedelta(days=1) if bare_date else timedelta())
    if until <= now:
        raise ValueError(f"--until {text[:40]} is in the past")
    if until > now + MAX_SPAN:
        raise ValueError(
            f"--until {text[:40]} is more than {MAX_SPAN.days} days away (use --permanent,"
            " and remove the rule when it is no longer needed)"
        )
    return until


# -- the stored rules and hits -------------------------------------------------------------------


class RuleStore:
    """The rules partition and the hits, on the state table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, rule: Rule) -> None:
        self.table.call(
            "put_item",
            Item=self.table.encode(rule.item()),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def remove(self, rule_id_: str) -> Rule | None:
        """Delete a rule; the removed rule, or ``None`` when there was none."""
        key = state_keys.suppress_rule(rule_id(rule_id_))
        item = self.table.get(*key)
        if item is None:
            return None
        self.table.delete(*key)
        try:
            return Rule.from_item(item)
        except (KeyError, ValueError):
            return None

    def stored(self) -> Iterator[Rule]:
        """Every stored rule (expired ones too, until DynamoDB deletes them); a malformed one
        is logged and skipped, never fatal."""
        for count, item in enumerate(self.table.query(state_keys.SUPPRESS)):
            if count >= MAX_RULES:
                log.warning("more than %d suppression rules: the rest are not read", MAX_RULES)
                return
            try:
                yield Rule.from_item(item)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("suppression rule %s is malformed, skipped: %s", item.get("sk"), exc)

    def hits(self, workflows: Iterable[str] = WORKFLOWS) -> list[dict[str, Any]]:
        """The findings rules kept back (newest first), across ``workflows``."""
        found: list[dict[str, Any]] = []
        now = to_epoch(self.table.now())
        for name in workflows:
            first, last = state_keys.suppress_hit_range(name)
            for item in self.table.query(state_keys.sent(name, "").pk, sk_from=first, sk_to=last):
                if int(item.get("expiresAt") or 0) < now:
                    continue
                found.append({k: v for k, v in item.items() if k not in ("pk", "sk", "expiresAt")})
        return sorted(found, key=lambda h: str(h.get("at")), reverse=True)


class Rules:
    """The rules in force for one run (or one batch): read once, on first use, as of that
    moment; ``match`` is then pure. ``hit`` records a finding one of them kept back."""

    def __init__(self, table: Table, workflow_: str | None = None) -> None:
        self.table = table
        self.workflow = workflow_
        self._rules: list[Rule] | None = None
        self._now: datetime | None = None
        self.hits = 0

    @classmethod
    def of(cls, rules: Iterable[Rule], now: datetime, table: Table) -> Rules:
        """Rules given as they are (tests, the CLI)."""
        made = cls(table)
        made._rules, made._now = list(rules), now
        return made

    def load(self) -> list[Rule]:
        """The active rules (one Query, the first time). A refused read (the function is not
        granted it: retrying would never help) is logged and read as no rules, so a run does not
        fail for good; any other DynamoDB error fails the run, which is retried."""
        if self._rules is None:
            now = self.table.now()
            try:
                stored = list(RuleStore(self.table).stored())
            except StateError as exc:
                if "AccessDenied" not in str(exc):
                    raise
                log.error("suppression rules not readable, none applied: %s", exc)
                stored = []
            self._rules = [
                r
                for r in stored
                if r.active(now) and (self.workflow is None or r.workflow == self.workflow)
            ]
            self._now = now
        return self._rules

    def match(self, subject: Subject) -> Rule | None:
        """The first active rule that names ``subject``, or ``None``."""
        rules = self.load()
        if subject.user_id is None:
            return None  # every rule names a user
        assert self._now is not None
        return next((r for r in rules if r.active(self._now) and r.matches(subject)), None)

    def names_a_room(self, workflow_: str, user: str) -> bool:
        """Whether a rule for this workflow and user is scoped to a room (the real-time guard
        then finds the room before it acts)."""
        return any(
            r.room_id is not None and r.workflow == workflow_ and r.user_id == user.lower()
            for r in self.load()
        )

    def hit(self, finding: Finding, rule: Rule) -> None:
        """Record that ``rule`` kept ``finding`` back (bounded per run; then only logged)."""
        self.hits += 1
        log.info(
            "finding %s (%s/%s) suppressed by rule %s",
            finding.fingerprint,
            finding.workflow,
            finding.kind,
            rule.id,
        )
        if self.hits > MAX_HITS_PER_RUN:
            return
        now = self.table.now()
        self.table.put(
            {
                **state_keys.suppress_hit(finding.workflow, rule.id, finding.fingerprint).item(),
                "ruleId": rule.id,
                "findingId": finding.fingerprint,
                "workflow": finding.workflow,
                "kind": finding.kind,
                "severity": finding.severity.value,
                "title": finding.title[:MAX_TITLE],
                "userId": finding.user.id.lower() if finding.user else None,
                "roomId": finding.room.id if finding.room else None,
                "at": to_iso(now),
                "expiresAt": to_epoch(now + timedelta(days=HIT_DAYS)),
            }
        )


def suppressed_detail(rule: Rule) -> str:
    """The detail of an action the gate refused for a rule."""
    return f"suppressed by rule {rule.id} ({rule.reason})"
