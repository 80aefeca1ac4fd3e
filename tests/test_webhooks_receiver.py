"""webhooks/receiver.py behind its Function URL (payload format 2.0), with moto's SQS and
Secrets Manager: what DocSpace sees, and what reaches the queue."""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from docspace_sentinel.runtime.errors import ConfigError
from docspace_sentinel.webhooks import receiver
from docspace_sentinel.webhooks.settings import ReceiverSettings
from docspace_sentinel.webhooks.signature import sign
from local.lambda_runtime import FakeContext, load_handler

SECRET = "Webhook-Secret-1!"
SECRET_NAME = "docspace-sentinel/webhook-secret"
REGION = "eu-west-1"


class Aws:
    def __init__(self) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.secrets = boto3.client("secretsmanager", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="realtime")["QueueUrl"]
        self.secrets.create_secret(Name=SECRET_NAME, SecretString=json.dumps({"secret": SECRET}))

    def messages(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=60,
            )
            batch = answer.get("Messages", [])
            if not batch:
                return found
            found += batch


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "docspace-sentinel-test",
        "POWERTOOLS_METRICS_NAMESPACE": "DocSpaceSentinelTest",
        "AWS_LAMBDA_FUNCTION_NAME": "webhook-receiver",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(ReceiverSettings.SECRET, raising=False)
    monkeypatch.delenv(ReceiverSettings.MAX_BODY_BYTES, raising=False)
    receiver.reset_caches()
    parameters.clear_caches()
    with mock_aws():
        aws = Aws()
        monkeypatch.setenv(ReceiverSettings.SECRET_ARN, SECRET_NAME)
        monkeypatch.setenv(ReceiverSettings.QUEUE_URL, aws.queue_url)
        yield aws
    receiver.reset_caches()
    parameters.clear_caches()


def delivery(event_id: int = 4711, trigger: str = "file.updated", **webhook: Any) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "event": {"id": event_id, "createOn": now, "createBy": "u-1", "trigger": trigger},
            "payload": {"id": 5678, "title": "Contract-PII.docx"},
            "webhook": {"id": 7, "triggers": ["*"], **webhook},
        },
        separators=(",", ":"),
    )


def request(
    method: str = "POST",
    body: str | None = None,
    signature: str | None = None,
    *,
    encoded: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "headers": {"content-type": "application/json; charset=utf-8", **(headers or {})},
        "requestContext": {"http": {"method": method, "path": "/"}},
        "isBase64Encoded": encoded,
    }
    if signature is not None:
        event["headers"]["x-docspace-signature-256"] = signature
    if body is not None:
        event["body"] = body
    return event


def call(event: Any) -> dict[str, Any]:
    answer: dict[str, Any] = load_handler("webhook_receiver")(
        event, FakeContext("webhook_receiver")
    )
    return answer


def signed(body: str, secret: str = SECRET) -> dict[str, Any]:
    return request(body=body, signature=sign(secret, body.encode()))


def test_head_answers_200_without_a_signature_or_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ReceiverSettings.SECRET_ARN, raising=False)
    monkeypatch.delenv(ReceiverSettings.QUEUE_URL, raising=False)
    answer = call(request("HEAD"))
    assert answer["statusCode"] == 200 and answer["body"] == ""


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_a_valid_delivery_is_queued_once_with_its_raw_body(aws: Aws, case: Any) -> None:
    body = delivery()
    signature = "sha256=" + case(sign(SECRET, body.encode()).removeprefix("sha256="))
    answer = call(request(body=body, signature=signature))
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"status": "queued"}
    [message] = aws.messages()
    assert message["Body"] == body  # byte for byte
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["eventId"] == "4711" and attributes["trigger"] == "file.updated"
    assert len(attributes["contentKey"]) == 64
    assert datetime.fromisoformat(attributes["receivedAt"]).tzinfo is not None


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=00", "sha256=" + "zz" * 32, "sha256=" + "a" * 63, "sha256=" + "0" * 64],
)
def test_wrong_missing_or_malformed_signature_is_401_and_nothing_queued(
    aws: Aws, signature: str | None
) -> None:
    answer = call(request(body=delivery(), signature=signature))
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"]) == {"message": "invalid signature"}
    assert aws.messages() == []


def test_a_signature_with_another_secret_is_401(aws: Aws) -> None:
    assert call(signed(delivery(), secret="Other-Secret-1!"))["statusCode"] == 401
    assert aws.messages() == []


