from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from docspace_sentinel.errors import ConfigError
from docspace_sentinel.settings import ClientSettings, validate_portal_url

KEY = "sk-settings-test-key"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://portal.example.com", "https://portal.example.com"),
        ("https://portal.example.com/", "https://portal.example.com"),
        ("https://portal.example.com/api/2.0/", "https://portal.example.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://localhost:8765/", "http://localhost:8765"),
    ],
)
def test_valid_urls(url: str, expected: str) -> None:
    assert validate_portal_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://portal.example.com",  # plain http off the machine
        "http://10.0.0.5:8080",
        "ftp://portal.example.com",
        "portal.example.com",
        "https://",
        "https://user:pw@portal.example.com",
        "https://portal.example.com/?x=1",
        "https://portal.example.com:99999",
    ],
)
def test_bad_urls_fail_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_portal_url(url)
    assert caught.value.setting == "DOCSPACE_URL"


def test_missing_url_and_key_name_the_setting() -> None:
    with pytest.raises(ConfigError, match="DOCSPACE_URL"):
        ClientSettings.from_env({})
    with pytest.raises(ConfigError, match="DOCSPACE_API_KEY_SECRET"):
        ClientSettings.from_env({"DOCSPACE_URL": "https://p.example.com"})


def test_plain_key_for_local_runs_only() -> None:
    settings = ClientSettings.from_env(
        {"DOCSPACE_URL": "https://p.example.com", "DOCSPACE_API_KEY": KEY}
    )
    assert settings.api_key.reveal() == KEY
    assert KEY not in repr(settings)
    with pytest.raises(ConfigError, match="local runs only"):
        ClientSettings.from_env(
            {
                "DOCSPACE_URL": "https://p.example.com",
                "DOCSPACE_API_KEY": KEY,
                "AWS_LAMBDA_FUNCTION_NAME": "fn",
            }
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOCSPACE_TIMEOUT_SECONDS", "fast"),
        ("DOCSPACE_TIMEOUT_SECONDS", "0"),
        ("DOCSPACE_TIMEOUT_SECONDS", "nan"),
        ("DOCSPACE_MAX_ATTEMPTS", "0"),
        ("DOCSPACE_MAX_ATTEMPTS", "2.5"),
        ("DOCSPACE_RETRY_BUDGET_SECONDS", "-1"),
    ],
)
def test_bad_numbers_fail_naming_the_setting(name: str, value: str) -> None:
    env = {"DOCSPACE_URL": "https://p.example.com", "DOCSPACE_API_KEY": KEY, name: value}
    with pytest.raises(ConfigError) as caught:
        ClientSettings.from_env(env)
    assert caught.value.setting == name


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")
    parameters.clear_caches()


@pytest.mark.parametrize("stored", [KEY, json.dumps({"apiKey": KEY})])
def test_key_from_secrets_manager(aws, stored: str) -> None:  # type: ignore[no-untyped-def]
    aws.create_secret(Name="docspace/api-key", SecretString=stored)
    env = {
        "DOCSPACE_URL": "https://p.example.com",
        "DOCSPACE_API_KEY_SECRET": "docspace/api-key",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
    }
    settings = ClientSettings.from_env(env)
    assert settings.api_key.reveal() == KEY


def test_missing_secret_names_the_setting_not_the_value(aws) -> None:  # type: ignore[no-untyped-def]
    env = {"DOCSPACE_URL": "https://p.example.com", "DOCSPACE_API_KEY_SECRET": "nope"}
    with pytest.raises(ConfigError) as caught:
        ClientSettings.from_env(env)
    assert caught.value.setting == "DOCSPACE_API_KEY_SECRET"


def test_secret_json_without_key(aws) -> None:  # type: ignore[no-untyped-def]
    aws.create_secret(Name="bad", SecretString=json.dumps({"other": 1}))
    with pytest.raises(ConfigError, match="apiKey"):
        ClientSettings.from_env(
            {"DOCSPACE_URL": "https://p.example.com", "DOCSPACE_API_KEY_SECRET": "bad"}
        )
