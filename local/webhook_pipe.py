"""The real-time path in one process: the simulator's webhooks -> the receiver handler -> the SQS
queue (moto) -> the consumer handler. For the demo and ``bench.realtime``.

The simulator's sender calls ``transport`` instead of making an HTTP request; ``take`` receives
(and deletes) what the receiver queued and shapes it as the SQS event source does; ``feed`` gives
the records to the consumer in batches of 10, as the event source mapping does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from local.lambda_runtime import FakeContext, load_handler
from local.simulator.server import SimulatorServer

SECRET_VARIABLE = "DOCSPACE_WEBHOOK_SECRET"  # noqa: S105 - a name
QUEUE_VARIABLE = "REALTIME_QUEUE_URL"


class InProcessPipe:
    def __init__(self, simulator: SimulatorServer, sqs: Any, secret: str) -> None:
        self.simulator = simulator
        self.sqs = sqs
        self.secret = secret
        self.queue_url: str = sqs.create_queue(QueueName="docspace-sentinel-realtime")["QueueUrl"]
        self.failures: list[dict[str, str]] = []
        #: seconds spent in the receiver handler, one entry per POST
        self.receiver_seconds: list[float] = []
        #: called after each POST the receiver accepted (the bench drains the queue there)
        self.after_post: Callable[[float], None] | None = None
        self._lock = threading.Lock()

    def env(self) -> dict[str, str]:
        """What the receiver needs (a local run: the secret from the environment)."""
        return {SECRET_VARIABLE: self.secret, QUEUE_VARIABLE: self.queue_url}

    def transport(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> tuple[int, str]:
        event: dict[str, Any] = {
            "version": "2.0",
            "rawPath": "/",
            "headers": {k.lower(): v for k, v in headers.items()},
            "requestContext": {"http": {"method": method, "path": "/"}},
            "isBase64Encoded": False,
        }
        if method != "HEAD":
            event["body"] = body.decode("utf-8")
        handler = load_handler("webhook_receiver")
        with self._lock:  # one receiver at a time: moto and Powertools in one process
            started = time.perf_counter()
            answer = handler(event, FakeContext("webhook_receiver"))
            spent = time.perf_counter() - started
            status = int(answer["statusCode"])
            if method == "POST":
                self.receiver_seconds.append(spent)
                if self.after_post is not None and 200 <= status < 300:
                    self.after_post(started)
        return status, str(answer.get("body") or "")

    def hook(self, uri: str = "https://receiver.example/") -> requests.Response:
        """Configure the webhook on the portal, as ``local.cli webhooks install`` does (the
        portal probes the URL with HEAD first)."""
        hub = self.simulator.webhooks
        hub.transport = self.transport
        hub.retry_base = 0.01
        response = requests.post(
            self.simulator.url + "/api/2.0/settings/webhook",
            headers={"Authorization": f"Bearer {self.simulator.api_key}"},
            json={"name": "sentinel", "uri": uri, "secretKey": self.secret, "ssl": True},
            timeout=20,
        )
        response.raise_for_status()
        return response

    def take(self) -> list[dict[str, Any]]:
        """Every queued message, deleted from the queue, as SQS event records."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=300,
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                found.append(
                    {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "messageAttributes": message.get("MessageAttributes", {}),
                        "eventSource": "aws:sqs",
                    }
                )

    def feed(self, records: list[dict[str, Any]]) -> int:
        """The consumer handler over ``records`` in batches of 10; returns how many failed."""
        handler = load_handler("realtime_guard")
        failed = 0
        for i in range(0, len(records), 10):
            answer = handler({"Records": records[i : i + 10]}, FakeContext("realtime_guard"))
            self.failures += answer["batchItemFailures"]
            failed += len(answer["batchItemFailures"])
        return failed
