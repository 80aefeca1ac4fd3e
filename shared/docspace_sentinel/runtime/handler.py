"""The Lambda entry every workflow shares: logging, metrics, settings, clients, the run.

A handler module is three lines::

    from docspace_sentinel.runtime.handler import workflow_handler
    from docspace_sentinel.workflows import vdr_activity
    handler = workflow_handler(vdr_activity.WORKFLOW, vdr_activity.run, vdr_activity.Settings)

Settings are read on every invocation, all of them at the entry (``read_settings``): the run
settings, the client settings, the workflow's own and the rules across them
(``Settings.validate(run_settings)``, e.g. the bulk guard's window against the scan lag), from
the environment and, in a deployed stack, the configuration document (``runtime.config``: one
SSM read, cached a minute). A bad one fails the invocation with a ``ConfigError`` naming it
before the run is claimed: nothing is written. The environment's are checked before any AWS
call, the document next, the API key last (from Secrets Manager, itself an AWS call). The AWS
clients are created once per container.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ..docspace.client import DocSpaceClient
from ..docspace.settings import ClientSettings
from ..findings.exports import Exporter, ExportSettings
from ..findings.publisher import FindingPublisher
from ..state.store import StateStore
from .config import config_parameter, settings_env
from .env import Env
from .errors import InvalidInvocation
from .invocation import check_shape, http_body, is_http_request, url_invocation
from .runner import RunContext, Runner, RunOutcome, RunSettings, WindowOf, Work

# POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE override these defaults.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "docspace-sentinel"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DocSpaceSentinel"))

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
#: Metrics a run's summary counts: metric name -> summary key.
SUMMARY_COUNTS = {
    "EventsScanned": "eventsScanned",
    "FindingsPublished": "findingsPublished",
    "FindingsSuppressedByRule": "findingsSuppressedByRule",
}
S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)


class SettingsClass(Protocol[S_co]):
    """A workflow's settings class: ``from_env(env)`` reads and checks its variables (their
    names are constants of the class); an optional ``validate(run_settings)`` method on the
    instance checks the rules across its settings and the run's; an optional ``scan_window``
    method (a ``WindowOf``) declares the window the run reads instead of the cursor's."""

    def from_env(self, env: Env | None = None) -> S_co: ...


class EntrySettings(NamedTuple):
    """Everything an invocation is configured with, read and validated at the handler's entry."""

    run: RunSettings
    #: Reads the API key (Secrets Manager in Lambda: an AWS call) and returns the client
    #: settings; everything else in them is already validated.
    client: Callable[[], ClientSettings]
    workflow: Any


def read_settings(workflow_settings: SettingsClass[Any], workflow: str) -> EntrySettings:
    """Read and validate every setting (``ConfigError`` names a bad one).

    The environment alone is checked first, without an AWS call. When the stack names a
    configuration document (``SENTINEL_CONFIG_PARAMETER``), every setting is then read again
    from ``workflow``'s view of the document with the environment's set variables over it (one
    SSM read, cached), and only then are the rules across settings checked (one half of such a
    pair may come from each place).
    """
    document = config_parameter()
    entry = _read_settings(workflow_settings, None, cross_checks=document is None)
    if document is None:
        return entry
    return _read_settings(workflow_settings, settings_env(workflow, document), cross_checks=True)


def _read_settings(
    workflow_settings: SettingsClass[Any], env: Env | None, *, cross_checks: bool
) -> EntrySettings:
    run = RunSettings.from_env(env)
    client = ClientSettings.prepare(env)
    workflow = workflow_settings.from_env(env)
    validate = getattr(workflow, "validate", None)
    if validate is not None and cross_checks:
        validate(run)
    return EntrySettings(run, client, workflow)


@cache
def state_store(table: str) -> StateStore:
    return StateStore(table)


NO_EXPORTS = ExportSettings()


@cache
def finding_publisher(topic_arn: str, exports: ExportSettings = NO_EXPORTS) -> FindingPublisher:
    """The container's publisher for ``topic_arn``, exporting as ``exports`` says."""
    exporter = Exporter(exports) if exports.enabled else None
    return FindingPublisher(topic_arn, exporter=exporter)


def publisher_of(settings: RunSettings, context: Any = None) -> FindingPublisher:
    """The publisher of a run with ``settings``, bound to this invocation's ``context`` (the
    account and region of the Security Hub export come from its function ARN)."""
    publisher = finding_publisher(settings.topic_arn, settings.exports)
    publisher.bind(context)
    return publisher


def set_workflow_dimension(workflow: str) -> None:
    # Default dimensions survive the flush; one process serves one workflow in Lambda.
    if metrics.default_dimensions.get("workflow") != workflow:
        metrics.set_default_dimensions(workflow=workflow)


def reset_caches() -> None:
    """Forget the cached AWS clients (tests that swap the AWS backend call this)."""
    state_store.cache_clear()
    finding_publisher.cache_clear()


def remaining_time_of(context: Any) -> Callable[[], float] | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        return None
    return lambda: float(getter()) / 1000.0


