"""The real-time guard end to end: the simulator's webhooks -> the receiver (in process) -> the
SQS queue (moto) -> the consumer, with the polling guard and the release over the same portal."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from docspace_sentinel.findings.errors import PublishError
from docspace_sentinel.findings.finding import Finding
from docspace_sentinel.findings.publisher import FindingPublisher
from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
from docspace_sentinel.webhooks import receiver
from docspace_sentinel.webhooks.settings import ReceiverSettings
from docspace_sentinel.webhooks.signature import sign
from local.aws import LocalAws
from local.lambda_runtime import FakeContext, load_handler
from local.simulator.server import SimulatorServer
from local.simulator.webhooks import WebhookFaults
from local.webhook_pipe import InProcessPipe
from tests.e2e import iso, point_at, run, scheduled, utc_now

pytestmark = pytest.mark.e2e

SECRET = "Realtime#Hook2026x"
STATUS = "PUT /api/2.0/people/status/{status}"


class Pipeline(InProcessPipe):
    """The simulator delivers to the receiver handler in process (``local.webhook_pipe``);
    ``drain`` feeds what the receiver queued to the consumer handler as SQS events (shuffled,
    some twice)."""

    def __init__(self, simulator: SimulatorServer, aws: LocalAws) -> None:
        super().__init__(simulator, aws.sqs, SECRET)
        self.rng = random.Random(14)
        self.records: dict[str, dict[str, Any]] = {}

    def drain(self, *, redeliver: float = 0.0) -> int:
        """Feed every queued message to the consumer in shuffled batches of up to 10; with
        ``redeliver``, that share of the messages comes again (an SQS redelivery)."""
        assert self.simulator.webhooks.wait_idle(20)
        records = self.take()
        self.records |= {r["messageId"]: r for r in records}
        records += [r for r in records if self.rng.random() < redeliver]
        self.rng.shuffle(records)
        return self.feed(records)

    def redeliver_failures(self) -> int:
        """SQS makes the messages a batch reported as failed visible again."""
        failed, self.failures = self.failures, []
        return self.feed([self.records[f["itemIdentifier"]] for f in failed])

    def feed(self, records: list[dict[str, Any]]) -> int:
        """The consumer over ``records``; returns how many were fed (failures in ``failures``)."""
        super().feed(records)
        return len(records)


@pytest.fixture
def pipe(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None  # protected: the polling runs below then act on nobody else
    point_at(
        monkeypatch,
        simulator,
        aws,
        MODE="enforce",
        RESTRICTION_MINUTES=30,
        PROTECTED_USER_IDS=planted.user_id,
    )
    pipeline = Pipeline(simulator, aws)
    monkeypatch.setenv(ReceiverSettings.SECRET, SECRET)
    monkeypatch.delenv(ReceiverSettings.SECRET_ARN, raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv(ReceiverSettings.QUEUE_URL, pipeline.queue_url)
    receiver.reset_caches()
    assert pipeline.hook("https://receiver.test/").status_code == 200
    yield pipeline
    receiver.reset_caches()


def _member(simulator: SimulatorServer) -> str:
    """An active ordinary user: not the owner, an admin, LDAP, SSO, the key's or planted."""
    s = simulator.scenario
    planted = s.planted.bulk_changer
    skip = {s.key_user.id, planted.user_id if planted else ""}
    return next(
        u.id
        for u in s.users
        if u.status == 1 and not (u.is_docspace_admin or u.is_ldap or u.is_sso) and u.id not in skip
    )


def _records(aws: LocalAws) -> RestrictionStore:
    return RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb))


def _mine(findings: list[dict[str, Any]], user_id: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["user"] and f["user"]["id"] == user_id]


