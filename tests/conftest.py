"""Fixtures shared by the suite: the simulator (its own plugin) and in-process AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from local.aws import LocalAws, create_local_aws

pytest_plugins = ["local.simulator.pytest_plugin"]


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
    from docspace_sentinel.handler import reset_caches

    reset_caches()
    with mock_aws():
        yield create_local_aws()
    reset_caches()
