"""Publishing findings to the findings SNS topic: one publish per finding.

The request itself (a body per subscriber protocol, subject, message attributes) is built by
``sns_request``; here it is fitted into SNS's limit, sent, and degraded when it cannot go out.

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
import logging
from typing import TYPE_CHECKING, Any

from ..runtime.errors import ConfigError
from . import sns_request
from .errors import PublishError
from .finding import Finding
from .normalize import shorten
from .untrusted import scrub

if TYPE_CHECKING:
    from .exports import Exporter

logger = logging.getLogger(__name__)

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

# SNS answers these for a request whose content it cannot take (the message, subject or an
# attribute); a degraded message may still go through. Anything else is about the topic, the
# permissions or AWS itself and fails the run.
_INVALID_MESSAGE_CODES = frozenset({"InvalidParameter", "InvalidParameterValue"})


class _Unsendable(Exception):
    """This request cannot be sent as it is (its content), as opposed to SNS being unusable."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class FindingPublisher:
    """Publishes findings to one SNS topic.

    ``sns_client`` is for tests and for sharing one client; without it a boto3 SNS client is
    created here (imported lazily: boto3 costs about 220 ms at cold start). ``exporter``, when
    given, also exports each published finding (Security Hub, EventBridge: ``exports``) right
    after SNS took it; an export never raises.
    """

    def __init__(
        self,
        topic_arn: str,
        *,
        sns_client: Any | None = None,
        max_bytes: int = sns_request.SNS_MAX_BYTES,
        exporter: Exporter | None = None,
    ) -> None:
        if not topic_arn or not topic_arn.startswith("arn:"):
            raise ConfigError("topic_arn", f"expected an SNS topic ARN, got {topic_arn!r}")
        if sns_client is None:
            import boto3

            sns_client = boto3.client("sns")
        self.topic_arn = topic_arn
        self.max_bytes = max_bytes
        self._sns = sns_client
        self.exporter = exporter
        if exporter is not None:
            # an export that failed for good is reported here, to SNS only
            exporter.notify = lambda notice: self.publish(notice, export=False)

    def bind(self, context: Any) -> None:
        """The Lambda context of this invocation (the exports' account and region)."""
        if self.exporter is not None:
            self.exporter.bind(context)

    def publish(self, finding: Finding, *, export: bool = True) -> str:
        """Publish ``finding``; return the SNS ``MessageId``. Raises ``PublishError``.

        Then, with ``export`` and an exporter, export it (never raises: see ``exports``).

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
        if export and self.exporter is not None:
            self.exporter.export(finding)
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
        """Log why ``finding`` cannot go out in full; its minimal request
        (``sns_request.degraded_request``)."""
        logger.error(
            "finding %s (%s/%s) could not be published in full (%s: %s): publishing it degraded",
            finding.fingerprint,
            finding.workflow,
            finding.kind,
            type(cause).__name__,
            scrub(str(cause))[:500],
        )
        return sns_request.degraded_request(finding, self.topic_arn, type(cause).__name__)

    def build_request(self, finding: Finding) -> dict[str, Any]:
        """The exact keyword arguments for ``sns.publish``, trimmed to fit ``max_bytes``."""
        request = sns_request.request(finding, self.topic_arn)
        size = sns_request.request_size(request)
        if size <= self.max_bytes:
            return request
        original = size
        for items, max_chars, max_summary in TRIM_STEPS:
            candidate = finding.trimmed(items, max_chars=max_chars)
            if max_summary is not None:
                candidate = dataclasses.replace(
                    candidate, summary=shorten(candidate.summary, max_summary)
                )
            request = sns_request.request(candidate, self.topic_arn)
            size = sns_request.request_size(request)
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
            title=shorten(finding.title, 200),
            summary=shorten(finding.summary, 500),
            evidence={**counts, "evidenceOmitted": True},
            context={"contextOmitted": True},
        )
        request = sns_request.request(candidate, self.topic_arn)
        size = sns_request.request_size(request)
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
