"""The monthly cost of a default deployment, computed from template.yaml (the README's table).

    python -m local.cost          # the Markdown table and its assumptions

What comes from the template: each function's schedule (its default expression), memory size
and whether it keeps a cursor; the number of alarms; the secrets, the KMS key and the
dashboard. What is assumed (``PORTALS``, ``PRICES``): the portal's size, how long a run takes
per page of events, and AWS list prices in us-east-1 without the free tier. A figure is an
estimate to compare the parts, not a quote.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.invoke import load_template

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 30

#: USD, us-east-1 list prices (November 2026), no free tier.
PRICES = {
    "lambda_gb_second": 0.0000133334,  # arm64
    "lambda_request": 0.20 / 1e6,
    "dynamodb_write": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read": 0.125 / 1e6,
    "scheduler_invocation": 1.00 / 1e6,
    "sns_publish": 0.50 / 1e6,
    "sns_email": 2.00 / 1e5,
    "alarm": 0.10,  # standard resolution, per metric in the alarm
    "custom_metric": 0.30,  # per metric-month, billed per hour with data
    "dashboard": 3.00,  # the first three dashboards of an account are free
    "log_ingestion_gb": 0.50,
    "kms_key": 1.00,
    "kms_request": 0.03 / 1e4,
    "secret": 0.40,
    "secret_request": 0.05 / 1e4,
}


@dataclass(frozen=True)
class Portal:
    """What a portal's size means for the runs."""

    name: str
    audit_events_per_day: int
    login_events_per_day: int
    findings_per_day: int
    #: seconds a run spends per page of 100 events (requests, parsing) and its fixed part
    seconds_per_page: float = 0.3
    seconds_per_run: float = 1.0
    log_kb_per_run: float = 4.0


PORTALS = (
    Portal(
        "Small portal", audit_events_per_day=2_000, login_events_per_day=200, findings_per_day=3
    ),
    Portal(
        "Large portal",
        audit_events_per_day=200_000,
        login_events_per_day=20_000,
        findings_per_day=40,
        log_kb_per_run=8.0,
    ),
)

#: What each scheduled function reads per run: audit events, login events or nothing.
READS = {
    "vdr_activity": "audit",
    "bulk_change_guard": "audit",
    "inactive_members": "audit",
    "login_audit": "logins",
    "ip_allowlist": "logins",
    "restriction_release": None,
}
#: A run re-reads SCAN_LAG_MINUTES (15) behind its cursor, aligned down to the hour.
OVERLAP_MINUTES = 45


@dataclass(frozen=True)
class ScheduledFunction:
    folder: str
    period_minutes: float
    memory_mb: int
    has_cursor: bool

    @property
    def runs_per_month(self) -> float:
        return DAYS_PER_MONTH * 24 * 60 / self.period_minutes


def period_minutes(expression: str) -> float:
    """``rate(10 minutes)`` → 10; ``cron(0 6 * * ? *)`` → a day; a monthly cron → 30 days."""
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if rate:
        unit = {"minute": 1, "hour": 60, "day": 1440}[rate.group(2).rstrip("s")]
        return int(rate.group(1)) * unit
    cron = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression)
    if cron is None:
        raise ValueError(f"cannot read the schedule {expression!r}")
    _minute, hour, day_of_month, *_ = cron.groups()
    if day_of_month not in ("*", "?"):
        return DAYS_PER_MONTH * 1440
    if hour in ("*", "?"):
        return 60
    return 1440


def _value(template: Mapping[str, Any], node: Any) -> Any:
    """A literal, a ``Ref`` to a parameter (its default) or a (nested) ``Fn::FindInMap``."""
    if isinstance(node, Mapping) and "Ref" in node:
        return template["Parameters"][node["Ref"]].get("Default")
    if isinstance(node, Mapping) and "Fn::FindInMap" in node:
        name, top, second = (_value(template, part) for part in node["Fn::FindInMap"])
        return template["Mappings"][name][top][second]
    return node


def scheduled_functions(template: Mapping[str, Any]) -> list[ScheduledFunction]:
    globals_ = template.get("Globals", {}).get("Function", {})
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        for event in (properties.get("Events") or {}).values():
            if event["Type"] != "ScheduleV2":
                continue
            expression = _value(template, event["Properties"]["ScheduleExpression"])
            folder = properties["CodeUri"].strip("/").split("/")[-1]
            found.append(
                ScheduledFunction(
                    folder,
                    period_minutes(str(expression)),
                    int(_value(template, properties.get("MemorySize", globals_["MemorySize"]))),
                    has_cursor=folder not in ("restriction_release", "inactive_members"),
                )
            )
    return found


def _count(template: Mapping[str, Any], kind: str) -> int:
    return sum(1 for r in template["Resources"].values() if r["Type"] == kind)


