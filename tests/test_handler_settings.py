"""Settings are read once, at the handler's entry, before the first AWS or portal call.

A bad setting (a typo in ``FILE_CHANGE_THRESHOLD``, a lag shorter than the bulk guard's window,
two room-id lists that disagree) fails the invocation with a ``ConfigError`` naming it, and
nothing has happened: no Secrets Manager read, no DynamoDB item, no SNS message, no portal
request. With good settings the API key is read first of all AWS calls (after the checks).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.client
import pytest

from docspace_sentinel.runtime.env import env_ids
from docspace_sentinel.runtime.errors import ConfigError
from local.aws import REGION, LocalAws
from local.lambda_runtime import invoke
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, scheduled, utc_now

pytestmark = pytest.mark.e2e

SECRET = "docspace-sentinel/settings-test-key"


@pytest.fixture
def aws_calls(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every AWS API call made from here on, as (service, operation)."""
    calls: list[tuple[str, str]] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation: str, params: Any) -> Any:
        calls.append((self.meta.service_model.service_name, operation))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield calls


def _with_secret(monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer, name: str) -> None:
    """The key in Secrets Manager, as in Lambda (a unique name: no warm cache answers)."""
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=name, SecretString=simulator.api_key
    )
    monkeypatch.delenv("DOCSPACE_API_KEY", raising=False)
    monkeypatch.setenv("DOCSPACE_API_KEY_SECRET", name)


def _items(aws: LocalAws) -> int:
    return int(aws.dynamodb.scan(TableName=aws.table_name, Select="COUNT")["Count"])


BAD = [
    # (function, handler attribute, event, the bad settings, the variable the error names)
    ("bulk_change_guard", "handler", None, {"FILE_CHANGE_THRESHOLD": "2O"}, "FILE_CHANGE_THRESHOLD"),
    (
        "bulk_change_guard",
        "handler",
        None,
        {"SCAN_LAG_MINUTES": "5", "WINDOW_MINUTES": "10"},
        "SCAN_LAG_MINUTES",
    ),
    ("bulk_change_guard", "handler", None, {"MODE": "enforced"}, "MODE"),
    (
        "vdr_activity",
        "handler",
        None,
        {"ROOM_IDS": "1,2", "MONITORED_ROOM_IDS": "3"},
        "ROOM_IDS",
    ),
    ("inactive_members", "handler", None, {"PERIOD_DAYS": "thirty"}, "PERIOD_DAYS"),
    ("login_audit", "handler", {"last": True}, {"BRUTE_FORCE_FAILURES": "1"}, "BRUTE_FORCE_FAILURES"),
    ("ip_allowlist", "handler", None, {"ON_VIOLATION": "shout"}, "ON_VIOLATION"),
    (
        "ip_allowlist",
        "register_handler",
        {"userId": "u", "allowedIps": ["192.0.2.1"]},
        {"PORTAL_SYNC": "maybe"},
        "PORTAL_SYNC",
    ),
    ("restriction_release", "handler", None, {"DOCSPACE_URL": "http://portal.example.com"}, "DOCSPACE_URL"),
    ("restriction_release", "handler", None, {"SCAN_CONCURRENCY": "0"}, "SCAN_CONCURRENCY"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("function", "attribute", "event", "bad", "named"),
    BAD,
    ids=[f"{b[0]}.{b[1]}-{b[4]}" for b in BAD],
)
def test_a_bad_setting_fails_before_any_aws_or_portal_call(
    function: str,
    attribute: str,
    event: dict[str, Any] | None,
    bad: dict[str, str],
    named: str,
    simulator: SimulatorServer,
    aws: LocalAws,
    aws_calls: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws, **bad)
    _with_secret(monkeypatch, simulator, f"{SECRET}-{function}-{attribute}-{named}")
    aws_calls.clear()
    simulator.stats.requests.clear()
    with pytest.raises(ConfigError) as caught:
        invoke(function, event or scheduled(iso(utc_now())), attribute=attribute)
    assert caught.value.setting == named
    assert aws_calls == []  # no Secrets Manager, DynamoDB or SNS call at all
    assert not simulator.stats.requests  # nor a portal request
    assert _items(aws) == 0
    assert aws.findings() == []


def test_with_good_settings_the_key_is_read_first_and_the_run_goes_on(
    simulator: SimulatorServer,
    aws: LocalAws,
    aws_calls: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(monkeypatch, simulator, aws)
    _with_secret(monkeypatch, simulator, f"{SECRET}-good")
    aws_calls.clear()
    summary = invoke("bulk_change_guard", scheduled(iso(utc_now())))
    assert summary["status"] == "completed"
    assert aws_calls[0] == ("secretsmanager", "GetSecretValue")
    assert ("dynamodb", "PutItem") in aws_calls or ("dynamodb", "UpdateItem") in aws_calls


# -- one parser and one name for room-id lists ---------------------------------------------------


def test_room_ids_the_new_name_wins_and_the_old_one_is_still_read() -> None:
    assert env_ids("ROOM_IDS", alias="MONITORED_ROOM_IDS", env={"ROOM_IDS": "4, 5"}) == (4, 5)
    assert env_ids("ROOM_IDS", alias="MONITORED_ROOM_IDS", env={"MONITORED_ROOM_IDS": "6"}) == (6,)
    both_agree = {"ROOM_IDS": "7,8", "MONITORED_ROOM_IDS": "7 8"}
    assert env_ids("ROOM_IDS", alias="MONITORED_ROOM_IDS", env=both_agree) == (7, 8)
    assert env_ids("ROOM_IDS", alias="MONITORED_ROOM_IDS", env={"ROOM_IDS": " "}) == ()


def test_room_ids_set_under_both_names_to_different_lists_is_an_error_naming_both() -> None:
    with pytest.raises(ConfigError) as caught:
        env_ids(
            "ROOM_IDS", alias="MONITORED_ROOM_IDS", env={"ROOM_IDS": "1", "MONITORED_ROOM_IDS": "2"}
        )
    assert caught.value.setting == "ROOM_IDS"
    assert "MONITORED_ROOM_IDS" in str(caught.value)


@pytest.mark.parametrize("value", ["0", "-3", "x", "²", "9" * 5000])
def test_room_ids_are_positive_whole_numbers(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        env_ids("ROOM_IDS", env={"ROOM_IDS": f"1,{value}"})
    assert caught.value.setting == "ROOM_IDS"
