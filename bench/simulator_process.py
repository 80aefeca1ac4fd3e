"""The DocSpace simulator in its own process, so its CPU and memory are never the scanner's.

``python -m bench.simulator_process --audit-events N ...`` generates a fixed scenario (fixed seed
and fixed "now", unlike the CLI, so every commit sees the same portal), prints one JSON line
``{"url": ..., "apiKey": ..., "auditEvents": ...}`` and then answers commands on stdin, one per
line: ``stats`` prints the request and fault counters as JSON, ``reset`` clears them; end of
input stops the server.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.common import NOW, SEED
from local.simulator.faults import Faults
from local.simulator.generate import generate_scenario
from local.simulator.server import SimulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.simulator_process")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--audit-events", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=0.0)
    args = parser.parse_args(argv)
    scenario = generate_scenario(
        seed=args.seed,
        days=args.days,
        users=args.users,
        audit_events=args.audit_events,
        now=NOW,
    )
    faults = Faults(latency=args.latency, rate_limit=args.rate_limit, seed=args.seed)
    server = SimulatorServer(scenario, faults=faults).start()
    try:
        hello = {"url": server.url, "apiKey": server.api_key, "auditEvents": len(scenario.audit)}
        print(json.dumps(hello), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print(json.dumps(server.stats.snapshot()), flush=True)
            elif command == "reset":
                server.stats.reset()
                print("{}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
