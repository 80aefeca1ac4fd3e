"""``webhooks install|status|remove`` against the simulator (HEAD probe, password policy) and
moto's Secrets Manager; the health check on the restriction release's runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
import responses

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.errors import BadRequest, Forbidden, ServerError, TransportError
from docspace_sentinel.docspace.models import SENTINEL_TRIGGERS
from docspace_sentinel.workflows import webhook_health
from docspace_sentinel.workflows.webhook_health import WebhookHealthSettings
from local.aws import LocalAws
from local.cli import main
from local.simulator.receiver import WebhookReceiver
from local.simulator.server import SimulatorServer
from local.simulator.webhooks import sign
from local.simulator.wire import to_micros
from local.webhook_setup import SPECIALS, WEBHOOK_NAME, fits_policy, new_secret
from tests.e2e import iso, point_at, run, scheduled, utc_now
from tests.support import API, envelope, make_client

SECRET_NAME = "docspace-sentinel/webhook-secret"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()  # the handlers' log and metric lines
    code = main(["webhooks", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, out + err


def stored_secret() -> str:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)
    secret: str = json.loads(value["SecretString"])["secret"]
    return secret


@pytest.fixture
def installed(
    simulator: SimulatorServer,
    aws: LocalAws,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """The CLI pointed at the simulator and moto, the webhook installed on the test receiver:
    the receiver's URL."""
    point_at(monkeypatch, simulator, aws)
    url = webhook_receiver.url
    assert cli(capsys, "install", "--url", url, "--allow-http")[0] == 0
    return url


def test_new_secrets_fit_every_password_policy() -> None:
    for _ in range(200):
        value = new_secret().reveal()
        assert fits_policy(value) and len(value) == 30 and " " not in value
        assert any(c in SPECIALS for c in value) and any(c.isdigit() for c in value)
        assert any(c.isupper() for c in value) and any(c.islower() for c in value)
    assert len({new_secret().reveal() for _ in range(50)}) == 50
    assert repr(new_secret()) == "Secret('***')"


