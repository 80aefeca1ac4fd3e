"""The configuration document (one JSON SSM parameter): read at the handler's entry, cached
briefly, overridden by the environment, and checked like the environment (``runtime.config``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from docspace_sentinel.runtime import config
from docspace_sentinel.runtime.errors import ConfigError
from docspace_sentinel.runtime.handler import read_settings
from docspace_sentinel.workflows import bulk_change_guard
from local.aws import REGION, LocalAws
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, utc_now

NAME = "/docspace-sentinel-test/config"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    parameters.clear_caches()
    yield
    parameters.clear_caches()


def _put(document: Any) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=NAME, Value=text, Type="String", Overwrite=True
    )


# -- the document as environment strings ---------------------------------------------------------


def test_values_become_the_strings_the_environment_readers_expect() -> None:
    document = {
        "shared": {"SCAN_LAG_MINUTES": 30, "PROTECT_SSO_USERS": False, "PROTECTED_USER_IDS": []},
        "vdr_activity": {"ROOM_IDS": [12, 13], "BASELINE_Z": 2.5, "SCAN_LAG_MINUTES": 45},
        "inactive_members": {"ROOM_IDS": [99], "MANAGER_EMAIL": None},
    }
    assert config.document_env(document, "vdr_activity") == {
        "SCAN_LAG_MINUTES": "45",  # the workflow's section wins over shared, for it alone
        "PROTECT_SSO_USERS": "false",
        "PROTECTED_USER_IDS": "",
        "ROOM_IDS": "12,13",
        "BASELINE_Z": "2.5",
    }
    # null is unset (the code's default); another workflow's section is not read
    assert config.document_env(document, "inactive_members") == {
        "SCAN_LAG_MINUTES": "30",
        "PROTECT_SSO_USERS": "false",
        "PROTECTED_USER_IDS": "",
        "ROOM_IDS": "99",
    }


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (
            {"bulk_change_guard": {"FILE_CHANGE_TRESHOLD": 5}},
            "bulk_change_guard.FILE_CHANGE_TRESHOLD",
        ),
        ({"shared": {"MODE": "enforce"}}, "shared.MODE"),  # MODE is per workflow
        ({"bulk_guard": {}}, "bulk_guard"),
        ({"login_audit": {"DIGEST_TOP_USERS": {"n": 5}}}, "login_audit.DIGEST_TOP_USERS"),
        ({"vdr_activity": {"ROOM_IDS": [[1]]}}, "vdr_activity.ROOM_IDS"),
        ({"vdr_activity": [1]}, "vdr_activity"),
        ([1, 2], config.CONFIG_PARAMETER),
    ],
)
def test_an_unknown_key_or_a_value_of_no_setting_type_names_it(document: Any, named: str) -> None:
    # every section is checked, whichever workflow reads: a typo fails every function at once
    with pytest.raises(ConfigError) as caught:
        config.document_env(document, "restriction_release")
    assert caught.value.setting == named


def test_without_a_parameter_name_only_the_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(config.CONFIG_PARAMETER, raising=False)
    assert config.config_parameter() is None
    monkeypatch.setenv(config.CONFIG_PARAMETER, "  ")
    assert config.config_parameter() is None


# -- read at the entry, from SSM --------------------------------------------------------------------


def _entry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DOCSPACE_URL": "https://portal.example.com",
        "DOCSPACE_API_KEY": "sk-test",
        "STATE_TABLE": "table",
        "FINDINGS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:findings",
        config.CONFIG_PARAMETER: NAME,
        # the template declares every setting as an empty override slot
        "FILE_CHANGE_THRESHOLD": "",
        "SCAN_LAG_MINUTES": "",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DOCSPACE_API_KEY_SECRET", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)


def _guard() -> Any:
    return read_settings(bulk_change_guard.Settings, bulk_change_guard.WORKFLOW)


def test_the_document_sets_what_the_environment_leaves_empty_and_a_set_variable_wins(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _entry_env(monkeypatch)
    _put({"shared": {"SCAN_LAG_MINUTES": 40}, "bulk_change_guard": {"FILE_CHANGE_THRESHOLD": 7}})
    entry = _guard()
    assert entry.workflow.threshold == 7 and entry.run.lag == timedelta(minutes=40)
    parameters.clear_caches()
    monkeypatch.setenv("FILE_CHANGE_THRESHOLD", "9")  # an operator's emergency override
    entry = _guard()
    assert entry.workflow.threshold == 9 and entry.run.lag == timedelta(minutes=40)


def test_a_bad_value_in_the_document_fails_with_the_same_error_as_in_the_environment(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _entry_env(monkeypatch)
    monkeypatch.setenv("FILE_CHANGE_THRESHOLD", "2O")
    with pytest.raises(ConfigError) as from_env:
        _guard()
    monkeypatch.setenv("FILE_CHANGE_THRESHOLD", "")
    _put({"bulk_change_guard": {"FILE_CHANGE_THRESHOLD": "2O"}})
    with pytest.raises(ConfigError) as from_document:
        _guard()
    assert str(from_document.value) == str(from_env.value)
    assert from_document.value.setting == "FILE_CHANGE_THRESHOLD"


def test_the_rules_across_settings_see_the_document_and_the_environment_together(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _entry_env(monkeypatch)
    # The environment alone (lag 15 by default) would refuse a 30-minute window; the
    # document's 45-minute lag allows it.
    monkeypatch.setenv("WINDOW_MINUTES", "30")
    _put({"shared": {"SCAN_LAG_MINUTES": 45}})
    assert _guard().workflow.window == timedelta(minutes=30)
    parameters.clear_caches()
    _put({"shared": {"SCAN_LAG_MINUTES": 20}})
    with pytest.raises(ConfigError) as caught:
        _guard()
    assert caught.value.setting == "SCAN_LAG_MINUTES"


@pytest.mark.parametrize(
    ("stored", "problem"), [("{not json", "not valid JSON"), (None, "could not read parameter")]
)
def test_a_missing_or_unparsable_document_names_the_parameter(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, stored: str | None, problem: str
) -> None:
    _entry_env(monkeypatch)
    if stored is not None:
        _put(stored)
    with pytest.raises(ConfigError) as caught:
        _guard()
    assert caught.value.setting == config.CONFIG_PARAMETER and problem in str(caught.value)


def test_the_document_is_cached_briefly_then_read_again(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _entry_env(monkeypatch)
    _put({"bulk_change_guard": {"FILE_CHANGE_THRESHOLD": 7}})
    assert _guard().workflow.threshold == 7
    _put({"bulk_change_guard": {"FILE_CHANGE_THRESHOLD": 8}})
    assert _guard().workflow.threshold == 7  # within CACHE_SECONDS: no SSM call
    provider = parameters.base.DEFAULT_PROVIDERS["ssm"]
    for key, cached in list(provider.store.items()):
        # As if CACHE_SECONDS had passed.
        provider.store[key] = type(cached)(cached.value, cached.ttl - timedelta(seconds=61))
    assert _guard().workflow.threshold == 8


# -- a handler end to end (simulator + moto) ---------------------------------------------------------


def _window(offset_seconds: int) -> dict[str, str]:
    """An on-demand window over the simulator's planted cases (a new one each time: the same
    window twice would be a duplicate run)."""
    now = utc_now()
    return {
        "from": iso(now - timedelta(hours=96) + timedelta(seconds=offset_seconds)),
        "to": iso(now),
    }


@pytest.mark.e2e
def test_a_changed_threshold_takes_effect_on_the_next_run_without_a_redeploy(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, **{config.CONFIG_PARAMETER: NAME})
    monkeypatch.delenv("FILE_CHANGE_THRESHOLD", raising=False)
    _put({"bulk_change_guard": {"FILE_CHANGE_THRESHOLD": 100_000}})
    quiet = run("bulk_change_guard", _window(0))
    assert quiet["status"] == "completed" and quiet["findingsPublished"] == 0
    _put({"bulk_change_guard": {"FILE_CHANGE_THRESHOLD": 20}})
    parameters.clear_caches()  # as after CACHE_SECONDS in a warm container
    found = run("bulk_change_guard", _window(1))
    assert found["findingsPublished"] == 1
    assert [f["kind"] for f in aws.findings()] == ["bulk_file_change"]


@pytest.mark.e2e
def test_a_typo_in_the_document_fails_the_run_before_it_is_claimed(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, **{config.CONFIG_PARAMETER: NAME})
    _put({"bulk_change_guard": {"FILE_CHANGE_TRESHOLD": 5}})
    requests = simulator.stats.snapshot()
    with pytest.raises(ConfigError, match=r"bulk_change_guard\.FILE_CHANGE_TRESHOLD"):
        run("bulk_change_guard", _window(0))
    assert aws.dynamodb.scan(TableName=aws.table_name, Select="COUNT")["Count"] == 0
    assert aws.findings() == []
    assert simulator.stats.snapshot() == requests
