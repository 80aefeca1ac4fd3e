"""The webhook endpoints and ``WebhookConfig``: request shapes, tolerant parsing, no secret."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import responses

from docspace_sentinel.docspace.errors import BadRequest
from docspace_sentinel.docspace.models import SENTINEL_TRIGGERS, WebhookConfig
from docspace_sentinel.docspace.models.webhooks import MAX_FAILURE_TEXT
from docspace_sentinel.docspace.secret import Secret
from tests.support import API, envelope, make_client

HOOK = f"{API}/settings/webhook"
URL = "https://abc.lambda-url.eu-west-1.on.aws/"
SECRET = "Zq7#kV2mPp9!xW4tRr8$"
CREATOR = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"


def dto(**fields: object) -> dict[str, object]:
    return {
        "id": 7,
        "name": "DocSpace Sentinel",
        "uri": URL,
        "enabled": True,
        "ssl": True,
        "triggers": SENTINEL_TRIGGERS,
        "createdBy": {"id": CREATOR, "displayName": "Admin"},
        **fields,
    }


def test_sentinel_triggers_are_the_file_and_download_bits() -> None:
    expected = sum(128 << i for i in range(8)) | 1 << 34 | 1 << 35
    assert expected == SENTINEL_TRIGGERS
    assert not SENTINEL_TRIGGERS & (131072 | 262144 | 2097152)  # no folder.trashed/deleted/moved


@responses.activate
def test_webhooks_reads_the_configs_status_wrapper_tolerantly() -> None:
    rows = [
        {
            "configs": dto(
                lastFailureOn="2026-11-02T10:00:00",  # a plain DB value: UTC
                lastSuccessOn="2026-11-01T12:00:00.1234567+03:00",
                lastFailureContent="<html>\n" + "x" * 5000,
                triggers=str(1 << 40),
                targetId=42,
            ),
            "status": 503,
        },
        {"configs": {"id": 8, "enabled": "yes", "triggers": -1, "lastSuccessOn": "garbage"}},
        {"configs": {"name": "no id"}, "status": 200},  # skipped
        "junk",  # skipped
    ]
    responses.get(HOOK, json=envelope(rows))
    first, second = make_client().webhooks()
    assert first.id == 7 and first.created_by == CREATOR and first.status == 503
    assert first.triggers == 1 << 40 and first.target_id == "42"
    assert first.last_failure_on == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert first.last_success_on == datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=UTC)
    content = first.last_failure_content or ""
    assert "\n" not in content and len(content) < MAX_FAILURE_TEXT + 40
    assert first.failing
    assert second == WebhookConfig(id=8)  # wrong types read as defaults, never rejected


def test_failing_means_a_newer_failure_or_a_bad_last_status() -> None:
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert not WebhookConfig(1).failing
    assert not WebhookConfig(1, last_failure_on=t1, last_success_on=t2).failing
    assert WebhookConfig(1, last_failure_on=t2, last_success_on=t1).failing
    assert WebhookConfig(1, last_failure_on=t1).failing
    assert WebhookConfig(1, status=401, last_success_on=t2).failing


@responses.activate
def test_create_sends_the_secret_and_never_shows_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(HOOK, json=envelope(dto()))
    config = make_client().create_webhook(
        "DocSpace Sentinel", URL, Secret(SECRET), SENTINEL_TRIGGERS, ssl=True
    )
    body = json.loads(responses.calls[0].request.body or b"{}")
    assert body == {
        "name": "DocSpace Sentinel",
        "uri": URL,
        "enabled": True,
        "ssl": True,
        "triggers": SENTINEL_TRIGGERS,
        "secretKey": SECRET,
    }
    assert config.id == 7 and SECRET not in repr(config) and SECRET not in caplog.text


@responses.activate
def test_an_error_echoing_the_secret_is_redacted() -> None:
    message = f"The password {SECRET} does not meet the password policy requirements"
    responses.post(HOOK, status=400, json={"error": {"message": message}, "statusCode": 400})
    with pytest.raises(BadRequest) as raised:
        make_client().create_webhook("n", URL, Secret(SECRET), 0)
    assert SECRET not in str(raised.value) and "password policy" in str(raised.value)


@responses.activate
def test_update_keeps_the_secret_unless_given_and_resends_target() -> None:
    responses.put(HOOK, json=envelope(dto()))
    client = make_client()
    client.update_webhook(7, "DocSpace Sentinel", URL, 512, target_id="42")
    client.update_webhook(7, "DocSpace Sentinel", URL, 512, secret=Secret(SECRET), enabled=False)
    kept, rotated = (json.loads(c.request.body or b"{}") for c in responses.calls)
    assert "secretKey" not in kept and kept["id"] == 7 and kept["targetId"] == "42"
    assert rotated["secretKey"] == SECRET and rotated["enabled"] is False
    assert "targetId" not in rotated


@responses.activate
def test_enable_and_delete() -> None:
    responses.put(f"{HOOK}/enable", json=envelope(dto(enabled=False)))
    responses.delete(f"{HOOK}/7", json=envelope(dto()))
    client = make_client()
    assert client.enable_webhook(7, False, "DocSpace Sentinel", URL).enabled is False
    assert json.loads(responses.calls[0].request.body or b"{}") == {
        "id": 7,
        "name": "DocSpace Sentinel",
        "uri": URL,
        "enabled": False,
    }
    assert client.delete_webhook(7).id == 7


@pytest.mark.parametrize(
    ("name", "uri", "triggers", "ssl"),
    [
        ("", URL, 0, True),
        ("x" * 51, URL, 0, True),
        ("n", "ftp://host/", 0, False),
        ("n", "http://host/", 0, True),  # ssl needs https
        ("n", URL, -1, True),
        ("n", URL, 1 << 63, True),
        ("n", URL, True, True),
    ],
)
def test_bad_arguments_never_reach_the_portal(
    name: str, uri: str, triggers: int, ssl: bool
) -> None:
    with pytest.raises(ValueError):
        make_client().create_webhook(name, uri, Secret(SECRET), triggers, ssl=ssl)


@pytest.mark.parametrize("bad", ["../1", "1?x=", 0, -4, True])
def test_webhook_ids_are_validated(bad: object) -> None:
    with pytest.raises(ValueError):
        make_client().delete_webhook(bad)  # type: ignore[arg-type]
