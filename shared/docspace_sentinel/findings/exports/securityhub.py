"""Security Hub: ``BatchImportFindings`` into the account's default product, and the updates
of a finding its follow-ups (or ``findings close``) ask for.

A provider updates its own finding by importing the same ``Id`` again with a newer
``UpdatedAt``; ``Workflow`` is a customer field that an import does not change, so a finding is
closed by importing it with ``RecordState: ARCHIVED`` and, where the role may call it, by
``BatchUpdateFindings`` with ``Workflow.Status: RESOLVED`` (the template grants it, limited by
condition to that one field and value, to the function that publishes follow-ups). A refused or
unimplemented ``BatchUpdateFindings`` is logged, not an export failure: the record is archived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..errors import ExportError, aws_call
from ..finding import Finding
from . import asff
from .asff import Account

log = logging.getLogger(__name__)

TARGET = "Security Hub"
#: Errors that mean "this role may not (or this endpoint cannot) update workflow status".
_NOT_ALLOWED = frozenset({"AccessDeniedException", "AccessDenied", "404", "NotImplemented"})


class SecurityHub:
    """``client`` is a boto3 ``securityhub`` client (or a stub with the same methods)."""

    def __init__(self, client: Any, account: Callable[[], Account]) -> None:
        self.client = client
        self.account = account

    def export(self, finding: Finding, now: datetime) -> str:
        """Import ``finding``, or update the finding it follows. Returns what was done
        (``imported``, ``updated``, ``resolved``). Raises ``ExportError``."""
        account = self.account()
        if finding.follows is None:
            self.import_findings([asff.build(finding, account, now=now)])
            return "imported"
        original = self.original(finding.follows.id)
        if original is None:
            # the original was never exported (the export was off then): nothing to update,
            # so the follow-up goes in as a finding of its own
            log.info(
                "finding %s follows %s, which is not in Security Hub: imported on its own",
                finding.fingerprint,
                finding.follows.id,
            )
            self.import_findings([asff.build(finding, account, now=now)])
            return "imported"
        resolve = finding.kind in asff.RESOLVING
        self.import_findings([asff.followed_up(original, finding, now=now, resolve=resolve)])
        if resolve:
            self.resolve(finding.follows.id)
            return "resolved"
        return "updated"

    def import_findings(self, findings: list[dict[str, Any]]) -> None:
        answer = _call(lambda: self.client.batch_import_findings(Findings=findings))
        if int(answer.get("FailedCount") or 0):
            failed = (answer.get("FailedFindings") or [{}])[0]
            raise ExportError(
                TARGET,
                str(failed.get("ErrorCode") or "FailedFindings"),
                str(failed.get("ErrorMessage") or f"finding {failed.get('Id')} was refused"),
            )

    def original(self, finding_id: str) -> dict[str, Any] | None:
        """The stored ASFF finding ``finding_id`` of our product, or None."""
        product = self.account().product_arn
        answer = _call(
            lambda: self.client.get_findings(
                Filters={
                    "Id": [{"Value": finding_id, "Comparison": "EQUALS"}],
                    "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
                },
                MaxResults=10,
            )
        )
        for found in answer.get("Findings") or ():
            # moto ignores Filters: match here too
            if found.get("Id") == finding_id and found.get("ProductArn") == product:
                return dict(found)
        return None

    def resolve(
        self,
        finding_id: str,
        *,
        note: Mapping[str, str] | None = None,
        verification: str | None = None,
    ) -> bool:
        """``Workflow.Status`` RESOLVED (with a note and a verification state: the CLI's). False
        when the role may not or the endpoint cannot (logged; the record is archived anyway)."""
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {
            "FindingIdentifiers": [{"Id": finding_id, "ProductArn": self.account().product_arn}],
            "Workflow": {"Status": "RESOLVED"},
        }
        if note:
            request["Note"] = dict(note)
        if verification:
            request["VerificationState"] = verification
        try:
            answer = self.client.batch_update_findings(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
            if code in _NOT_ALLOWED or status == "404":
                log.warning(
                    "BatchUpdateFindings is not available (%s): finding %s is archived, "
                    "not set RESOLVED",
                    code or status,
                    finding_id,
                )
                return False
            raise ExportError(
                TARGET, code or "ClientError", str(error.get("Message") or exc)
            ) from exc
        unprocessed = answer.get("UnprocessedFindings") or []
        if unprocessed:
            first = unprocessed[0]
            raise ExportError(
                TARGET, str(first.get("ErrorCode") or "Unprocessed"), str(first.get("ErrorMessage"))
            )
        return True


def _call(call: Callable[[], Any]) -> dict[str, Any]:
    return aws_call(TARGET, call)
