"""Rate-bound scanning: wall time against the request budget's floor.

The simulator adds 100 ms to every request; the client has a budget of 20 requests a second
(``DOCSPACE_REQUESTS_PER_SECOND=20``) and reads 4 slices at a time (``SliceScan(concurrency=4)``,
default slice sizes), default retries. The floor is the requests the scan needs (its pages,
retries not included) divided by 20: no scan can be faster within the budget.
A second run lets the simulator itself refuse past 25 requests a second (429 with
``Retry-After: 1``), so any 429 is absorbed by the client's retries; a 429 the client gives up
on fails the scan and is reported as unhandled.

``python -m bench.rate_bound [--events 200000] [--quick] [--no-limited]``
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import emit, run_worker, scan_env, simulator, verdict

BUDGET = 20.0
LATENCY = 0.1
SERVER_LIMIT = 25.0
TARGET = 1.15


def scan_once(events: int, days: int, rate_limit: float) -> tuple[dict[str, Any], int]:
    with simulator(events, days=days, latency=LATENCY, rate_limit=rate_limit) as sim:
        env = scan_env(sim, BUDGET)
        args = ["--mode", "scan", "--days", str(days), "--concurrency", "4"]
        result = run_worker("bench.scan_worker", args, env, check=False)
        refused = sim.stats()["faults"].get("rate_limited", 0)
    return result, refused


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rate_bound")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="20,000 events over 1 day")
    parser.add_argument("--no-limited", action="store_true", help="skip the 429 run")
    parser.add_argument("--server-limit", type=float, default=SERVER_LIMIT)
    args = parser.parse_args(argv)
    events = args.events or (20_000 if args.quick else 200_000)
    days = args.days or (1 if args.quick else 7)

    print(
        f"## Rate-bound scan: {events:,} events over {days} day(s), {LATENCY * 1000:.0f} ms "
        f"latency, budget {BUDGET:g} req/s, concurrency 4"
    )
    runs = [("no server limit", 0.0)]
    if not args.no_limited:
        runs.append((f"server limit {args.server_limit:g}/s", args.server_limit))
    print(
        f"\n{'run':<22}{'wall s':>8}{'pages':>7}{'floor s':>9}{'ratio':>8}{'429s':>6}"
        f"{'retries':>9}  target < {TARGET:g}x, no 429 unhandled"
    )
    for name, limit in runs:
        result, refused = scan_once(events, days, limit)
        if "error" in result:
            print(f"{name:<22} FAILED: {result['error']}")
            emit(f"Rate-bound scan, {name}", "failed", "-", None, f"< {TARGET:g}x", False)
            continue
        floor = result["pages"] / BUDGET
        ratio = result["wallSeconds"] / floor
        met = ratio < TARGET
        print(
            f"{name:<22}{result['wallSeconds']:>8.1f}{result['pages']:>7,}{floor:>9.1f}"
            f"{ratio:>7.2f}x{refused:>6}{result['retries']:>9}  {verdict(met)} "
            f"({result['rows']:,} rows read; threads waited {result['limiterWaited']:.0f} s "
            "in the budget)"
        )
        emit(
            f"Rate-bound scan, {name} ({result['rows']:,} events)",
            f"{result['wallSeconds']:.1f} s wall, {refused} 429s absorbed",
            f"{floor:.1f} s (pages / {BUDGET:g})",
            ratio,
            f"< {TARGET:g}x, no unhandled 429",
            met,
        )
        if limit and not refused:
            print(
                f"{'':<22}(the server refused nothing: the {BUDGET:g}/s budget keeps the client "
                f"under {limit:g}/s, so no 429 had to be absorbed)"
            )


if __name__ == "__main__":
    main()
