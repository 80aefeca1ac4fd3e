"""Invoke one function of template.yaml in this process: `sam local invoke` without Docker.

    python -m local.invoke VdrActivityFunction -e events/vdr_activity.json --simulator --moto
    python -m local.invoke login_audit -e events/login_audit_query_failures.json --simulator --moto
    python -m local.invoke ip_allowlist --handler register_handler -e events/ip_allowlist_register.json
    python -m local.invoke BulkChangeGuardFunction -e events/bulk_change_guard.json --env-vars env.json

The function is named by its logical id (``VdrActivityFunction``), its folder under
``functions/`` (``vdr_activity``) or its event-file name (``ip_allowlist_register``). As in
Lambda, the function's folder and the layer (``shared/``) are on ``sys.path``; the context
carries the template's timeout and memory size.

Where the settings come from:

* the process environment, as for any command (a real portal and real AWS credentials);
* ``--env-vars FILE`` (the ``sam local invoke --env-vars`` format, ``{"<LogicalId>": {...},
  "Parameters": {...}}``) overrides them, and, as with SAM, only for the variables the
  template declares for the function (Globals plus its own); others are ignored with a note;
* ``--simulator`` starts the bundled DocSpace simulator (a small seeded portal whose history
  ends at the event's time, so the example events always find their planted cases) and points
  ``DOCSPACE_URL``/``DOCSPACE_API_KEY`` at it (``DOCSPACE_API_KEY_SECRET`` is dropped); unless
  set otherwise, a first run looks back 96 hours (``INITIAL_LOOKBACK_HOURS``: the planted cases
  are up to two days old);
* ``--moto`` runs inside moto's ``mock_aws`` with the state table, the findings topic and an
  SQS reader created by ``local.aws.create_local_aws()``, and prints what reached SNS;
  with both, the function runs as of the event's time (an example event's time is fixed, and
  the functions refuse a scheduled time more than a day old);
* ``--plant`` (with both) first does what a deployment would have done before the event, so a
  function that needs earlier state shows something on an empty table: the IP allowlist's
  login check gets the simulator's planted allowlists registered; the restriction release
  gets the bulk guard's planted burst restricted (``MODE=enforce``) and runs when that
  restriction is due (``RESTRICTION_MINUTES`` + 1 after the event's time).

The handler's JSON result goes to stdout (an error as ``{"errorType", "errorMessage"}``, exit
status 1); the function's logs and metrics, and the SNS messages, go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from local.lambda_runtime import ROOT, FakeContext, clock_at, load_handler

TEMPLATE = ROOT / "template.yaml"
FUNCTION_TYPE = "AWS::Serverless::Function"
#: The simulator's portal for ``--simulator`` (days, users, audit and login events): small
#: enough to start in well under a second.
SIMULATOR_SIZE = (30, 40, 3_000, 800)


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Serverless::Function`` of the template, as the runtime sees it."""

    logical_id: str
    folder: str  # CodeUri under functions/
    module: str  # Handler "app.handler" -> module "app", attribute "handler"
    attribute: str
    variables: frozenset[str]  # Globals.Function.Environment.Variables plus its own
    timeout: int
    memory: int

    @property
    def event_name(self) -> str:
        """``VdrActivityFunction`` -> ``vdr_activity`` (the ``events/<name>.json`` file)."""
        stem = self.logical_id.removesuffix("Function")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", stem).lower()


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data (``!Ref`` and friends become ``{"Ref": ...}``)."""
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

    parsed: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return parsed


def _variables(section: Mapping[str, Any]) -> dict[str, Any]:
    environment = section.get("Environment") or {}
    variables: dict[str, Any] = environment.get("Variables") or {}
    return variables


def template_functions(template: Mapping[str, Any] | None = None) -> dict[str, FunctionSpec]:
    """Every function of the template by logical id."""
    template = load_template() if template is None else template
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    shared = _variables(globals_)
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != FUNCTION_TYPE:
            continue
        props = resource.get("Properties") or {}
        code_uri = str(props.get("CodeUri", ""))
        folder = Path(code_uri.rstrip("/")).name
        module, _, attribute = str(props.get("Handler", "")).rpartition(".")
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            folder=folder,
            module=module,
            attribute=attribute,
            variables=frozenset(shared) | frozenset(_variables(props)),
            timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
        )
    return specs


def resolve_function(
    name: str, specs: Mapping[str, FunctionSpec], attribute: str | None = None
) -> FunctionSpec:
    """A function by logical id, event name or folder (``--handler`` picks among a folder's)."""
    if name in specs:
        return specs[name]
    by_event = [s for s in specs.values() if s.event_name == name]
    if len(by_event) == 1:
        return by_event[0]
    in_folder = [s for s in specs.values() if s.folder == name]
    if attribute is not None:
        in_folder = [s for s in in_folder if s.attribute == attribute] or in_folder
    elif len(in_folder) > 1:
        in_folder = [s for s in in_folder if s.attribute == "handler"] or in_folder
    if len(in_folder) == 1:
        return in_folder[0]
    known = ", ".join(sorted(specs))
    raise SystemExit(f"local.invoke: unknown function {name!r}; the template has: {known}")


def _stringify(value: Any) -> str:
    """As SAM does for ``--env-vars`` values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def env_overrides(path: Path, spec: FunctionSpec, stderr: TextIO) -> dict[str, str]:
    """The variables an ``--env-vars`` file sets for ``spec`` (``Parameters`` first, then the
    function's own section), limited to the ones the template declares, as with SAM."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise SystemExit(f"local.invoke: {path} must map function ids to objects of variables")
    merged: dict[str, Any] = {**data.get("Parameters", {}), **data.get(spec.logical_id, {})}
    ignored = sorted(set(merged) - spec.variables)
    if ignored:
        print(
            f"local.invoke: {path} sets {', '.join(ignored)}, which template.yaml does not "
            f"declare for {spec.logical_id}: ignored (sam local invoke ignores them too)",
            file=stderr,
        )
    return {k: _stringify(v) for k, v in merged.items() if k in spec.variables}


@contextlib.contextmanager
def patched_environ(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for ``None``, remove) variables; restore the environment afterwards."""
    before = dict(os.environ)
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def event_time(event: Any) -> datetime | None:
    """The time an event is about (scheduled time, window end, EventBridge time), if past."""
    if not isinstance(event, Mapping):
        return None
    if isinstance(event.get("body"), str) and "requestContext" in event:
        try:
            return event_time(json.loads(event["body"]))
        except ValueError:
            return None
    for key in ("scheduledTime", "to", "time"):
        value = event.get(key)
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                continue
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return when if when < datetime.now(UTC) else None
    return None


def _is_scheduled(event: Any) -> bool:
    """A scheduled run (a Scheduler or an EventBridge schedule event), not an on-demand window."""
    return isinstance(event, Mapping) and (
        "scheduledTime" in event or event.get("detail-type") == "Scheduled Event"
    )


def _read_event(source: str | None) -> Any:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def _print_sns(findings: list[dict[str, Any]], topic_arn: str, stderr: TextIO) -> None:
    print(f"\n{len(findings)} message(s) reached SNS ({topic_arn}):", file=stderr)
    for finding in findings:
        severity = finding.get("severity", "?")
        kind = f"{finding.get('workflow', '?')}/{finding.get('kind', '?')}"
        print(f"  [{severity}] {kind}: {finding.get('title', '')}", file=stderr)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke",
        description="Invoke a template.yaml function in this process (sam local invoke without Docker).",
    )
    parser.add_argument("function", help="logical id, folder under functions/ or event name")
    parser.add_argument("-e", "--event", help="event JSON file ('-' reads stdin); default {}")
    parser.add_argument("--env-vars", type=Path, help="sam local invoke --env-vars JSON file")
    parser.add_argument("--handler", help="handler attribute in app.py (default: the template's)")
    parser.add_argument(
        "--simulator", action="store_true", help="start the bundled DocSpace simulator"
    )
    parser.add_argument("--moto", action="store_true", help="AWS in-process (moto mock_aws)")
    parser.add_argument("--seed", type=int, default=7, help="the simulator's seed (7)")
    parser.add_argument(
        "--plant",
        action="store_true",
        help="with --simulator --moto, first create the state the function acts on",
    )
    parser.add_argument(
        "--findings-json",
        action="store_true",
        help="with --moto, print each finding that reached SNS as JSON (stderr)",
    )
    return parser


def main(
    argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = parser().parse_args(argv)
    if args.plant and not (args.simulator and args.moto):
        parser().error("--plant needs --simulator and --moto")
    spec = resolve_function(args.function, template_functions(), args.handler)
    attribute = args.handler or spec.attribute
    event = _read_event(args.event)

    changes: dict[str, str | None] = {}
    if args.env_vars is not None:
        changes |= env_overrides(args.env_vars, spec, err)

    with contextlib.ExitStack() as stack:
        if args.simulator:
            from local.simulator.generate import generate_scenario
            from local.simulator.server import SimulatorServer

            days, users, audit_events, login_events = SIMULATOR_SIZE
            scenario = generate_scenario(
                seed=args.seed,
                days=days,
                users=users,
                audit_events=audit_events,
                login_events=login_events,
                now=event_time(event),
            )
            simulator = stack.enter_context(SimulatorServer(scenario))
            planted = scenario.planted
            print(f"local.invoke: DocSpace simulator at {simulator.url}", file=err)
            changes |= {
                "DOCSPACE_URL": simulator.url,
                "DOCSPACE_API_KEY": simulator.api_key,
                "DOCSPACE_API_KEY_SECRET": None,
                # The simulator is on this machine: no request-rate budget (as in make demo).
                "DOCSPACE_REQUESTS_PER_SECOND": "0",
            }
            if (
                "INITIAL_LOOKBACK_HOURS" not in changes
                and "INITIAL_LOOKBACK_HOURS" not in os.environ
            ):
                changes["INITIAL_LOOKBACK_HOURS"] = "96"  # the planted cases are up to 2 days old
        if args.moto:
            from local.aws import REGION

            # Never let a mocked run sign with (or reach) real credentials.
            changes |= {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        stack.enter_context(patched_environ(changes))
        when = event_time(event) if _is_scheduled(event) else None
        if args.simulator and args.moto and when is not None:
            # Portal and AWS are both in this process: a scheduled example event (its time is
            # fixed) runs at its time, as it was delivered then. Against real AWS one more than
            # a day old is refused: its cursor would land in the past.
            stack.enter_context(clock_at(when))
        # Imported with stdout on stderr: Powertools' logger keeps the stream it was created with.
        with contextlib.redirect_stdout(err):
            handler = load_handler(spec.folder, attribute)
        from docspace_sentinel.runtime.handler import reset_caches

        aws = None
        if args.moto:
            from moto import mock_aws

            from local.aws import create_local_aws

            reset_caches()
            stack.callback(reset_caches)
            stack.enter_context(mock_aws())
            aws = create_local_aws()
            os.environ.update(aws.env())
        context = FakeContext(spec.logical_id, float(spec.timeout), spec.memory)
        if args.plant:
            plant(spec.folder, attribute, event, planted, stack, err)
        status = 0
        try:
            with contextlib.redirect_stdout(err):
                result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - reported as Lambda reports a failed invocation
            traceback.print_exc(file=err)
            result = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            status = 1
        print(json.dumps(result, indent=2, default=str), file=out)
        if aws is not None:
            findings = aws.findings()
            _print_sns(findings, aws.topic_arn, err)
            if args.findings_json:
                for finding in findings:
                    print(json.dumps(finding, default=str), file=err)
    return status


def plant(
    folder: str,
    attribute: str,
    event: Any,
    planted: Any,
    stack: contextlib.ExitStack,
    err: TextIO,
) -> None:
    """Before ``folder``'s invocation, what a deployment would have done earlier (``--plant``)."""
    if folder == "ip_allowlist" and attribute == "handler":
        register = load_handler("ip_allowlist", "register_handler")
        for user_id, entries in sorted(planted.allowlists.items()):
            with contextlib.redirect_stdout(err):
                register({"userId": user_id, "allowedIps": list(entries)}, FakeContext("register"))
            print(f"local.invoke --plant: registered {user_id}: {list(entries)}", file=err)
    elif folder == "restriction_release":
        when = event_time(event)
        if when is None:
            raise SystemExit("--plant: the release event needs a scheduledTime in the past")
        guard = load_handler("bulk_change_guard")
        with patched_environ({"MODE": "enforce"}), contextlib.redirect_stdout(err):
            summary = guard(
                {"scheduledTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "scheduleArn": "plant"},
                FakeContext("bulk_change_guard"),
            )
        print(
            "local.invoke --plant: bulk_change_guard (MODE=enforce) published "
            f"{summary.get('findingsPublished')} finding(s)",
            file=err,
        )
        minutes = int(os.environ.get("RESTRICTION_MINUTES") or 60)
        stack.enter_context(clock_at(when + timedelta(minutes=minutes + 1)))
        print(f"local.invoke --plant: the release runs {minutes + 1} minutes later", file=err)
    else:
        print(f"local.invoke --plant: nothing to plant for {folder}", file=err)


if __name__ == "__main__":
    raise SystemExit(main())