def test_a_body_over_the_cap_is_413_and_nothing_queued(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ReceiverSettings.MAX_BODY_BYTES, "2048")
    big = json.dumps({"event": {"id": 1}, "pad": "x" * 3000})
    assert call(signed(big))["statusCode"] == 413
    # Declared too large: refused before reading.
    small = delivery()
    event = signed(small)
    event["headers"]["Content-Length"] = "999999"
    assert call(event)["statusCode"] == 413
    # Base64 of a large body.
    encoded = base64.b64encode(big.encode()).decode()
    assert (
        call(request(body=encoded, signature=sign(SECRET, big.encode()), encoded=True))[
            "statusCode"
        ]
        == 413
    )
    assert aws.messages() == []


def test_a_base64_body_is_decoded_and_verified(aws: Aws) -> None:
    body = delivery()
    encoded = base64.b64encode(body.encode()).decode()
    answer = call(request(body=encoded, signature=sign(SECRET, body.encode()), encoded=True))
    assert answer["statusCode"] == 200
    assert [m["Body"] for m in aws.messages()] == [body]
    broken = request(body="!!not base64!!", signature=sign(SECRET, body.encode()), encoded=True)
    assert call(broken)["statusCode"] == 401


def test_a_re_signed_retry_verifies_and_a_duplicate_is_queued_again(aws: Aws) -> None:
    """Automatic retries re-serialise and re-sign the body (same event id). Both are queued:
    the consumer deduplicates on the eventId / contentKey attributes."""
    first = delivery()
    retry = delivery(retryCount=1, retryOn="2026-11-20T06:00:01Z", lastFailureContent="500")
    assert call(signed(first))["statusCode"] == 200
    assert call(signed(retry))["statusCode"] == 200
    assert call(signed(first))["statusCode"] == 200  # the same delivery again
    messages = aws.messages()
    assert len(messages) == 3
    ids = {m["MessageAttributes"]["eventId"]["StringValue"] for m in messages}
    keys = {m["MessageAttributes"]["contentKey"]["StringValue"] for m in messages}
    assert ids == {"4711"} and len(keys) == 1


