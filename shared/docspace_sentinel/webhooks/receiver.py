"""The webhook receiver behind a Function URL (AuthType NONE: the HMAC signature is the
authentication; payload format 2.0).

* ``HEAD`` (DocSpace's reachability probe, unsigned) -> 200, empty.
* ``POST`` -> size check (``Content-Length``, then the bytes), strict base64 decoding, the
  signature checked on the raw bytes before any parsing (401 ``invalid signature``, nothing
  said about which part failed), a tolerant parse, then the raw verified body onto the SQS
  queue -> 200 ``queued``. A validly signed body the guard cannot use -> 200 ``unusable``
  (DocSpace would only retry it). A duplicate is queued again: the consumer dedups on the
  ``eventId`` and ``contentKey`` message attributes.
* anything else -> 405 with ``Allow``.

Never 410 (DocSpace deletes the webhook), never a redirect. An SQS failure -> 500 (DocSpace
retries, which is right). Bodies are PII: only the event id, trigger and size are logged.
One metric, ``WebhookDeliveries``, with an ``outcome`` dimension (``OUTCOMES``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .delivery import Delivery, UnusableDelivery, parse_delivery
from .settings import REFRESH_SECONDS, ReceiverSettings, WebhookSecrets, docspace_would_refuse
from .signature import header_value, verify

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "docspace-sentinel")
logger = Logger(service=SERVICE)
# The service dimension is named explicitly: the template's alarms match on it.
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DocSpaceSentinel"), service=SERVICE
)

METRIC = "WebhookDeliveries"
OUTCOMES = (
    "queued",
    "rejected_signature",
    "too_large",
    "unusable",
    "method_not_allowed",
    "queue_failed",
)
ALLOW = "HEAD, POST"
#: SQS refuses message bodies with characters outside these ranges.
_SQS_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_last_refresh = [0.0]
_warned = [False]


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry (``functions/webhook_receiver/app.py``)."""
    return _entry(event, context)  # type: ignore[no-any-return]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics()
def _entry(event: Any, context: Any) -> dict[str, Any]:
    # Powertools shares default dimensions between Metrics objects in one process: none but
    # the service's belong on the receiver's metric (the alarms match on exactly these).
    metrics.clear_default_dimensions()
    return receive(event)


#: What the template test reads to know this handler's environment.
handler.settings_classes = (ReceiverSettings,)  # type: ignore[attr-defined]


@cache
def sqs_client() -> Any:
    import boto3

    return boto3.client("sqs")


def reset_caches() -> None:
    """Forget the SQS client and the refresh clock (tests that swap the AWS backend)."""
    sqs_client.cache_clear()
    _last_refresh[0] = 0.0
    _warned[0] = False


