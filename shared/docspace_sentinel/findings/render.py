"""A finding rendered per channel: plain text for email, the AWS Chatbot schema for chat.

Every value from the portal goes through ``untrusted`` on its way into a rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .finding import Finding, Severity
from .normalize import TRUNCATED_SUFFIX, format_utc, shorten
from .untrusted import chat, one_line

# Slack renders one section of at most 3000 characters; AWS Chatbot passes the description on.
CHATBOT_DESCRIPTION_LIMIT = 3000
CHATBOT_TITLE_LIMIT = 250

# How many items of a sample list the text and chat renderings show before "… and N more".
TEXT_LIST_ITEMS = 10
CHAT_LIST_ITEMS = 5


_SEVERITY_EMOJI = {
    Severity.LOW: ":information_source:",
    Severity.MEDIUM: ":warning:",
    Severity.HIGH: ":red_circle:",
    Severity.CRITICAL: ":rotating_light:",
}


def render_text(finding: Finding) -> str:
    """Readable plain text, for email.

    Every value from the portal stays on a line the sentinel labels (``untrusted.one_line``):
    a typed login with a line break cannot add a ``Portal:`` or ``Severity:`` line.
    """
    lines = [f"[{finding.severity.name}] {one_line(finding.title)}", ""]
    facts: list[tuple[str, str]] = []
    if finding.summary:
        facts.append(("Summary", finding.summary))
    facts += [
        ("Severity", finding.severity.name),
        ("Workflow", f"{finding.workflow} / {finding.kind}"),
    ]
    if finding.user:
        facts.append(("User", finding.user.label))
    if finding.room:
        facts.append(("Room", finding.room.label))
    period = _period_text(finding)
    if period:
        facts.append(("Period", period))
    facts.append(("Detected", format_utc(finding.created_at)))
    lines += _aligned(facts, indent="")
    if finding.evidence:
        lines += ["", "Evidence"]
        lines += _mapping_lines(finding.evidence, indent="  ")
    if finding.context:
        lines += ["", "Context"]
        lines += _mapping_lines(finding.context, indent="  ")
    if finding.actions:
        lines += ["", "Actions"]
        for a in finding.actions:
            detail = f" ({one_line(a.detail)})" if a.detail else ""
            lines.append(
                f"  {one_line(a.action)} {one_line(a.target)}: "
                f"{one_line(_status_text(a.status))}{detail}"
            )
    lines.append("")
    if finding.portal_url:
        lines.append(f"Portal:     {finding.portal_url}")
    lines.append(f"Finding id: {finding.fingerprint}")
    return "\n".join(lines) + "\n"


def render_chatbot(finding: Finding) -> dict[str, Any]:
    """The AWS Chatbot custom-notification schema (Slack and Teams through SNS).

    Names and titles come from the portal and may be chosen by an attacker: every such value,
    in every field, goes through ``untrusted.chat`` (one line, ``<!channel>`` escaped, no
    markdown link, emphasis, code or mention).
    """
    emoji = _SEVERITY_EMOJI[finding.severity]
    title = shorten(
        f"{emoji} *{finding.severity.name}*: {chat(finding.title)}", CHATBOT_TITLE_LIMIT
    )
    additional = {
        "workflow": finding.workflow,
        "severity": finding.severity.value,
        "kind": finding.kind,
    }
    if finding.user:
        additional["userId"] = chat(finding.user.id)
    if finding.room and finding.room.id is not None:
        additional["roomId"] = str(finding.room.id)
    next_steps = [
        f"{one_line(a.action)} {chat(a.target)}: {one_line(_status_text(a.status))}"
        + (f" ({chat(a.detail)})" if a.detail else "")
        for a in finding.actions
    ]
    if finding.portal_url:
        next_steps.append(f"Review in DocSpace: {finding.portal_url}")
    return {
        "version": "1.0",
        "source": "custom",
        "id": finding.fingerprint,
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": _chat_description(finding),
            "nextSteps": next_steps,
            "keywords": [finding.severity.name, finding.workflow],
        },
        "metadata": {
            "threadId": finding.fingerprint,
            "summary": shorten(chat(finding.title), CHATBOT_TITLE_LIMIT),
            "eventType": finding.kind,
            "relatedResources": [finding.portal_url] if finding.portal_url else [],
            "additionalContext": additional,
        },
    }


def _chat_description(finding: Finding) -> str:
    lines = [chat(finding.summary)] if finding.summary else []
    facts: list[str] = []
    if finding.user:
        who = [p for p in (finding.user.name, finding.user.email) if p]
        facts.append(f"*User:* {chat(' · '.join([*who, finding.user.id]))}")
    if finding.room:
        room = finding.room
        # the title is portal text; the "#id" around it is ours (and a heading mark only
        # at the start of a line)
        label = chat(room.title) if room.title else room.label
        if room.title and room.id is not None:
            label += f" (#{room.id})"
        facts.append(f"*Room:* {label}")
    period = _period_text(finding)
    if period:
        facts.append(f"*Period:* {period}")
    if facts:
        lines += ["", *facts]
    if finding.evidence:
        lines += ["", "*Evidence*"]
        for key, value in finding.evidence.items():
            if _is_marker(finding.evidence, key):
                continue
            more = _marker_count(finding.evidence, key)
            lines.append(f"• {chat(key)}: {chat(_value_text(value, CHAT_LIST_ITEMS, more))}")
    lines.append(f"_Finding {finding.fingerprint}_")
    return shorten("\n".join(lines), CHATBOT_DESCRIPTION_LIMIT)


def _period_text(finding: Finding) -> str:
    start = format_utc(finding.period_start) if finding.period_start else None
    end = format_utc(finding.period_end) if finding.period_end else None
    if start and end:
        return f"{start} to {end}"
    if start:
        return f"since {start}"
    return f"until {end}" if end else ""


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
