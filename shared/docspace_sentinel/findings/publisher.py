"""Publishing findings to the findings SNS topic: one publish per finding.

One publish carries a body per subscriber protocol (``MessageStructure="json"``): the canonical
JSON for SQS, Lambda and email-json subscribers, plain text for email, and the AWS Chatbot
custom-notification schema for the ``https`` subscription Chatbot uses for Slack and Teams.
Message attributes (``workflow``, ``severity``, ``kind``, ``userId``) let subscriptions filter.

SNS refuses a request over 256 KiB (message, subject and attributes together). A finding that
would not fit is trimmed until it does: sample lists first (100, 20, 5, then 0 items each), then
long strings and the summary. Counts are never changed, and every cut is recorded in the
finding (``<key>Truncated``) and logged. A failed publish raises ``PublishError``: the caller must
then not advance its cursor, so the next run finds and publishes the finding again.

A finding that cannot be rendered or sent as it is (a bug in a rendering, text the SDK cannot
encode, a value SNS cannot take) would fail every retry of the run for good, since the retry
finds the same finding. It is published *degraded* instead (``degraded_request``): a minimal
message built only from the sentinel's own fields, saying that it is degraded, with the same
id, workflow, kind, severity and message attributes. Only SNS or AWS refusing the publish itself
(permissions, topic, throttling, network) fails the run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import unicodedata
from typing import Any

from ..docspace.dates import format_utc
from ..runtime.errors import ConfigError
from .errors import PublishError
from .finding import Finding
from .untrusted import one_line, scrub

logger = logging.getLogger(__name__)

#: SNS's limit on one publish request, in bytes.
SNS_MAX_BYTES = 262_144
SUBJECT_PREFIX = "[DocSpace Sentinel]"
SUBJECT_MAX_CHARS = 99  # SNS: "must be less than 100 characters"

# (sample items per list, longest string in evidence/context, longest summary), in the order
# tried when a finding does not fit. None leaves that part as it is.
TRIM_STEPS: tuple[tuple[int, int | None, int | None], ...] = (
    (100, None, None),
    (20, None, None),
    (5, None, None),
    (0, None, None),
    (0, 1_000, 4_000),
    (0, 100, 500),
)

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
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


# SNS answers these for a request whose content it cannot take (the message, subject or an
# attribute); a degraded message may still go through. Anything else is about the topic, the
# permissions or AWS itself and fails the run.
_INVALID_MESSAGE_CODES = frozenset({"InvalidParameter", "InvalidParameterValue"})


class _Unsendable(Exception):
    """This request cannot be sent as it is (its content), as opposed to SNS being unusable."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def email_subject(finding: Finding) -> str:
    """``[DocSpace Sentinel] HIGH: <title>`` as SNS accepts it: ASCII, one line, < 100 chars."""
    title = _ascii(finding.title) or _ascii(finding.kind) or "finding"
    subject = f"{SUBJECT_PREFIX} {finding.severity.name}: {title}"
    if len(subject) > SUBJECT_MAX_CHARS:
        subject = subject[: SUBJECT_MAX_CHARS - 3].rstrip() + "..."
    return subject


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_PUNCTUATION))
    plain = decomposed.encode("ascii", "ignore").decode("ascii")
    return _SPACES.sub(" ", _CONTROL.sub(" ", plain)).strip()


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
    if degraded and not _GUID.fullmatch(user_id):
        user_id = ""
    values = {
        "workflow": finding.workflow,
        "severity": finding.severity.value,
        "kind": finding.kind,
        "userId": user_id,
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


class FindingPublisher:
    """Publishes findings to one SNS topic.

    ``sns_client`` is for tests and for sharing one client; without it a boto3 SNS client is
    created here (imported lazily: boto3 costs about 220 ms at cold start).
    """

    def __init__(
        self,
        topic_arn: str,
        *,
        sns_client: Any | None = None,
        max_bytes: int = SNS_MAX_BYTES,
    ) -> None:
        if not topic_arn or not topic_arn.startswith("arn:"):
            raise ConfigError("topic_arn", f"expected an SNS topic ARN, got {topic_arn!r}")
        if sns_client is None:
            import boto3

            sns_client = boto3.client("sns")
        self.topic_arn = topic_arn
        self.max_bytes = max_bytes
        self._sns = sns_client

    def publish(self, finding: Finding) -> str:
        """Publish ``finding``; return the SNS ``MessageId``. Raises ``PublishError``.

        A finding that cannot be rendered, or whose request the SDK cannot encode or SNS
        refuses as invalid, is published degraded (``degraded_request``) rather than failing.
        """
        try:
            request = self.build_request(finding)
        except Exception as exc:  # noqa: BLE001 - a rendering failure is this finding's alone
            request = self.degraded_request(finding, exc)
        try:
            response = self._send(finding, request)
        except _Unsendable as unsendable:
            if "degraded" in request["MessageAttributes"]:
                raise self._unsendable(finding, unsendable) from unsendable.cause
            request = self.degraded_request(finding, unsendable.cause)
            try:
                response = self._send(finding, request)
            except _Unsendable as again:
                raise self._unsendable(finding, again) from again.cause
        message_id = str(response["MessageId"])
        logger.info(
            "published finding %s (%s/%s, %s) as %s",
            finding.fingerprint,
            finding.workflow,
            finding.kind,
            finding.severity.value,
            message_id,
        )
        return message_id

    def _send(self, finding: Finding, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        try:
            response = dict(self._sns.publish(**request))
        except (UnicodeError, ParamValidationError) as exc:
            # the SDK refused this request before sending it: its content, not AWS
            raise _Unsendable(exc) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if str(error.get("Code")) in _INVALID_MESSAGE_CODES:
                raise _Unsendable(exc) from exc
            raise PublishError(
                self.topic_arn,
                str(error.get("Code") or "ClientError"),
                str(error.get("Message") or exc),
                finding.fingerprint,
            ) from exc
        except BotoCoreError as exc:  # no connection, no credentials …
            raise PublishError(
                self.topic_arn, type(exc).__name__, str(exc), finding.fingerprint
            ) from exc
        return response

    def _unsendable(self, finding: Finding, unsendable: _Unsendable) -> PublishError:
        """Even the degraded message was refused: then it is not the finding's text (e.g. a
        malformed topic ARN), and the run must fail."""
        cause = unsendable.cause
        code = type(cause).__name__
        if hasattr(cause, "response"):
            code = str(cause.response.get("Error", {}).get("Code") or code)
        return PublishError(self.topic_arn, code, scrub(str(cause)), finding.fingerprint)

    def degraded_request(self, finding: Finding, cause: BaseException) -> dict[str, Any]:
        """A minimal publish for ``finding`` that could not be rendered or sent in full.

        Built only from fields the sentinel sets itself (workflow, kind, severity, id, portal
        URL and times), so it renders and encodes whatever the portal sent; it says that it is
        degraded and why, and carries the usual message attributes (``userId`` only if it is a
        GUID) plus ``degraded``.
        """
        logger.error(
            "finding %s (%s/%s) could not be published in full (%s: %s): publishing it degraded",
            finding.fingerprint,
            finding.workflow,
            finding.kind,
            type(cause).__name__,
            scrub(str(cause))[:500],
        )
        fingerprint = finding.fingerprint
        severity = finding.severity
        reason = type(cause).__name__
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
                "threadId": fingerprint,
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
            "TopicArn": self.topic_arn,
            "Message": json.dumps(bodies, ensure_ascii=False),
            "MessageStructure": "json",
            "Subject": _ascii(f"{SUBJECT_PREFIX} {severity.name}: degraded {finding.kind}")[
                :SUBJECT_MAX_CHARS
            ],
            "MessageAttributes": attributes,
        }

    def build_request(self, finding: Finding) -> dict[str, Any]:
        """The exact keyword arguments for ``sns.publish``, trimmed to fit ``max_bytes``."""
        request = self._request(finding)
        size = request_size(request)
        if size <= self.max_bytes:
            return request
        original = size
        for items, max_chars, max_summary in TRIM_STEPS:
            candidate = finding.trimmed(items, max_chars=max_chars)
            if max_summary is not None:
                candidate = dataclasses.replace(
                    candidate, summary=_shorten(candidate.summary, max_summary)
                )
            request = self._request(candidate)
            size = request_size(request)
            if size <= self.max_bytes:
                logger.warning(
                    "finding %s was %d bytes, over the SNS limit of %d: trimmed to %d bytes "
                    "(samples cut to %d items each%s; counts unchanged)",
                    finding.fingerprint,
                    original,
                    self.max_bytes,
                    size,
                    items,
                    ", long strings and summary shortened" if max_chars else "",
                )
                return request
        # Last resort: keep only the top-level numbers (the counts) of evidence, drop the rest.
        counts = {
            key: value
            for key, value in finding.evidence.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        candidate = dataclasses.replace(
            finding,
            title=_shorten(finding.title, 200),
            summary=_shorten(finding.summary, 500),
            evidence={**counts, "evidenceOmitted": True},
            context={"contextOmitted": True},
        )
        request = self._request(candidate)
        size = request_size(request)
        if size > self.max_bytes:
            raise PublishError(
                self.topic_arn,
                "MessageTooLong",
                f"{size} bytes even without evidence and context (limit {self.max_bytes})",
                finding.fingerprint,
            )
        logger.warning(
            "finding %s was %d bytes, over the SNS limit of %d: published %d bytes with "
            "evidence reduced to its top-level counts and context omitted",
            finding.fingerprint,
            original,
            self.max_bytes,
            size,
        )
        return request

    def _request(self, finding: Finding) -> dict[str, Any]:
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
            "TopicArn": self.topic_arn,
            "Message": json.dumps(bodies, ensure_ascii=False),
            "MessageStructure": "json",
            "Subject": email_subject(finding),
            "MessageAttributes": message_attributes(finding),
        }


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
