"""EventBridge: one ``PutEvents`` entry per published finding, on the bus ``EVENT_BUS_NAME``.

``Source`` is ``docspace.sentinel``, ``DetailType`` the finding's kind, ``Detail`` the canonical
finding JSON (with its ``schemaVersion``), so a rule can route on ``detail.severity``,
``detail.workflow`` or ``detail-type``. An entry over EventBridge's 256 KB is trimmed as the SNS
path trims (``Finding.trimmed``: sample lists first, counts never; every cut recorded).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from ..errors import ExportError, aws_call
from ..finding import Finding
from ..normalize import shorten

log = logging.getLogger(__name__)

TARGET = "EventBridge"
SOURCE = "docspace.sentinel"
#: EventBridge's limit for one entry (Source, DetailType, Detail and Resources together).
MAX_BYTES = 256 * 1024


def entry_size(entry: dict[str, Any]) -> int:
    parts = (entry.get("Source", ""), entry.get("DetailType", ""), entry.get("Detail", ""))
    size = sum(len(p.encode("utf-8", "surrogatepass")) for p in parts)
    size += sum(len(r.encode()) for r in entry.get("Resources", ()))
    return size + (14 if "Time" in entry else 0)


def entry(finding: Finding, bus: str, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The ``PutEvents`` entry of ``finding``, trimmed to fit ``max_bytes``."""
    from ..publisher import TRIM_STEPS

    def build(candidate: Finding) -> dict[str, Any]:
        return {
            "EventBusName": bus,
            "Source": SOURCE,
            "DetailType": finding.kind,
            "Detail": candidate.to_json(),
            "Time": candidate.created_at,
        }

    built = build(finding)
    if entry_size(built) <= max_bytes:
        return built
    for items, max_chars, max_summary in TRIM_STEPS:
        candidate = finding.trimmed(items, max_chars=max_chars)
        if max_summary is not None:
            candidate = dataclasses.replace(
                candidate, summary=shorten(candidate.summary, max_summary)
            )
        built = build(candidate)
        if entry_size(built) <= max_bytes:
            log.warning(
                "finding %s was over EventBridge's limit: samples cut to %d items each",
                finding.fingerprint,
                items,
            )
            return built
    counts = {
        k: v
        for k, v in finding.evidence.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    built = build(
        dataclasses.replace(
            finding,
            title=shorten(finding.title, 200),
            summary=shorten(finding.summary, 500),
            evidence={**counts, "evidenceOmitted": True},
            context={"contextOmitted": True},
        )
    )
    if entry_size(built) > max_bytes:
        raise ExportError(
            TARGET, "EntryTooLarge", f"{entry_size(built)} bytes even without evidence"
        )
    return built


class EventBus:
    """``client`` is a boto3 ``events`` client (or a stub with ``put_events``)."""

    def __init__(self, client: Any, bus: str) -> None:
        self.client = client
        self.bus = bus

    def export(self, finding: Finding) -> str:
        """Put ``finding`` on the bus; returns the event id. Raises ``ExportError``."""
        request = entry(finding, self.bus)
        answer = aws_call(TARGET, lambda: self.client.put_events(Entries=[request]))
        result = (answer.get("Entries") or [{}])[0]
        if int(answer.get("FailedEntryCount") or 0) or "ErrorCode" in result:
            raise ExportError(
                TARGET, str(result.get("ErrorCode") or "Failed"), str(result.get("ErrorMessage"))
            )
        return str(result.get("EventId") or "")
