"""Errors of the findings' channels: SNS or SES refused or failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..runtime.errors import SentinelError
from .untrusted import one_line


class PublishError(SentinelError):
    """SNS refused or did not take a finding. The run must fail and keep its cursor."""

    def __init__(self, topic_arn: str, code: str, message: str, finding_id: str | None = None):
        self.topic_arn = topic_arn
        self.code = code
        self.finding_id = finding_id
        what = f" finding {finding_id}" if finding_id else ""
        super().__init__(
            f"publishing{what} to {topic_arn} failed: {code}: {message} "
            "(check the topic ARN and the function's sns:Publish permission)"
        )


class MailError(SentinelError):
    """SES refused or failed to send; the message names the recipient and the AWS error code."""


class RecipientRefused(MailError):
    """SES will not send to this one address (malformed, not verified in the sandbox, on a
    suppression list). Other recipients are unaffected: report it and go on."""

    def __init__(self, recipient: str, code: str, detail: str = "") -> None:
        self.recipient = recipient
        self.code = code
        self.detail = detail
        super().__init__(
            f"SES refused the recipient {one_line(recipient)!r}: {code}"
            + (f" ({one_line(detail)})" if detail else "")
        )


class ExportError(SentinelError):
    """Security Hub or EventBridge did not take a finding (after the SNS publish: the finding
    is not lost; the exporter retries, then reports an ``export_failed`` finding)."""

    def __init__(self, target: str, code: str, message: str) -> None:
        self.target = target
        self.code = code
        self.detail = one_line(message)[:500]
        super().__init__(f"exporting to {target} failed: {code}: {self.detail}")


def aws_call(target: str, call: Callable[[], Any]) -> dict[str, Any]:
    """One export call to AWS; botocore's errors become ``ExportError`` naming ``target``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return dict(call())
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ExportError(
            target, str(error.get("Code") or "ClientError"), str(error.get("Message") or exc)
        ) from exc
    except BotoCoreError as exc:
        raise ExportError(target, type(exc).__name__, str(exc)) from exc
