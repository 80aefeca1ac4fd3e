"""Concurrent invocations: a duplicated delivery and two overlapping scheduled runs.

boto3 calls are serialised one call at a time (``serialized_aws_calls``: moto is not
thread-safe, real DynamoDB executes each call atomically); the handlers run concurrently.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from docspace_sentinel.runtime.handler import reset_caches
from local.aws import LocalAws, create_local_aws
from local.simulator.faults import Faults
from local.simulator.server import SimulatorServer
from tests.e2e import run, scheduled
from tests.faults.harness import (
    PortalActions,
    in_threads,
    iso,
    now,
    point_at_faulty,
    serialized_aws_calls,
    tally,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

SMALL = {"seed": 7, "audit_events": 800, "login_events": 300}


def _activity(aws: LocalAws) -> dict[tuple[str, str], dict[str, int]]:
    items: dict[tuple[str, str], dict[str, int]] = {}
    pager = aws.dynamodb.get_paginator("scan")
    for page in pager.paginate(TableName=aws.table_name):
        for item in page["Items"]:
            if item["pk"]["S"].startswith("activity#"):
                # hour -> distinct events, whether kept as an ``hours`` map or as h00..h23
                counts = item.get("hours", {}).get("M", item)
                hours = {h: int(v["N"]) for h, v in counts.items() if "N" in v and h != "expiresAt"}
                items[(item["pk"]["S"], item["sk"]["S"])] = hours
    return items


@pytest.mark.parametrize("workflow", ["bulk_change_guard", "vdr_activity"])
def test_the_same_scheduled_time_twice_at_once_acts_once(
    simulator_factory: Callable[..., SimulatorServer],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    workflow: str,
) -> None:
    sim = simulator_factory(**SMALL)
    point_at_faulty(monkeypatch, sim, aws, MODE="enforce")
    actions = PortalActions(sim, monkeypatch)
    sim.faults = Faults(latency=0.002, seed=5)  # long enough for the two runs to overlap
    event = scheduled(iso(now()))
    with serialized_aws_calls():
        results = in_threads(lambda: run(workflow, event), lambda: run(workflow, event))
    assert not [r for r in results if isinstance(r, BaseException)], results
    statuses = sorted(r["status"] for r in results)
    assert statuses.count("completed") == 1, statuses
    assert set(statuses) <= {"completed", "busy", "duplicate"}
    findings = aws.findings()
    assert len(findings) == 1 and len({f["id"] for f in findings}) == 1
    if workflow == "bulk_change_guard":
        assert actions.executed == {2: 1}
    tally(f"{workflow} (same time)", runs=2, planted=1, found=len(findings), duplicates=0)


def test_overlapping_vdr_runs_count_each_event_once(
    simulator_factory: Callable[..., SimulatorServer],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator_factory(**SMALL)
    point_at_faulty(monkeypatch, sim, aws)
    base = now()
    first, second = scheduled(iso(base)), scheduled(iso(base + timedelta(minutes=5)))
    sim.faults = Faults(latency=0.002, seed=6)
    with serialized_aws_calls():
        results = in_threads(
            lambda: run("vdr_activity", first), lambda: run("vdr_activity", second)
        )
    assert not [r for r in results if isinstance(r, BaseException)], results
    statuses = [r["status"] for r in results]
    assert "completed" in statuses and set(statuses) <= {"completed", "busy"}, statuses
    # A run turned away as busy is not lost: the next scheduled time catches up.
    follow = scheduled(iso(base + timedelta(minutes=10)))
    assert run("vdr_activity", follow)["status"] == "completed"
    findings = aws.findings()
    assert [f["kind"] for f in findings] == ["vdr_high_activity"]
    concurrent = _activity(aws)

    # The same schedule, one run after the other, in a fresh table.
    sim.faults = Faults()
    reference = create_local_aws(prefix="reference")
    for name, value in reference.env().items():
        monkeypatch.setenv(name, value)
    reset_caches()
    for event in (first, second, follow):
        assert run("vdr_activity", event)["status"] == "completed"
    assert len(reference.findings()) == 1
    assert concurrent == _activity(reference)
    assert concurrent, "the planted heavy day left no hourly counts"
    heavy = sim.scenario.planted.vdr_heavy
    assert heavy is not None
    day_total = sum(
        sum(hours.values())
        for (pk, sk), hours in concurrent.items()
        if pk == f"activity#{heavy.user_id}" and sk.startswith(f"{heavy.room_id}#")
    )
    assert day_total >= len(heavy.event_ids)
    tally("vdr_activity (overlap)", runs=3, planted=1, found=len(findings), duplicates=0)