def _secrets(template: Mapping[str, Any]) -> int:
    """The secrets the scheduled functions read (the API key; the webhook secret is only there
    with the optional real-time path)."""
    return 1 if "DocSpaceApiKeySecret" in str(template["Resources"]) else 0


def estimate(template: Mapping[str, Any], portal: Portal) -> dict[str, float]:
    """USD per month per service."""
    functions = scheduled_functions(template)
    runs = sum(f.runs_per_month for f in functions)
    gb_seconds = 0.0
    writes = reads = 0.0
    metric_months = 0.0
    log_gb = runs * portal.log_kb_per_run / 1e6
    findings = portal.findings_per_day * DAYS_PER_MONTH
    for function in functions:
        kind = READS.get(function.folder)
        per_day = {
            "audit": portal.audit_events_per_day,
            "logins": portal.login_events_per_day,
            None: 0,
        }[kind]
        window_minutes = min(function.period_minutes, 1440 * 7) + (OVERLAP_MINUTES if kind else 0)
        if function.folder == "inactive_members":
            window_minutes = 30 * 1440  # PERIOD_DAYS
        events = per_day * window_minutes / 1440
        pages = math.ceil(events / 100) if events else 1
        seconds = portal.seconds_per_run + pages * portal.seconds_per_page
        gb_seconds += function.runs_per_month * seconds * function.memory_mb / 1024
        # run claim and completion, lock and release, cursor, sent records; activity counters
        writes += function.runs_per_month * (
            6 + (events / 20 if function.folder == "vdr_activity" else 0)
        )
        reads += function.runs_per_month * 4
        # metric streams: billed per hour with a data point, at most every hour of the month
        hours = min(HOURS_PER_MONTH, function.runs_per_month)
        streams = 1  # RunSucceeded
        streams += 1 if kind else 0  # ApiCalls (not sent at 0: the release mostly asks nothing)
        streams += 1 if function.has_cursor else 0  # ScanLagSeconds
        streams += 1 if events else 0  # EventsScanned (not sent at 0)
        metric_months += streams * hours / HOURS_PER_MONTH
    metric_months += min(HOURS_PER_MONTH, findings) / HOURS_PER_MONTH  # FindingsPublished
    writes += findings * 2
    alarms = _count(template, "AWS::CloudWatch::Alarm")
    return {
        "Lambda": gb_seconds * PRICES["lambda_gb_second"] + runs * PRICES["lambda_request"],
        "DynamoDB (on demand)": writes * PRICES["dynamodb_write"] + reads * PRICES["dynamodb_read"],
        "EventBridge Scheduler": runs * PRICES["scheduler_invocation"],
        "SNS": findings * (PRICES["sns_publish"] + PRICES["sns_email"]),
        f"CloudWatch alarms ({alarms})": alarms * PRICES["alarm"],
        "CloudWatch custom metrics": metric_months * PRICES["custom_metric"],
        "CloudWatch dashboard": 0.0,  # within the three free dashboards
        "CloudWatch Logs": log_gb * PRICES["log_ingestion_gb"],
        "KMS (the topics' key)": _count(template, "AWS::KMS::Key") * PRICES["kms_key"]
        + findings * PRICES["kms_request"],
        "Secrets Manager": _secrets(template) * PRICES["secret"] + runs * PRICES["secret_request"],
    }


def table(template: Mapping[str, Any] | None = None) -> str:
    template = template or load_template()
    columns = [estimate(template, portal) for portal in PORTALS]
    lines = [
        "| Service | " + " | ".join(p.name for p in PORTALS) + " |",
        "|---|" + "---:|" * len(PORTALS),
    ]
    for service in columns[0]:
        lines.append(f"| {service} | " + " | ".join(f"{c[service]:.2f}" for c in columns) + " |")
    lines.append(
        "| **Total (USD a month)** | "
        + " | ".join(f"**{sum(c.values()):.2f}**" for c in columns)
        + " |"
    )
    runs = sum(f.runs_per_month for f in scheduled_functions(template))
    small, large = PORTALS
    lines += [
        "",
        f"Assumptions: the default schedules ({runs:,.0f} scheduled runs a month); a small portal "
        f"writes {small.audit_events_per_day:,} audit and {small.login_events_per_day:,} login "
        f"events a day and gets {small.findings_per_day} findings, a large one "
        f"{large.audit_events_per_day:,}, {large.login_events_per_day:,} and "
        f"{large.findings_per_day}; a run takes {small.seconds_per_run:.0f} s plus "
        f"{small.seconds_per_page} s per page of 100 events; no webhooks (the real-time path "
        "costs nothing while idle, its webhook secret adds 0.40); one e-mail subscriber; the "
        "dashboard is one of the account's three free ones (else 3.00).",
    ]
    return "\n".join(lines)


def main() -> int:
    print(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
