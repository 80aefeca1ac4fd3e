"""Shared pieces: the fixed scenario, the simulator subprocess, and result lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "shared"
RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable

#: Fixed so that figures compare across commits: same seed, same portal "now".
SEED = 7
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

#: What a benchmark prints for ``run_all`` to collect (one JSON object per line).
RESULT_PREFIX = "BENCH-RESULT "


def use_layer() -> None:
    """Put ``shared`` on ``sys.path``, as the Lambda layer is at ``/opt/python``."""
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))


@contextmanager
def simulator(
    audit_events: int, *, days: int = 30, latency: float = 0.0, rate_limit: float = 0.0
) -> Iterator[Simulator]:
    args = [PYTHON, "-m", "bench.simulator_process", "--audit-events", str(audit_events)]
    args += ["--days", str(days), "--latency", str(latency), "--rate-limit", str(rate_limit)]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process exited before serving")
        yield Simulator(process, json.loads(line))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Simulator:
    def __init__(self, process: subprocess.Popen[str], hello: dict[str, Any]) -> None:
        self.process = process
        self.url: str = hello["url"]
        self.api_key: str = hello["apiKey"]
        self.audit_events: int = hello["auditEvents"]

    def _command(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def stats(self) -> dict[str, dict[str, int]]:
        return self._command("stats")

    def reset(self) -> None:
        self._command("reset")

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DOCSPACE_API_KEY_SECRET", None)
        env |= {"DOCSPACE_URL": self.url, "DOCSPACE_API_KEY": self.api_key}
        env |= extra
        return env


def run_worker(
    module: str, args: list[str], env: dict[str, str], *, check: bool = True
) -> dict[str, Any]:
    """Run ``python -m <module> args`` in a fresh process; its last stdout line is JSON.

    With ``check=False`` a failed worker gives ``{"error": <last line of its stderr>}``.
    """
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [PYTHON, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        if check:
            raise RuntimeError(f"{module} {' '.join(args)} failed ({done.returncode})")
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        return {"error": lines[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def emit(name: str, figure: str, floor: str, ratio: float | None, target: str, met: bool) -> None:
    """One row of the README table, for ``run_all``."""
    row = {"benchmark": name, "figure": figure, "floor": floor, "ratio": ratio}
    row |= {"target": target, "met": met}
    print(RESULT_PREFIX + json.dumps(row), flush=True)


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def scan_env(sim: Simulator, per_second: float) -> dict[str, str]:
    """The worker's environment: the simulator, a rate budget (0: none), default retries."""
    return sim.env(DOCSPACE_REQUESTS_PER_SECOND=f"{per_second:g}")
