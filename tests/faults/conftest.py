"""Markers, the soak switch and the per-workflow table of the fault-injection suite.

``pytest tests/faults`` runs the fast suite (part of ``make test``). The long soak runs with
``SENTINEL_SOAK=1 pytest tests/faults -m soak`` (or just ``-m soak``); without either, soak tests
are skipped so ``make test`` stays fast.
"""

from __future__ import annotations

import os

import pytest

from tests.faults.harness import TALLIES


def pytest_configure(config: pytest.Config) -> None:
    # pyproject.toml runs with --strict-markers; this package registers its own.
    config.addinivalue_line(
        "markers", "soak: long fault-injection soak (SENTINEL_SOAK=1 or -m soak)"
    )
    config.addinivalue_line("markers", "faults: runs a workflow against injected faults")


def _soak_requested(config: pytest.Config) -> bool:
    return os.environ.get("SENTINEL_SOAK") == "1" or "soak" in (config.option.markexpr or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _soak_requested(config):
        return
    skip = pytest.mark.skip(reason="soak: set SENTINEL_SOAK=1 or run with -m soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLIES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault injection")
    header = f"{'workflow':<32}{'runs':>6}{'failed':>8}{'faults':>8}{'planted':>9}{'found':>7}{'dups':>6}"
    write(header)
    write("-" * len(header))
    for name in sorted(TALLIES):
        t = TALLIES[name]
        write(
            f"{name:<32}{t.runs:>6}{t.failed_runs:>8}{t.faults:>8}{t.planted:>9}{t.found:>7}"
            f"{t.duplicates:>6}"
        )
