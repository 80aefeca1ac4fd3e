"""A finding rendered per channel: plain text for email, the AWS Chatbot schema for chat.

Both say, in this order: what happened and how bad (the headline: severity, title and what
Sentinel did, ``labels.headline``), who and where (with deep links, ``links``), the evidence with
human labels (``labels.label``; lists of records as short tables in e-mail and as nested lists
in chat), the next steps (``next_steps``) and, for a follow-up, the finding it follows. Raw event
ids go to the e-mail's appendix; the chat message leaves them to the JSON.

Every value from the portal goes through ``untrusted`` on its way into a rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import links
from .finding import Finding, Severity
from .labels import TABLE_HIDDEN, action_phrase, is_appendix, label, outcome
from .next_steps import steps
from .normalize import TRUNCATED_SUFFIX, format_utc, shorten
from .untrusted import chat, mail, one_line, table_cell

# Slack renders one section of at most 3000 characters; AWS Chatbot passes the description on.
CHATBOT_DESCRIPTION_LIMIT = 3000
CHATBOT_TITLE_LIMIT = 250

# How many items of a sample list the text and chat renderings show before "… and N more".
TEXT_LIST_ITEMS = 10
CHAT_LIST_ITEMS = 5
#: The widest a table cell gets in e-mail before it is shortened.
TABLE_CELL_CHARS = 40

_SEVERITY_EMOJI = {
    Severity.LOW: ":information_source:",
    Severity.MEDIUM: ":warning:",
    Severity.HIGH: ":red_circle:",
    Severity.CRITICAL: ":rotating_light:",
}

#: Evidence keys whose records (``{"id": …, "title": …}``) link to a file or a room.
_LINKED_RECORDS = {"sampleFiles": links.file, "rooms": links.room}


def resource_links(finding: Finding) -> list[tuple[str, str]]:
    """``(label, url)`` of the user and the room, built from validated ids only."""
    out: list[tuple[str, str]] = []
    if finding.user:
        url = links.user(finding.portal_url, finding.user.id, finding.user.email)
        if url:
            out.append(("User in DocSpace", url))
    if finding.room and finding.room.id is not None:
        url = links.room(finding.portal_url, finding.room.id)
        if url:
            out.append(("Room in DocSpace", url))
    return out


def follows_text(finding: Finding, render: Any = one_line) -> str:
    """``<original title> (id <id>)``: what a follow-up follows (the title through ``render``)."""
    if finding.follows is None:
        return ""
    ref = finding.follows
    title = render(ref.title) if ref.title else "an earlier finding"
    return f"{title} (id {ref.id})"


def render_text(finding: Finding) -> str:
    """Readable plain text, for email.

    Every value from the portal stays on a line the sentinel labels (``untrusted.one_line``):
    a typed login with a line break cannot add a ``Portal:`` or ``Severity:`` line.
    """
    done = one_line(outcome(finding))
    head = f"[{finding.severity.name}] {mail(finding.title)}"
    lines = [f"{head} - {done}" if done else head, ""]
    facts: list[tuple[str, str]] = []
    if finding.summary:
        facts.append(("Summary", finding.summary))
    facts += [
        ("Severity", finding.severity.name),
        ("Workflow", f"{finding.workflow} / {finding.kind}"),
    ]
    if done:
        facts.append(("Sentinel", done))
    if finding.follows:
        facts.append(("Follows", follows_text(finding)))
    if finding.user:
        facts.append(("User", finding.user.label))
    if finding.room:
        facts.append(("Room", finding.room.label))
    period = _period_text(finding)
    if period:
        facts.append(("Period", period))
    facts.append(("Detected", format_utc(finding.created_at)))
    lines += _aligned(facts, indent="")
    appendix: list[tuple[str, str]] = []
    if finding.evidence:
        lines += ["", "Evidence"]
        lines += _mapping_lines(finding.evidence, "  ", finding.portal_url, appendix)
    if finding.context:
        lines += ["", "Context"]
        lines += _mapping_lines(finding.context, "  ", finding.portal_url, appendix)
    if finding.actions:
        lines += ["", "What Sentinel did"]
        for a in finding.actions:
            detail = f" ({mail(a.detail)})" if a.detail else ""
            lines.append(
                f"  {mail(a.action)} {mail(a.target)}: {one_line(_status_text(a.status))}{detail}"
            )
    next_steps = steps(finding)
    if next_steps:
        lines += ["", "Next steps"]
        lines += [f"  {n}. {step}" for n, step in enumerate(next_steps, 1)]
    resources = resource_links(finding)
    if resources:
        lines += ["", "Links"]
        lines += _aligned(resources, indent="  ", links=True)
    if appendix:
        lines += ["", "Appendix: raw ids (also in the finding's JSON)"]
        lines += _aligned(appendix, indent="  ")
    lines.append("")
    if finding.portal_url:
        lines.append(f"Portal:     {finding.portal_url}")
    lines.append(f"Finding id: {finding.fingerprint}")
    return "\n".join(lines) + "\n"


def _chat_prefix(text: str, limit: int) -> str:
    """``chat(text)`` in at most ``limit`` characters: the raw text is cut (the longest prefix
    whose escaped form fits, with "…"), never the escaped one."""
    escaped = chat(text)
    if len(escaped) <= limit:
        return escaped
    raw = one_line(text)
    low, high = 0, len(raw)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if len(chat(raw[:middle])) <= limit - 1:
            low = middle
        else:
            high = middle - 1
    return chat(raw[:low]) + "…"


def render_chatbot(finding: Finding) -> dict[str, Any]:
    """The AWS Chatbot custom-notification schema (Slack and Teams through SNS).

    Names and titles come from the portal and may be chosen by an attacker: every such value,
    in every field, goes through ``untrusted.chat`` (one line, ``<!channel>`` escaped, no
    markdown link, emphasis, code or mention). A follow-up shares the thread of the finding it
    follows (``metadata.threadId``).
    """
    emoji = _SEVERITY_EMOJI[finding.severity]
    done = chat(outcome(finding))
    # What Sentinel did comes first and is never cut; the portal's words share what is left,
    # cut before escaping (an escaped "&amp;" is five characters and must never be split).
    head = f"{emoji} *{finding.severity.name}*" + (f" ({done})" if done else "") + ": "
    title = head + _chat_prefix(finding.title, max(CHATBOT_TITLE_LIMIT - len(head), 20))
    additional = {
        "workflow": finding.workflow,
        "severity": finding.severity.value,
        "kind": finding.kind,
    }
    if finding.user:
        additional["userId"] = chat(finding.user.id)
    if finding.room and finding.room.id is not None:
        additional["roomId"] = str(finding.room.id)
    if finding.follows:
        additional["follows"] = chat(finding.follows.id)
    next_steps = list(steps(finding))
    if finding.portal_url:
        next_steps.append(f"Review in DocSpace: {finding.portal_url}")
    related = [finding.portal_url] if finding.portal_url else []
    related += [url for _, url in resource_links(finding)]
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
            "threadId": finding.follows.id if finding.follows else finding.fingerprint,
            "summary": shorten(chat(finding.title), CHATBOT_TITLE_LIMIT),
            "eventType": finding.kind,
            "relatedResources": related,
            "additionalContext": additional,
        },
    }


def _chat_description(finding: Finding) -> str:
    lines = [chat(finding.summary)] if finding.summary else []
    facts: list[str] = []
    if finding.actions:
        facts.append("*Sentinel:* " + chat("; ".join(action_phrase(a) for a in finding.actions)))
    if finding.follows:
        facts.append(f"*Follows:* {follows_text(finding, chat)}")
    if finding.user:
        who = [p for p in (finding.user.name, finding.user.email) if p]
        facts.append(f"*User:* {chat(' · '.join([*who, finding.user.id]))}")
    if finding.room:
        room = finding.room
        # the title is portal text; the "#id" around it is ours (and a heading mark only
        # at the start of a line)
        label_ = chat(room.title) if room.title else room.label
        if room.title and room.id is not None:
            label_ += f" (#{room.id})"
        facts.append(f"*Room:* {label_}")
    period = _period_text(finding)
    if period:
        facts.append(f"*Period:* {period}")
    if facts:
        lines += ["", *facts]
    if finding.evidence:
        lines += ["", "*Evidence*"]
        lines += _chat_items(finding.evidence)
    lines.append(f"_Finding {finding.fingerprint}_")
    return shorten("\n".join(lines), CHATBOT_DESCRIPTION_LIMIT)


def _chat_items(mapping: Mapping[str, Any]) -> list[str]:
    """``• *Label:* value``; a list as nested ``◦`` items (at most ``CHAT_LIST_ITEMS``)."""
    lines: list[str] = []
    for key, value in mapping.items():
        if _is_marker(mapping, key) or is_appendix(key):
            continue
        more = _marker_count(mapping, key)
        name = chat(label(key))
        if isinstance(value, list) and value:
            lines.append(f"• *{name}:*")
            lines += [f"    ◦ {_chat_record(v)}" for v in value[:CHAT_LIST_ITEMS]]
            hidden = len(value) - min(len(value), CHAT_LIST_ITEMS) + more
            if hidden:
                lines.append(f"    ◦ … and {hidden} more")
        elif isinstance(value, Mapping) and value:
            lines.append(f"• *{name}:*")
            lines += [
                f"    ◦ {chat(label(k))}: {chat(_scalar_text(v))}"
                for k, v in value.items()
                if not _is_marker(value, k) and not is_appendix(k)
            ]
        else:
            lines.append(f"• *{name}:* {chat(_value_text(value, CHAT_LIST_ITEMS, more))}")
    return lines


def _chat_record(value: Any) -> str:
    """A list item for chat: a ``{"id", "title"}`` record's ``(#id)`` is ours when the id is an
    integer (so it is not escaped as the title is)."""
    if isinstance(value, Mapping) and set(value) == {"id", "title"}:
        number = links.int_id(value["id"])
        if number is not None:
            return f"{chat(_scalar_text(value['title']))} (#{number})"
    return chat(_record_text(value))


def _record_text(value: Any) -> str:
    """One list item: a ``{"id", "title"}`` record as ``title (#id)``, else its labelled parts."""
    if isinstance(value, Mapping):
        if set(value) == {"id", "title"}:
            return f"{_scalar_text(value['title'])} (#{_scalar_text(value['id'])})"
        return ", ".join(
            f"{label(k)}: {_scalar_text(v)}" for k, v in value.items() if not is_appendix(k)
        )
    return _scalar_text(value)


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
        return ", ".join(f"{label(k)}: {_scalar_text(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(_scalar_text(v) for v in value) or "-"
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


def _aligned(pairs: list[tuple[str, str]], indent: str, *, links: bool = False) -> list[str]:
    """``key: value`` lines; keys and values are rendered as untrusted (one line each, no link
    unless ``links``: the lines of Sentinel's own deep links)."""
    value = one_line if links else mail
    pairs = [(mail(k), value(v)) for k, v in pairs]
    width = max((len(k) for k, _ in pairs), default=0) + 1
    return [f"{indent}{(k + ':').ljust(width)} {v}" for k, v in pairs]


def _table(records: list[Mapping[str, Any]], indent: str) -> list[str]:
    """A short plain-text table: a header of labels, one row per record (cells one line each,
    no ``|`` of their own, at most ``TABLE_CELL_CHARS``)."""
    columns: list[str] = []
    for record in records:
        columns += [
            k for k in record if k not in columns and k not in TABLE_HIDDEN and not is_appendix(k)
        ]
    header = [table_cell(label(k)) for k in columns]
    rows = [
        [table_cell(shorten(_scalar_text(r.get(k)), TABLE_CELL_CHARS)) for k in columns]
        for r in records
    ]
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return (
            indent + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), indent + "-+-".join("-" * w for w in widths), *map(line, rows)]


def _mapping_lines(
    mapping: Mapping[str, Any],
    indent: str,
    portal_url: str,
    appendix: list[tuple[str, str]],
) -> list[str]:
    """``Label: value`` lines, aligned; nested mappings indented below, lists of records as a
    table (files and rooms as ``title (#id)  link``). Raw ids go to ``appendix``."""
    lines: list[str] = []
    flat: list[tuple[str, str]] = []

    def flush() -> None:
        lines.extend(_aligned(flat, indent))
        flat.clear()

    for key, value in mapping.items():
        if _is_marker(mapping, key):
            continue
        more = _marker_count(mapping, key)
        if is_appendix(key):
            appendix.append((label(key), _value_text(value, TEXT_LIST_ITEMS, more)))
            continue
        if isinstance(value, Mapping) and value:
            flush()
            lines.append(f"{indent}{one_line(label(key))}:")
            lines.extend(_mapping_lines(value, indent + "  ", portal_url, appendix))
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            flush()
            lines.append(f"{indent}{one_line(label(key))}:")
            shown = value[:TEXT_LIST_ITEMS]
            linker = _LINKED_RECORDS.get(key)
            records = [v for v in shown if isinstance(v, Mapping)]
            if linker is not None and all(set(v) == {"id", "title"} for v in records):
                for item in records:
                    url = linker(portal_url, item.get("id"))
                    text = mail(_record_text(item))
                    lines.append(f"{indent}  - {text}" + (f"  {url}" if url else ""))
            elif len(records) == len(shown):
                lines.extend(_table(records, indent + "  "))
            else:
                lines += [f"{indent}  - {mail(_record_text(v))}" for v in shown]
            hidden = len(value) - len(shown) + more
            if hidden:
                lines.append(f"{indent}  … and {hidden} more")
        else:
            flat.append((label(key), _value_text(value, TEXT_LIST_ITEMS, more)))
    flush()
    return lines
