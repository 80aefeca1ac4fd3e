"""Helpers for end-to-end runs: the simulator over HTTP, AWS in moto, handlers in-process.

The ``aws`` fixture lives in conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from docspace_sentinel.docspace.dates import format_utc
from local.aws import LocalAws
from local.lambda_runtime import invoke
from local.simulator.server import SimulatorServer


def point_at(
    monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer, aws: LocalAws, **settings: Any
) -> None:
    monkeypatch.setenv("DOCSPACE_URL", simulator.url)
    monkeypatch.setenv("DOCSPACE_API_KEY", simulator.api_key)
    monkeypatch.delenv("DOCSPACE_API_KEY_SECRET", raising=False)
    for name, value in aws.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INITIAL_LOOKBACK_HOURS", "96")
    monkeypatch.setenv("DOCSPACE_MAX_ATTEMPTS", "6")
    # Faults are injected on purpose and the simulator is local: no backoff, no rate budget.
    monkeypatch.setenv("DOCSPACE_RETRY_BASE_SECONDS", "0.01")
    monkeypatch.setenv("DOCSPACE_REQUESTS_PER_SECOND", "0")
    for name, value in settings.items():
        monkeypatch.setenv(name, str(value))


def iso(value: datetime) -> str:
    """A time as the scheduler and the on-demand events carry it."""
    return format_utc(value)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def scheduled(
    time: str, arn: str = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/test"
) -> dict[str, str]:
    return {"scheduledTime": time, "scheduleArn": arn}


def run(function: str, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = invoke(function, event)
    return result
