"""Cold start: importing each handler module against importing only its dependencies.

Each figure is measured inside a fresh interpreter (``python -c``), timing only the imports
(interpreter start-up is the same for both and is left out), as Lambda loads a handler: the
function's folder and the layer (``shared``) on ``sys.path``, ``app.py`` loaded by path.

* handler: ``app.py``, then ``boto3``. The layer imports ``boto3`` lazily, but the first
  invocation of every handler imports it (DynamoDB, SNS, Secrets Manager) before its first AWS
  call, so it is part of the cold start either way and is counted on both sides.
* deps (the floor): *exactly the third-party modules that handler's cold start loads*, found by
  doing it once and listing ``sys.modules``: ``boto3``/``botocore``, ``requests`` and the
  Powertools pieces (their package ``__init__`` and what it pulls in). Standard-library modules
  that only the project's code imports count as the project's overhead.

Both run in a virtualenv holding what a deployed function has and nothing else
(``.venv/lambda-runtime``, made on first use): the layer's ``shared/requirements.txt`` and
``boto3``, at the versions of the development venv. The development venv is no model: the SAM
CLI brings ``awscrt`` and ``pyOpenSSL``, which ``botocore`` imports when present, and that
would add ~100 ms to both sides and flatter the ratio.

Both sides read bytecode: the layer and the handlers are compiled first (``compileall``), as
``pip`` compiled the dependencies when it installed them; otherwise the figure would time
compiling our sources (with ``PYTHONDONTWRITEBYTECODE``, which ``make`` sets, nothing is cached).

``python -m bench.cold_start [--runs 7] [--quick]``
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
from importlib import metadata

from bench.common import LAYER, PYTHON, ROOT, emit, verdict

RUNTIME_VENV = ROOT / ".venv" / "lambda-runtime"
RUNTIME_PACKAGES = ("requests", "aws-lambda-powertools", "boto3")

HANDLERS = (
    "vdr_activity",
    "login_audit",
    "bulk_change_guard",
    "restriction_release",
    "inactive_members",
    "ip_allowlist",
)
TARGET = 0.15

# The child programs import nothing before the clock starts but sys, time and importlib.
_HANDLER_CHILD = """
import sys, time, importlib.util
layer, folder, path = sys.argv[1:4]
sys.path[:0] = [folder, layer]
before = set(sys.modules)
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
import boto3  # what every first invocation imports before its first AWS call
t1 = time.perf_counter()
print((t1 - t0) * 1000)
if len(sys.argv) > 4:
    import json
    print(json.dumps(sorted(set(sys.modules) - before)))
"""

_DEPS_CHILD = """
import sys, time, importlib
names = sys.argv[1].split(",") if sys.argv[1] else []
t0 = time.perf_counter()
for name in names:
    importlib.import_module(name)
