"""The dashboard and the alarms in template.yaml against the metrics the code really emits."""

from __future__ import annotations

import json
import re
from typing import Any

from docspace_sentinel.runtime.handler import SUMMARY_COUNTS, outcome_metric
from docspace_sentinel.webhooks import receiver
from docspace_sentinel.workflows.realtime_guard.entry import METRICS as REALTIME_METRICS
from local.invoke import load_template
from local.lambda_runtime import ROOT

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
SOURCES = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "shared").rglob("*.py"))


def emitted() -> set[str]:
    """Every metric name the layer emits: the literal ``add_metric`` names, the run outcomes,
    the real-time guard's and the receiver's."""
    names = set(re.findall(r'add_metric\(\s*name="(\w+)"', SOURCES))
    names |= {
        outcome_metric({"status": status, "source": source})
        for status in ("completed", "partial", "busy", "duplicate")
        for source in ("schedule", "on-demand")
    }
    return names | set(SUMMARY_COUNTS) | set(REALTIME_METRICS.values()) | {receiver.METRIC}


def dashboard() -> dict[str, Any]:
    (body,) = [
        resource["Properties"]["DashboardBody"]["Fn::Sub"]
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    assert isinstance(body, str)
    parsed: dict[str, Any] = json.loads(body)  # ${...} substitutions sit inside JSON strings
    return parsed


def alarms() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_the_dashboard_shows_only_metrics_the_code_emits() -> None:
    body = json.dumps(dashboard())
    custom = set(re.findall(r'MetricName=\\"(\w+)\\"', body))
    assert custom <= emitted(), custom - emitted()
    wanted = {"RunSucceeded", "RunFailed", "RunBusy", "EventsScanned", "FindingsPublished"}
    wanted |= {"ApiCalls", "RateLimitHits", "ScanLagSeconds", "WebhookDeliveries"}
    wanted |= {"DeliveriesCounted", "DeliveriesFailed"}
    assert wanted <= custom
    assert "ApproximateAgeOfOldestMessage" in body  # the real-time queue's age


def test_the_dashboard_lists_every_alarm() -> None:
    (widget,) = [w for w in dashboard()["widgets"] if w["type"] == "alarm"]
    listed = {
        re.fullmatch(r"\$\{(\w+)\.Arn\}", arn).group(1) for arn in widget["properties"]["alarms"]
    }  # type: ignore[union-attr]
    assert listed == set(alarms())


def test_every_workflow_with_a_stale_alarm_and_a_cursor_has_a_lag_alarm() -> None:
    found = alarms()
    scanning = {
        dimension["Value"]
        for properties in found.values()
        if properties.get("MetricName") == "RunSucceeded"
        for dimension in properties["Dimensions"]
        if dimension["Name"] == "workflow"
    } - {"restriction_release"}  # no cursor: it lifts what is due now
    lagging: dict[str, dict[str, Any]] = {}
    for properties in found.values():
        for query in properties.get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("MetricName") == "ScanLagSeconds":
                dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
                assert set(dimensions) == {"service", "workflow"}  # as the runner emits it
                lagging[dimensions["workflow"]] = properties
    assert set(lagging) == scanning
    assert "ScanLagSeconds" in emitted()
    for properties in lagging.values():
        assert properties["AlarmActions"] == [{"Ref": "OperationsTopic"}]
        assert properties["Threshold"] == 3  # schedule periods behind (lag / period)


def test_alarms_without_signal_are_gone() -> None:
    found = alarms()
    assert not [name for name, p in found.items() if p.get("MetricName") == "Throttles"]
    # an async run's error is retried by Lambda and, if it persists, lands in the
    # failed-invocations queue, whose alarm (with the stale alarms) is the signal
    assert {"FailedInvocationsAlarm", "DeliveryFailuresAlarm", "RealtimeDeadLetterAlarm"} <= set(
        found
    )
    # Per scanning workflow with a cursor a stale and a lag alarm; the rest watch the queues
    # and the receiver. No Errors alarm on a scheduled function (see above).
    errors = [n for n, p in found.items() if p.get("MetricName") == "Errors"]
    assert errors == ["WebhookReceiverErrorsAlarm"], errors
    assert len(found) <= 18
