"""Pytest fixtures: `scenario`, `simulator`, `simulator_factory`, `webhook_receiver`.

Enable with `pytest_plugins = ["local.simulator.pytest_plugin"]` in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.simulator.generate import generate_scenario
from local.simulator.receiver import WebhookReceiver
from local.simulator.scenario import Scenario
from local.simulator.server import SimulatorServer

SMALL = {"seed": 7, "days": 30, "users": 40, "audit_events": 3_000, "login_events": 800}

SimulatorFactory = Callable[..., SimulatorServer]


@pytest.fixture
def scenario() -> Scenario:
    """A small seeded portal (a few thousand events) ending at the current time."""
    return generate_scenario(seed=7, days=30, users=40, audit_events=3_000, login_events=800)


@pytest.fixture
def simulator(scenario: Scenario) -> Iterator[SimulatorServer]:
    """A started simulator on a free port over `scenario`; stopped after the test."""
    with SimulatorServer(scenario) as server:
        yield server


@pytest.fixture
def simulator_factory() -> Iterator[SimulatorFactory]:
    """`simulator_factory(scenario=None, server=None, **generate_kwargs)` -> started server.

    Generate kwargs override the small defaults; `server` is a dict of SimulatorServer
    kwargs (api_key, faults, ...); `scenario` reuses an existing Scenario.
    """
    started: list[SimulatorServer] = []

    def make(
        scenario: Scenario | None = None, server: dict[str, Any] | None = None, **kwargs: Any
    ) -> SimulatorServer:
        built = scenario or generate_scenario(**{**SMALL, **kwargs})
        sim = SimulatorServer(built, **(server or {})).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A started recording webhook endpoint on 127.0.0.1 (`.url`, `.posts()`, `.status`)."""
    with WebhookReceiver() as receiver:
        yield receiver