t1 = time.perf_counter()
print((t1 - t0) * 1000)
"""


def runtime_python() -> str:
    """The interpreter of ``.venv/lambda-runtime``, created (or refreshed) when the pins change."""
    pins = sorted(f"{name}=={metadata.version(name)}" for name in RUNTIME_PACKAGES)
    python = RUNTIME_VENV / "bin" / "python"
    stamp = RUNTIME_VENV / "pins.txt"
    if not stamp.is_file() or stamp.read_text() != "\n".join(pins):
        print(f"creating {RUNTIME_VENV.relative_to(ROOT)} ({', '.join(pins)})", flush=True)
        subprocess.run([PYTHON, "-m", "venv", "--clear", str(RUNTIME_VENV)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - our own venv, pinned names
            [str(python), "-m", "pip", "install", "--quiet", *pins], check=True
        )
        stamp.write_text("\n".join(pins))
    return str(python)


def _run(code: str, *args: str, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreters, fixed arguments
        [runtime_python(), *options, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )


def _lines(code: str, *args: str) -> list[str]:
    return _run(code, *args).stdout.strip().splitlines()


def _handler_args(name: str) -> list[str]:
    folder = ROOT / "functions" / name
    return [str(LAYER), str(folder), str(folder / "app.py")]


def third_party(modules: list[str]) -> list[str]:
    """The modules loaded from site-packages (not the standard library, not the project)."""
    code = (
        "import sys, sysconfig, importlib.util, json\n"
        "purelib = sysconfig.get_paths()['purelib']\n"
        "names = json.loads(sys.stdin.read())\n"
        "out = []\n"
        "for n in names:\n"
        "    try:\n"
        "        spec = importlib.util.find_spec(n)\n"
        "    except Exception:\n"
        "        continue\n"
        "    origin = getattr(spec, 'origin', None) or ''\n"
        "    locations = list(getattr(spec, 'submodule_search_locations', None) or [])\n"
        "    if any(p.startswith(purelib) for p in [origin, *locations]):\n"
        "        out.append(n)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [runtime_python(), "-c", code],
        cwd=ROOT,
        input=json.dumps(modules),
        capture_output=True,
        text=True,
        check=True,
    )
    names: list[str] = json.loads(done.stdout)
    return names


def handler_ms(name: str) -> float:
    return float(_lines(_HANDLER_CHILD, *_handler_args(name))[0])


def deps_ms(modules: list[str]) -> float:
    return float(_lines(_DEPS_CHILD, ",".join(modules))[0])


def project_import_costs(name: str, top: int = 6) -> list[tuple[str, float]]:
    """The costliest project modules of one handler's import, by self time (``-X importtime``;
    it slows every import a little, so read these as a ranking)."""
    done = _run(_HANDLER_CHILD, *_handler_args(name), options=("-X", "importtime"))
    costs: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        module = parts[2].strip()
        if module == "app" or module.startswith("docspace_sentinel"):
            costs.append((module, int(parts[0]) / 1000))
    return sorted(costs, key=lambda c: -c[1])[:top]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 11")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 11)

    for folder in (LAYER, ROOT / "functions"):
        compileall.compile_dir(folder, quiet=1)
    print(
        f"## Cold start: handler import vs its dependencies (median of {runs} pairs of processes)"
    )
    print(
        "deps = the third-party modules the handler's import loads, imported alone; "
        f"target: the project adds under {TARGET:.0%}\n"
    )
    print(f"{'handler':<22}{'deps ms':>9}{'handler ms':>12}{'overhead':>10}  modules")
    worst = (0.0, "", 0.0, 0.0)
    for name in HANDLERS:
        lines = _lines(_HANDLER_CHILD, *_handler_args(name), "list")  # warm-up
        loaded = json.loads(lines[1])
        deps = third_party(loaded)
        deps_ms(deps)  # warm-up
        # In pairs, one right after the other, so that a busy moment of the machine weighs on
        # both sides of a pair alike; the overhead is the median of the pairs' ratios.
        pairs = [(deps_ms(deps), handler_ms(name)) for _ in range(runs)]
        d = statistics.median(pair[0] for pair in pairs)
        h = statistics.median(pair[1] for pair in pairs)
        overhead = statistics.median(hp / dp for dp, hp in pairs) - 1
        project = [m for m in loaded if m == "app" or m.startswith("docspace_sentinel")]
        tops = sorted({m.split(".")[0] for m in deps})
        print(
            f"{name:<22}{d:>9.1f}{h:>12.1f}{overhead:>10.1%}  "
            f"{len(project)} project, {len(deps)} third-party ({', '.join(tops)})"
        )
        if overhead >= worst[0] or not worst[1]:
            worst = (overhead, name, d, h)
    boto = statistics.median(deps_ms(["boto3"]) for _ in range(runs))
    print(f"\nof which boto3 alone: {boto:.1f} ms (on both sides)")
    overhead, name, d, h = worst
    met = overhead < TARGET
    print(f"worst: {name} adds {overhead:.1%} ({h - d:.1f} ms): {verdict(met)}")
    if not met:
        costs = project_import_costs(name)
        listed = ", ".join(f"{module} {ms:.1f} ms" for module, ms in costs)
        print(f"costliest project modules of {name} (self time, -X importtime): {listed}")
    emit(
        "Cold start (worst handler: " + name + ")",
        f"{h:.0f} ms import",
        f"{d:.0f} ms deps",
        1 + overhead,
        f"< {1 + TARGET:.2f}x (project < {TARGET:.0%})",
        met,
    )


if __name__ == "__main__":
    sys.exit(main())
