"""Memory: peak RSS of the scanning process at 1,000,000 events against 10,000 events.

Each figure is ``ru_maxrss`` of a fresh ``bench.scan_worker`` process (the simulator, with its
own copy of the events, is another process): the VDR monitor (``vdr_activity.run`` with an
in-memory activity store) and the bulk guard (the streaming ``BulkDetector``), over
the last 30 days in slices sized to hold about 2,000 events (the ``SCAN_SLICE_EVENTS``
default), concurrency 4: up to four slices are held at once however busy the portal.
``idle`` is the same process doing no scan: the fixed part (interpreter, imports, a client).

``python -m bench.memory [--small 10000] [--large 1000000] [--quick]``
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import emit, run_worker, scan_env, simulator, verdict

RATIO_TARGET = 1.2
CEILING_MB = 256.0
MODES = (("VDR monitor", "vdr"), ("bulk guard", "bulk"))


def measure(events: int) -> dict[str, dict[str, Any]]:
    with simulator(events) as sim:
        env = scan_env(sim, 0)
        results = {"idle": run_worker("bench.scan_worker", ["--mode", "idle"], env)}
        for _name, mode in MODES:
            results[mode] = run_worker("bench.scan_worker", ["--mode", mode, "--days", "30"], env)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="100,000 events as the large size")
    args = parser.parse_args(argv)
    large = args.large or (100_000 if args.quick else 1_000_000)

    print(f"## Memory: peak RSS of the scanning process, {large:,} against {args.small:,} events")
    small_runs = measure(args.small)
    large_runs = measure(large)
    print(f"idle process (imports + client): {small_runs['idle']['maxRssMb']:.0f} MB\n")
    print(
        f"{'workflow':<12}{'small MB':>10}{'large MB':>10}{'ratio':>8}  "
        f"target < {RATIO_TARGET:g}x and < {CEILING_MB:.0f} MB"
    )
    for name, mode in MODES:
        small = small_runs[mode]["maxRssMb"]
        big = large_runs[mode]["maxRssMb"]
        ratio = big / small
        met = ratio < RATIO_TARGET and big < CEILING_MB
        print(f"{name:<12}{small:>10.0f}{big:>10.0f}{ratio:>7.2f}x  {verdict(met)}")
        emit(
            f"Peak RSS: {name} ({large:,} vs {args.small:,} events)",
            f"{big:.0f} MB",
            f"{small:.0f} MB",
            ratio,
            f"< {RATIO_TARGET:g}x and < {CEILING_MB:.0f} MB",
            met,
        )


if __name__ == "__main__":
    main()
