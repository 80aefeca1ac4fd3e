"""The finding: what a workflow reports, in one canonical record.

A ``Finding`` is built by a workflow's pure detection code and published once to SNS, where each
subscriber gets its own rendering: the canonical JSON (``to_dict``) for machines, plain text for
email (``render_text``) and the AWS Chatbot custom-notification schema for Slack and Teams
(``render_chatbot``); the renderings live in ``render``, the normalizing in ``normalize``.

Two rules make findings safe to compare and to re-send:

- The ``fingerprint`` hashes only what makes a finding *the same finding* (workflow, kind and the
  ``dedup`` parts), never times or evidence, so a re-run over an overlapping window produces the
  same id and subscribers can drop duplicates or thread updates.
- ``evidence`` and ``context`` are normalized to JSON form when the finding is built (tuples and
  sets become lists, datetimes ISO-8601 UTC strings, nested mappings plain dicts), so a finding
  equals its own round trip through ``to_dict``/``from_dict``. Scalars in them are *counts* and are
  never changed; lists are *samples* and may be cut by ``trimmed``, which records what it dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from ..docspace.errors import MalformedRecord
from .normalize import bounded, bounded_part, format_utc, json_safe, trim

SCHEMA_VERSION = 1

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """1 (low) to 4 (critical), for thresholds: ``finding.severity.rank >= Severity.HIGH.rank``."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class UserRef(NamedTuple):
    id: str
    name: str | None = None
    email: str | None = None

    @property
    def label(self) -> str:
        """``Name <email> (id)``, leaving out what is unknown."""
        parts = [p for p in (self.name, f"<{self.email}>" if self.email else None) if p]
        return " ".join([*parts, f"({self.id})"]) if parts else self.id


class RoomRef(NamedTuple):
    id: int | None
    title: str | None = None

    @property
    def label(self) -> str:
        if self.title and self.id is not None:
            return f"{self.title} (#{self.id})"
        return self.title or (f"#{self.id}" if self.id is not None else "unknown room")


class ActionTaken(NamedTuple):
    """A remediation step and what became of it.

    ``status`` is ``"proposed"`` (dry run: nothing was changed), ``"done"``, ``"failed"`` or
    ``"skipped"``.
    """

    action: str  # "disable_user", "lift_restriction", "ip_sync" …
    target: str
    status: str
    detail: str = ""


