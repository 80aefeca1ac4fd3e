"""The measured process: one scan (and detection) against a simulator in another process.

``python -m bench.scan_worker --mode M`` with ``DOCSPACE_URL`` / ``DOCSPACE_API_KEY`` set prints
one JSON line with the CPU time (``time.process_time``, all threads of this process), the wall
time and the peak RSS of *this* process only. Modes:

* ``vdr``: ``workflows.vdr_activity.run`` itself (room attribution, hourly counts, judging, the
  login scan for flagged users) over a ``SliceScan``; the DynamoDB store is replaced by an
  in-memory one with the same two methods, so AWS (moto or real) costs nothing here.
* ``bulk``: ``bulk_change_guard.BulkDetector`` fed slice by slice from a ``SliceScan``
  (the pure detection; the response part runs only for findings and needs AWS).
* ``scan``: the ``SliceScan`` alone (every event read, nothing kept).
* ``whole``: ``DocSpaceClient.audit_events`` over the whole window as one read (one slice).
* ``idle``: nothing (the imports and a client: the fixed part of the peak RSS).

``--record`` (with ``vdr``) keeps every response body and then times ``json.loads`` over them:
the floor of the CPU benchmark, over exactly the bytes the workflow's requests returned. It
also times a plain ``requests.Session`` fetching the same URLs again plus ``json.loads`` of
what came back: the floor of any client built on ``requests``, which this project is.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bench.common import NOW, use_layer

use_layer()

import requests  # noqa: E402

from docspace_sentinel.docspace.client import DocSpaceClient  # noqa: E402
from docspace_sentinel.runtime.invocation import Invocation  # noqa: E402
from docspace_sentinel.runtime.runner import RunContext, RunSettings  # noqa: E402
from docspace_sentinel.runtime.scan import ScanPlan, SliceScan  # noqa: E402
from docspace_sentinel.workflows import bulk_change_guard, vdr_activity  # noqa: E402


class RecordingSession(requests.Session):
    """Keeps each response body with its path (floor runs only: never in a measured run)."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[tuple[str, bytes]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        self.bodies.append((response.url, response.content))  # the full URL, query included
        return response


class MemoryActivityStore:
    """The two ``StateStore`` methods the VDR monitor calls, in memory (no AWS in the figure)."""

    def __init__(self) -> None:
        self.hours: dict[str, dict[tuple[int, str], dict[str, int]]] = defaultdict(dict)

    def set_activity_hours(
        self,
        user_id: str,
        room_id: int,
        day: str,
        hours: Mapping[str, int],
        *,
        keep_until: datetime,
    ) -> None:
        self.hours[user_id].setdefault((room_id, day), {}).update(hours)

    def activity_totals(self, user_id: str) -> dict[tuple[int, str], int]:
        return {key: sum(h.values()) for key, h in self.hours[user_id].items()}


def window(days: int) -> tuple[datetime, datetime]:
    return NOW - timedelta(days=days), NOW


def run_vdr(client: DocSpaceClient, plan: ScanPlan, scan: SliceScan) -> dict[str, Any]:
    settings = RunSettings("bench", "arn:aws:sns:eu-west-1:123456789012:bench")
    invocation = Invocation("bench", plan.end, "on-demand", window=(plan.start, plan.end))
    store: Any = MemoryActivityStore()
    context = RunContext(
        vdr_activity.WORKFLOW, invocation, plan, scan, client, store, settings, NOW
    )
    outcome = vdr_activity.run(context, vdr_activity.Settings.from_env())
    return {"events": outcome.events_scanned, "findings": len(outcome.findings)}


def run_bulk(scan: SliceScan) -> dict[str, Any]:
    # The same streaming path as bulk_change_guard.run: slices in order into the detector.
    guard = bulk_change_guard.GuardSettings()
    detector = bulk_change_guard.BulkDetector(guard.threshold, guard.window)
    for _bounds, events in scan.audit_slices():
        detector.feed(events)
    bursts = detector.bursts()
    return {"events": scan.stats.rows, "findings": len(bursts)}


def run_scan(scan: SliceScan) -> dict[str, Any]:
    """Drain the scan; ``perSliceRows`` are the rows the server returned for each slice (the
    stats of a slice are merged just before it is handed over)."""
    distinct = 0
    per_slice: list[int] = []
    rows = 0
    for _bounds, events in scan.audit_slices():
        distinct += len(events)
        per_slice.append(scan.stats.rows - rows)
        rows = scan.stats.rows
    return {"events": distinct, "perSliceRows": per_slice}


