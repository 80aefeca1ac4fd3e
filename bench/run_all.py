"""Run every benchmark, each in its own process, and print the README table.

``python -m bench.run_all [--quick]``: the table also goes to ``bench/results/latest.md``.
Full run: about 8-10 minutes on 2 cores; ``--quick`` (smaller sizes): about 2 minutes.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import PYTHON, RESULT_PREFIX, RESULTS, ROOT

BENCHMARKS = (
    "cold_start",
    "cpu_per_event",
    "memory",
    "request_count",
    "rate_bound",
    "realtime",
)


def run(name: str, quick: bool) -> tuple[list[dict[str, Any]], float, int]:
    """Run one benchmark, echoing its output; return its result rows."""
    args = [PYTHON, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        args, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    rows = []
    for line in process.stdout:
        if line.startswith(RESULT_PREFIX):
            rows.append(json.loads(line[len(RESULT_PREFIX) :]))
        else:
            sys.stdout.write(line)
            sys.stdout.flush()
    code = process.wait()
    return rows, time.perf_counter() - started, code


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | figure | floor | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        met = "yes" if row["met"] else "**no**"
        cells = (row["benchmark"], row["figure"], row["floor"], ratio, row["target"], met)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only, git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about 2 minutes")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="a subset")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    failed = []
    for name in args.only or BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        found, seconds, code = run(name, args.quick)
        rows += found
        print(f"(bench.{name}: {seconds:.0f} s)", flush=True)
        if code != 0:
            failed.append(name)
    elapsed = time.perf_counter() - started
    header = (
        f"Benchmarks ({'quick' if args.quick else 'full'}), commit {commit()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{platform.machine()}; {elapsed:.0f} s"
    )
    text = f"{header}\n\n{table(rows)}\n"
    if failed:
        text += f"\nFailed to run: {', '.join(failed)}\n"
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text)
    print(f"written to {(RESULTS / 'latest.md').relative_to(ROOT)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