def _metrics(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    found = []
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' in line:
            data = json.loads(line)
            if "WebhookDeliveries" in data:
                found.append(data)
    return found


def test_an_unknown_trigger_is_2xx_counted_and_not_queued(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = call(signed(delivery(trigger="file.exploded")))
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"status": "unusable"}
    assert aws.messages() == []
    [metric] = _metrics(capsys)
    assert metric["outcome"] == "unusable" and metric["WebhookDeliveries"] == [1.0]


def test_rejected_signatures_are_counted(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    call(request(body=delivery(), signature="sha256=00"))
    [metric] = _metrics(capsys)
    assert metric["outcome"] == "rejected_signature"
    # The alarm in template.yaml matches on exactly these dimensions.
    [dimensions] = metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert set(dimensions) == {"service", "outcome"}


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE", "PATCH", "OPTIONS", ""])
def test_other_methods_are_405_with_allow(aws: Aws, method: str) -> None:
    answer = call(request(method, body=delivery()))
    assert answer["statusCode"] == 405 and answer["headers"]["allow"] == "HEAD, POST"
    assert aws.messages() == []


def test_sqs_failure_is_500_without_details(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ReceiverSettings.QUEUE_URL, aws.queue_url + "-missing")
    answer = call(signed(delivery()))
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {"message": "temporarily unavailable"}


def _hostile(rng: random.Random) -> Any:
    junk: list[Any] = [None, 0, "", "x" * rng.randint(0, 300), [], {}, True, 1.5, "\x00\ud800"]
    method = rng.choice(["POST", "post", "HEAD", "PUT", "GET", "", None, 5, "PO ST"])
    body = rng.choice(
        [
            None,
            rng.choice(junk),
            delivery(),
            "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 200))),
            base64.b64encode(rng.randbytes(rng.randint(0, 300))).decode(),
        ]
    )
    headers = rng.choice(
        [
            None,
            [],
            {"x-docspace-signature-256": rng.choice(junk)},
            {"X-DOCSPACE-SIGNATURE-256": "sha256=" + rng.randbytes(32).hex()},
            {"content-length": rng.choice(["-1", "abc", "99999999999999999999", "10"])},
        ]
    )
    shape = rng.randint(0, 5)
    if shape == 0:
        return rng.choice(junk)
    event: dict[str, Any] = {
        "requestContext": rng.choice(
            [{"http": {"method": method}}, {"http": method}, method, None]
        ),
        "headers": headers,
        "body": body,
        "isBase64Encoded": rng.choice([True, False, "true", None]),
    }
    return event


def test_hostile_requests_never_crash_nor_answer_410_3xx_or_500(aws: Aws) -> None:
    rng = random.Random(14)
    for _ in range(400):
        answer = call(_hostile(rng))
        status = answer["statusCode"]
        assert status in (200, 401, 405, 413), status
    assert aws.messages() == []


def test_the_secret_and_the_body_never_reach_the_logs_at_debug(
    aws: Aws, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.logger.setLevel(logging.DEBUG)
    try:
        body = delivery()
        assert call(signed(body))["statusCode"] == 200
        assert call(signed(body, secret="Other-Secret-1!"))["statusCode"] == 401
        assert call(signed(delivery(trigger="file.exploded")))["statusCode"] == 200
    finally:
        receiver.logger.setLevel(logging.INFO)
    captured = capfd.readouterr()
    extras = " ".join(str(vars(record)) for record in caplog.records)
    text = captured.out + captured.err + caplog.text + extras
    assert "'eventId': 4711" in extras  # the event id is logged
    assert SECRET not in text and "Contract-PII" not in text


def test_the_arn_wins_over_the_plain_secret(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    monkeypatch.setenv(ReceiverSettings.SECRET, "Plain-Secret-1!")
    assert call(signed(delivery(), secret="Plain-Secret-1!"))["statusCode"] == 401
    assert call(signed(delivery()))["statusCode"] == 200


def test_the_plain_secret_works_locally_and_is_refused_in_lambda(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ReceiverSettings.SECRET_ARN)
    monkeypatch.setenv(ReceiverSettings.SECRET, "Plain-Secret-1!")
    with pytest.raises(ConfigError, match=ReceiverSettings.SECRET):
        call(signed(delivery(), secret="Plain-Secret-1!"))
    assert aws.messages() == []
    assert call(request("HEAD"))["statusCode"] == 200  # the probe still passes
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert call(signed(delivery(), secret="Plain-Secret-1!"))["statusCode"] == 200


def test_a_plain_string_secret_and_a_rotation_are_picked_up(aws: Aws) -> None:
    assert call(signed(delivery()))["statusCode"] == 200  # the secret is now cached
    aws.secrets.put_secret_value(SecretId=SECRET_NAME, SecretString="Rotated-Secret-2!")
    # The cached secret is still the old one; a failed check re-reads it once.
    assert call(signed(delivery(), secret="Rotated-Secret-2!"))["statusCode"] == 200
    # Within the minute, a bad signature does not make another Secrets Manager call.
    calls: list[Any] = []
    original = parameters.get_secret
    receiver_settings = ReceiverSettings.from_env()

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("force_fetch"))
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parameters, "get_secret", counting)
        for _ in range(5):
            answer = receiver.receive(signed(delivery(), secret="Wrong-1!"), receiver_settings)
            assert answer["statusCode"] == 401
    assert True not in calls


def test_missing_settings_fail_before_any_aws_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ReceiverSettings.SECRET_ARN, raising=False)
    monkeypatch.delenv(ReceiverSettings.SECRET, raising=False)
    monkeypatch.setenv(ReceiverSettings.QUEUE_URL, "https://sqs.eu-west-1.amazonaws.com/1/q")
    with pytest.raises(ConfigError, match=ReceiverSettings.SECRET_ARN):
        ReceiverSettings.from_env()
    monkeypatch.setenv(ReceiverSettings.SECRET_ARN, "x")
    monkeypatch.setenv(ReceiverSettings.QUEUE_URL, "not a url")
    with pytest.raises(ConfigError, match=ReceiverSettings.QUEUE_URL):
        ReceiverSettings.from_env()
    monkeypatch.setenv(ReceiverSettings.QUEUE_URL, "https://sqs.eu-west-1.amazonaws.com/1/q")
    monkeypatch.setenv(ReceiverSettings.MAX_BODY_BYTES, "2000000")
    with pytest.raises(ConfigError, match=ReceiverSettings.MAX_BODY_BYTES):
        ReceiverSettings.from_env()


def test_a_secret_docspace_could_not_hold_is_warned_about_once(
    aws: Aws, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    long_secret = "a" * 64
    aws.secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=long_secret)
    parameters.clear_caches()
    assert call(signed(delivery(), secret=long_secret))["statusCode"] == 200  # still verifies
    call(signed(delivery(), secret=long_secret))
    out = capfd.readouterr().out + caplog.text
    assert out.count("DocSpace cannot be configured with it") == 1
    assert long_secret not in out


def test_the_template_alarms_watch_outcomes_the_receiver_counts() -> None:
    from local.invoke import load_template

    resources = load_template()["Resources"]
    watched = {
        dimension["Value"]
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and resource["Properties"].get("MetricName") == receiver.METRIC
        for dimension in resource["Properties"]["Dimensions"]
        if dimension["Name"] == "outcome"
    }
    assert watched == {"queue_failed", "rejected_signature"}
    assert watched <= set(receiver.OUTCOMES)


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe{}", delivery().replace("Contract", "\ufffe").encode("utf-8")]
)
def test_a_signed_body_sqs_cannot_carry_is_2xx_unusable_not_500(aws: Aws, raw: bytes) -> None:
    """Not UTF-8, or a character SQS refuses (U+FFFE, valid JSON): retrying would not help."""
    event = request(body=base64.b64encode(raw).decode(), signature=sign(SECRET, raw), encoded=True)
    answer = call(event)
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"status": "unusable"}
    assert aws.messages() == []


