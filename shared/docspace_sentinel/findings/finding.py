"""The finding: what a workflow reports, in one canonical record.

A ``Finding`` is built by a workflow's pure detection code and published once to SNS, where each
subscriber gets its own rendering: the canonical JSON (``to_dict``) for machines, plain text for
email (``render_text``) and the AWS Chatbot custom-notification schema for Slack and Teams
(``render_chatbot``).

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
import enum
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from ..docspace import dates
from ..docspace.errors import MalformedRecord
from .untrusted import chat, one_line

SCHEMA_VERSION = 1

#: Suffix of the key that records how many items ``trimmed`` cut from a list.
TRUNCATED_SUFFIX = "Truncated"

# Slack renders one section of at most 3000 characters; AWS Chatbot passes the description on.
CHATBOT_DESCRIPTION_LIMIT = 3000
CHATBOT_TITLE_LIMIT = 250

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

#: The longest user id, name and e-mail, room title and dedup part a finding keeps. They are
#: portal text and, unlike evidence, never trimmed later: one huge value would otherwise leave
#: only the degraded message. A longer dedup part keeps a digest of the whole part, so parts
#: that differ only past the cut stay different findings.
FIELD_MAX_CHARS = 256
_DIGEST_CHARS = 16

# How many items of a sample list the text and chat renderings show before "… and N more".
TEXT_LIST_ITEMS = 10
CHAT_LIST_ITEMS = 5


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
_SEVERITY_EMOJI = {
    Severity.LOW: ":information_source:",
    Severity.MEDIUM: ":warning:",
    Severity.HIGH: ":red_circle:",
    Severity.CRITICAL: ":rotating_light:",
}


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


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # A naive datetime is ambiguous (local or UTC?); refuse it rather than guess.
        raise ValueError(f"Finding.{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """ISO-8601 UTC with ``Z``; microseconds only when there are some (so round trips are exact)."""
    return dates.format_utc(value, "exact")


def _sort_key(value: Any) -> tuple[str, str]:
    return (type(value).__name__, json.dumps(value, sort_keys=True, default=str))


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: dicts with string keys, lists, str, int, float, bool, None.

    Datetimes become ISO-8601 UTC strings with ``Z`` (a naive one is taken as UTC), tuples lists,
    sets sorted lists, enums their value, dataclasses dicts of their fields; anything else its
    ``str()``. Non-finite floats become strings: JSON has no NaN.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple record
        return {k: json_safe(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [json_safe(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=_sort_key)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def _trim(mapping: Mapping[str, Any], max_items: int, max_chars: int | None) -> dict[str, Any]:
    """Cut every list in ``mapping`` (recursively) to ``max_items``, recording the cut.

    Next to a cut list ``key`` the count of dropped items goes into ``key + "Truncated"``, added
    to any count an earlier trim left there. Scalars (counts) are kept as they are; with
    ``max_chars`` long strings are shortened too.
    """
    out: dict[str, Any] = {}
    dropped: dict[str, int] = {}
    for key, value in mapping.items():
        if isinstance(value, list):
            if len(value) > max_items:
                dropped[key] = len(value) - max_items
                value = value[:max_items]
            value = [_trim_item(v, max_items, max_chars) for v in value]
        else:
            value = _trim_item(value, max_items, max_chars)
        out[key] = value
    for key, count in dropped.items():
        marker = key + TRUNCATED_SUFFIX
        earlier = out.get(marker)
        previous = earlier if isinstance(earlier, int) and not isinstance(earlier, bool) else 0
        out[marker] = previous + count
    return out


def _trim_item(value: Any, max_items: int, max_chars: int | None) -> Any:
    if isinstance(value, Mapping):
        return _trim(value, max_items, max_chars)
    if max_chars is not None and isinstance(value, str) and len(value) > max_chars:
        return _shorten(value, max_chars)
    return value


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > FIELD_MAX_CHARS:
        return _shorten(value, FIELD_MAX_CHARS)
    return value


def _bounded_part(part: str) -> str:
    """A dedup part of at most ``FIELD_MAX_CHARS``: parts that fit are kept exactly (their
    fingerprint is unchanged), longer ones are cut and end with a digest of the whole."""
    if len(part) <= FIELD_MAX_CHARS:
        return part
    digest = hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    suffix = f" sha256:{digest}"
    return _shorten(part, FIELD_MAX_CHARS - len(suffix)) + suffix


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


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
        set_(self, "dedup", tuple(_bounded_part(str(json_safe(p))) for p in self.dedup))
        if self.user is not None:
            set_(self, "user", UserRef(*(_bounded(v) for v in self.user)))
        if self.room is not None and self.room.title is not None:
            set_(self, "room", self.room._replace(title=_bounded(self.room.title)))
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
            evidence=_trim(self.evidence, max_items, max_chars),
            context=_trim(self.context, max_items, max_chars),
        )

    # -- renderings ----------------------------------------------------------------------------

    def render_text(self) -> str:
        """Readable plain text, for email.

        Every value from the portal stays on a line the sentinel labels (``untrusted.one_line``):
        a typed login with a line break cannot add a ``Portal:`` or ``Severity:`` line.
        """
        lines = [f"[{self.severity.name}] {one_line(self.title)}", ""]
        facts: list[tuple[str, str]] = []
        if self.summary:
            facts.append(("Summary", self.summary))
        facts += [
            ("Severity", self.severity.name),
            ("Workflow", f"{self.workflow} / {self.kind}"),
        ]
        if self.user:
            facts.append(("User", self.user.label))
        if self.room:
            facts.append(("Room", self.room.label))
        period = self._period_text()
        if period:
            facts.append(("Period", period))
        facts.append(("Detected", format_utc(self.created_at)))
        lines += _aligned(facts, indent="")
        if self.evidence:
            lines += ["", "Evidence"]
            lines += _mapping_lines(self.evidence, indent="  ")
        if self.context:
            lines += ["", "Context"]
            lines += _mapping_lines(self.context, indent="  ")
        if self.actions:
            lines += ["", "Actions"]
            for a in self.actions:
                detail = f" ({one_line(a.detail)})" if a.detail else ""
                lines.append(
                    f"  {one_line(a.action)} {one_line(a.target)}: "
                    f"{one_line(_status_text(a.status))}{detail}"
                )
        lines.append("")
        if self.portal_url:
            lines.append(f"Portal:     {self.portal_url}")
        lines.append(f"Finding id: {self.fingerprint}")
        return "\n".join(lines) + "\n"

    def render_chatbot(self) -> dict[str, Any]:
        """The AWS Chatbot custom-notification schema (Slack and Teams through SNS).

        Names and titles come from the portal and may be chosen by an attacker: every such value,
        in every field, goes through ``untrusted.chat`` (one line, ``<!channel>`` escaped, no
        markdown link, emphasis, code or mention).
        """
        emoji = _SEVERITY_EMOJI[self.severity]
        title = _shorten(f"{emoji} *{self.severity.name}*: {chat(self.title)}", CHATBOT_TITLE_LIMIT)
        additional = {"workflow": self.workflow, "severity": self.severity.value, "kind": self.kind}
        if self.user:
            additional["userId"] = chat(self.user.id)
        if self.room and self.room.id is not None:
            additional["roomId"] = str(self.room.id)
        next_steps = [
            f"{one_line(a.action)} {chat(a.target)}: {one_line(_status_text(a.status))}"
            + (f" ({chat(a.detail)})" if a.detail else "")
            for a in self.actions
        ]
        if self.portal_url:
            next_steps.append(f"Review in DocSpace: {self.portal_url}")
        return {
            "version": "1.0",
            "source": "custom",
            "id": self.fingerprint,
            "content": {
                "textType": "client-markdown",
                "title": title,
                "description": self._chat_description(),
                "nextSteps": next_steps,
                "keywords": [self.severity.name, self.workflow],
            },
            "metadata": {
                "threadId": self.fingerprint,
                "summary": _shorten(chat(self.title), CHATBOT_TITLE_LIMIT),
                "eventType": self.kind,
                "relatedResources": [self.portal_url] if self.portal_url else [],
                "additionalContext": additional,
            },
        }

    def _chat_description(self) -> str:
        lines = [chat(self.summary)] if self.summary else []
        facts: list[str] = []
        if self.user:
            who = [p for p in (self.user.name, self.user.email) if p]
            facts.append(f"*User:* {chat(' · '.join([*who, self.user.id]))}")
        if self.room:
            room = self.room
            # the title is portal text; the "#id" around it is ours (and a heading mark only
            # at the start of a line)
            label = chat(room.title) if room.title else room.label
            if room.title and room.id is not None:
                label += f" (#{room.id})"
            facts.append(f"*Room:* {label}")
        period = self._period_text()
        if period:
            facts.append(f"*Period:* {period}")
        if facts:
            lines += ["", *facts]
        if self.evidence:
            lines += ["", "*Evidence*"]
            for key, value in self.evidence.items():
                if _is_marker(self.evidence, key):
                    continue
                more = _marker_count(self.evidence, key)
                lines.append(f"• {chat(key)}: {chat(_value_text(value, CHAT_LIST_ITEMS, more))}")
        lines.append(f"_Finding {self.fingerprint}_")
        return _shorten("\n".join(lines), CHATBOT_DESCRIPTION_LIMIT)

    def _period_text(self) -> str:
        start = format_utc(self.period_start) if self.period_start else None
        end = format_utc(self.period_end) if self.period_end else None
        if start and end:
            return f"{start} to {end}"
        if start:
            return f"since {start}"
        return f"until {end}" if end else ""


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 string, got {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _status_text(status: str) -> str:
    return "proposed (dry run, not applied)" if status == "proposed" else status


def _is_marker(mapping: Mapping[str, Any], key: str) -> bool:
    """Whether ``key`` is the ``…Truncated`` count of a list beside it (shown with that list)."""
    return key.endswith(TRUNCATED_SUFFIX) and isinstance(
        mapping.get(key[: -len(TRUNCATED_SUFFIX)]), list
    )


def _marker_count(mapping: Mapping[str, Any], key: str) -> int:
    count = mapping.get(key + TRUNCATED_SUFFIX)
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _scalar_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_scalar_text(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar_text(v) for v in value) + "]"
    return str(value)


def _value_text(value: Any, max_items: int, more: int = 0) -> str:
    """A value on one line; a list comma-joined, long ones as ``a, b, … and N more``."""
    if not isinstance(value, list):
        return _scalar_text(value)
    shown = [_scalar_text(v) for v in value[:max_items]]
    hidden = len(value) - len(shown) + more
    if not shown and not hidden:
        return "(none)"
    text = ", ".join(shown)
    if hidden:
        text = f"{text}, … and {hidden} more" if text else f"… {hidden} not shown"
    return text


def _aligned(pairs: list[tuple[str, str]], indent: str) -> list[str]:
    """``key: value`` lines; keys and values are rendered as untrusted (one line each)."""
    pairs = [(one_line(k), one_line(v)) for k, v in pairs]
    width = max((len(k) for k, _ in pairs), default=0) + 1
    return [f"{indent}{(k + ':').ljust(width)} {v}" for k, v in pairs]


def _mapping_lines(mapping: Mapping[str, Any], indent: str) -> list[str]:
    """``key: value`` lines, aligned; nested mappings and lists of mappings indented below."""
    lines: list[str] = []
    flat: list[tuple[str, str]] = []

    def flush() -> None:
        lines.extend(_aligned(flat, indent))
        flat.clear()

    for key, value in mapping.items():
        if _is_marker(mapping, key):
            continue
        more = _marker_count(mapping, key)
        if isinstance(value, Mapping) and value:
            flush()
            lines.append(f"{indent}{one_line(key)}:")
            lines.extend(_mapping_lines(value, indent + "  "))
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            flush()
            lines.append(f"{indent}{one_line(key)}:")
            for item in value[:TEXT_LIST_ITEMS]:
                lines.append(f"{indent}  - {one_line(_scalar_text(item))}")
            hidden = len(value) - min(len(value), TEXT_LIST_ITEMS) + more
            if hidden:
                lines.append(f"{indent}  … and {hidden} more")
        else:
            flat.append((key, _value_text(value, TEXT_LIST_ITEMS, more)))
    flush()
    return lines
