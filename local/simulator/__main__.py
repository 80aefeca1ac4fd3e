"""`python -m local.simulator`: serve a generated portal until Ctrl-C.

Run from the repository root so that `local` is importable. Write a negative offset
with `=`, e.g. `--tenant-offset=-05:00`, or argparse reads it as an option.
"""

from __future__ import annotations

import argparse

from local.simulator.faults import Faults
from local.simulator.generate import generate_scenario
from local.simulator.server import DEFAULT_API_KEY, SimulatorServer, serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--audit-events", type=int, default=20_000)
    parser.add_argument("--login-events", type=int, default=None)
    parser.add_argument("--tenant-offset", default="+03:00")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--no-plant", action="store_true", help="generate no planted cases")
    parser.add_argument(
        "--no-audit-option",
        action="store_true",
        help="filters fall back to /last (no Audit tariff)",
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests answered 429 and of 5xx"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="requests per second")
    args = parser.parse_args(argv)

    scenario = generate_scenario(
        seed=args.seed,
        days=args.days,
        users=args.users,
        audit_events=args.audit_events,
        login_events=args.login_events,
        tenant_offset=args.tenant_offset,
        audit_option=not args.no_audit_option,
        plant=not args.no_plant,
    )
    faults = Faults(
        rate_429=args.fault_rate,
        rate_5xx=args.fault_rate,
        latency=args.latency,
        rate_limit=args.rate_limit,
        seed=args.seed,
    )
    server = SimulatorServer(
        scenario, api_key=args.api_key, host=args.host, port=args.port, faults=faults
    )
    print(f"DocSpace simulator at {server.url}", flush=True)
    print(f"API key: {server.api_key}  (send Authorization: Bearer <key>)", flush=True)
    print(
        f"{len(scenario.audit)} audit events, {len(scenario.logins)} login events, "
        f"{len(scenario.users)} users; Ctrl-C stops",
        flush=True,
    )
    serve_forever(server)


if __name__ == "__main__":
    main()