def run_whole(client: DocSpaceClient, plan: ScanPlan, scan: SliceScan) -> dict[str, Any]:
    ids = set()
    for event in client.audit_events(plan.start, plan.end, stats=scan.stats):
        ids.add(event.id)
    return {"events": len(ids)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scan_worker")
    parser.add_argument("--mode", choices=("vdr", "bulk", "scan", "whole", "idle"), required=True)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--profile", type=int, default=0, help="print the top N cProfile rows")
    args = parser.parse_args(argv)

    session = RecordingSession() if args.record else None
    client = DocSpaceClient.from_env(session=session) if session else DocSpaceClient.from_env()
    start, end = window(args.days)
    plan = ScanPlan(start, end, None, moves_cursor=False)
    scan = SliceScan(client, plan, concurrency=args.concurrency)
    # The default (wall-clock) timer: a CPU-time timer is a system call per function call
    # and inflates the profile several times; with one thread, socket waits show up as
    # ``recv_into`` and are read as waiting, not cost.
    profiler = cProfile.Profile() if args.profile else None
    slice_profiles: list[cProfile.Profile] = []
    if profiler:
        profile_slice_reads(slice_profiles)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    if args.mode == "vdr":
        result = run_vdr(client, plan, scan)
    elif args.mode == "bulk":
        result = run_bulk(scan)
    elif args.mode == "scan":
        result = run_scan(scan)
    elif args.mode == "whole":
        result = run_whole(client, plan, scan)
    else:
        result = {"events": 0}  # imports and a client only: the fixed part of the RSS
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0

    result |= {
        "mode": args.mode,
        "cpuSeconds": cpu,
        "wallSeconds": wall,
        "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "requests": client.requests_sent,
        "retries": client.transport.retries,
        "pages": scan.stats.pages,
        "rows": scan.stats.rows,
        "limiterWaited": client.transport.limiter.waited if client.transport.limiter else 0.0,
    }
    if session is not None:
        result |= json_floor(session.bodies)
        result |= requests_floor(session.bodies, session.auth)
    if profiler:
        result["profile"] = top_costs([profiler, *slice_profiles], args.profile)
    client.close()
    print(json.dumps(result))


def profile_slice_reads(profiles: list[cProfile.Profile]) -> None:
    """cProfile sees only the thread that enabled it, and slices are read in the scan's pool
    threads: give every slice read a profiler of its own (merged with the main one)."""
    read = SliceScan._read_slice

    def profiled(self: SliceScan, *args: Any) -> Any:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            return read(self, *args)
        finally:
            profiler.disable()
            profiles.append(profiler)

    SliceScan._read_slice = profiled  # type: ignore[method-assign]


def top_costs(profilers: list[cProfile.Profile], top: int) -> list[dict[str, Any]]:
    """The ``top`` functions by own time (``tottime``) over all ``profilers``, as plain rows."""
    stats = pstats.Stats(*profilers, stream=io.StringIO())
    rows = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (path, line, func), (_cc, calls, tottime, cumtime, _callers) in raw.items():
        where = path.split("/site-packages/")[-1].split("/shared/")[-1].split("/lib/python")[-1]
        rows.append(
            {
                "function": f"{where}:{line}({func})",
                "calls": calls,
                "tottime": tottime,
                "cumtime": cumtime,
            }
        )
    rows.sort(key=lambda r: -r["tottime"])
    return rows[:top]


def requests_floor(bodies: list[tuple[str, bytes]], auth: Any) -> dict[str, Any]:
    """CPU seconds of fetching each recorded URL again with a bare ``requests.Session`` and
    decoding it: one pass for all URLs, one for the audit pages."""
    session = requests.Session()
    session.trust_env = False  # as the client does: no proxy look-up per request
    session.auth = auth  # the client's own Bearer auth

    def timed(urls: list[str]) -> float:
        cpu0 = time.process_time()
        for url in urls:
            json.loads(session.get(url, timeout=30).content)
        return time.process_time() - cpu0

    every = [url for url, _body in bodies]
    audit = [url for url in every if "/security/audit/events/" in url]
    return {"requestsAllSeconds": timed(every), "requestsAuditSeconds": timed(audit)}


def json_floor(bodies: list[tuple[str, bytes]], repeats: int = 3) -> dict[str, Any]:
    """CPU seconds of ``json.loads`` over the recorded bodies (median of ``repeats``)."""
    audit = [body for url, body in bodies if "/security/audit/events/" in url]
    every = [body for _url, body in bodies]

    def timed(group: list[bytes]) -> float:
        runs = []
        for _ in range(repeats):
            cpu0 = time.process_time()
            for body in group:
                json.loads(body)
            runs.append(time.process_time() - cpu0)
        return statistics.median(runs)

    return {
        "floorAllSeconds": timed(every),
        "floorAuditSeconds": timed(audit),
        "bodiesAll": len(every),
        "bodiesAudit": len(audit),
        "bytesAll": sum(len(b) for b in every),
        "bytesAudit": sum(len(b) for b in audit),
    }


if __name__ == "__main__":
    main()