def test_a_bulk_changer_is_disabled_once_and_the_polling_guard_does_not_act_again(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws
) -> None:
    user = _member(simulator)
    hub = simulator.webhooks
    hub.auto_deliver = False  # queued, then sent shuffled
    hub.faults = WebhookFaults(duplicate=0.5, shuffle=True, drop_first=0.3, lose_response=0.3)
    start = utc_now() - timedelta(minutes=3)
    simulator.actions.change_files(user, 25, at=start, spacing=timedelta(seconds=7))
    hub.deliver_pending()
    fed = pipe.drain(redeliver=0.5)
    assert fed > 25 and pipe.failures == []

    assert simulator.scenario.user_by_id(user).status == 2
    assert simulator.stats.requests[STATUS] == 1
    findings = aws.findings()
    assert len(findings) == 1
    (finding,) = findings
    assert finding["workflow"] == "realtime_guard" and finding["kind"] == "bulk_file_change"
    assert [(a["target"], a["status"]) for a in finding["actions"]] == [(user, "done")]
    # what was known when it crossed: deliveries arrive shuffled
    assert 20 < finding["evidence"]["distinctFiles"] <= 25
    assert finding["evidence"]["sampleFiles"][0]["title"]  # enriched after the act
    assert finding["evidence"]["rooms"] and finding["room"]
    record = _records(aws).get(user)
    assert record is not None and record.state == "active" and record.source == "realtime_guard"

    # a manual retry (new event id, same content) of every delivery: nothing new
    for log_id in list(hub.logs)[:5]:
        retried = requests.put(
            simulator.url + f"/api/2.0/settings/webhook/{log_id}/retry",
            headers={"Authorization": f"Bearer {simulator.api_key}"},
            timeout=20,
        )
        assert retried.status_code == 200, retried.text
    hub.deliver_pending()
    pipe.drain()
    assert aws.findings() == [] and simulator.stats.requests[STATUS] == 1

    # the polling guard over the same audit events: reported as seen, never acted on again
    run("bulk_change_guard", scheduled(iso(utc_now() + timedelta(minutes=1))))
    polled = _mine(aws.findings(), user)
    assert len(polled) == 1
    assert [(a["status"]) for a in polled[0]["actions"]] == ["skipped"]
    assert "already restricted" in polled[0]["actions"][0]["detail"]
    assert simulator.stats.requests[STATUS] == 1
    # the restriction keeps the id the polling guard gives the same burst when it acts
    same = Finding.from_dict(polled[0])
    acted = Finding.from_dict({**polled[0], "dedup": [*same.dedup[:-1], "acted"]})
    assert record.finding_id == acted.fingerprint == finding["evidence"]["pollingFindingId"]

    # the release lifts it once; the polling guard does not impose it again afterwards
    _records(aws).extend(user, utc_now() - timedelta(minutes=1))
    lifted = run("restriction_release", scheduled(iso(utc_now() + timedelta(minutes=5)), "rel"))
    assert lifted["lifted"] == 1 and simulator.scenario.user_by_id(user).status == 1
    again = run("restriction_release", scheduled(iso(utc_now() + timedelta(minutes=10)), "rel"))
    assert again["lifted"] == 0
    aws.findings()
    now = utc_now()
    run("bulk_change_guard", {"from": iso(now - timedelta(hours=1)), "to": iso(now)})
    # (its "observed" finding was published once already: suppressed)
    details = [a["detail"] for f in _mine(aws.findings(), user) for a in f["actions"]]
    assert all("already acted" in d for d in details)
    lifted_record = _records(aws).get(user)
    assert lifted_record is not None and lifted_record.state == "lifted"
    assert simulator.stats.requests[STATUS] == 2  # one disable, one re-enable
    assert simulator.scenario.user_by_id(user).status == 1


def test_an_admin_is_reported_not_touched(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws
) -> None:
    admin = simulator.scenario.layout.admin_ids[0]
    start = utc_now() - timedelta(minutes=3)
    simulator.actions.change_files(admin, 25, at=start, spacing=timedelta(seconds=7))
    pipe.drain()
    (finding,) = aws.findings()
    assert finding["user"]["id"] == admin.lower()
    assert finding["actions"][0]["status"] == "skipped"
    assert "admin" in finding["actions"][0]["detail"]
    assert simulator.stats.requests[STATUS] == 0


def test_one_file_edited_fifty_times_is_nothing(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws
) -> None:
    user = _member(simulator)
    for _ in range(50):
        simulator.actions.change_files(user, 1)
    pipe.drain()
    assert pipe.failures == [] and aws.findings() == []
    assert simulator.stats.requests[STATUS] == 0


