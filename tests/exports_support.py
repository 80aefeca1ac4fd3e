"""Helpers for the export tests: a bus whose events a rule forwards to SQS, Security Hub reads."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

REGION = "eu-west-1"
BUS = "security-team"
ACCOUNT = "123456789012"  # moto's, and the local Lambda context's
PRODUCT_ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"


class Bus:
    """A custom bus with a rule forwarding everything from Sentinel to an SQS queue."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str = BUS) -> None:
        _without_jsonpath(monkeypatch)
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.events.create_event_bus(Name=name)
        self.url = self.sqs.create_queue(QueueName=f"{name}-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        pattern = {"source": ["docspace.sentinel"]}
        self.events.put_rule(Name="all", EventBusName=name, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule="all", EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


def _without_jsonpath(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto renders a rule target's input with jsonpath_ng, which this venv lacks: without an
    InputTransformer the target gets the event itself, so hand it over unchanged."""
    try:
        import jsonpath_ng  # noqa: F401
    except ImportError:
        from moto.events import utils

        monkeypatch.setattr(
            utils.EventTemplateParser,
            "parse",
            staticmethod(lambda input_template, input_paths_map, event: dict(event)),
        )


def hub_findings() -> list[dict[str, Any]]:
    client = boto3.client("securityhub", region_name=REGION)
    found: list[dict[str, Any]] = client.get_findings(MaxResults=100)["Findings"]
    return found