class FollowRef(NamedTuple):
    """The finding a follow-up is about (a restriction lifted, failed or extended; a finding
    closed later): its ``id`` (fingerprint) and title, so mail clients, chat threads and Security
    Hub can group them."""

    id: str
    title: str | None = None


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # A naive datetime is ambiguous (local or UTC?); refuse it rather than guess.
        raise ValueError(f"Finding.{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Finding:
    """One security finding. Build it in a workflow; publish it with ``FindingPublisher``."""

    workflow: str  # "vdr_activity", "login_audit", "bulk_change_guard" …
    kind: str  # "vdr_high_activity", "brute_force", "bulk_file_change" …
    severity: Severity
    title: str
    summary: str
    dedup: tuple[str, ...]  # what makes the same finding the same: user id, room id, day …
    portal_url: str
    user: UserRef | None = None
    room: RoomRef | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)  # counts and sample lists
    context: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"logins": {...}}
    actions: tuple[ActionTaken, ...] = ()
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: For a follow-up: the finding it follows (None: a finding of its own).
    follows: FollowRef | None = None

    def __post_init__(self) -> None:
        for name in ("workflow", "kind", "title"):
            if not getattr(self, name):
                raise ValueError(f"Finding.{name} must not be empty")
        if isinstance(self.dedup, str | bytes) or not self.dedup:
            # An empty dedup would make every finding of this kind one finding.
            raise ValueError(
                "Finding.dedup must be a non-empty tuple of parts, e.g. (user_id, day)"
            )
        # Frozen: normalize through object.__setattr__, once, here.
        set_ = object.__setattr__
        set_(self, "severity", Severity(self.severity))
        set_(self, "dedup", tuple(bounded_part(str(json_safe(p))) for p in self.dedup))
        if self.user is not None:
            set_(self, "user", UserRef(*(bounded(v) for v in self.user)))
        if self.room is not None and self.room.title is not None:
            set_(self, "room", self.room._replace(title=bounded(self.room.title)))
        if self.follows is not None:
            set_(self, "follows", FollowRef(str(self.follows.id), bounded(self.follows.title)))
        set_(self, "actions", tuple(self.actions))
        set_(self, "evidence", json_safe(self.evidence))
        set_(self, "context", json_safe(self.context))
        set_(self, "period_start", _utc(self.period_start, "period_start"))
        set_(self, "period_end", _utc(self.period_end, "period_end"))
        set_(self, "created_at", _utc(self.created_at, "created_at"))

    def __hash__(self) -> int:
        # evidence and context are dicts; equal findings share a fingerprint, so hash that.
        return hash(self.fingerprint)

    @property
    def fingerprint(self) -> str:
        """Stable id: sha256 over workflow, kind and dedup parts (never times or evidence)."""
        # JSON of a list keeps the parts apart: ("a|b",) and ("a", "b") differ.
        material = json.dumps([self.workflow, self.kind, *self.dedup], ensure_ascii=False)
        # surrogatepass: a lone surrogate from portal JSON must not make the id unencodable;
        # text without one hashes exactly as before.
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    # -- canonical form ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready record (camelCase), what machines receive."""
        return {
            "schemaVersion": SCHEMA_VERSION,
            "id": self.fingerprint,
            "workflow": self.workflow,
            "kind": self.kind,
            "severity": self.severity.value,
            "title": self.title,
            "summary": self.summary,
            "dedup": list(self.dedup),
            "user": (
                {"id": self.user.id, "name": self.user.name, "email": self.user.email}
                if self.user
                else None
            ),
            "room": {"id": self.room.id, "title": self.room.title} if self.room else None,
            "period": {
                "start": format_utc(self.period_start) if self.period_start else None,
                "end": format_utc(self.period_end) if self.period_end else None,
            },
            "evidence": json_safe(self.evidence),
            "context": json_safe(self.context),
            "actions": [
                {"action": a.action, "target": a.target, "status": a.status, "detail": a.detail}
                for a in self.actions
            ],
            "portalUrl": self.portal_url,
            "createdAt": format_utc(self.created_at),
            "follows": (
                {"id": self.follows.id, "title": self.follows.title} if self.follows else None
            ),
        }

    def to_json(self) -> str:
        """``to_dict`` as compact UTF-8 JSON (what SQS, Lambda and email-json subscribers get).

        A lone surrogate (valid in JSON, unencodable in UTF-8) is written as its ``\\uXXXX``
        escape: the text always encodes, and reads back to the same finding.
        """
        text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)

    @classmethod
    def from_dict(cls, raw: Any) -> Finding:
        """Read a record written by ``to_dict`` (e.g. a message taken from SQS).

        Raises ``MalformedRecord`` for a record that is not a finding of this schema version.
        """
        if not isinstance(raw, Mapping):
            raise MalformedRecord("finding", f"expected an object, got {type(raw).__name__}")
        record_id = raw.get("id")
        version = raw.get("schemaVersion", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise MalformedRecord("finding", f"unsupported schemaVersion {version!r}", record_id)
        try:
            user = raw.get("user")
            room = raw.get("room")
            period = raw.get("period") or {}
            return cls(
                workflow=raw["workflow"],
                kind=raw["kind"],
                severity=Severity(raw["severity"]),
                title=raw["title"],
                summary=raw.get("summary") or "",
                dedup=tuple(raw["dedup"]),
                portal_url=raw.get("portalUrl") or "",
                user=UserRef(user["id"], user.get("name"), user.get("email")) if user else None,
                room=RoomRef(room.get("id"), room.get("title")) if room else None,
                period_start=_parse_time(period.get("start")),
                period_end=_parse_time(period.get("end")),
                evidence=raw.get("evidence") or {},
                context=raw.get("context") or {},
                actions=tuple(
                    ActionTaken(a["action"], a["target"], a["status"], a.get("detail") or "")
                    for a in raw.get("actions") or ()
                ),
                created_at=_parse_time(raw.get("createdAt")) or datetime.now(UTC),
                follows=_follows(raw.get("follows")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedRecord("finding", f"{type(exc).__name__}: {exc}", record_id) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Finding:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise MalformedRecord("finding", f"not JSON ({exc})") from None
        return cls.from_dict(raw)

    # -- copies --------------------------------------------------------------------------------

    def with_actions(self, *actions: ActionTaken) -> Finding:
        """A copy with ``actions`` appended (the fingerprint is unchanged)."""
        return dataclasses.replace(self, actions=self.actions + tuple(actions))

    def trimmed(self, max_items: int, *, max_chars: int | None = None) -> Finding:
        """A copy whose sample lists in evidence and context hold at most ``max_items`` items.

        Lists are cut recursively (also inside nested mappings and mappings inside lists); next
        to each cut list ``key`` the number of dropped items is recorded as ``keyTruncated``.
        Scalars, the counts, never change. ``max_chars`` also shortens long strings there.
        """
        if max_items < 0:
            raise ValueError("max_items must be >= 0")
        return dataclasses.replace(
            self,
            evidence=trim(self.evidence, max_items, max_chars),
            context=trim(self.context, max_items, max_chars),
        )

    # -- renderings (findings.render) -----------------------------------------------------------

    def render_text(self) -> str:
        """Readable plain text, for email (``render.render_text``)."""
        from .render import render_text

        return render_text(self)

    def render_chatbot(self) -> dict[str, Any]:
        """The AWS Chatbot custom-notification schema (``render.render_chatbot``)."""
        from .render import render_chatbot

        return render_chatbot(self)


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 string, got {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _follows(raw: Any) -> FollowRef | None:
    if not raw:
        return None
    return FollowRef(str(raw["id"]), raw.get("title"))
