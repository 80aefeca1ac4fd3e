"""Requests: requests made against the pages the events need.

Audit pages carry no ``total`` (``count`` ≤ 100): a read ends with its first short page, so
``n`` events need ``n // 100 + 1`` requests (one more when the first page has exactly 20 rows:
the client checks that the portal is not answering its 20 newest events for every filter).

Two reads of the same 30 days, counted by the client (``requests_sent``, every attempt) and
checked against the simulator's own counter:

* whole window: ``DocSpaceClient.audit_events(from, to)``, one filtered read; the floor,
  ``ceil(events / 100)`` plus that final short page;
* slices: ``SliceScan`` as the workflows read, with its defaults (slices sized to hold about
  ``SCAN_SLICE_EVENTS`` 2,000 events, concurrency 4). Every slice is its own read and ends with
  its own short page; the per-slice floor (sum of ``rows // 100 + 1``) is printed to show that
  nothing else is spent (a slice that overflowed and was cut again would show here).

Over a busy portal (200,000 events, ~280 an hour) and a quiet one (10,000, ~14 an hour), where
fixed hourly slices cost 2,225 and 730 requests.

``python -m bench.request_count [--events 200000] [--sparse 10000] [--quick]``
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from bench.common import emit, run_worker, scan_env, simulator, verdict

ROUTE = "GET /api/2.0/security/audit/events/filter"
#: The issue's target: the pages the events need plus a small constant (here: one short page per
#: slice that may be in flight at once, the scan's concurrency).
SMALL_CONSTANT = 4


def pages_for(rows: int) -> int:
    """Requests a no-``total`` read of ``rows`` rows needs (see the module docstring)."""
    return rows // 100 + 1 + (1 if rows == 20 else 0)


def measure(events: int) -> tuple[dict[str, Any], int, dict[str, Any], int]:
    """The whole-window read and the sliced one, each with the simulator's count."""
    with simulator(events) as sim:
        env = scan_env(sim, 0)
        whole = run_worker("bench.scan_worker", ["--mode", "whole", "--days", "30"], env)
        server_whole = sim.stats()["requests"].get(ROUTE, 0)
        sim.reset()
        sliced = run_worker("bench.scan_worker", ["--mode", "scan", "--days", "30"], env)
        server_sliced = sim.stats()["requests"].get(ROUTE, 0)
    return whole, server_whole, sliced, server_sliced


def report(events: int) -> None:
    whole, server_whole, sliced, server_sliced = measure(events)
    n = whole["events"]
    floor = math.ceil(n / 100) + (1 if n % 100 == 0 else 0)
    slices = sliced["perSliceRows"]
    slice_floor = sum(pages_for(rows) for rows in slices)
    print(f"\n### {n:,} events over 30 days ({n / 720:,.0f} an hour); {len(slices)} slices")
    print(
        f"{'read':<14}{'requests':>9}{'server':>8}{'floor':>8}{'ratio':>8}  "
        f"target <= floor + {SMALL_CONSTANT}"
    )
    for name, result, server in (
        ("whole window", whole, server_whole),
        ("slices", sliced, server_sliced),
    ):
        made = result["requests"]
        met = made <= floor + SMALL_CONSTANT
        print(f"{name:<14}{made:>9,}{server:>8,}{floor:>8,}{made / floor:>7.3f}x  {verdict(met)}")
        emit(
            f"Requests: {name} ({n:,} events)",
            f"{made:,} requests",
            f"{floor:,} pages",
            made / floor,
            f"<= pages + {SMALL_CONSTANT} (pages: ceil(events/100) + final short page)",
            met,
        )
    made = sliced["requests"]
    print(
        f"The sliced read makes {made - floor:,} more requests than the whole window: at most "
        f"one short page for each of its {len(slices)} slices, whose own floor (sum of "
        f"rows // 100 + 1) "
        f"is {slice_floor:,}; it made {'exactly that' if made == slice_floor else f'{made:,}'}. "
        f"Largest slice: {max(slices):,} rows. Rows read twice (events at a slice's exact "
        f"boundary, returned by the inclusive `to` of one slice and the `from` of the next): "
        f"{sliced['rows'] - n:,}."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.request_count")
    parser.add_argument("--events", type=int, default=None, help="the busy portal")
    parser.add_argument("--sparse", type=int, default=10_000, help="the quiet portal")
    parser.add_argument("--quick", action="store_true", help="20,000 events as the busy portal")
    args = parser.parse_args(argv)
    events = args.events or (20_000 if args.quick else 200_000)

    print(f"## Requests: {events:,} and {args.sparse:,} audit events over 30 days")
    for size in (events, args.sparse):
        report(size)


if __name__ == "__main__":
    main()
