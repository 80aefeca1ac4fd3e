"""CPU per event: the VDR monitor and the bulk guard against ``json.loads`` of the same bytes.

The simulator runs in its own process with no latency and no faults; the measured process
(``bench.scan_worker``) has no rate budget (``DOCSPACE_REQUESTS_PER_SECOND=0``) and reads the
last 30 days in slices of about ``SCAN_SLICE_EVENTS`` events, ``SCAN_CONCURRENCY`` 4 as deployed. Its CPU time
(``time.process_time``, every thread) covers the scan and the detection, not the imports.

* VDR: ``vdr_activity.run`` itself (rooms list, room attribution with its files-API look-ups,
  hourly counts, judging, the login scan for flagged users) with an in-memory activity store
  in place of DynamoDB.
* Bulk guard: the streaming ``BulkDetector`` over the same scan (no AWS needed).

The floor: a third process runs the VDR workflow once more with a session that keeps every
response body, then times ``json.loads`` over them (median of 3): all bodies for the VDR
figure, the audit pages for the bulk figure (the same pages the bulk scan reads). A second,
informative floor: a bare ``requests.Session`` fetching the same URLs again and decoding them,
the least any client on ``requests`` can spend; the ratio to it is what our own code adds.

``python -m bench.cpu_per_event [--events 1000000] [--quick] [--profile 12]``
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import emit, run_worker, scan_env, simulator, verdict

TARGET = 2.0


def print_profile(rows: list[dict[str, Any]]) -> None:
    print(f"  {'own s':>8}{'cum s':>8}{'calls':>10}  function")
    for row in rows:
        print(
            f"  {row['tottime']:>8.2f}{row['cumtime']:>8.2f}{row['calls']:>10}  {row['function']}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_per_event")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--profile", type=int, default=12, help="top N cProfile rows when over target (0: none)"
    )
    args = parser.parse_args(argv)
    events = args.events or (100_000 if args.quick else 1_000_000)
    scan = ["--days", "30", "--concurrency", str(args.concurrency)]

    print(f"## CPU per event: {events:,} audit events, no latency, no rate budget")
    with simulator(events) as sim:
        env = scan_env(sim, 0)
        vdr = run_worker("bench.scan_worker", ["--mode", "vdr", *scan], env)
        bulk = run_worker("bench.scan_worker", ["--mode", "bulk", *scan], env)
        floor = run_worker("bench.scan_worker", ["--mode", "vdr", "--record", *scan], env)
        profile: dict[str, Any] | None = None
        over = vdr["cpuSeconds"] / floor["floorAllSeconds"] >= TARGET or (
            bulk["cpuSeconds"] / floor["floorAuditSeconds"] >= TARGET
        )
        if over and args.profile:
            # cProfile sees one thread only: profile a one-thread scan of about 100k events
            # (the newest days of the window).
            days = max(1, round(30 * min(1.0, 100_000 / events)))
            one_thread = ["--mode", "bulk", "--days", str(days), "--concurrency", "1"]
            profile = run_worker(
                "bench.scan_worker", [*one_thread, "--profile", str(args.profile)], env
            )
    if floor["bodiesAudit"] != bulk["requests"]:
        print(
            f"note: the floor read {floor['bodiesAudit']} audit pages, the bulk scan "
            f"{bulk['requests']} requests"
        )
    print(
        f"simulator: {sim.audit_events:,} events; scan read {bulk['rows']:,} rows in "
        f"{bulk['pages']:,} pages ({floor['bytesAudit'] / 1e6:.0f} MB of JSON); concurrency "
        f"{args.concurrency}\n"
    )
    print(
        f"{'workflow':<12}{'CPU s':>8}{'events/s':>11}{'floor s':>9}{'floor ev/s':>12}"
        f"{'ratio':>7}  target < {TARGET:g}x   {'requests+json s':>16}{'ratio':>7}"
    )
    rows = (
        ("VDR monitor", vdr, floor["floorAllSeconds"], floor["requestsAllSeconds"]),
        ("bulk guard", bulk, floor["floorAuditSeconds"], floor["requestsAuditSeconds"]),
    )
    for name, result, floor_s, http_s in rows:
        ratio = result["cpuSeconds"] / floor_s
        rate = result["rows"] / result["cpuSeconds"]
        floor_rate = result["rows"] / floor_s
        met = ratio < TARGET
        print(
            f"{name:<12}{result['cpuSeconds']:>8.2f}{rate:>11,.0f}{floor_s:>9.2f}"
            f"{floor_rate:>12,.0f}{ratio:>6.1f}x  {verdict(met):<10}{http_s:>16.2f}"
            f"{result['cpuSeconds'] / http_s:>6.1f}x  ({result['requests']:,} requests, "
            f"{result['findings']} findings)"
        )
        emit(
            f"CPU per event: {name} ({events:,} events)",
            f"{result['cpuSeconds']:.2f} s CPU ({rate / 1000:,.0f}k events/s)",
            f"{floor_s:.2f} s json.loads ({http_s:.2f} s requests + json.loads)",
            ratio,
            f"< {TARGET:g}x",
            met,
        )
    print(
        "\nHow: VDR = vdr_activity.run with an in-memory activity store (no moto); bulk = "
        "BulkDetector fed slice by slice from SliceScan. CPU = process_time of the scanning "
        "process only; the simulator runs in another process."
    )
    if profile is not None:
        print(
            f"\nTop costs by own time (cProfile, wall-clock timer, bulk guard, one thread, "
            f"{profile['rows']:,} events, {profile['cpuSeconds']:.1f} s CPU under the profiler; "
            "recv_into and sendall are mostly waiting for the simulator):"
        )
        print_profile(profile["profile"])


if __name__ == "__main__":
    main()
