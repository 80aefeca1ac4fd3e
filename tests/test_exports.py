"""Security Hub (ASFF) and EventBridge exports of published findings (moto), and closures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from docspace_sentinel.findings import closures
from docspace_sentinel.findings.exports import (
    EXPORT_FAILED,
    Exporter,
    ExportSettings,
    asff,
    eventbridge,
)
from docspace_sentinel.findings.exports.asff import Account
from docspace_sentinel.findings.finding import Finding, FollowRef, RoomRef, Severity, UserRef
from docspace_sentinel.findings.publisher import FindingPublisher
from docspace_sentinel.runtime.errors import ConfigError
from docspace_sentinel.runtime.runner import Runner, RunSettings
from docspace_sentinel.state.errors import StateError
from docspace_sentinel.state.store import StateStore
from local.aws import LocalAws, create_local_aws
from tests.exports_support import ACCOUNT, BUS, PRODUCT_ARN, REGION, Bus, hub_findings

ACCOUNT_OF = Account("aws", REGION, ACCOUNT)
USER_ID = "6b1e1f5a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
NOW = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)


def bulk(**overrides: Any) -> Finding:
    fields: dict[str, Any] = {
        "workflow": "bulk_change_guard",
        "kind": "bulk_file_change",
        "severity": Severity.HIGH,
        "title": "Jane Doe changed 32 distinct files within 10 minutes",
        "summary": "Jane Doe changed 32 distinct files within 10 minutes.",
        "dedup": (USER_ID, "2026-11-29T13:50", "acted"),
        "portal_url": "https://portal.example.com",
        "user": UserRef(USER_ID, "Jane Doe", "jane@example.com"),
        "room": RoomRef(4512, "Deal Room"),
        "period_start": NOW - timedelta(minutes=10),
        "period_end": NOW,
        "evidence": {"distinctFiles": 32, "sampleFiles": list(range(32))},
        "created_at": NOW,
    }
    fields.update(overrides)
    return Finding(**fields)


def lifted(original: Finding, kind: str = "restriction_lifted") -> Finding:
    return Finding(
        workflow="restriction_release",
        kind=kind,
        severity=Severity.LOW,
        title="Restriction of Jane Doe: the restriction was lifted",
        summary="lifted",
        dedup=(kind, USER_ID, "2026-11-29T14:00:00Z"),
        portal_url="https://portal.example.com",
        user=UserRef(USER_ID, "Jane Doe"),
        follows=FollowRef(original.fingerprint, original.title),
        created_at=NOW + timedelta(hours=1),
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield create_local_aws()


def publisher(aws: LocalAws, exporter: Exporter) -> FindingPublisher:
    return FindingPublisher(aws.topic_arn, sns_client=aws.sns, exporter=exporter)


def exporter(**kwargs: Any) -> Exporter:
    settings = ExportSettings(security_hub=True, event_bus=BUS)
    return Exporter(settings, account=ACCOUNT_OF, sleep=lambda _s: None, **kwargs)


# -- ASFF ---------------------------------------------------------------------------------------


def test_a_finding_in_asff_has_the_required_fields() -> None:
    finding = bulk()
    built = asff.build(finding, ACCOUNT_OF, now=NOW + timedelta(seconds=5))
    assert built["SchemaVersion"] == "2018-10-08"
    assert built["Id"] == finding.fingerprint
    assert built["ProductArn"] == PRODUCT_ARN
    assert built["GeneratorId"] == "docspace-sentinel/bulk_change_guard/bulk_file_change"
    assert built["AwsAccountId"] == ACCOUNT and built["Region"] == REGION
    assert built["Types"] == ["TTPs/Impact", "Effects/Data Destruction", "Unusual Behaviors/User"]
    assert built["Severity"]["Label"] == "HIGH"
    assert built["FindingProviderFields"] == {
        "Severity": {"Label": "HIGH", "Original": "high"},
        "Types": built["Types"],
    }
    assert built["CreatedAt"] == "2026-11-29T14:00:00Z"
    assert built["UpdatedAt"] == "2026-11-29T14:00:05Z"
    assert built["SourceUrl"] == "https://portal.example.com"
    assert built["RecordState"] == "ACTIVE"
    user, room = built["Resources"]
    assert user["Type"] == "Other" and user["Id"] == f"docspace:user/{USER_ID}"
    assert user["Details"]["Other"] == {
        "userId": USER_ID,
        "name": "Jane Doe",
        "email": "jane@example.com",
    }
    assert room["Id"] == "docspace:room/4512"
    assert room["Details"]["Other"] == {"roomId": "4512", "title": "Deal Room"}


def test_every_kind_the_workflows_publish_has_asff_types_of_the_taxonomy() -> None:
    namespaces = {
        "Software and Configuration Checks",
        "TTPs",
        "Effects",
        "Unusual Behaviors",
        "Sensitive Data Identifications",
    }
    for kind, types in {**asff.TYPES, "unknown": asff.DEFAULT_TYPES}.items():
        assert types, kind
        for value in types:
            assert value.split("/")[0] in namespaces, (kind, value)
            assert 1 <= len(value.split("/")) <= 3, (kind, value)


def test_portal_text_goes_in_one_line_and_bounded() -> None:
    hostile = "Evil\u202e\nName " + "x" * 2000
    finding = bulk(
        title="T\n" + "t" * 400,
        summary="S\r\n" + "s" * 3000,
        user=UserRef(USER_ID, hostile, "e@x"),
        room=RoomRef(7, hostile),
    )
    built = asff.build(finding, ACCOUNT_OF, now=NOW)
    assert len(built["Title"]) <= asff.TITLE_MAX and "\n" not in built["Title"]
    assert len(built["Description"]) <= asff.DESCRIPTION_MAX
    assert "\n" not in built["Description"] and "\r" not in built["Description"]
    for resource in built["Resources"]:
        for value in resource["Details"]["Other"].values():
            assert len(value) <= asff.VALUE_MAX and "\n" not in value and "\u202e" not in value


def test_a_name_of_invisible_characters_never_makes_a_blank_asff_value() -> None:
    """Security Hub refuses Title, Description, Id and Details.Other values without a
    non-blank character (``.*\\S.*``): a name of zero-width or isolate characters must not keep
    the finding out (a refused import would also raise an export_failed alert)."""
    import re

    finding = bulk(
        title="\u200b\u200b",
        summary=" \u2066 \u2069 ",
        user=UserRef(USER_ID, "\u200b\u200b", None),
        room=RoomRef(4512, "\u2066 \u2069"),
    )
    built = asff.build(finding, ACCOUNT_OF, now=NOW)
    values = [built["Title"], built["Description"]]
    for resource in built["Resources"]:
        values += [resource["Id"], *resource["Details"]["Other"].values()]
    assert all(re.fullmatch(r".*\S.*", v) for v in values), values


def test_a_finding_without_user_or_room_names_the_portal() -> None:
    built = asff.build(bulk(user=None, room=None), ACCOUNT_OF, now=NOW)
    (resource,) = built["Resources"]
    assert resource["Type"] == "Other"
    assert resource["Id"] == "docspace:portal/https://portal.example.com"


def test_the_account_comes_from_the_function_arn() -> None:
    arn = "arn:aws:lambda:eu-central-1:210987654321:function:sentinel-Vdr"
    assert Account.of_arn(arn) == Account("aws", "eu-central-1", "210987654321")
    assert Account.of_arn("not an arn") is None
    exports = Exporter(ExportSettings(security_hub=True))

    class Context:
        invoked_function_arn = arn

    exports.bind(Context())
    assert exports.account().product_arn == (
        "arn:aws:securityhub:eu-central-1:210987654321:product/210987654321/default"
    )


# -- settings -----------------------------------------------------------------------------------


def test_settings_are_off_by_default_and_a_bad_value_names_the_setting() -> None:
    assert ExportSettings.from_env({}) == ExportSettings(False, "")
    assert not ExportSettings.from_env({}).enabled
    on = ExportSettings.from_env({"SECURITY_HUB_EXPORT": "true", "EVENT_BUS_NAME": "team-bus"})
    assert on == ExportSettings(True, "team-bus")
    with pytest.raises(ConfigError, match="SECURITY_HUB_EXPORT"):
        ExportSettings.from_env({"SECURITY_HUB_EXPORT": "yes please"})
    for bad in ("my bus", "aws.partner", "x" * 300, "bus\nname"):
        with pytest.raises(ConfigError, match="EVENT_BUS_NAME"):
            ExportSettings.from_env({"EVENT_BUS_NAME": bad})


def test_the_run_settings_carry_the_exports() -> None:
    env = {
        "STATE_TABLE": "t",
        "FINDINGS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:topic",
        "SECURITY_HUB_EXPORT": "true",
    }
    assert RunSettings.from_env(env).exports == ExportSettings(True, "")
    with pytest.raises(ConfigError, match="EVENT_BUS_NAME"):
        RunSettings.from_env({**env, "EVENT_BUS_NAME": "no spaces allowed"})


# -- exporting after the SNS publish ------------------------------------------------------------


def test_a_published_finding_goes_to_sns_security_hub_and_the_bus(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus(monkeypatch)
    finding = bulk()
    publisher(aws, exporter()).publish(finding)
    assert [f["id"] for f in aws.findings()] == [finding.fingerprint]
    (found,) = hub_findings()
    assert found["Id"] == finding.fingerprint and found["ProductArn"] == PRODUCT_ARN
    assert found["Severity"]["Label"] == "HIGH" and found["RecordState"] == "ACTIVE"
    (event,) = bus.received()
    assert event["source"] == "docspace.sentinel"
    assert event["detail-type"] == "bulk_file_change"
    detail = event["detail"]
    assert detail == finding.to_dict() and detail["schemaVersion"] == 1


def test_without_an_exporter_nothing_but_sns_is_called(aws: LocalAws) -> None:
    FindingPublisher(aws.topic_arn, sns_client=aws.sns).publish(bulk())
    assert len(aws.findings()) == 1
    assert hub_findings() == []


class FailingHub:
    """A Security Hub that refuses every import (throttled, say)."""

    def __init__(self) -> None:
        self.calls = 0

    def batch_import_findings(self, **_kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
            "BatchImportFindings",
        )


def test_a_failing_security_hub_loses_nothing_and_reports_an_operations_finding(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = Bus(monkeypatch)
    hub = FailingHub()
    pauses: list[float] = []
    exports = Exporter(
        ExportSettings(security_hub=True, event_bus=BUS),
        securityhub_client=hub,
        account=ACCOUNT_OF,
        sleep=pauses.append,
    )
    finding = bulk()
    message_id = publisher(aws, exports).publish(finding)  # does not raise
    assert message_id
    assert hub.calls == 3 and pauses == [0.5, 1.0]  # retried with a growing pause
    published = aws.findings()
    assert [f["kind"] for f in published] == ["bulk_file_change", EXPORT_FAILED]
    assert published[0]["id"] == finding.fingerprint  # the SNS message is out
    notice = published[1]
    assert notice["severity"] == "medium"
    assert notice["evidence"]["findingId"] == finding.fingerprint
    assert notice["evidence"]["target"] == "Security Hub"
    assert notice["evidence"]["errorCode"] == "ThrottlingException"
    # the bus still got the finding, and only the finding (the notice is SNS only)
    assert [e["detail"]["id"] for e in bus.received()] == [finding.fingerprint]
    assert exports.failed == {"Security Hub": 1} and exports.exported == {"EventBridge": 1}


def test_security_hub_refusing_the_finding_in_its_answer_is_a_failure_too(
    aws: LocalAws,
) -> None:
    class Refusing:
        def batch_import_findings(self, **kwargs: Any) -> dict[str, Any]:
            return {
                "FailedCount": 1,
                "SuccessCount": 0,
                "FailedFindings": [
                    {"Id": "x", "ErrorCode": "InvalidInput", "ErrorMessage": "bad Types"}
                ],
            }

    exports = exporter(securityhub_client=Refusing())
    exports.settings = ExportSettings(security_hub=True)
    publisher(aws, exports).publish(bulk())
    kinds = [(f["kind"], f["evidence"].get("errorCode")) for f in aws.findings()]
    assert kinds == [("bulk_file_change", None), (EXPORT_FAILED, "InvalidInput")]


def test_a_follow_up_archives_the_original_asff_finding(aws: LocalAws) -> None:
    exports = exporter()
    exports.settings = ExportSettings(security_hub=True)
    sns = publisher(aws, exports)
    original = bulk()
    sns.publish(original)
    sns.publish(lifted(original))
    # moto lacks BatchUpdateFindings (404): the finding is archived, not set RESOLVED
    (found,) = hub_findings()
    assert found["Id"] == original.fingerprint
    assert found["RecordState"] == "ARCHIVED"
    assert found["UpdatedAt"] > "2026-11-29T14:00:00Z"
    fields = found["ProductFields"]
    assert fields["docspace-sentinel/followUpKind"] == "restriction_lifted"
    assert found["Title"] == original.title  # the original's fields are kept
    assert [f["kind"] for f in aws.findings()] == ["bulk_file_change", "restriction_lifted"]


def test_a_follow_up_that_does_not_end_the_matter_updates_but_keeps_it_active(
    aws: LocalAws,
) -> None:
    exports = exporter()
    exports.settings = ExportSettings(security_hub=True)
    sns = publisher(aws, exports)
    original = bulk()
    sns.publish(original)
    sns.publish(lifted(original, kind="restriction_failed"))
    (found,) = hub_findings()
    assert found["RecordState"] == "ACTIVE"
    assert found["ProductFields"]["docspace-sentinel/followUpKind"] == "restriction_failed"


class UpdatingHub:
    """moto's Security Hub plus the BatchUpdateFindings it lacks (404 "Not yet implemented"):
    this stub stands in for AWS on that one call, recording what it was asked."""

    def __init__(self) -> None:
        self.real = boto3.client("securityhub", region_name=REGION)
        self.updates: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def batch_update_findings(self, **kwargs: Any) -> dict[str, Any]:
        self.updates.append(kwargs)
        return {"ProcessedFindings": kwargs["FindingIdentifiers"], "UnprocessedFindings": []}


def test_a_lifted_restriction_sets_the_original_resolved_where_allowed(aws: LocalAws) -> None:
    hub = UpdatingHub()
    exports = exporter(securityhub_client=hub)
    exports.settings = ExportSettings(security_hub=True)
    sns = publisher(aws, exports)
    original = bulk()
    sns.publish(original)
    sns.publish(lifted(original))
    assert hub.updates == [
        {
            "FindingIdentifiers": [{"Id": original.fingerprint, "ProductArn": PRODUCT_ARN}],
            "Workflow": {"Status": "RESOLVED"},
        }
    ]
    (found,) = hub_findings()
    assert found["RecordState"] == "ARCHIVED"  # and archived as well


def test_a_follow_up_of_a_finding_never_exported_goes_in_on_its_own(aws: LocalAws) -> None:
    exports = exporter()
    exports.settings = ExportSettings(security_hub=True)
    follow_up = lifted(bulk())
    publisher(aws, exports).publish(follow_up)
    (found,) = hub_findings()
    assert found["Id"] == follow_up.fingerprint and found["RecordState"] == "ACTIVE"


def test_an_oversized_finding_is_trimmed_for_the_bus_like_for_sns() -> None:
    big = bulk(evidence={"distinctFiles": 5000, "sampleFiles": ["f" * 100] * 5000})
    entry = eventbridge.entry(big, BUS)
    assert eventbridge.entry_size(entry) <= eventbridge.MAX_BYTES
    detail = json.loads(entry["Detail"])
    assert detail["evidence"]["distinctFiles"] == 5000  # counts never change
    assert detail["evidence"]["sampleFilesTruncated"] > 0
    small = eventbridge.entry(bulk(), BUS)
    assert json.loads(small["Detail"]) == bulk().to_dict()


# -- closed findings ------------------------------------------------------------------------------


def test_follow_ups_of_a_closed_finding_are_skipped_and_counted(aws: LocalAws) -> None:
    store = StateStore(aws.table_name, client=aws.dynamodb)
    settings = RunSettings(aws.table_name, aws.topic_arn)
    sns = FindingPublisher(aws.topic_arn, sns_client=aws.sns)
    runner = Runner(
        "restriction_release",
        settings,
        client=None,  # type: ignore[arg-type]  # publishing needs no portal
        store=store,
        publisher=sns,
    )
    original, other = bulk(), bulk(dedup=("someone else", "x", "acted"))
    closures.close(
        store,
        original.fingerprint,
        "false-positive",
        "arn:aws:iam::1:user/ann",
        "",
        now=store.now(),
    )
    published, _ = runner.publish([lifted(original), lifted(other)], "run-1")
    assert published == 1 and runner.closed_follow_ups == 1
    assert [f["follows"]["id"] for f in aws.findings()] == [other.fingerprint]
    # a lift that failed is always said: a closed false positive's user is still disabled
    failed = lifted(original, kind="restriction_failed")
    assert runner.publish([failed], "run-2") == (1, 0)
    assert [f["kind"] for f in aws.findings()] == ["restriction_failed"]


def test_a_malformed_closure_record_is_as_if_absent(aws: LocalAws) -> None:
    """A hand-edited record must not fail every run that publishes a follow-up of it."""
    store = StateStore(aws.table_name, client=aws.dynamodb)
    store.put({"pk": "closed", "sk": "c" * 32, "reason": "resolved", "expiresAt": "soon"})
    assert closures.closure_of(store, "c" * 32) is None


def test_a_closure_records_who_when_and_why(aws: LocalAws) -> None:
    store = StateStore(aws.table_name, client=aws.dynamodb)
    closure = closures.close(store, "a" * 32, "resolved", "user:ann", "fixed", now=NOW)
    assert closures.closure_of(store, "a" * 32) == closure
    assert closure == closures.Closure("a" * 32, "resolved", "user:ann", closure.at, "fixed")
    assert closures.closure_of(store, "b" * 32) is None
    with pytest.raises(ValueError, match="reason"):
        closures.close(store, "a" * 32, "bored", "user:ann", now=NOW)


def test_a_closure_that_cannot_be_read_does_not_fail_the_run(
    aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    class Unreadable(StateStore):
        def get(self, pk: str, sk: str) -> dict[str, Any] | None:
            if pk == "closed":
                raise StateError("AccessDeniedException: not granted")
            return super().get(pk, sk)

    store = Unreadable(aws.table_name, client=aws.dynamodb)
    runner = Runner(
        "restriction_release",
        RunSettings(aws.table_name, aws.topic_arn),
        client=None,  # type: ignore[arg-type]
        store=store,
        publisher=FindingPublisher(aws.topic_arn, sns_client=aws.sns),
    )
    published, _ = runner.publish([lifted(bulk())], "run-1")
    assert published == 1 and runner.closed_follow_ups == 0
    assert "could not read whether" in caplog.text


def test_a_follow_up_published_during_the_run_is_counted_once(aws: LocalAws) -> None:
    from docspace_sentinel.runtime.runner import RunContext, RunOutcome

    store = StateStore(aws.table_name, client=aws.dynamodb)

    class Client:
        requests_sent = 0

    original = bulk()
    closures.close(store, original.fingerprint, "resolved", "user:ann", now=store.now())
    runner = Runner(
        "restriction_release",
        RunSettings(aws.table_name, aws.topic_arn),
        client=Client(),  # type: ignore[arg-type]
        store=store,
        publisher=FindingPublisher(aws.topic_arn, sns_client=aws.sns),
    )

    def work(context: RunContext) -> RunOutcome:
        assert context.publish(lifted(original)) is False
        return RunOutcome(advances_cursor=False)

    summary = runner.run({"from": "2026-11-29T13:00:00Z", "to": "2026-11-29T14:00:00Z"}, work)
    assert summary["followUpsOfClosed"] == 1
    assert summary["findingsPublished"] == 0 and summary["findingsSuppressed"] == 0
    assert aws.findings() == []


def test_the_export_clients_give_up_in_seconds_not_the_lambdas_whole_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An export runs after SNS took the message: a hanging Security Hub or bus must not hold
    the run (or the real-time consumer, 30 s) until Lambda kills it and the message is sent
    again by the retry."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    exporter = Exporter(ExportSettings(security_hub=True, event_bus="bus"), account=ACCOUNT_OF)
    for client in (exporter.securityhub().client, exporter.eventbus().client):
        config = client.meta.config
        assert config.connect_timeout <= 3 and config.read_timeout <= 5
        assert config.retries["total_max_attempts"] <= 3  # one try and two SDK retries at most
