"""What every fault-injection test shares: fault profiles, a run loop that retries a failed
scheduled time the way Lambda and EventBridge Scheduler would, and the invariants it checks
after every attempt (a failed run leaves the cursor where it was; nothing is published twice).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from docspace_sentinel.runtime.errors import SentinelError
from docspace_sentinel.state.store import Cursor, StateStore
from local.aws import LocalAws
from local.simulator.faults import Faults
from local.simulator.server import SimulatorServer
from tests.e2e import point_at, run

ROOT = Path(__file__).resolve().parents[2]
STATUS_PATH = "/api/2.0/people/status/"
STATUS_ROUTE = "PUT /api/2.0/people/status/{status}"

#: Small timeouts so a "slow" fault costs a fraction of a second, not the 15 s default.
TIMEOUT_SECONDS = 0.25
SLOW_SECONDS = 0.35
#: A run gives up after this many attempts of one scheduled time (the test then fails).
MAX_ATTEMPTS = 12

#: 10 % of requests fail in each profile; "mixed" spreads the 10 % over every kind.
PROFILES: dict[str, dict[str, float]] = {
    "429": {"rate_429": 0.10},
    "5xx": {"rate_5xx": 0.10},
    "timeout": {"rate_slow": 0.10},
    "drop": {"rate_drop": 0.10},
    "malformed": {"rate_malformed": 0.10},
    "mixed": {
        "rate_429": 0.02,
        "rate_5xx": 0.02,
        "rate_slow": 0.02,
        "rate_drop": 0.02,
        "rate_malformed": 0.02,
    },
}


def faults_for(profile: str, seed: int) -> Faults:
    return Faults(**PROFILES[profile], retry_after=0, slow_seconds=SLOW_SECONDS, seed=seed)


def ip_allowlist_available() -> bool:
    """The IP allowlist is being finished elsewhere: include it only once its handler loads."""
    if not (ROOT / "functions" / "ip_allowlist" / "app.py").is_file():
        return False
    try:
        from local.lambda_runtime import load_handler

        load_handler("ip_allowlist")
        load_handler("ip_allowlist", "register_handler")
    except Exception:  # noqa: BLE001 - any import failure means "not ready yet"
        return False
    return True


# -- the table printed at the end of the session ------------------------------------------------


@dataclass
class Tally:
    runs: int = 0
    failed_runs: int = 0
    faults: int = 0
    planted: int = 0
    found: int = 0
    duplicates: int = 0


TALLIES: dict[str, Tally] = {}
_TALLY_LOCK = threading.Lock()


def tally(workflow: str, **counts: int) -> None:
    with _TALLY_LOCK:
        entry = TALLIES.setdefault(workflow, Tally())
        for name, value in counts.items():
            setattr(entry, name, getattr(entry, name) + value)


# -- environment --------------------------------------------------------------------------------


def point_at_faulty(
    monkeypatch: pytest.MonkeyPatch, sim: SimulatorServer, aws: LocalAws, **settings: Any
) -> None:
    """``tests.e2e.point_at`` with what a fault run needs to stay fast: no client-side request
    budget (its spacing, 50 ms a request, would dominate), six-hour scan slices (fewer requests
    per run, so fewer faults to wade through), a short per-request timeout for "slow", and few
    attempts per request."""
    defaults: dict[str, Any] = {
        "DOCSPACE_REQUESTS_PER_SECOND": 0,
        "DOCSPACE_TIMEOUT_SECONDS": TIMEOUT_SECONDS,
        "SCAN_SLICE_MINUTES": 360,
        # Two attempts per request: about 1 % of requests fail for good, so some runs fail
        # and the retry-the-same-scheduled-time path is exercised, not only the client's retries.
        "DOCSPACE_MAX_ATTEMPTS": 2,
    }
    point_at(monkeypatch, sim, aws, **{**defaults, **settings})


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# -- portal actions -----------------------------------------------------------------------------


class PortalActions:
    """Counts the status calls the simulator *executed* (a faulted request never reaches the
    handler: the simulator decides a fault before handling, so it never changes state), and the
    status changes they made. ``simulator.stats.requests`` also counts faulted attempts."""

    def __init__(self, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.executed: Counter[int] = Counter()  # status → executed PUT calls
        self.changed: Counter[int] = Counter()  # status → users whose status it changed
        self._lock = threading.Lock()
        handle = sim.handle
        scenario = sim.scenario

        def counting(request: Any) -> Any:
            if request.method != "PUT" or not request.path.startswith(STATUS_PATH):
                return handle(request)
            before = {u.id: u.status for u in scenario.users}
            route_key, response = handle(request)
            if response.status == 200:
                status = int(request.path.rsplit("/", 1)[1])
                after = {u.id: u.status for u in scenario.users}
                changed = sum(1 for uid, s in after.items() if before.get(uid) != s)
                with self._lock:
                    self.executed[status] += 1
                    self.changed[status] += changed
            return route_key, response

        monkeypatch.setattr(sim, "handle", counting)


# -- one workflow's runs under faults -----------------------------------------------------------


@dataclass
class FaultRun:
    """Runs one workflow's scheduled times under faults and checks the run invariants."""

    workflow: str
    sim: SimulatorServer
    aws: LocalAws
    scope: str = "default"
    findings: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    faults_before: int = 0

    def __post_init__(self) -> None:
        self.faults_before = sum(self.sim.stats.faults.values())

    @property
    def store(self) -> StateStore:
        return StateStore(self.aws.table_name, client=self.aws.dynamodb)

    def cursor(self) -> Cursor | None:
        return self.store.get_cursor(self.workflow, self.scope)

    def collect(self) -> list[dict[str, Any]]:
        new = self.aws.findings()
        self.findings.extend(new)
        return new

    def attempt(self, event: dict[str, Any], function: str | None = None) -> dict[str, Any] | None:
        """One invocation. A failure must be loud (a ``SentinelError``: retries exhausted, SNS
        or DynamoDB down) and must leave the cursor where it was; anything else is a bug and
        propagates."""
        before = self.cursor()
        self.attempts += 1
        try:
            summary = run(function or self.workflow, event)
        except SentinelError as exc:
            self.failures += 1
            self.errors.append(f"{type(exc).__name__}: {exc}")
            self.collect()
            after = self.cursor()
            assert after == before, (
                f"{self.workflow}: a failed run moved the cursor from {before} to {after} ({exc})"
            )
            return None
        self.collect()
        return summary

    def until_complete(
        self, event: dict[str, Any], function: str | None = None, limit: int = MAX_ATTEMPTS
    ) -> dict[str, Any]:
        """Retry the same scheduled time until it completes (bounded), as the scheduler would."""
        for _ in range(limit):
            summary = self.attempt(event, function)
            if summary is None:
                continue
            assert summary["status"] in ("completed", "partial"), summary
            return summary
        pytest.fail(
            f"{self.workflow}: {event} did not complete in {limit} attempts: {self.errors[-3:]}"
        )

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["kind"] in kinds]

    def duplicates(self) -> int:
        """Findings published more than once (by finding id, i.e. the fingerprint)."""
        counts = Counter(f["id"] for f in self.findings)
        return sum(n - 1 for n in counts.values() if n > 1)

    def record(self, planted: int, found: int) -> None:
        tally(
            self.workflow,
            runs=self.attempts,
            failed_runs=self.failures,
            faults=sum(self.sim.stats.faults.values()) - self.faults_before,
            planted=planted,
            found=found,
            duplicates=self.duplicates(),
        )


# -- moto and threads ---------------------------------------------------------------------------


@contextmanager
def serialized_aws_calls() -> Iterator[None]:
    """Serialise boto3 API calls across threads.

    moto's in-memory backends are not thread-safe (two threads putting into one DynamoDB table
    can corrupt its dicts, and a conditional put is check-then-write in Python). Real DynamoDB
    executes each call atomically; one lock around each *call* reproduces exactly that and
    nothing more: the handlers themselves still run concurrently, interleaving call by call.
    """
    from botocore.client import BaseClient

    original: Callable[..., Any] = BaseClient._make_api_call
    lock = threading.RLock()

    def locked(self: Any, operation: str, params: Any) -> Any:
        with lock:
            return original(self, operation, params)

    BaseClient._make_api_call = locked  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same time (a barrier releases them together); results or
    exceptions, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def go(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            results[index] = exc

    threads = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
