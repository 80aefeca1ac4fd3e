"""template.yaml against the code, the README, samconfig.toml, env.json and events/ (no AWS).

The environment a function is given (Globals plus its own ``Environment.Variables``) must be
exactly what its code reads: a variable the code reads but the template does not declare cannot
be set per stack (nor by ``sam local invoke --env-vars``), and one the template declares but
the code never reads is a setting that silently does nothing.

What the code reads is recorded, not guessed: each handler names the settings classes it reads
(``handler.settings_classes``, set by ``workflow_handler`` and the registration handler), and
each is built with ``from_env(env)`` over a mapping that records every key asked for. The values
are those of a deployed function (a secret name, not a plain key; ``AWS_LAMBDA_FUNCTION_NAME``
set), so the branch Lambda takes is the one recorded. Every name read is one of the env-name
constants of the classes read (their ``UPPER_CASE`` string attributes); a ``DEPRECATED_*`` one
is an older name still accepted, read but not declared.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import docspace_sentinel
from docspace_sentinel.docspace import settings as client_settings_module
from docspace_sentinel.runtime import config
from local.invoke import FunctionSpec, load_template, template_functions
from local.lambda_runtime import ROOT, load_handler
from tests.support import env_constants, parts

TEMPLATE = load_template()
FUNCTIONS = template_functions(TEMPLATE)
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def config_section(spec: FunctionSpec) -> str | None:
    """The configuration document's section the function reads, if it reads the document."""
    section: str | None = getattr(load_handler(spec.folder, spec.attribute), "config_section", None)
    return section


def settings_classes(spec: FunctionSpec) -> tuple[type, ...]:
    """The settings classes the function's handler reads (it says so itself)."""
    classes: tuple[type, ...] = load_handler(spec.folder, spec.attribute).settings_classes
    return classes


#: Read by the Lambda runtime or Powertools, not by our settings: may be declared freely.
RUNTIME_PREFIXES = ("POWERTOOLS_", "AWS_")

#: What a deployed function has in its environment where the code needs a value to go on.
DEPLOYED_VALUES = {
    "DOCSPACE_URL": "https://portal.example.com",
    "DOCSPACE_API_KEY_SECRET": "docspace-sentinel/api-key",
    "STATE_TABLE": "docspace-sentinel-state",
    "FINDINGS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:docspace-sentinel-findings",
    "AWS_LAMBDA_FUNCTION_NAME": "docspace-sentinel-function",
    "REALTIME_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/realtime",
    "DOCSPACE_WEBHOOK_SECRET_ARN": "docspace-sentinel/webhook-secret",
}

#: Functions that do not scan the portal, so read none of the Globals' variables. SAM gives
#: every function the Globals (there is no opting out), so for these only their own variables
#: must all be read. (Moving the scanning variables out of Globals would lift this.)
NOT_SCANNING = {"WebhookReceiverFunction"}
GLOBAL_VARIABLES = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])