def _rotated(aws: Aws, new: str, old: str, until: datetime) -> None:
    document = {"secret": new, "previous": old, "previousUntil": until.isoformat()}
    aws.secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(document))


def test_a_rotation_keeps_the_old_secret_until_previous_until(aws: Aws) -> None:
    # DocSpace's sender may sign with its cached (old) secret for up to an hour after a
    # rotation: both verify until previousUntil, the old one not after it.
    assert call(signed(delivery(1)))["statusCode"] == 200  # the old secret is now cached
    _rotated(aws, "Rotated-Secret-2!", SECRET, datetime.now(UTC) + timedelta(hours=2))
    assert call(signed(delivery(2), secret="Rotated-Secret-2!"))["statusCode"] == 200
    for event_id in (3, 4):  # after the forced re-read, within the refresh minute
        answer = call(signed(delivery(event_id)))
        assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"status": "queued"}
    assert call(signed(delivery(5), secret="Rotated-Secret-2!"))["statusCode"] == 200
    assert call(signed(delivery(6), secret="Other-Secret-1!"))["statusCode"] == 401
    assert len(aws.messages()) == 5

    _rotated(aws, "Rotated-Secret-2!", SECRET, datetime.now(UTC) - timedelta(seconds=1))
    parameters.clear_caches()
    assert call(signed(delivery(7)))["statusCode"] == 401  # the overlap is over
    assert call(signed(delivery(8), secret="Rotated-Secret-2!"))["statusCode"] == 200


@pytest.mark.parametrize(
    "extra",
    [{"previous": SECRET}, {"previous": SECRET, "previousUntil": "soon"}, {"previous": 5}],
)
def test_a_previous_secret_without_a_readable_deadline_is_never_accepted(
    aws: Aws, extra: dict[str, Any]
) -> None:
    document = {"secret": "Rotated-Secret-2!", **extra}
    aws.secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(document))
    assert call(signed(delivery(1)))["statusCode"] == 401
    assert call(signed(delivery(2), secret="Rotated-Secret-2!"))["statusCode"] == 200


@pytest.mark.parametrize("until", ["9999-12-31T23:59:59+00:00", "far"])
def test_a_previous_secret_with_a_deadline_far_ahead_is_never_accepted(
    aws: Aws, until: str
) -> None:
    # a rotation writes now + 2 h; a deadline days ahead (a clock or format slip) would keep
    # the old secret valid for good.
    if until == "far":
        until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    document = {"secret": "Rotated-Secret-2!", "previous": SECRET, "previousUntil": until}
    aws.secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(document))
    assert call(signed(delivery(1)))["statusCode"] == 401
    assert call(signed(delivery(2), secret="Rotated-Secret-2!"))["statusCode"] == 200


def test_bad_signatures_make_no_aws_call_but_one_rate_limited_secret_read(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.client import BaseClient

    assert call(signed(delivery()))["statusCode"] == 200  # warm: the secret is cached
    calls: list[str] = []
    original = BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    receiver.reset_caches()  # the refresh clock: the first failure may re-read the secret
    for _ in range(20):
        assert call(signed(delivery(), secret="Wrong-1!"))["statusCode"] == 401
        assert call(request(body=delivery()))["statusCode"] == 401  # unsigned
    assert calls == ["GetSecretValue"]
