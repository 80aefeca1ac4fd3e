"""`local.webhook_pipe`: the in-process real-time path the demo and `bench.realtime` use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from docspace_sentinel.webhooks import receiver
from local.aws import LocalAws
from local.simulator.server import SimulatorServer
from local.simulator.webhooks import WebhookFaults
from local.webhook_pipe import InProcessPipe
from tests.e2e import point_at, utc_now

pytestmark = pytest.mark.e2e

STATUS = "PUT /api/2.0/people/status/{status}"


def test_a_drained_queue_disables_the_bulk_changer_during_the_deliveries(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, MODE="enforce", RESTRICTION_MINUTES=30)
    pipe = InProcessPipe(simulator, aws.sqs, "Pipe#Test-2026")
    for name, value in pipe.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DOCSPACE_WEBHOOK_SECRET_ARN", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    receiver.reset_caches()
    pipe.hook()  # the portal's HEAD probe went through the receiver
    assert len(simulator.webhooks.configs) == 1
    planted = simulator.scenario.planted.bulk_changer
    user = next(
        u.id
        for u in simulator.scenario.users
        if u.status == 1
        and not (u.is_docspace_admin or u.is_ldap or u.is_sso)
        and u.id not in {simulator.scenario.key_user.id, planted.user_id if planted else ""}
    )
    hub = simulator.webhooks
    hub.auto_deliver = False
    hub.faults = WebhookFaults(duplicate=0.5, shuffle=True, seed=3)
    simulator.actions.change_files(
        user, 25, at=utc_now() - timedelta(minutes=3), spacing=timedelta(seconds=7)
    )
    disabled_after: list[int] = []

    def drain(started: float) -> None:
        assert started > 0
        pipe.feed(pipe.take())
        if not disabled_after and simulator.scenario.user_by_id(user).status == 2:
            disabled_after.append(len(pipe.receiver_seconds))

    pipe.after_post = drain
    hub.deliver_pending()
    assert hub.wait_idle(30)
    receiver.reset_caches()

    posts = len(pipe.receiver_seconds)
    assert posts > 25 and pipe.failures == []
    # acted on while deliveries were still arriving: the queue was drained after each one
    assert disabled_after and 21 <= disabled_after[0] < posts
    assert simulator.stats.requests[STATUS] == 1
    (finding,) = aws.findings()
    assert finding["workflow"] == "realtime_guard"
    assert [(a["target"], a["status"]) for a in finding["actions"]] == [(user, "done")]
    assert pipe.take() == []