class RecordingEnv(dict[str, str]):
    """A mapping that remembers every key the code asks for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)


def variables_read(spec: FunctionSpec, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    # The secret is "fetched" without AWS: only which variables are read matters here.
    monkeypatch.setattr(client_settings_module, "_fetch_secret", lambda name, max_age: "sk-test")
    env = RecordingEnv(DEPLOYED_VALUES)
    for cls in settings_classes(spec):
        cls.from_env(env)  # type: ignore[attr-defined]
    if config_section(spec) is not None:
        config.config_parameter(env)  # the handler reads the document's name too
    deprecated = set().union(*(env_constants(c, "DEPRECATED_") for c in settings_classes(spec)))
    return env.read - deprecated


def _ids(specs: Mapping[str, FunctionSpec]) -> list[str]:
    return sorted(specs)


def test_the_template_has_functions() -> None:
    assert FUNCTIONS, "template.yaml has no AWS::Serverless::Function"


@pytest.mark.parametrize("logical_id", _ids(FUNCTIONS))
def test_handler_module_and_attribute_exist(logical_id: str) -> None:
    spec = FUNCTIONS[logical_id]
    code_uri = TEMPLATE["Resources"][logical_id]["Properties"]["CodeUri"]
    assert code_uri.rstrip("/") == f"functions/{spec.folder}", f"{logical_id}: CodeUri {code_uri}"
    assert spec.module == "app", f"{logical_id}: Handler must be app.<attribute>"
    assert (ROOT / "functions" / spec.folder / "app.py").is_file()
    handler = load_handler(spec.folder, spec.attribute)
    assert callable(handler), f"{logical_id}: functions/{spec.folder}/app.py:{spec.attribute}"


@pytest.mark.parametrize("logical_id", _ids(FUNCTIONS))
def test_every_handler_names_its_settings(logical_id: str) -> None:
    spec = FUNCTIONS[logical_id]
    classes = settings_classes(spec)
    assert classes, f"{logical_id}: its handler names no settings classes"
    assert all(callable(getattr(c, "from_env", None)) for c in classes), classes


@pytest.mark.parametrize("logical_id", _ids(FUNCTIONS))
def test_declared_environment_equals_what_the_code_reads(
    logical_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = FUNCTIONS[logical_id]
    read = {name for name in variables_read(spec, monkeypatch) if not name.startswith("AWS_")}
    declared = {name for name in spec.variables if not name.startswith(RUNTIME_PREFIXES)}
    undeclared = sorted(read - declared)
    unread = sorted(declared - read)
    if logical_id in NOT_SCANNING:
        assert not read & GLOBAL_VARIABLES, f"{logical_id} reads Globals: drop it from NOT_SCANNING"
        unread = sorted(declared - read - GLOBAL_VARIABLES)
    problems = []
    if undeclared:
        problems.append(f"read by the code but not declared: {', '.join(undeclared)}")
    if unread:
        problems.append(f"declared but never read by the code: {', '.join(unread)}")
    # One place per name: every variable read is an env-name constant of a settings class.
    named = set().union(*(env_constants(c) for c in settings_classes(spec)))
    unnamed = sorted(read - named - {config.CONFIG_PARAMETER})
    if unnamed:
        problems.append(f"read but no settings class's constant: {', '.join(unnamed)}")
    assert not problems, f"{logical_id}: " + "; ".join(problems)


def _settings_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(docspace_sentinel.__path__, "docspace_sentinel."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and value.__module__ == module.__name__
                and "from_env" in vars(value)
                and value.__name__ != "DocSpaceClient"  # wraps ClientSettings.from_env
                and not getattr(value, "_is_protocol", False)  # handler.SettingsClass
            ):
                found[value.__name__] = value
    return found


def test_every_settings_class_is_read_by_a_handler() -> None:
    used = {
        part.__name__
        for spec in FUNCTIONS.values()
        for cls in settings_classes(spec)
        for part in parts(cls)
    }
    missing = sorted(set(_settings_classes()) - used)
    assert not missing, f"settings classes no handler reads: {', '.join(missing)}"


def _all_template_variables() -> set[str]:
    names: set[str] = set()
    for spec in FUNCTIONS.values():
        names |= spec.variables
    return names


def test_the_docs_document_every_template_variable() -> None:
    missing = sorted(
        name
        for name in _all_template_variables()
        if not re.search(rf"(?<![A-Z0-9_]){re.escape(name)}(?![A-Z0-9_])", README + CONFIGURATION)
    )
    assert not missing, f"README.md and docs/configuration.md do not mention: {', '.join(missing)}"
    assert "(docs/configuration.md)" in README


def _override_names(value: Any) -> list[str]:
    items = shlex.split(value) if isinstance(value, str) else list(value)
    return [str(item).split("=", 1)[0] for item in items]


def test_samconfig_overrides_name_template_parameters() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    parameters = set(TEMPLATE.get("Parameters", {}))
    unknown: list[str] = []
    for environment, commands in config.items():
        if not isinstance(commands, dict):
            continue
        for command, table in commands.items():
            overrides = (table.get("parameters") or {}).get("parameter_overrides")
            if overrides is None:
                continue
            unknown += [
                f"{environment}.{command}: {name}"
                for name in _override_names(overrides)
                if name not in parameters
            ]
    assert not unknown, f"samconfig.toml overrides parameters the template lacks: {unknown}"


def test_every_parameter_has_a_description() -> None:
    bare = sorted(
        name
        for name, parameter in TEMPLATE.get("Parameters", {}).items()
        if not str(parameter.get("Description", "")).strip()
    )
    assert not bare, f"parameters without a Description: {', '.join(bare)}"


# -- env.json and events/ (what sam local invoke and python -m local.invoke read) ---------------


def test_env_json_declares_exactly_the_template_variables() -> None:
    data = json.loads((ROOT / "env.json").read_text(encoding="utf-8"))
    assert all(isinstance(v, dict) for v in data.values()), "sam needs an object per key"
    sections = {k for k in data if not k.startswith("_")}
    assert sections == set(FUNCTIONS), (
        f"env.json functions differ: missing {sorted(set(FUNCTIONS) - sections)}, "
        f"unknown {sorted(sections - set(FUNCTIONS))}"
    )
    problems = []
    for logical_id, spec in FUNCTIONS.items():
        names = set(data[logical_id])
        if names != spec.variables:
            problems.append(
                f"{logical_id}: missing {sorted(spec.variables - names)}, "
                f"not declared {sorted(names - spec.variables)}"
            )
        if any(not isinstance(v, str) for v in data[logical_id].values()):
            problems.append(f"{logical_id}: values must be strings")
    assert not problems, "; ".join(problems)
    for section in data.values():
        if "DOCSPACE_URL" in section:
            assert section["DOCSPACE_URL"] == "http://127.0.0.1:8765"


def _event(name: str) -> Any:
    path = ROOT / "events" / f"{name}.json"
    assert path.is_file(), f"events/{name}.json is missing"
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_event_file_is_a_json_object() -> None:
    files = sorted((ROOT / "events").glob("*.json"))
    assert files
    for path in files:
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict), path.name


def _events_of(logical_id: str) -> dict[str, Any]:
    events: dict[str, Any] = TEMPLATE["Resources"][logical_id]["Properties"].get("Events") or {}
    return events


@pytest.mark.parametrize("logical_id", _ids(FUNCTIONS))
def test_every_function_has_an_example_event(logical_id: str) -> None:
    spec = FUNCTIONS[logical_id]
    event = _event(spec.event_name)
    for source in _events_of(logical_id).values():
        if source["Type"] == "ScheduleV2":
            shape = json.loads(source["Properties"]["Input"])
            assert set(event) == set(shape), f"events/{spec.event_name}.json: {sorted(shape)}"
            assert event["scheduleArn"].startswith("arn:aws:scheduler:")
        elif source["Type"] == "EventBridgeRule":
            pattern = source["Properties"]["Pattern"]
            [source_ref] = pattern["source"]
            mapping, top, second = source_ref["Fn::FindInMap"]
            assert event["source"] == TEMPLATE["Mappings"][mapping][top][second]
            assert [event["detail-type"]] == pattern["detail-type"]
            detail = event["detail"]
            assert ("userId" in detail or "email" in detail) and detail["allowedIps"]


@pytest.mark.parametrize(
    "logical_id",
    [
        k
        for k in _ids(FUNCTIONS)
        if TEMPLATE["Resources"][k]["Properties"].get("FunctionUrlConfig", {}).get("AuthType")
        == "AWS_IAM"
    ],
)
def test_function_url_example_is_an_http_v2_request(logical_id: str) -> None:
    event = _event(f"{FUNCTIONS[logical_id].event_name}_url")
    assert event["version"] == "2.0" and event["requestContext"]["http"]["method"] == "POST"
    assert set(json.loads(event["body"])) == {"from", "to"}


def test_only_the_webhook_receiver_has_an_unauthenticated_function_url() -> None:
    public = [
        k
        for k in _ids(FUNCTIONS)
        if TEMPLATE["Resources"][k]["Properties"].get("FunctionUrlConfig", {}).get("AuthType")
        == "NONE"
    ]
    assert public == ["WebhookReceiverFunction"]
    head = _event("webhook_receiver_head")
    assert head["version"] == "2.0" and head["requestContext"]["http"]["method"] == "HEAD"
    post = _event("webhook_receiver")
    assert post["requestContext"]["http"]["method"] == "POST"
    assert post["headers"]["x-docspace-signature-256"].startswith("sha256=")


def test_on_demand_and_query_examples() -> None:
    window = _event("vdr_activity_window")
    assert set(window) == {"from", "to"}
    for name in ("login_audit_query_failures", "login_audit_query_user", "login_audit_query_last"):
        assert _event(name)


def test_event_names_are_unique() -> None:
    names = [spec.event_name for spec in FUNCTIONS.values()]
    assert len(names) == len(set(names))


def test_template_path_is_the_repository_template() -> None:
    assert Path(ROOT / "template.yaml").is_file()
