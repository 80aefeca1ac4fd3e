"""One SNS publish request for a finding: its bodies, subject and message attributes.

One publish carries a body per subscriber protocol (``MessageStructure="json"``): the canonical
JSON for SQS, Lambda and email-json subscribers, plain text for email, and the AWS Chatbot
custom-notification schema for the ``https`` subscription Chatbot uses for Slack and Teams.
Message attributes (``workflow``, ``severity``, ``kind``, ``userId``, ``category``, ``follows``)
let subscriptions filter.
``degraded_request`` is the minimal request for a finding that cannot go out in full. Building
only: fitting a request into SNS's limit and sending it is ``publisher``'s.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from ..docspace.dates import format_utc
from .finding import Finding
from .labels import outcome
from .routing import category
from .untrusted import one_line, scrub

#: SNS's limit on one publish request, in bytes.
SNS_MAX_BYTES = 262_144
SUBJECT_PREFIX = "[DocSpace Sentinel]"
SUBJECT_MAX_CHARS = 99  # SNS: "must be less than 100 characters"

# Punctuation NFKD leaves non-ASCII; anything else non-ASCII is dropped from the subject.
_ASCII_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
# "until 2026-11-29 21:13 UTC" -> "until 21:13 UTC" in a subject (the body has the date).
_SUBJECT_DATE = re.compile(r"until \d{4}-\d\d-\d\d (\d\d:\d\d UTC)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def email_subject(finding: Finding) -> str:
    """``[DocSpace Sentinel] HIGH (disabled until 21:13 UTC): <title>`` as SNS accepts it: ASCII,
    one line, < 100 chars. What Sentinel did (``labels.outcome``) comes before the title, so a
    long title cannot cut it off; a dry run says ``dry run: would disable``."""
    title = _ascii(finding.title) or _ascii(finding.kind) or "finding"
    done = _SUBJECT_DATE.sub(r"until \1", _ascii(outcome(finding)).replace(" (not applied)", ""))
    head = f"{SUBJECT_PREFIX} {finding.severity.name}"
    if done:
        head += f" ({done})"
    if finding.follows is not None:
        head += " follow-up"
    subject = f"{head}: {title}"
    if len(subject) > SUBJECT_MAX_CHARS:
        subject = subject[: SUBJECT_MAX_CHARS - 3].rstrip() + "..."
    return subject


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_PUNCTUATION))
    plain = decomposed.encode("ascii", "ignore").decode("ascii")
    return _SPACES.sub(" ", _CONTROL.sub(" ", plain)).strip()


_HEX_ID = re.compile(r"[0-9a-f]{32}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _attribute_value(value: str) -> str:
    """``value`` as SNS takes it in a String attribute: one line (``one_line`` makes controls
    and NUL spaces), no noncharacter (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF), at most 256 chars."""
    text = one_line(value)
    if not text.isascii():
        text = "".join(c for c in text if not _noncharacter(c))
    return text.strip()[:256]


def message_attributes(finding: Finding, *, degraded: bool = False) -> dict[str, dict[str, str]]:
    """Attributes for subscription filter policies. SNS rejects empty String values.

    ``degraded``: ``userId`` only when it is a GUID, so nothing the portal chose can make SNS
    refuse the degraded message as it refused the full one."""
    user_id = finding.user.id if finding.user else ""
    follows = finding.follows.id if finding.follows else ""
    if degraded and not _GUID.fullmatch(user_id):
        user_id = ""
    if degraded and not _HEX_ID.fullmatch(follows):
        follows = ""
    values = {
        "workflow": finding.workflow,
        "severity": finding.severity.value,
        "kind": finding.kind,
        "userId": user_id,
        # alert | report (``routing``): the alert mailbox's filter policy takes alerts only
        "category": category(finding),
        # a follow-up: the id of the finding it follows (sentinel-made hex, never portal text)
        "follows": follows,
    }
    attributes = {}
    for name, value in values.items():
        value = _attribute_value(value)
        if value:
            attributes[name] = {"DataType": "String", "StringValue": value}
    return attributes


def request_size(request: dict[str, Any]) -> int:
    """Bytes SNS counts against its limit: message, subject and every attribute's parts."""
    size = len(request["Message"].encode("utf-8"))
    size += len(request.get("Subject", "").encode("utf-8"))
    for name, attribute in request.get("MessageAttributes", {}).items():
        size += len(name.encode("utf-8")) + len(attribute["DataType"].encode("utf-8"))
        size += len(attribute.get("StringValue", "").encode("utf-8"))
    return size