def test_sixty_downloads_make_a_download_finding_alert_only(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws
) -> None:
    user = _member(simulator)
    owner = simulator.scenario.layout.owner_id  # makes the files first (reported, untouched)
    simulator.actions.change_files(owner, 60, at=utc_now() - timedelta(hours=2))
    pipe.drain()
    assert [f["kind"] for f in aws.findings()] == ["bulk_file_change"]
    start = utc_now() - timedelta(minutes=3)
    simulator.actions.download_files(user, 60, at=start, spacing=timedelta(seconds=2))
    pipe.drain(redeliver=0.3)
    (finding,) = aws.findings()
    assert finding["kind"] == "bulk_download" and finding["severity"] == "high"
    assert finding["evidence"]["distinctEntries"] > 50
    assert finding["actions"] == []
    assert simulator.stats.requests[STATUS] == 0
    assert simulator.scenario.user_by_id(user).status == 1


def test_unusable_and_foreign_messages_are_acknowledged(pipe: Pipeline, aws: LocalAws) -> None:
    handler = load_handler("realtime_guard")
    event = {
        "Records": [
            {"messageId": "m1", "body": "not json"},
            {"messageId": "m2", "body": json.dumps({"event": {"id": 1}})},
            {"messageId": "m3"},
            "junk",
        ]
    }
    assert handler(event, FakeContext("realtime_guard")) == {"batchItemFailures": []}
    assert aws.findings() == []


