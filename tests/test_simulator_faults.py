"""Injected faults: each kind, the rate limiter, latency, and the stats."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from local.simulator import Faults, SimulatorServer

SELF = "/api/2.0/people/@self"


def call(
    sim: SimulatorServer, path: str = SELF, method: str = "GET", **kw: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    with requests.Session() as session:
        return session.request(method, sim.url + path, headers=headers, **kw)


def test_429_has_retry_after_and_empty_body(simulator: SimulatorServer) -> None:
    simulator.faults = Faults(rate_429=1.0, retry_after=7)
    r = call(simulator, timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7" and r.content == b""
    assert simulator.stats.faults["429"] == 1


def test_5xx_error_body(simulator: SimulatorServer) -> None:
    simulator.faults = Faults(rate_5xx=1.0, seed=3)
    codes = {call(simulator, timeout=5).status_code for _ in range(12)}
    assert codes <= {500, 502, 503, 504} and len(codes) > 1
    r = call(simulator, timeout=5)
    assert r.json()["status"] == 1 and r.json()["statusCode"] == r.status_code


def test_faulted_request_changes_nothing(simulator: SimulatorServer) -> None:
    simulator.faults = Faults(rate_5xx=1.0)
    body = {"ipRestrictions": [{"ip": "192.0.2.1"}]}
    assert (
        call(simulator, "/api/2.0/settings/iprestrictions", "PUT", json=body, timeout=5).status_code
        >= 500
    )
    assert simulator.scenario.ip_restrictions.entries == []


def test_slow_outlasts_the_client_timeout(simulator: SimulatorServer) -> None:
    simulator.faults = Faults(rate_slow=1.0, slow_seconds=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(simulator, timeout=0.2)
    simulator.faults = Faults(rate_slow=1.0, slow_seconds=0.2)
    assert call(simulator, timeout=5).status_code == 200


def test_drop_closes_without_response(simulator: SimulatorServer) -> None:
    simulator.faults = Faults(rate_drop=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        call(simulator, timeout=5)


def test_malformed_is_truncated_json(simulator: SimulatorServer) -> None:
    simulator.faults = Faults(rate_malformed=1.0)
    r = call(simulator, timeout=5)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()


def test_latency_and_rate_limit(simulator: SimulatorServer) -> None:
    simulator.faults = Faults(latency=0.15)
    started = time.monotonic()
    assert call(simulator, timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.15
    simulator.faults = Faults(rate_limit=3, retry_after=1)
    codes = [call(simulator, timeout=5).status_code for _ in range(6)]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]


def test_rates_are_seeded_and_stats_reset(simulator: SimulatorServer) -> None:
    def run() -> list[int]:
        simulator.faults = Faults(rate_429=0.3, rate_5xx=0.2, seed=11)
        return [call(simulator, timeout=5).status_code for _ in range(20)]

    assert run() == run()
    stats = simulator.stats.snapshot()
    assert stats["requests"]["GET /api/2.0/people/@self"] == 40
    assert sum(stats["faults"].values()) > 0
    simulator.stats.reset()
    assert simulator.stats.total_requests == 0
