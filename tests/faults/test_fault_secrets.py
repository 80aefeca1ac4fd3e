"""Every handler at DEBUG level, with faults so the retry and error paths log too: the API key
never shows in logs, published findings or return values."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

import boto3
import pytest

from local.aws import LocalAws
from local.lambda_runtime import invoke
from local.simulator.faults import Faults
from local.simulator.server import SimulatorServer
from tests.e2e import scheduled
from tests.faults.harness import FaultRun, ip_allowlist_available, iso, now, point_at_faulty

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

KEY = "sk-sentinel-test-key-3f9a1c7e5b2d4068"
WORKFLOWS = [
    "vdr_activity",
    "login_audit",
    "bulk_change_guard",
    "inactive_members",
    "restriction_release",
]
if ip_allowlist_available():
    WORKFLOWS.append("ip_allowlist")


def test_the_api_key_never_shows_at_debug_level(
    simulator_factory: Callable[..., SimulatorServer],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = simulator_factory(seed=7, audit_events=800, login_events=300, server={"api_key": KEY})
    assert sim.api_key == KEY
    point_at_faulty(
        monkeypatch,
        sim,
        aws,
        MODE="enforce",
        POWERTOOLS_LOG_LEVEL="DEBUG",
        ROOM_TYPES="1,2,5,6,8",
        DOCSPACE_MAX_ATTEMPTS=4,
    )
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "docspace_sentinel", "botocore.hooks"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    sim.faults = Faults(rate_5xx=0.02, rate_429=0.02, rate_malformed=0.02, retry_after=0, seed=9)
    outputs: list[str] = []
    for workflow in WORKFLOWS:
        fr = FaultRun(workflow, sim, aws)
        outputs.append(json.dumps(fr.until_complete(scheduled(iso(now())))))
        outputs += [json.dumps(f) for f in fr.findings]
    # a bad query and a bad key: the error paths
    with pytest.raises(ValueError):
        invoke("login_audit", {"userId": "../settings"})
    monkeypatch.setenv("DOCSPACE_API_KEY", KEY + "-wrong")
    with pytest.raises(Exception) as caught:
        invoke("vdr_activity", scheduled(iso(now()), arn="other"))
    outputs.append(repr(caught.value) + str(caught.value))
    captured = capsys.readouterr()
    logs = "\n".join(r.getMessage() + repr(r.args) + str(r.__dict__) for r in caplog.records)
    assert caplog.records and captured.out  # DEBUG output really was produced
    for where, text in {"logs": logs, "stdout": captured.out, "stderr": captured.err,
                        "findings/returns": "\n".join(outputs)}.items():  # fmt: skip
        assert KEY not in text, f"the API key appears in {where}"


ROTATED = "sk-sentinel-rotated-key-9e8d7c6b5a403122"


def test_the_key_read_from_secrets_manager_never_shows_and_a_rotated_key_is_read_again(
    simulator_factory: Callable[..., SimulatorServer],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The test above hands the key over in DOCSPACE_API_KEY (``point_at``), so it never
    passes through botocore, whose parsers log every response body at DEBUG: the deployed
    path, Secrets Manager under a DEBUG root logger (Lambda's ApplicationLogLevel), leaked it.
    Here the key comes from Secrets Manager, is rotated between two warm invocations (the
    Powertools cache still holds the old key: a 401, one forced read, the run succeeds), and
    neither key may show in logs, output, findings or return values."""
    from aws_lambda_powertools.utilities import parameters

    from docspace_sentinel.docspace.settings import AWS_WIRE_LOGGERS

    sim = simulator_factory(seed=7, audit_events=300, login_events=100, server={"api_key": KEY})
    point_at_faulty(monkeypatch, sim, aws, MODE="enforce", DOCSPACE_API_KEY_CACHE_SECONDS=3600)
    secrets = boto3.client("secretsmanager", region_name="eu-west-1")
    secrets.create_secret(Name="docspace/api-key", SecretString=json.dumps({"apiKey": KEY}))
    monkeypatch.delenv("DOCSPACE_API_KEY")
    monkeypatch.setenv("DOCSPACE_API_KEY_SECRET", "docspace/api-key")
    parameters.clear_caches()
    # A cold process: no level of their own on botocore's loggers, the root logger at DEBUG.
    for name in AWS_WIRE_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    caplog.set_level(logging.DEBUG)
    outputs = [json.dumps(invoke("vdr_activity", scheduled(iso(now() - timedelta(hours=1)))))]
    secrets.put_secret_value(SecretId="docspace/api-key", SecretString=ROTATED)
    sim.api_key = ROTATED
    second = invoke("vdr_activity", scheduled(iso(now())))
    outputs.append(json.dumps(second))
    outputs += [json.dumps(f) for f in aws.findings()]
    parameters.clear_caches()
    assert second.get("status") not in ("failed", "busy", "duplicate"), second
    assert any("rejected the API key" in r.getMessage() for r in caplog.records)
    captured = capsys.readouterr()
    logs = "\n".join(r.getMessage() + repr(r.args) + str(r.__dict__) for r in caplog.records)
    assert any(r.name.startswith("botocore") for r in caplog.records)  # DEBUG really was on
    for key in (KEY, ROTATED):
        for where, text in {"logs": logs, "stdout": captured.out, "stderr": captured.err,
                            "findings/returns": "\n".join(outputs)}.items():  # fmt: skip
            assert key not in text, f"the API key appears in {where}"