def test_install_twice_status_and_remove(
    simulator: SimulatorServer,
    aws: LocalAws,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    url = webhook_receiver.url
    hub = simulator.webhooks
    code, report, shown = cli(capsys, "install", "--url", url, "--allow-http")
    assert code == 0 and report["action"] == "created" and report["secret"] == "created"
    secret = stored_secret()
    assert fits_policy(secret) and secret not in shown
    (config,) = hub.configs.values()
    assert config.secret == secret  # deliveries verify from the first one
    assert config.name == WEBHOOK_NAME and config.triggers == SENTINEL_TRIGGERS
    assert config.ssl is False and config.enabled and webhook_receiver.heads()

    # a second run changes nothing, and keeps the secret
    code, report, shown = cli(capsys, "install", "--url", url, "--allow-http")
    assert (code, report["action"], report["secret"]) == (0, "unchanged", "unchanged")
    assert len(hub.configs) == 1 and stored_secret() == secret and config.secret == secret

    # drifted (disabled, other triggers): updated in place, secret kept
    config.enabled, config.triggers = False, 512
    code, report, _ = cli(capsys, "install", "--url", url, "--allow-http")
    assert report["action"] == "updated" and report["secret"] == "unchanged"
    assert len(hub.configs) == 1 and config.enabled and config.triggers == SENTINEL_TRIGGERS
    assert config.secret == secret

    # rotation: a new secret stored and set on the same webhook
    code, report, shown = cli(capsys, "install", "--url", url, "--allow-http", "--rotate-secret")
    rotated = stored_secret()
    assert report["secret"] == "updated" and rotated != secret and config.secret == rotated
    assert rotated not in shown and len(hub.configs) == 1

    # a rotation the portal refuses (the HEAD probe fails) puts the old secret back
    webhook_receiver.head_status = 500
    code, _, shown = cli(capsys, "install", "--url", url, "--allow-http", "--rotate-secret")
    assert code == 2 and shown.startswith("error: ") and shown.count("\n") == 1
    assert stored_secret() == rotated == config.secret
    webhook_receiver.head_status = 200

    code, report, shown = cli(capsys, "status", "--url", url, "--allow-http")
    assert code == 0 and report["found"] and report["health"] == "healthy"
    assert report["webhook"]["triggers"] == SENTINEL_TRIGGERS and rotated not in shown

    config.last_failure_on = to_micros(utc_now())
    config.last_failure_content = "Bad gateway\n" + "<b>" * 2000
    code, report, _ = cli(capsys, "status", "--url", url, "--allow-http")
    assert code == 1 and report["health"] == "failing"
    assert len(report["webhook"]["lastFailureContent"]) < 400
    config.enabled = False
    assert cli(capsys, "status", "--url", url, "--allow-http")[1]["health"] == "disabled"

    code, _, shown = cli(capsys, "remove", "--url", url, "--allow-http")
    assert code == 2 and "--yes" in shown and len(hub.configs) == 1
    code, report, _ = cli(capsys, "remove", "--url", url, "--allow-http", "--yes")
    assert code == 0 and report["deleted"] == [config.id] and not hub.configs
    code, report, _ = cli(capsys, "status", "--url", url, "--allow-http")
    assert code == 1 and report == {"found": False, "health": "missing", "webhook": None}
    assert cli(capsys, "remove", "--url", url, "--allow-http", "--yes")[0] == 1


def test_a_lost_secret_is_replaced_on_install(
    installed: str, simulator: SimulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = installed
    boto3.client("secretsmanager").delete_secret(
        SecretId=SECRET_NAME, ForceDeleteWithoutRecovery=True
    )
    _, report, _ = cli(capsys, "install", "--url", url, "--allow-http")
    assert report["action"] == "updated" and report["secret"] == "created"
    (config,) = simulator.webhooks.configs.values()
    assert config.secret == stored_secret()


def test_delivery_is_signed_with_the_stored_secret(
    simulator: SimulatorServer,
    aws: LocalAws,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    simulator.webhooks.retry_base = 0.01
    assert cli(capsys, "install", "--url", webhook_receiver.url, "--allow-http")[0] == 0
    simulator.actions.change_files(simulator.scenario.key_user.id, 2)
    assert simulator.webhooks.wait_idle(10)
    posts = webhook_receiver.posts()
    assert len(posts) == 2
    for post in posts:
        assert post.headers["x-docspace-signature-256"] == sign(stored_secret(), post.body)


def stored_document() -> dict[str, Any]:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)
    document: dict[str, Any] = json.loads(value["SecretString"])
    return document


def test_a_rotation_keeps_the_old_secret_accepted_for_two_hours(
    installed: str, simulator: SimulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = installed
    assert set(stored_document()) == {"secret"}  # nothing to overlap with on a first install
    old = stored_secret()
    before = utc_now()
    code, report, shown = cli(capsys, "install", "--url", url, "--allow-http", "--rotate-secret")
    document = stored_document()
    assert code == 0 and document["previous"] == old and document["secret"] != old
    until = datetime.fromisoformat(document["previousUntil"])
    assert before + timedelta(hours=2) - timedelta(seconds=5) <= until
    assert until <= utc_now() + timedelta(hours=2, seconds=5)
    assert report["previousAcceptedUntil"] == document["previousUntil"]
    assert old not in shown and document["secret"] not in shown
    (config,) = simulator.webhooks.configs.values()
    assert config.secret == document["secret"]


@pytest.mark.parametrize(
    ("error", "rolled_back"),
    [
        (BadRequest("Secret does not meet the password policy", status_code=400), True),
        (Forbidden("Access denied", status_code=403), True),
        (TransportError("timed out"), False),
        (ServerError("Bad gateway", status_code=502), False),
    ],
)
def test_a_failed_rotation_rolls_back_only_when_the_portal_refused(
    error: Exception,
    rolled_back: bool,
    installed: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = installed
    old_document = stored_document()

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(DocSpaceClient, "update_webhook", fails)
    code, _, shown = cli(capsys, "install", "--url", url, "--allow-http", "--rotate-secret")
    assert code == 2 and shown.startswith("error: ") and shown.count("\n") == 1
    document = stored_document()
    if rolled_back:  # the portal kept the old secret: so does the store
        assert document == old_document
    else:  # the portal may have either: the receiver accepts both for a while
        assert document["previous"] == old_document["secret"] != document["secret"]
        assert datetime.fromisoformat(document["previousUntil"]) > utc_now() + timedelta(hours=1)
        assert "webhooks status" in shown
    assert old_document["secret"] not in shown and document["secret"] not in shown


@pytest.mark.parametrize(
    "argv",
    [
        ["install"],  # no --url and no WEBHOOK_RECEIVER_URL
        ["install", "--url", "http://127.0.0.1:9/hook"],  # http without --allow-http
        ["install", "--url", "ftp://x/"],
        ["remove"],  # no --yes
    ],
)
def test_bad_arguments_are_one_line_errors(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WEBHOOK_RECEIVER_URL", raising=False)
    assert main(["webhooks", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


# -- the health check -----------------------------------------------------------------------------


def _release(minutes: int) -> dict[str, Any]:
    when = iso(utc_now() + timedelta(minutes=minutes))
    return run("restriction_release", scheduled(when, arn="release"))


def test_health_check_on_the_release_runs(
    simulator: SimulatorServer,
    aws: LocalAws,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = webhook_receiver.url
    point_at(monkeypatch, simulator, aws, WEBHOOK_RECEIVER_URL=url)
    kinds = lambda: [(f["kind"], f["evidence"]["problem"]) for f in aws.findings()]  # noqa: E731

    assert _release(0)["webhook"] == "missing"
    [missing] = aws.findings()
    assert missing["kind"] == "webhook_unhealthy" and missing["evidence"]["problem"] == "missing"
    assert _release(5)["webhook"] == "missing" and kinds() == []  # once per suppression period

    assert cli(capsys, "install", "--url", url + "/", "--allow-http")[0] == 0
    # healthy again: one follow-up of the finding it follows, then quiet
    assert _release(10)["webhook"] == "healthy"
    [back] = aws.findings()
    assert (back["kind"], back["severity"]) == ("webhook_healthy", "low")
    assert back["follows"] == {"id": missing["id"], "title": f"[MEDIUM] {missing['title']}"}
    assert _release(12)["webhook"] == "healthy" and kinds() == []

    (config,) = simulator.webhooks.configs.values()
    config.last_success_on = to_micros(utc_now() - timedelta(hours=1))
    config.last_failure_on = to_micros(utc_now())
    assert _release(15)["webhook"] == "failing"
    finding = aws.findings()[0]
    assert finding["evidence"]["webhook"]["id"] == config.id
    assert "polling guard" in finding["summary"]

    config.enabled = False
    assert _release(20)["webhook"] == "disabled" and kinds() == [("webhook_unhealthy", "disabled")]

    config.enabled, config.last_failure_on = True, None
    assert _release(25)["webhook"] == "healthy"
    [back] = aws.findings()
    assert back["kind"] == "webhook_healthy" and back["evidence"]["was"] == "disabled"

    monkeypatch.setenv("WEBHOOK_RECEIVER_URL", "")
    assert "webhook" not in _release(30)  # off


def test_health_check_never_fails_the_run(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, WEBHOOK_RECEIVER_URL="https://receiver.example/")

    def denied(self: object) -> None:
        raise Forbidden("Access denied")

    monkeypatch.setattr("docspace_sentinel.docspace.client.DocSpaceClient.webhooks", denied)
    result = _release(0)
    assert result["webhook"] == "unreadable"
    assert [f["evidence"]["problem"] for f in aws.findings()] == ["unreadable"]


@responses.activate
def test_check_reports_a_portal_error_as_a_finding() -> None:
    body = {"error": {"message": "Access denied"}, "statusCode": 403}
    responses.get(f"{API}/settings/webhook", status=403, json=body)
    settings = WebhookHealthSettings("https://r.example/hook")
    (finding,) = webhook_health.check(make_client(), settings, "restriction_release")
    assert finding.kind == "webhook_unhealthy" and finding.evidence["problem"] == "unreadable"


@responses.activate
def test_check_matches_our_uri_only() -> None:
    rows = [
        {"configs": {"id": 1, "uri": "https://other.example/hook", "enabled": True}},
        {"configs": {"id": 2, "uri": "HTTPS://R.example/hook/", "enabled": True}, "status": 200},
    ]
    responses.get(f"{API}/settings/webhook", json=envelope(rows))
    client = make_client()
    assert webhook_health.check(client, WebhookHealthSettings("https://r.example/hook"), "w") == []
    (missing,) = webhook_health.check(client, WebhookHealthSettings("https://r.example/Hook"), "w")
    assert missing.evidence["problem"] == "missing"
    assert webhook_health.check(client, WebhookHealthSettings(""), "w") == []


def test_the_setting_is_validated() -> None:
    env = {"WEBHOOK_RECEIVER_URL": "javascript:alert(1)"}
    with pytest.raises(Exception, match="WEBHOOK_RECEIVER_URL"):
        WebhookHealthSettings.from_env(env)
    assert WebhookHealthSettings.from_env({}).receiver_url == ""
