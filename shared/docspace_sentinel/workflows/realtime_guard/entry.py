"""The Lambda wiring of the consumer: Powertools logger and metrics, settings read at the entry
(``read_settings``: a bad one fails before any AWS call), cached AWS clients, the DocSpace
client built only when a burst needs the portal."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ...docspace.client import DocSpaceClient
from ...docspace.settings import ClientSettings
from ...runtime.handler import (
    logger,
    metrics,
    publisher_of,
    read_settings,
    remaining_time_of,
    set_workflow_dimension,
    state_store,
)
from ...runtime.runner import RunSettings
from .consumer import Consumer
from .findings import WORKFLOW
from .settings import RealtimeSettings

METRICS = {
    "counted": "DeliveriesCounted",
    "burst": "DeliveriesInReportedBurst",
    "reported": "FindingsPublished",
    "suppressed": "FindingsSuppressedByRule",
    "duplicate": "DeliveriesDuplicate",
    "ignored": "DeliveriesIgnored",
    "unusable": "DeliveriesUnusable",
    "failed": "DeliveriesFailed",
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics()
def entry(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(workflow=WORKFLOW)
    settings = read_settings(RealtimeSettings, WORKFLOW)
    set_workflow_dimension(WORKFLOW)
    with ExitStack() as stack:
        clients: list[DocSpaceClient] = []

        def client() -> DocSpaceClient:
            if not clients:
                built = DocSpaceClient(settings.client(), remaining_time=remaining_time_of(context))
                clients.append(stack.enter_context(built))
            return clients[0]

        publisher = publisher_of(settings.run, context)
        consumer = Consumer(
            state_store(settings.run.state_table),
            settings.workflow,
            client,
            publisher.publish,
            suppression=settings.run.suppression,
        )
        answer = consumer.batch(event)
    for outcome, count in consumer.counts.items():
        if count:
            metrics.add_metric(name=METRICS[outcome], unit=MetricUnit.Count, value=count)
    logger.info("batch processed", extra={"outcomes": consumer.counts})
    return answer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry (``functions/realtime_guard/app.py``)."""
    return entry(event, context)  # type: ignore[no-any-return]


#: The settings classes this handler reads (tests derive the environment it needs from them).
handler.settings_classes = (RunSettings, ClientSettings, RealtimeSettings)  # type: ignore[attr-defined]
handler.config_section = WORKFLOW  # type: ignore[attr-defined]