def test_a_transient_failure_is_redelivered_and_acts_once(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _member(simulator)
    real = FindingPublisher.publish
    calls: list[str] = []

    def flaky(self: FindingPublisher, finding: Finding) -> str:
        calls.append(finding.fingerprint)
        if len(calls) == 1:
            raise PublishError("arn:topic", "InternalError", "SNS is down")
        return real(self, finding)

    monkeypatch.setattr(FindingPublisher, "publish", flaky)
    start = utc_now() - timedelta(minutes=3)
    simulator.actions.change_files(user, 25, at=start, spacing=timedelta(seconds=7))
    pipe.drain()
    # the message that crossed failed after the disable: its claims were released, and the
    # next delivery of the burst (or the redelivery) met its own restriction (same burst, same
    # owner): "done", not a second disable
    assert len(pipe.failures) == 1
    pipe.redeliver_failures()
    assert pipe.failures == [] and len(calls) == 2
    (finding,) = aws.findings()
    assert [(a["target"], a["status"]) for a in finding["actions"]] == [(user, "done")]
    assert simulator.stats.requests[STATUS] == 1


def test_the_polling_guard_first_then_the_realtime_guard_acts_no_more(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws
) -> None:
    user = _member(simulator)
    hub = simulator.webhooks
    hub.auto_deliver = False  # the deliveries are late: the scheduled run comes first
    start = utc_now() - timedelta(minutes=3)
    simulator.actions.change_files(user, 25, at=start, spacing=timedelta(seconds=7))
    run("bulk_change_guard", scheduled(iso(utc_now())))
    (polled,) = _mine(aws.findings(), user)
    assert [a["status"] for a in polled["actions"]] == ["done"]
    hub.deliver_pending()
    pipe.drain()
    (late,) = aws.findings()
    assert late["workflow"] == "realtime_guard"
    assert [a["status"] for a in late["actions"]] == ["skipped"]
    assert late["dedup"][-1] == "observed"
    assert simulator.stats.requests[STATUS] == 1


def test_bodies_never_reach_the_logs(
    pipe: Pipeline,
    simulator: SimulatorServer,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = simulator.webhooks
    user = _member(simulator)
    simulator.actions.change_files(user, 3)
    assert hub.wait_idle(20)
    titles = {
        str(log.payload.get("title")) for log in hub.logs.values() if log.payload.get("title")
    }
    assert titles
    pipe.drain(redeliver=1.0)
    handler = load_handler("realtime_guard")
    secret = '{"event": {"id": 5, "trigger": "nope"}, "payload": {"title": "Salary-PII.xlsx"}}'
    handler({"Records": [{"messageId": "x", "body": secret}]}, FakeContext("realtime_guard"))
    out = capfd.readouterr()
    extras = " ".join(str(vars(record)) for record in caplog.records)
    text = out.out + out.err + caplog.text + extras
    assert "batch processed" in text
    for title in (*titles, "Salary-PII.xlsx"):
        assert title not in text


def test_a_create_by_that_is_no_guid_is_acknowledged_not_redelivered(
    pipe: Pipeline, aws: LocalAws
) -> None:
    handler = load_handler("realtime_guard")
    at = iso(utc_now() - timedelta(minutes=1))
    records = [
        {
            "messageId": f"g{n}",
            "body": json.dumps(
                {
                    "event": {
                        "id": 500 + n,
                        "createOn": at,
                        "createBy": "not-a-guid",
                        "trigger": "file.updated",
                    },
                    "payload": {"id": 7000 + n},
                }
            ),
        }
        for n in range(25)
    ]
    for i in range(0, 25, 10):
        answer = handler({"Records": records[i : i + 10]}, FakeContext("realtime_guard"))
        assert answer == {"batchItemFailures": []}
    assert aws.findings() == []


def _signed(event_id: int, user: str, file_id: int, at: str, trigger: str = "file.updated") -> int:
    """POST a body signed with the webhook secret straight to the receiver (as anyone holding
    the secret could)."""
    body = json.dumps(
        {
            "event": {"id": event_id, "createOn": at, "createBy": user, "trigger": trigger},
            "payload": {"id": file_id},
        }
    )
    event = {
        "version": "2.0",
        "headers": {"x-docspace-signature-256": sign(SECRET, body.encode())},
        "requestContext": {"http": {"method": "POST"}},
        "isBase64Encoded": False,
        "body": body,
    }
    answer = load_handler("webhook_receiver")(event, FakeContext("webhook_receiver"))
    return int(answer["statusCode"])


def test_forged_deliveries_disable_nobody_and_say_the_secret_may_have_leaked(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws
) -> None:
    s = simulator.scenario
    skip = {s.key_user.id, s.planted.bulk_changer.user_id if s.planted.bulk_changer else ""}
    victims = [
        u.id
        for u in s.users
        if u.status == 1 and not (u.is_docspace_admin or u.is_ldap or u.is_sso)
        if u.id not in skip
    ][:5]
    assert len(victims) >= 3
    at = iso(utc_now() - timedelta(minutes=1))
    event_id = 10_000
    for victim in victims:
        for f in range(21):  # files that do not exist
            event_id += 1
            assert _signed(event_id, victim, 900_000 + f, at) == 200
    pipe.drain()
    assert pipe.failures == []
    assert simulator.stats.requests[STATUS] == 0
    assert all(s.user_by_id(v).status == 1 for v in victims)
    findings = aws.findings()
    assert [(f["kind"], f["severity"]) for f in findings] == [("forged_delivery", "critical")]
    assert "--rotate-secret" in findings[0]["summary"] and findings[0]["actions"] == []


def test_a_lock_or_comment_burst_is_reported_not_acted_on(
    pipe: Pipeline, simulator: SimulatorServer, aws: LocalAws
) -> None:
    """file.updated also fires for a lock, a comment, an order or an owner change (which do
    not move the file's content time): 25 of them for real files are reported only."""
    user = _member(simulator)
    start = utc_now() - timedelta(minutes=3)
    simulator.webhooks.auto_deliver = False  # the simulator sends none for a lock: post them
    files = simulator.actions.change_files(
        user, 25, action=5006, at=start, spacing=timedelta(seconds=7)
    )  # FileLocked: the audit trail has it, the files' content time does not move
    for n, file_id in enumerate(files):
        assert _signed(30_000 + n, user, file_id, iso(start + n * timedelta(seconds=7))) == 200
    pipe.drain()
    assert pipe.failures == [] and simulator.stats.requests[STATUS] == 0
    assert simulator.scenario.user_by_id(user).status == 1
    (finding,) = aws.findings()
    assert finding["kind"] == "bulk_file_change" and finding["dedup"][-1] == "observed"
    ((status, detail),) = [(a["status"], a["detail"]) for a in finding["actions"]]
    assert status == "skipped" and detail.startswith("reported only: not confirmed by the portal")
