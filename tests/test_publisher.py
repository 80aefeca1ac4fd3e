"""Publishing findings to SNS, read back through SQS subscribers (moto)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from docspace_sentinel.findings.errors import PublishError
from docspace_sentinel.findings.finding import ActionTaken, Finding, RoomRef, Severity, UserRef
from docspace_sentinel.findings.publisher import FindingPublisher
from docspace_sentinel.findings.sns_request import (
    SNS_MAX_BYTES,
    email_subject,
    message_attributes,
    request_size,
)
from docspace_sentinel.runtime.errors import ConfigError

REGION = "eu-west-1"
PORTAL = "https://portal.example.com"
USER_ID = "6b1e1f5a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
ROOT = Path(__file__).resolve().parents[1]


def make_finding(**overrides: Any) -> Finding:
    fields: dict[str, Any] = {
        "workflow": "vdr_activity",
        "kind": "vdr_high_activity",
        "severity": Severity.HIGH,
        "title": "Unusually high activity in Deal Room",
        "summary": "Jane Doe opened 152 files in a VDR.",
        "dedup": (USER_ID, "4512", "2026-11-04"),
        "portal_url": PORTAL,
        "user": UserRef(USER_ID, "Jane Doe", "jane@example.com"),
        "room": RoomRef(4512, "Deal Room"),
        "period_start": datetime(2026, 11, 4, tzinfo=UTC),
        "period_end": datetime(2026, 11, 5, tzinfo=UTC),
        "evidence": {"events": 152, "sampleEventIds": list(range(1000, 1152))},
        "context": {"logins": {"count": 3, "ips": ["203.0.113.9"]}},
        "actions": (ActionTaken("disable_user", USER_ID, "proposed"),),
    }
    fields.update(overrides)
    return Finding(**fields)


@dataclass
class Aws:
    sns: Any
    sqs: Any
    topic_arn: str

    def subscribe_queue(
        self, name: str, *, raw: bool, filter_policy: dict[str, Any] | None = None
    ) -> str:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes = {"RawMessageDelivery": "true" if raw else "false"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        self.sns.subscribe(
            TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes
        )
        return str(url)

    def receive(self, url: str) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return list(response.get("Messages", []))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="docspace-sentinel-findings")["TopicArn"]
        yield Aws(sns, sqs, topic_arn)


@pytest.fixture
def publisher(aws: Aws) -> FindingPublisher:
    return FindingPublisher(aws.topic_arn, sns_client=aws.sns)


class TestDelivery:
    def test_wrapped_sqs_gets_canonical_json_and_attributes(
        self, aws: Aws, publisher: FindingPublisher
    ) -> None:
        url = aws.subscribe_queue("wrapped", raw=False)
        finding = make_finding()

        message_id = publisher.publish(finding)

        [message] = aws.receive(url)
        envelope = json.loads(message["Body"])
        assert envelope["MessageId"] == message_id
        assert envelope["TopicArn"] == aws.topic_arn
        assert envelope["Subject"] == email_subject(finding)
        assert Finding.from_json(envelope["Message"]) == finding
        attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
        assert attributes == {
            "workflow": "vdr_activity",
            "severity": "high",
            "kind": "vdr_high_activity",
            "userId": USER_ID,
            "category": "alert",
        }

    def test_raw_sqs_gets_canonical_json_and_attributes(
        self, aws: Aws, publisher: FindingPublisher
    ) -> None:
        url = aws.subscribe_queue("raw", raw=True)
        finding = make_finding()

        publisher.publish(finding)

        [message] = aws.receive(url)
        assert Finding.from_json(message["Body"]) == finding
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes["severity"] == "high"
        assert attributes["userId"] == USER_ID
        assert attributes["workflow"] == "vdr_activity"
        assert attributes["kind"] == "vdr_high_activity"

    def test_filter_policy_on_severity(self, aws: Aws, publisher: FindingPublisher) -> None:
        url = aws.subscribe_queue(
            "urgent", raw=True, filter_policy={"severity": ["high", "critical"]}
        )
        publisher.publish(make_finding(severity=Severity.LOW, dedup=("low",)))
        publisher.publish(make_finding(severity=Severity.CRITICAL, dedup=("critical",)))

        bodies = [Finding.from_json(m["Body"]) for m in aws.receive(url)]
        assert [f.severity for f in bodies] == [Severity.CRITICAL]

    def test_no_user_no_user_id_attribute(self, aws: Aws, publisher: FindingPublisher) -> None:
        url = aws.subscribe_queue("anonymous", raw=False)
        finding = make_finding(user=None)

        request = publisher.build_request(finding)
        assert set(request["MessageAttributes"]) == {"workflow", "severity", "kind", "category"}
        publisher.publish(finding)

        [message] = aws.receive(url)
        envelope = json.loads(message["Body"])
        assert "userId" not in envelope["MessageAttributes"]
        assert Finding.from_json(envelope["Message"]) == finding

    def test_builds_its_own_client(self, aws: Aws) -> None:
        url = aws.subscribe_queue("own-client", raw=True)
        FindingPublisher(aws.topic_arn).publish(make_finding())
        assert len(aws.receive(url)) == 1


class TestRequest:
    def test_one_body_per_protocol(self, publisher: FindingPublisher) -> None:
        finding = make_finding()
        request = publisher.build_request(finding)

        assert request["TopicArn"] == publisher.topic_arn
        assert request["MessageStructure"] == "json"
        bodies = json.loads(request["Message"])
        assert set(bodies) == {"default", "sqs", "lambda", "email", "email-json", "https"}
        for protocol in ("default", "sqs", "lambda", "email-json"):
            assert json.loads(bodies[protocol]) == finding.to_dict()
        assert bodies["email"] == finding.render_text()
        assert json.loads(bodies["https"]) == finding.render_chatbot()
        for attribute in request["MessageAttributes"].values():
            assert attribute["DataType"] == "String"
            assert attribute["StringValue"]

    def test_subject(self) -> None:
        assert email_subject(make_finding()) == (
            "[DocSpace Sentinel] HIGH (dry run: would disable): Unusually high activity in Deal Room"
        )

    def test_long_non_ascii_subject_is_ascii_one_line_under_100(
        self, aws: Aws, publisher: FindingPublisher
    ) -> None:
        title = "Ärger in «Sitzungsraum Zürich» — déjà vu\nrépété\t" + "Ünïcödé 北京 " * 20
        finding = make_finding(title=title)

        subject = email_subject(finding)

        assert len(subject) <= 99
        assert subject.isascii()
        assert subject.isprintable()
        assert subject.startswith(
            '[DocSpace Sentinel] HIGH (dry run: would disable): Arger in "Sitzungsraum Zurich" - deja'
        )
        assert subject.endswith("...")
        assert "  " not in subject
        publisher.publish(finding)  # SNS accepts it

    def test_subject_of_a_title_with_no_latin_letters(self) -> None:
        subject = email_subject(make_finding(title="北京"))
        assert subject == "[DocSpace Sentinel] HIGH (dry run: would disable): vdr_high_activity"

    def test_bad_topic_arn_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match="topic_arn"):
            FindingPublisher("", sns_client=object())


class TestSize:
    def test_enormous_sample_is_trimmed_and_still_published(
        self, aws: Aws, publisher: FindingPublisher, caplog: pytest.LogCaptureFixture
    ) -> None:
        url = aws.subscribe_queue("big", raw=True)
        ids = [f"evt-{i:08d}-{'x' * 24}" for i in range(50_000)]
        finding = make_finding(
            evidence={"events": 50_000, "distinctFiles": 4_812, "sampleEventIds": ids},
        )

        with caplog.at_level(logging.WARNING, logger="docspace_sentinel.findings.publisher"):
            request = publisher.build_request(finding)
        assert request_size(request) <= SNS_MAX_BYTES
        assert "trimmed" in caplog.text
        assert finding.fingerprint in caplog.text

        publisher.publish(finding)

        [message] = aws.receive(url)
        received = Finding.from_json(message["Body"])
        assert received.fingerprint == finding.fingerprint
        assert received.evidence["events"] == 50_000
        assert received.evidence["distinctFiles"] == 4_812
        kept = received.evidence["sampleEventIds"]
        assert kept == ids[: len(kept)]
        assert 0 < len(kept) <= 100
        assert received.evidence["sampleEventIdsTruncated"] == 50_000 - len(kept)

    def test_small_finding_is_not_trimmed(
        self, publisher: FindingPublisher, caplog: pytest.LogCaptureFixture
    ) -> None:
        finding = make_finding()
        with caplog.at_level(logging.WARNING):
            request = publisher.build_request(finding)
        assert json.loads(json.loads(request["Message"])["sqs"]) == finding.to_dict()
        assert caplog.text == ""

    def test_huge_summary_is_shortened(self, aws: Aws, publisher: FindingPublisher) -> None:
        url = aws.subscribe_queue("wordy", raw=True)
        finding = make_finding(summary="Very long explanation. " * 20_000)

        publisher.publish(finding)

        [message] = aws.receive(url)
        received = Finding.from_json(message["Body"])
        assert received.summary.startswith("Very long explanation.")
        assert len(received.summary) <= 4_000
        assert received.evidence["events"] == 152

    def test_last_resort_keeps_the_counts(self, aws: Aws, publisher: FindingPublisher) -> None:
        url = aws.subscribe_queue("huge", raw=True)
        evidence: dict[str, Any] = {f"note{i:05}": "z" * 100 for i in range(5_000)}
        evidence |= {"events": 7, "ratio": 0.5}
        finding = make_finding(evidence=evidence)

        request = publisher.build_request(finding)
        assert request_size(request) <= SNS_MAX_BYTES
        publisher.publish(finding)

        [message] = aws.receive(url)
        received = Finding.from_json(message["Body"])
        assert received.evidence == {"events": 7, "ratio": 0.5, "evidenceOmitted": True}

    def test_respects_a_smaller_limit(self, aws: Aws) -> None:
        publisher = FindingPublisher(aws.topic_arn, sns_client=aws.sns, max_bytes=9_000)
        request = publisher.build_request(make_finding())
        assert request_size(request) <= 9_000
        sqs_body = json.loads(json.loads(request["Message"])["sqs"])
        assert sqs_body["evidence"]["events"] == 152
        assert sqs_body["evidence"]["sampleEventIdsTruncated"] > 0


class TestErrors:
    def test_missing_topic_raises_publish_error(self, aws: Aws) -> None:
        missing = aws.topic_arn + "-gone"
        publisher = FindingPublisher(missing, sns_client=aws.sns)
        finding = make_finding()

        with pytest.raises(PublishError) as caught:
            publisher.publish(finding)

        error = caught.value
        assert error.topic_arn == missing
        assert error.code == "NotFound"
        assert missing in str(error)
        assert "NotFound" in str(error)
        assert error.finding_id == finding.fingerprint


class TestUnrenderable:
    """A finding that cannot be rendered or encoded is published degraded, never stuck: a
    failed publish fails the run, and its retry would meet the same finding again."""

    def test_a_lone_surrogate_is_published(self, aws: Aws, publisher: FindingPublisher) -> None:
        url = aws.subscribe_queue("surrogate", raw=True)
        name = "Mallory \ud800"
        finding = make_finding(
            title=f"Unusually high activity by {name}",
            summary=f"{name} opened 152 files.",
            user=UserRef(USER_ID + "\udfff", name, "m\ud800@example.com"),
            room=RoomRef(4512, "Deal \ud800 Room"),
            evidence={"events": 152, "names": [name]},
            dedup=(USER_ID, name),
        )

        publisher.publish(finding)

        [message] = aws.receive(url)
        # the canonical record keeps the exact value (as a JSON escape), the rest is readable
        assert Finding.from_json(message["Body"]) == finding
        request = publisher.build_request(finding)
        bodies = json.loads(request["Message"])
        assert "Mallory \ufffd" in bodies["email"]
        assert "Mallory \ufffd" in bodies["https"] or "Mallory \\ufffd" in bodies["https"]

    def test_a_rendering_failure_publishes_a_degraded_finding(
        self, aws: Aws, publisher: FindingPublisher, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = aws.subscribe_queue("degraded", raw=True)

        def broken(self: Finding) -> dict[str, Any]:
            raise ValueError("a rendering bug")

        monkeypatch.setattr(Finding, "render_chatbot", broken)
        finding = make_finding()

        message_id = publisher.publish(finding)

        [message] = aws.receive(url)
        assert message_id
        body = json.loads(message["Body"])
        assert body["degraded"] is True
        assert body["degradedReason"] == "ValueError"
        assert body["id"] == finding.fingerprint
        assert (body["workflow"], body["kind"], body["severity"]) == (
            "vdr_activity",
            "vdr_high_activity",
            "high",
        )
        assert "degraded" in body["title"].lower()
        assert Finding.from_dict(body).kind == finding.kind  # still a readable record
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes == {
            "workflow": "vdr_activity",
            "severity": "high",
            "kind": "vdr_high_activity",
            "userId": USER_ID,
            "category": "alert",
            "degraded": "true",
        }

    def test_a_request_the_sdk_cannot_encode_is_published_degraded(
        self, aws: Aws, publisher: FindingPublisher, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = aws.subscribe_queue("unencodable", raw=True)
        build = FindingPublisher.build_request

        def with_surrogate(self: FindingPublisher, finding: Finding) -> dict[str, Any]:
            request = build(self, finding)
            return {**request, "Subject": request["Subject"] + "\ud800"}

        monkeypatch.setattr(FindingPublisher, "build_request", with_surrogate)

        publisher.publish(make_finding())

        [message] = aws.receive(url)
        assert json.loads(message["Body"])["degradedReason"] == "UnicodeEncodeError"

    @pytest.mark.parametrize("user_id", [USER_ID + "\x00\uffff-evil", "a\r\nb\ufdd0c"])
    def test_attribute_values_carry_no_control_or_noncharacter(self, user_id: str) -> None:
        attributes = message_attributes(make_finding(user=UserRef(user_id, "n", None)))
        value = attributes["userId"]["StringValue"]
        assert not any(ord(c) < 0x20 or c in "\ufdd0\ufffe\uffff" for c in value)
        assert value.replace(" ", "") == user_id.translate(
            {0: None, 13: None, 10: None, 0xFFFF: None, 0xFDD0: None}
        )

    @pytest.mark.parametrize("user_id", [USER_ID + "\x00\uffff-evil", "x" * 300, "mallory"])
    def test_the_degraded_message_carries_a_user_id_only_if_it_is_a_guid(
        self, user_id: str
    ) -> None:
        publisher = FindingPublisher("arn:aws:sns:eu-west-1:123456789012:t", sns_client=object())
        finding = make_finding(user=UserRef(user_id, "n", None))
        degraded = publisher.degraded_request(finding, ValueError("x"))
        assert "userId" not in degraded["MessageAttributes"]
        good = make_finding(user=UserRef(USER_ID.upper(), "n", None))
        attributes = publisher.degraded_request(good, ValueError("x"))["MessageAttributes"]
        assert attributes["userId"]["StringValue"] == USER_ID.upper()

    def test_an_attribute_sns_refuses_does_not_stop_the_degraded_retry(self) -> None:
        from botocore.exceptions import ClientError

        class PickySns:
            """Refuses a userId SNS would not take, as SNS does (InvalidParameterValue)."""

            def __init__(self) -> None:
                self.requests: list[dict[str, Any]] = []

            def publish(self, **request: Any) -> dict[str, Any]:
                self.requests.append(request)
                user_id = request["MessageAttributes"].get("userId", {}).get("StringValue", "")
                if user_id.startswith("mallory") or any(
                    ord(c) < 0x20 or c in "\ufffe\uffff" for c in user_id
                ):
                    raise ClientError(
                        {"Error": {"Code": "InvalidParameterValue", "Message": "userId"}},
                        "Publish",
                    )
                return {"MessageId": "m-1"}

        for user_id in (USER_ID + "\x00\uffff-evil", "mallory-not-a-guid"):
            sns = PickySns()
            publisher = FindingPublisher("arn:aws:sns:eu-west-1:123456789012:t", sns_client=sns)
            # before: the degraded retry carried the same userId and the run failed for good
            assert publisher.publish(make_finding(user=UserRef(user_id, "n", None))) == "m-1"
        assert "degraded" in sns.requests[-1]["MessageAttributes"]

    def test_an_unusable_topic_still_fails(self, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
        def broken(self: Finding) -> str:
            raise ValueError("a rendering bug")

        monkeypatch.setattr(Finding, "render_text", broken)
        publisher = FindingPublisher(aws.topic_arn + "-gone", sns_client=aws.sns)
        with pytest.raises(PublishError) as caught:
            publisher.publish(make_finding())
        assert caught.value.code == "NotFound"


def test_modules_import_without_boto3() -> None:
    code = (
        "import sys; import docspace_sentinel.findings.finding, docspace_sentinel.findings.publisher; "
        "import docspace_sentinel.findings.render; "
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "shared")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False False"
