"""Fixtures shared by the suite: the simulator (its own plugin) and in-process AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from local.aws import LocalAws, create_local_aws

pytest_plugins = ["local.simulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def local_clock() -> Iterator[None]:
    """Each test starts on the wall clock (a run scheduled ahead moves the local clock on)."""
    from local.lambda_runtime import reset_clock

    reset_clock()
    yield
    reset_clock()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "docspace-sentinel-test",
        "POWERTOOLS_METRICS_NAMESPACE": "DocSpaceSentinelTest",
    }.items():
        monkeypatch.setenv(name, value)
    from docspace_sentinel.runtime.handler import reset_caches

    reset_caches()
    with mock_aws():
        yield create_local_aws()
    reset_caches()