def receive(event: Any, settings: ReceiverSettings | None = None) -> dict[str, Any]:
    """Answer one Function URL request."""
    method = _method(event)
    if method == "HEAD":
        return {"statusCode": 200, "headers": {}, "body": ""}
    if method != "POST":
        return _answer(405, {"message": "method not allowed"}, "method_not_allowed", allow=True)
    settings = settings or ReceiverSettings.from_env()
    headers = event.get("headers") if isinstance(event.get("headers"), dict) else {}
    declared = _content_length(headers)
    text = event.get("body")
    text = text if isinstance(text, str) else ""
    limit = settings.max_body_bytes
    encoded = event.get("isBase64Encoded") is True
    # The text is checked before decoding: base64 is 4/3 of the bytes, UTF-8 at least 1:1.
    if (declared is not None and declared > limit) or len(text) > (limit * 4 // 3 + 4):
        return _too_large(declared or len(text))
    try:
        raw = base64.b64decode(text, validate=True) if encoded else text.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return _rejected(len(text))
    if len(raw) > limit:
        return _too_large(len(raw))
    signature = header_value(headers)
    if not _verified(settings, raw, signature):
        return _rejected(len(raw))
    try:
        delivery = parse_delivery(raw)
        body = _message_body(raw)
    except UnusableDelivery as exc:
        logger.info("unusable delivery (%s)", exc.reason, extra={"size": len(raw)})
        return _answer(200, {"status": "unusable"}, "unusable")
    return _enqueue(settings, delivery, body, len(raw))


def _verified(settings: ReceiverSettings, raw: bytes, signature: str | None) -> bool:
    keys = settings.secrets()
    if not _warned[0] and docspace_would_refuse(keys.secret):
        _warned[0] = True
        logger.warning(
            "the webhook secret is longer than 30 characters or not printable ASCII: DocSpace "
            "cannot be configured with it, so no delivery will verify"
        )
    if _signed_by_one(keys, raw, signature):
        return True
    # The secret may have been rotated since it was cached: read it again, at most once a
    # minute (an attacker's bad signatures must not become a Secrets Manager call each).
    now = time.monotonic()
    if signature is None or now - _last_refresh[0] < REFRESH_SECONDS:
        return False
    _last_refresh[0] = now
    fresh = settings.secrets(force=True)
    return not fresh.same_as(keys) and _signed_by_one(fresh, raw, signature)


def _signed_by_one(keys: WebhookSecrets, raw: bytes, signature: str | None) -> bool:
    """Whether the current secret or, during a rotation's overlap, the previous one signed
    ``raw``. Every accepted secret is checked (each in constant time) and which one matched is
    never told: a delivery is ``queued`` either way."""
    results = [verify(key.reveal(), raw, signature) for key in keys.accepted()]
    return any(results)


def _message_body(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnusableDelivery("the body is not UTF-8") from None
    if _SQS_ILLEGAL.search(text):  # strict UTF-8 decoding already refused surrogates
        raise UnusableDelivery("the body holds characters SQS cannot carry")
    return text


def _enqueue(
    settings: ReceiverSettings, delivery: Delivery, body: str, size: int
) -> dict[str, Any]:
    from ..docspace.settings import quiet_aws_wire_logs

    quiet_aws_wire_logs()  # botocore.endpoint logs request bodies (PII) at DEBUG
    attributes = {
        "eventId": {"DataType": "Number", "StringValue": str(delivery.event_id)},
        "trigger": {"DataType": "String", "StringValue": delivery.trigger},
        "contentKey": {"DataType": "String", "StringValue": delivery.content_key},
        "receivedAt": {
            "DataType": "String",
            "StringValue": datetime.now(UTC).isoformat(timespec="milliseconds"),
        },
    }
    where = {"eventId": delivery.event_id, "trigger": delivery.trigger, "size": size}
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sqs_client().send_message(
            QueueUrl=settings.queue_url, MessageBody=body, MessageAttributes=attributes
        )
    except (BotoCoreError, ClientError) as exc:  # refused, unreachable: DocSpace will retry
        logger.error("could not queue the delivery: %s", type(exc).__name__, extra=where)
        return _answer(500, {"message": "temporarily unavailable"}, "queue_failed")
    logger.info("delivery queued", extra=where)
    return _answer(200, {"status": "queued"}, "queued")


def _method(event: Any) -> str:
    if not isinstance(event, dict):
        return ""
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else None
    return method.upper() if isinstance(method, str) else ""


def _content_length(headers: dict[str, Any]) -> int | None:
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == "content-length" and isinstance(value, str):
            value = value.strip()
            if value.isascii() and value.isdigit() and len(value) <= 18:
                return int(value)
    return None


def _too_large(size: int) -> dict[str, Any]:
    logger.warning("delivery refused: body too large", extra={"size": size})
    return _answer(413, {"message": "body too large"}, "too_large")


def _rejected(size: int) -> dict[str, Any]:
    logger.warning("delivery refused: invalid signature", extra={"size": size})
    return _answer(401, {"message": "invalid signature"}, "rejected_signature")


def _answer(
    status: int, payload: dict[str, Any], outcome: str, *, allow: bool = False
) -> dict[str, Any]:
    metrics.add_dimension(name="outcome", value=outcome)
    metrics.add_metric(name=METRIC, unit=MetricUnit.Count, value=1)
    headers = {"content-type": "application/json"}
    if allow:
        headers["allow"] = ALLOW
    return {"statusCode": status, "headers": headers, "body": json.dumps(payload)}