def run_workflow(
    workflow: str,
    work: Work,
    event: dict[str, Any],
    context: Any,
    settings: RunSettings,
    client: DocSpaceClient,
    window: WindowOf | None = None,
) -> dict[str, Any]:
    """Run one invocation of ``workflow`` with settings already read and a client built
    (``window``: the scan window the workflow declares, when not the cursor's)."""
    remaining = remaining_time_of(context)
    runner = Runner(
        workflow,
        settings,
        client=client,
        store=state_store(settings.state_table),
        publisher=publisher_of(settings, context),
        remaining_time=remaining,
    )
    set_workflow_dimension(workflow)
    try:
        summary = runner.run(event, work, window)
    except InvalidInvocation:
        raise  # refused before anything was claimed; counted by the handler
    except Exception:
        metrics.add_metric(name="RunFailed", unit=MetricUnit.Count, value=1)
        add_client_metrics(client)
        logger.exception("%s run failed; its cursor did not move", workflow)
        raise
    # Counts are left out at 0: CloudWatch bills a custom metric for every hour it gets data,
    # and a missing point reads as 0 on the dashboard (no alarm watches these two).
    for name, key in SUMMARY_COUNTS.items():
        if summary.get(key):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary[key])
    add_client_metrics(client)
    metrics.add_metric(name=outcome_metric(summary), unit=MetricUnit.Count, value=1)
    lag = scan_lag_seconds(summary, datetime.now(UTC))
    if lag is not None:
        metrics.add_metric(name="ScanLagSeconds", unit=MetricUnit.Seconds, value=lag)
    logger.info("run finished", extra={"summary": summary})
    return summary


def add_client_metrics(client: DocSpaceClient) -> None:
    """``ApiCalls`` (every attempt) and ``RateLimitHits`` (429s the client waited out), each
    left out at 0: a metric is billed for every hour it gets a data point."""
    if client.requests_sent:
        metrics.add_metric(name="ApiCalls", unit=MetricUnit.Count, value=client.requests_sent)
    if client.rate_limited:
        metrics.add_metric(name="RateLimitHits", unit=MetricUnit.Count, value=client.rate_limited)


def scan_lag_seconds(summary: dict[str, Any], now: datetime) -> float | None:
    """How far the workflow's cursor is behind ``now`` after a scheduled or manual run (the
    scan-lag alarm watches it), or ``None``: a workflow without a cursor, a run turned away
    (busy, duplicate: another run reports) or an on-demand window (it moves no cursor)."""
    if (
        summary.get("status") not in ("completed", "partial")
        or summary.get("source") == "on-demand"
    ):
        return None
    cursor = summary.get("cursorAfter")
    if not cursor:
        return None
    behind = now - datetime.fromisoformat(cursor)
    return max(0.0, round(behind.total_seconds(), 1))


def outcome_metric(summary: dict[str, Any]) -> str:
    """The metric a run's outcome counts in. ``RunSucceeded`` (what the stale alarms watch)
    counts only a scheduled or manual run that read its whole window: a run turned away
    (``busy``, ``duplicate``), one that stopped at its deadline (``partial``: it saved progress
    but is behind) and an on-demand window (it moves no cursor, and anyone who may call the
    Function URL could send one) must not keep the alarm quiet while the schedule makes none."""
    status = summary.get("status")
    if status == "completed":
        return "WindowScanned" if summary.get("source") == "on-demand" else "RunSucceeded"
    return f"Run{str(status).capitalize()}"  # RunPartial, RunBusy, RunDuplicate


Query = Callable[[dict[str, Any], DocSpaceClient], dict[str, Any] | None]
WorkflowRun = Callable[[RunContext, S], RunOutcome]


def workflow_handler(
    workflow: str,
    run: WorkflowRun[S],
    settings: SettingsClass[S],
    query: Query | None = None,
) -> Handler:
    """A Lambda handler for a scanning workflow: ``run(context, settings)`` with the workflow's
    ``settings`` read from the environment (with every other setting) at the entry.

    ``query``, when given, answers read-only requests (it returns ``None`` for events that are
    runs): no state, no findings, no cursor.
    """

    @logger.inject_lambda_context(clear_state=True)
    # No ColdStart metric: scheduled functions start cold on most runs, so it says nothing and is
    # billed as one more custom metric; a cold start's cost is in the REPORT log line.
    @metrics.log_metrics()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.append_keys(workflow=workflow)
        try:
            body = http_body(event)
            if body is not None:
                # A Function URL request (AWS_IAM auth): the body is the invocation.
                return _http(200, handle(url_invocation(body), context))
            check_shape(event)
            return handle(event, context)
        except InvalidInvocation as exc:
            set_workflow_dimension(workflow)
            metrics.add_metric(name="InvocationRejected", unit=MetricUnit.Count, value=1)
            logger.warning("invocation refused: %s", exc)
            if is_http_request(event):
                return _http(400, {"error": str(exc)})
            raise  # a direct invoke: the caller gets the error, errorType InvalidInvocation

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        entry = read_settings(settings, workflow)
        workflow_settings: S = entry.workflow
        with DocSpaceClient(entry.client(), remaining_time=remaining_time_of(context)) as client:
            if query is not None:
                answer = query(event, client)
                if answer is not None:
                    set_workflow_dimension(workflow)
                    metrics.add_metric(name="QueriesAnswered", unit=MetricUnit.Count, value=1)
                    return answer
            return run_workflow(
                workflow,
                lambda run_context: run(run_context, workflow_settings),
                event,
                context,
                entry.run,
                client,
                getattr(workflow_settings, "scan_window", None),
            )

    #: The settings classes this handler reads (tests derive the environment it needs from them).
    handler.settings_classes = (RunSettings, ClientSettings, settings)
    #: The configuration document's section it reads (over ``shared``).
    handler.config_section = workflow
    return handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped


def _http(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    import json

    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(payload, default=str),
    }