def request(finding: Finding, topic_arn: str) -> dict[str, Any]:
    """The keyword arguments for ``sns.publish``: a body per subscriber protocol."""
    canonical = finding.to_json()
    bodies = {
        "default": canonical,
        "sqs": canonical,
        "lambda": canonical,
        "email": finding.render_text(),
        "email-json": canonical,
        "https": json.dumps(finding.render_chatbot(), ensure_ascii=False),
    }
    return {
        "TopicArn": topic_arn,
        "Message": json.dumps(bodies, ensure_ascii=False),
        "MessageStructure": "json",
        "Subject": email_subject(finding),
        "MessageAttributes": message_attributes(finding),
    }


def degraded_request(finding: Finding, topic_arn: str, reason: str) -> dict[str, Any]:
    """A minimal publish for ``finding`` that could not be rendered or sent in full.

    Built only from fields the sentinel sets itself (workflow, kind, severity, id, portal URL and
    times), so it renders and encodes whatever the portal sent; it says that it is degraded and
    why (``reason``, the failure's type), and carries the usual message attributes (``userId``
    only if it is a GUID) plus ``degraded``.
    """
    fingerprint = finding.fingerprint
    severity = finding.severity
    # a follow-up stays in its thread (the followed id only when it is one of ours)
    attributes_follows = (
        message_attributes(finding, degraded=True).get("follows", {}).get("StringValue", "")
    )
    title = f"Degraded {severity.name} finding: {finding.workflow} / {finding.kind}"
    summary = (
        f"This finding could not be rendered in full ({reason}); the portal's text is left "
        f"out. Look it up in DocSpace and in the sentinel's logs under id {fingerprint}."
    )
    canonical = {
        "schemaVersion": 1,
        "id": fingerprint,
        "degraded": True,
        "degradedReason": reason,
        "workflow": finding.workflow,
        "kind": finding.kind,
        "severity": severity.value,
        "title": title,
        "summary": summary,
        "dedup": [fingerprint],
        "user": None,
        "room": None,
        "period": {"start": None, "end": None},
        "evidence": {},
        "context": {},
        "actions": [],
        "portalUrl": scrub(finding.portal_url),
        "createdAt": format_utc(finding.created_at),
    }
    text = "\n".join(
        [
            f"[{severity.name}] {title}",
            "",
            f"Summary:    {summary}",
            f"Workflow:   {finding.workflow} / {finding.kind}",
            f"Portal:     {scrub(finding.portal_url)}",
            f"Finding id: {fingerprint}",
            "",
        ]
    )
    note = {
        "version": "1.0",
        "source": "custom",
        "id": fingerprint,
        "content": {
            "textType": "client-markdown",
            "title": f"*{severity.name}*: degraded finding ({finding.workflow} / {finding.kind})",
            "description": f"{summary}\n_Finding {fingerprint}_",
            "keywords": [severity.name, finding.workflow, "degraded"],
        },
        "metadata": {
            "threadId": attributes_follows or fingerprint,
            "summary": title,
            "eventType": finding.kind,
            "additionalContext": {
                "workflow": finding.workflow,
                "severity": severity.value,
                "kind": finding.kind,
                "degraded": "true",
            },
        },
    }
    body = json.dumps(canonical, ensure_ascii=False)
    bodies = {
        "default": body,
        "sqs": body,
        "lambda": body,
        "email": text,
        "email-json": body,
        "https": json.dumps(note, ensure_ascii=False),
    }
    attributes = message_attributes(finding, degraded=True)
    attributes["degraded"] = {"DataType": "String", "StringValue": "true"}
    return {
        "TopicArn": topic_arn,
        "Message": json.dumps(bodies, ensure_ascii=False),
        "MessageStructure": "json",
        "Subject": _ascii(f"{SUBJECT_PREFIX} {severity.name}: degraded {finding.kind}")[
            :SUBJECT_MAX_CHARS
        ],
        "MessageAttributes": attributes,
    }
