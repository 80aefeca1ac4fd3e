from __future__ import annotations

import json
import logging

import boto3
import pytest
import responses
from moto import mock_aws
from responses import matchers

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.settings import (
    AWS_WIRE_LOGGERS,
    ClientSettings,
    validate_portal_url,
)
from docspace_sentinel.runtime.errors import ConfigError

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


# -- credentials and keys never echoed -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"htps://user:{KEY}@portal.example.com",  # a mistyped scheme
        f"https//user:{KEY}@portal.example.com",
        f"user:{KEY}@portal.example.com",
        f"ftp://{KEY}@portal.example.com/path",
        f"htps://user:{KEY}/with/slashes@portal.example.com",
        f"https://user:{KEY}@[::1",  # not even a valid URL
    ],
)
def test_a_bad_url_with_credentials_does_not_echo_them(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_portal_url(url)
    assert caught.value.setting == "DOCSPACE_URL"
    assert KEY not in str(caught.value) and KEY not in repr(caught.value.args)


def test_a_bad_url_is_still_shown_without_its_credentials() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_portal_url(f"htps://user:{KEY}@portal.example.com")
    assert "htps://***@portal.example.com" in str(caught.value)


def test_the_key_from_secrets_manager_never_reaches_a_debug_log(
    aws,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws.create_secret(Name="docspace/api-key", SecretString=json.dumps({"apiKey": KEY}))
    # A fresh process: no level on botocore's loggers (an earlier test may have set one) …
    for name in AWS_WIRE_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    # … and Lambda's LoggingConfig ApplicationLogLevel DEBUG: the root logger at DEBUG.
    caplog.set_level(logging.DEBUG)
    env = {"DOCSPACE_URL": "https://p.example.com", "DOCSPACE_API_KEY_SECRET": "docspace/api-key"}

    def assert_not_logged() -> None:
        assert any(r.name.startswith("botocore") for r in caplog.records)  # DEBUG was on
        for record in caplog.records:
            assert KEY not in record.getMessage(), record.name
            assert KEY not in repr(record.args)

    settings = ClientSettings.from_env(env)
    assert settings.api_key.reveal() == KEY
    assert_not_logged()
    caplog.clear()
    assert settings.reload_api_key is not None
    assert settings.reload_api_key().reveal() == KEY  # the forced read (on a 401) is quiet too
    assert_not_logged()


ROTATED = "sk-settings-rotated-key-0001"
ME = "https://p.example.com/api/2.0/people/@self"


def test_a_rotated_key_is_read_again_past_the_cache_on_401(aws) -> None:  # type: ignore[no-untyped-def]
    aws.create_secret(Name="docspace/api-key", SecretString=KEY)
    env = {
        "DOCSPACE_URL": "https://p.example.com",
        "DOCSPACE_API_KEY_SECRET": "docspace/api-key",
        "DOCSPACE_API_KEY_CACHE_SECONDS": "3600",
        "DOCSPACE_REQUESTS_PER_SECOND": "0",
    }
    ClientSettings.from_env(env)  # a warm Lambda: the old key sits in the Powertools cache
    aws.put_secret_value(SecretId="docspace/api-key", SecretString=ROTATED)
    settings = ClientSettings.from_env(env)
    assert settings.api_key.reveal() == KEY  # still cached
    user = {"id": "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11", "displayName": "J"}
    with responses.RequestsMock() as portal:
        old = matchers.header_matcher({"Authorization": f"Bearer {KEY}"})
        new = matchers.header_matcher({"Authorization": f"Bearer {ROTATED}"})
        portal.get(ME, status=401, match=[old])
        portal.get(ME, json={"response": user, "count": 1, "status": 0}, match=[new])
        with DocSpaceClient(settings) as client:
            assert client.me().id == user["id"]
        assert len(portal.calls) == 2
    # and the cache now holds the new key for the next invocation
    assert ClientSettings.from_env(env).api_key.reveal() == ROTATED
