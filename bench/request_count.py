"""Requests: requests made against the pages the events need.

Audit pages carry no ``total`` (``count`` ≤ 100): a read ends with its first short page, so
``n`` events need ``n // 100 + 1`` requests (one more when the first page has exactly 20 rows:
the client checks that the portal is not answering its 20 newest events for every filter).

Two reads of the same 30 days, counted by the client (``requests_sent``, every attempt) and
checked against the simulator's own counter:

* whole window: ``DocSpaceClient.audit_events(from, to)``, one filtered read; floor
  ``ceil(events / 100)`` plus that final short page;
* hourly slices: ``SliceScan`` as the workflows read (``SCAN_SLICE_MINUTES`` 60). Every slice
  is its own read and ends with its own short page, so it costs up to one request per slice
  more than the whole-window read; the per-slice floor (sum of ``rows // 100 + 1``) is
  printed to show that nothing else is spent.

``python -m bench.request_count [--events 200000] [--quick]``
"""

from __future__ import annotations

import argparse
import math

from bench.common import emit, run_worker, scan_env, simulator, verdict

ROUTE = "GET /api/2.0/security/audit/events/filter"


def pages_for(rows: int) -> int:
    """Requests a no-``total`` read of ``rows`` rows needs (see the module docstring)."""
    return rows // 100 + 1 + (1 if rows == 20 else 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.request_count")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    args = parser.parse_args(argv)
    events = args.events or (20_000 if args.quick else 200_000)

    print(f"## Requests: {events:,} audit events over 30 days")
    with simulator(events) as sim:
        env = scan_env(sim, 0)
        whole = run_worker("bench.scan_worker", ["--mode", "whole", "--days", "30"], env)
        server_whole = sim.stats()["requests"].get(ROUTE, 0)
        sim.reset()
        sliced = run_worker("bench.scan_worker", ["--mode", "scan", "--days", "30"], env)
        server_sliced = sim.stats()["requests"].get(ROUTE, 0)

    n = whole["events"]
    floor = math.ceil(n / 100) + (1 if n % 100 == 0 else 0)
    slices = sliced["perSliceRows"]
    slice_floor = sum(pages_for(rows) for rows in slices)
    print(f"events in the window: {n:,}; hourly slices: {len(slices)}\n")
    print(f"{'read':<16}{'requests':>9}{'server':>8}{'floor':>8}{'ratio':>8}  target: = floor")
    for name, result, server in (
        ("whole window", whole, server_whole),
        ("hourly slices", sliced, server_sliced),
    ):
        made = result["requests"]
        met = made == floor
        print(f"{name:<16}{made:>9,}{server:>8,}{floor:>8,}{made / floor:>7.3f}x  {verdict(met)}")
        emit(
            f"Requests: {name} ({n:,} events)",
            f"{made:,} requests",
            f"{floor:,} pages",
            made / floor,
            "= ceil(events/100) + final short page",
            met,
        )
    extra = sliced["requests"] - floor
    print(
        f"\nThe hourly read makes {extra:,} more requests than the whole-window floor. Its own "
        f"floor, one read per slice ending with a short page (sum of rows // 100 + 1 over the "
        f"{len(slices)} slices), is {slice_floor:,}: it made "
        f"{'exactly that' if sliced['requests'] == slice_floor else sliced['requests']}. "
        f"The difference is the slicing: each slice's last, short page (on average "
        f"{extra / len(slices):.2f} extra per slice) buys crash-safe progress (the cursor can "
        "stop at any finished hour) and hour-aligned counts. It also reads "
        f"{sliced['rows'] - n:,} rows twice: events at an hour's exact boundary, which the "
        "inclusive `to` of one slice and the `from` of the next both return."
    )


if __name__ == "__main__":
    main()
