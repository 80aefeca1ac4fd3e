"""Security Hub and EventBridge exports end to end: the bulk guard and the restriction release
against the simulator, with moto's Security Hub and a bus whose rule forwards to SQS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from docspace_sentinel.findings import exports
from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
from local import cli
from local.aws import LocalAws
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now
from tests.exports_support import BUS, PRODUCT_ARN, Bus, hub_findings

pytestmark = pytest.mark.e2e


def _both_on(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> tuple[Bus, str]:
    bus = Bus(monkeypatch)
    point_at(
        monkeypatch,
        simulator,
        aws,
        MODE="enforce",
        SECURITY_HUB_EXPORT="true",
        EVENT_BUS_NAME=BUS,
    )
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    return bus, planted.user_id


def _due_now(aws: LocalAws, when: Any) -> None:
    records = RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb))
    for record in list(records.all()):
        records.extend(record.user_id, when)


def test_the_bulk_finding_lands_once_in_security_hub_and_on_the_bus_and_is_closed_by_the_release(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus, user_id = _both_on(simulator, aws, monkeypatch)
    now = utc_now()
    first = scheduled(iso(now))
    run("bulk_change_guard", first)
    published = aws.findings()
    (bulk,) = [f for f in published if f["kind"] == "bulk_file_change"]
    assert bulk["user"]["id"] == user_id
    assert bulk["actions"][0]["status"] == "done"  # enforced: the restriction holds

    # once in Security Hub, with the required ASFF fields
    hub = {h["Id"]: h for h in hub_findings()}
    assert sorted(hub) == sorted(f["id"] for f in published)  # each published finding, once
    found = hub[bulk["id"]]
    assert found["SchemaVersion"] == "2018-10-08" and found["ProductArn"] == PRODUCT_ARN
    assert found["GeneratorId"] == "docspace-sentinel/bulk_change_guard/bulk_file_change"
    assert "TTPs/Impact" in found["Types"] and found["Severity"]["Label"] == "HIGH"
    assert found["FindingProviderFields"]["Types"] == found["Types"]
    assert found["Title"] == bulk["title"][:256] and found["Description"]
    assert {"Type": "Other", "Id": f"docspace:user/{user_id}"}.items() <= found["Resources"][
        0
    ].items()
    assert found["SourceUrl"] == simulator.url and found["AwsAccountId"] == "123456789012"
    assert found["RecordState"] == "ACTIVE"
    # once on the bus
    events = bus.received()
    assert sorted(e["detail"]["id"] for e in events) == sorted(f["id"] for f in published)
    (event,) = [e for e in events if e["detail"]["id"] == bulk["id"]]
    assert event["detail-type"] == "bulk_file_change" and event["source"] == "docspace.sentinel"
    assert event["detail"]["schemaVersion"] == 1 and event["detail"]["severity"] == "high"

    # a retried run and the next run (overlapping window) export nothing again
    assert run("bulk_change_guard", first)["status"] == "duplicate"
    run("bulk_change_guard", scheduled(iso(now + timedelta(minutes=10))))
    assert aws.findings() == [] and bus.received() == []
    assert len(hub_findings()) == len(hub)

    # the release lifts the restriction: the original ASFF finding is archived (moto has no
    # BatchUpdateFindings; RESOLVED through it is tested with a stub in test_exports.py)
    _due_now(aws, now - timedelta(minutes=1))
    release = run("restriction_release", scheduled(iso(now + timedelta(minutes=11))))
    assert release["lifted"] == 1 and release["followUpsOfClosed"] == 0
    (notice,) = [f for f in aws.findings() if f["kind"] == "restriction_lifted"]
    assert notice["follows"]["id"] == bulk["id"]
    after = {h["Id"]: h for h in hub_findings()}
    assert sorted(after) == sorted(hub)  # the follow-up updated the original, no new one
    assert after[bulk["id"]]["RecordState"] == "ARCHIVED"
    assert after[bulk["id"]]["ProductFields"]["docspace-sentinel/followUpKind"] == (
        "restriction_lifted"
    )
    assert [e["detail-type"] for e in bus.received()] == ["restriction_lifted"]


def test_a_failing_security_hub_neither_loses_the_message_nor_fails_the_run(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus, _ = _both_on(simulator, aws, monkeypatch)
    monkeypatch.setattr(exports, "BACKOFF_SECONDS", 0.0)
    original = BaseClient._make_api_call
    calls: list[str] = []

    def unavailable(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "securityhub":
            calls.append(operation)
            raise ClientError(
                {"Error": {"Code": "InternalException", "Message": "unavailable"}}, operation
            )
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", unavailable)
    now = utc_now()
    summary = run("bulk_change_guard", scheduled(iso(now)))
    assert summary["status"] == "completed"
    published = aws.findings()
    kinds = [f["kind"] for f in published]
    assert kinds.count("bulk_file_change") == 1
    failed = [f for f in published if f["kind"] == "export_failed"]
    assert len(failed) == len(published) - len(failed)  # one per exported finding
    (bulk,) = [f for f in published if f["kind"] == "bulk_file_change"]
    assert any(f["evidence"]["findingId"] == bulk["id"] for f in failed)
    assert calls.count("BatchImportFindings") == 3 * len(failed)  # retried, then reported
    # the bus is unaffected
    assert bulk["id"] in [e["detail"]["id"] for e in bus.received()]
    assert summary["findingsPublished"] == kinds.count("bulk_file_change")


def test_closing_a_finding_archives_it_and_stops_its_follow_ups(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bus, user_id = _both_on(simulator, aws, monkeypatch)
    now = utc_now()
    run("bulk_change_guard", scheduled(iso(now)))
    (bulk,) = [f for f in aws.findings() if f["kind"] == "bulk_file_change"]
    bus.received()

    code = cli.main(
        ["findings", "close", bulk["id"], "--reason", "false-positive", "--note", "a migration"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert '"reason": "false-positive"' in out and '"securityHub": "archived"' in out
    assert '"by": "arn:aws:' in out  # the AWS caller identity
    hub = {h["Id"]: h for h in hub_findings()}
    assert hub[bulk["id"]]["RecordState"] == "ARCHIVED"

    _due_now(aws, now - timedelta(minutes=1))
    release = run("restriction_release", scheduled(iso(now + timedelta(minutes=11))))
    assert release["lifted"] == 1  # the restriction is still lifted: only messages stop
    assert release["followUpsOfClosed"] == 1 and release["findingsPublished"] == 0
    assert simulator.scenario.user_by_id(user_id).status == 1
    assert [f["kind"] for f in aws.findings()] == []
    assert bus.received() == []


def test_closing_refuses_a_bad_id_or_reason_in_one_line(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATE_TABLE", aws.table_name)
    with pytest.raises(SystemExit) as exited:
        cli.main(["findings", "close", "not-an-id", "--reason", "resolved"])
    assert exited.value.code == 2
    assert "not a finding id" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["findings", "close", "a" * 32, "--reason", "bored"])
    assert "invalid choice: 'bored'" in capsys.readouterr().err
    monkeypatch.setenv("SECURITY_HUB_EXPORT", "maybe")
    assert cli.main(["findings", "close", "a" * 32, "--reason", "resolved"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: SECURITY_HUB_EXPORT") and err.count("\n") == 1


def test_every_workflows_planted_case_lands_once_in_security_hub_and_once_on_the_bus(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's scheduled workflows, each with its planted case, both exports on."""
    from local.lambda_runtime import invoke

    bus, _ = _both_on(simulator, aws, monkeypatch)
    s = simulator.scenario
    for user_id, entries in sorted(s.planted.allowlists.items()):
        invoke("ip_allowlist", {"userId": user_id, "allowedIps": list(entries)},
               attribute="register_handler")  # fmt: skip
    now = utc_now()
    admin = next(a for a in s.layout.admin_ids if a != s.layout.key_user_id)
    run("config_watch", scheduled(iso(now)))  # its first snapshot
    s.admin_actions.create_webhook(admin, "Export", "https://collector.example.net/in")
    event = scheduled(iso(now + timedelta(minutes=3)))
    workflows = ("vdr_activity", "login_audit", "bulk_change_guard", "inactive_members",
                 "ip_allowlist", "config_watch")  # fmt: skip
    for workflow in workflows:
        run(workflow, event)
    published = aws.findings()
    assert {f["workflow"] for f in published} >= set(workflows) - {"inactive_members"}
    assert any(f["kind"] == "config_change" for f in published)
    client = __import__("boto3").client("securityhub", region_name="eu-west-1")
    hub: list[str] = []
    for page in client.get_paginator("get_findings").paginate():
        hub += [h["Id"] for h in page["Findings"]]
    assert sorted(hub) == sorted(f["id"] for f in published)  # each once
    assert sorted(e["detail"]["id"] for e in bus.received()) == sorted(hub)
