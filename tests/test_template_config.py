"""The deployer's parameters, the configuration document, the schedules and the VPC mode of
template.yaml, against the code (no AWS).

Every setting a function reads is either a key of the template's configuration document (with
a default there, and an empty override slot in the function's environment) or a variable the
template sets itself (the stack's table, topic, portal URL, secret names).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from docspace_sentinel.docspace import settings as client_settings_module
from docspace_sentinel.runtime import config
from local.invoke import FunctionSpec, load_template, template_functions
from local.lambda_runtime import ROOT, load_handler
from tests import iam
from tests.test_template import DEPLOYED_VALUES, RecordingEnv, config_section, settings_classes

TEMPLATE = load_template()
FUNCTIONS = template_functions(TEMPLATE)
PARAMETERS = TEMPLATE["Parameters"]
READERS = {k: s for k, s in FUNCTIONS.items() if config_section(s) is not None}
#: cfn-lint next to this interpreter (the project's venv), else on PATH.
CFN_LINT = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which(
    "cfn-lint"
)
VPC = {
    "SubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
    "SecurityGroupIds": "sg-0123456789abcdef0",
}


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", iam.REGION)


def _section(spec: FunctionSpec) -> str:
    section = config_section(spec)
    assert section is not None
    return section


def _declared(logical_id: str) -> dict[str, Any]:
    own = TEMPLATE["Resources"][logical_id]["Properties"].get("Environment", {})
    return {
        **TEMPLATE["Globals"]["Function"]["Environment"]["Variables"],
        **own.get("Variables", {}),
    }


# -- parameters -------------------------------------------------------------------------------------


def test_a_deployer_answers_at_most_twelve_parameters() -> None:
    # Issue 17 brought it to twelve; sam deploy --guided asks its own few besides.
    assert len(PARAMETERS) <= 12, sorted(PARAMETERS)
    grouped = [
        name
        for group in TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        for name in group["Parameters"]
    ]
    assert sorted(grouped) == sorted(PARAMETERS)


def test_samconfig_deploys_no_placeholder_and_tags_the_stack() -> None:
    text = (ROOT / "samconfig.toml").read_text(encoding="utf-8")
    samconfig = tomllib.loads(text)
    assert "example" not in text.split("version", 1)[1]
    for environment in ("default", "prod"):
        deploy = samconfig[environment]["deploy"]["parameters"]
        assert "parameter_overrides" not in deploy, environment
        assert 'project="docspace-sentinel"' in deploy["tags"], environment


def test_nothing_is_traced_so_x_ray_is_off(region: None) -> None:
    translated = iam.translate(TEMPLATE)["Resources"]
    for logical_id in FUNCTIONS:
        function = translated[logical_id]["Properties"]
        assert function.get("TracingConfig", {"Mode": "PassThrough"}) == {"Mode": "PassThrough"}
        role = translated[f"{logical_id}Role"]["Properties"]
        assert not [a for a in role["ManagedPolicyArns"] if "Xray" in str(a)], logical_id


# -- the configuration document --------------------------------------------------------------------


def test_the_document_holds_exactly_the_settings_the_code_knows_and_fits_a_standard_parameter() -> (
    None
):
    document = iam.config_document(TEMPLATE)
    assert set(document) == set(config.DOCUMENT_KEYS)
    shared = config.DOCUMENT_KEYS[config.SHARED]
    assert set(document[config.SHARED]) == shared
    for section, known in config.DOCUMENT_KEYS.items():
        # a workflow section holds its own settings; those it shares come from "shared"
        assert set(document[section]) | shared == known | shared, section
    resolver = iam.Resolver(TEMPLATE, iam.PARAMETERS)
    text = resolver.value(TEMPLATE["Resources"]["ConfigDocument"]["Properties"]["Value"])
    assert len(text.encode()) <= 4096  # the Standard tier's limit (Advanced costs money)
    properties = TEMPLATE["Resources"]["ConfigDocument"]["Properties"]
    assert properties["Type"] == "String" and properties["Tier"] == "Standard"


def _read(spec: FunctionSpec, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(client_settings_module, "_fetch_secret", lambda name, max_age: "sk-test")
    values = [cls.from_env(env) for cls in settings_classes(spec)]  # type: ignore[attr-defined]
    for value in values:
        validate = getattr(value, "validate", None)
        if validate is not None:
            validate(values[0])
    # repr: the API key compares by identity and is left out of it
    return [repr(v() if callable(v) else v) for v in values]


@pytest.mark.parametrize("mode", ["dry-run", "enforce"])
@pytest.mark.parametrize("logical_id", sorted(READERS))
def test_the_document_s_defaults_are_the_code_s_defaults(
    logical_id: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local run without a document behaves as a new stack; every default is valid, also
    across settings (the rules ``validate`` checks)."""
    spec = READERS[logical_id]
    document = iam.config_document(TEMPLATE, ResponseMode=mode)
    from_document = config.document_env(document, _section(spec))
    with_document = _read(spec, {**DEPLOYED_VALUES, **from_document}, monkeypatch)
    if mode == "dry-run":
        assert with_document == _read(spec, dict(DEPLOYED_VALUES), monkeypatch)
    elif "MODE" in from_document:
        assert from_document["MODE"] == "enforce"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_setting_read_is_a_document_key_or_set_by_the_template(
    logical_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = FUNCTIONS[logical_id]
    monkeypatch.setattr(client_settings_module, "_fetch_secret", lambda name, max_age: "sk-test")
    env = RecordingEnv(DEPLOYED_VALUES)
    for cls in settings_classes(spec):
        cls.from_env(env)  # type: ignore[attr-defined]
    declared = _declared(logical_id)
    section = config_section(spec)
    keys = (
        set()
        if section is None
        else config.DOCUMENT_KEYS[config.SHARED] | config.DOCUMENT_KEYS[section]
    )
    document = iam.config_document(TEMPLATE)
    defaults = {**document[config.SHARED], **document.get(section or "", {})}
    for name in env.read:
        if name.startswith("AWS_") or name == config.CONFIG_PARAMETER or name not in declared:
            continue  # the runtime's, or read but not declared (test_template.py says so)
        if declared[name] == "":
            assert name in keys and name in defaults, f"{logical_id}: {name} is an empty slot"
        else:
            assert name not in keys, f"{logical_id}: {name} is set in both places"
    if section is not None:
        assert declared[config.CONFIG_PARAMETER] == {"Ref": "ConfigDocument"}
        # every document key this function may read has a slot (sam local invoke --env-vars)
        read_keys = {n for n in keys if n in env.read}
        assert all(declared.get(n) == "" for n in read_keys), logical_id


def test_every_document_key_is_read_by_some_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_settings_module, "_fetch_secret", lambda name, max_age: "sk-test")
    read: dict[str, set[str]] = {}
    for spec in READERS.values():
        env = RecordingEnv(DEPLOYED_VALUES)
        for cls in settings_classes(spec):
            cls.from_env(env)  # type: ignore[attr-defined]
        read.setdefault(_section(spec), set()).update(env.read)
    everyone = set().union(*read.values())
    assert config.DOCUMENT_KEYS[config.SHARED] <= everyone
    for section, keys in config.DOCUMENT_KEYS.items():
        if section != config.SHARED:
            assert keys <= read[section], (section, sorted(keys - read[section]))


# -- schedules: one value per workflow ----------------------------------------------------------


def _seconds(expression: str) -> int:
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression)
    if rate:
        return int(rate.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[rate.group(2)]
    if re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", expression):
        return 86400  # daily
    assert re.fullmatch(r"cron\(\d+ \d+ 1 \* \? \*\)", expression), expression
    return 86400  # monthly: no alarm can watch more than a day


def test_each_period_s_expression_and_length_agree() -> None:
    for name, period in TEMPLATE["Mappings"]["Periods"].items():
        assert _seconds(period["Expression"]) == int(period["Seconds"]), name
        assert int(period["Seconds"]) % 60 == 0 and int(period["Seconds"]) <= 86400


def test_a_schedule_and_its_stale_alarm_come_from_one_value() -> None:
    resolver = iam.Resolver(TEMPLATE, iam.PARAMETERS)
    resources = TEMPLATE["Resources"]
    schedules = TEMPLATE["Mappings"]["Schedules"]
    seen = set()
    for logical_id in FUNCTIONS:
        for source in resources[logical_id]["Properties"].get("Events", {}).values():
            if source["Type"] != "ScheduleV2":
                continue
            expression = source["Properties"]["ScheduleExpression"]
            periods, inner, field = expression["Fn::FindInMap"]
            _, key, _ = inner["Fn::FindInMap"]
            assert (periods, field) == ("Periods", "Expression") and key in schedules
            seen.add(key)
            alarm = resources.get(logical_id.replace("Function", "StaleAlarm"))
            if alarm is None:
                assert key == "InactiveMembers", f"{logical_id} has no stale alarm"
                continue
            assert alarm["Properties"]["Period"] == {
                "Fn::FindInMap": [
                    "Periods",
                    {"Fn::FindInMap": ["Schedules", key, "Period"]},
                    "Seconds",
                ]
            }
            assert _seconds(resolver.value(expression)) == int(
                resolver.value(alarm["Properties"]["Period"])
            )
    assert seen == set(schedules)


# -- the optional VPC mode ----------------------------------------------------------------------


def _functions(**parameters: str) -> dict[str, Any]:
    translated = iam.translate(TEMPLATE)
    resolver = iam.Resolver(translated, {**iam.PARAMETERS, **parameters})
    return {k: resolver.value(translated["Resources"][k]["Properties"]) for k in FUNCTIONS}


def test_without_subnets_no_function_is_in_a_vpc(region: None) -> None:
    assert all("VpcConfig" not in p for p in _functions().values())


def test_with_subnets_every_function_that_calls_the_portal_is_in_the_vpc(region: None) -> None:
    functions = _functions(**VPC)
    for logical_id, properties in functions.items():
        if logical_id in READERS:
            assert properties["VpcConfig"] == {
                "SubnetIds": VPC["SubnetIds"].split(","),
                "SecurityGroupIds": VPC["SecurityGroupIds"].split(","),
            }, logical_id
        else:
            assert "VpcConfig" not in properties, f"{logical_id} never calls the portal"


ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def _inline_statements(logical_id: str, **parameters: str) -> list[dict[str, Any]]:
    translated = iam.translate(TEMPLATE)
    role = translated["Resources"][logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    resolver = iam.Resolver(translated, {**iam.PARAMETERS, **parameters})
    found: list[dict[str, Any]] = []
    for policy in resolver.value(translated["Resources"][role]["Properties"].get("Policies", [])):
        statement = policy["PolicyDocument"]["Statement"]
        found += statement if isinstance(statement, list) else [statement]
    return found


@pytest.mark.parametrize("logical_id", sorted(READERS))
def test_network_interface_rights_only_in_vpc_mode(logical_id: str, region: None) -> None:
    """SAM attaches AWSLambdaVPCAccessExecutionRole to a function declaring VpcConfig even when
    the condition leaves it unset; outside VPC mode an inline Deny takes its ENI rights back."""
    translated = iam.translate(TEMPLATE)["Resources"]
    role = translated[f"{logical_id}Role"]["Properties"]
    assert any("AWSLambdaVPCAccessExecutionRole" in str(a) for a in role["ManagedPolicyArns"])
    off = _inline_statements(logical_id)
    on = _inline_statements(logical_id, **VPC)
    for action in ENI_ACTIONS:
        request = iam.Request(action, "*")
        assert iam.decide(off, request) == "deny", (logical_id, action)
        assert iam.decide(on, request) != "deny", (logical_id, action)


def test_the_receiver_has_no_network_interface_rights(region: None) -> None:
    role = iam.translate(TEMPLATE)["Resources"]["WebhookReceiverFunctionRole"]["Properties"]
    assert not [a for a in role["ManagedPolicyArns"] if "VPCAccess" in str(a)]


def _rule_holds(node: Any, parameters: dict[str, list[str]]) -> bool:
    [(key, arg)] = node.items()
    if key == "Fn::Not":
        return not _rule_holds(arg[0], parameters)
    assert key == "Fn::EachMemberEquals", key
    values, expected = parameters[arg[0]["Ref"]], arg[1]
    return all(v == expected for v in values)


@pytest.mark.parametrize(
    ("subnets", "groups", "accepted"),
    [
        ("", "", True),
        (VPC["SubnetIds"], VPC["SecurityGroupIds"], True),
        (VPC["SubnetIds"], "", False),
        ("", VPC["SecurityGroupIds"], False),
    ],
)
def test_the_vpc_mode_needs_both_subnets_and_security_groups(
    subnets: str, groups: str, accepted: bool
) -> None:
    parameters = {"SubnetIds": subnets.split(","), "SecurityGroupIds": groups.split(",")}
    holds = all(
        _rule_holds(assertion["Assert"], parameters)
        for rule in TEMPLATE["Rules"].values()
        if _rule_holds(rule["RuleCondition"], parameters)
        for assertion in rule["Assertions"]
    )
    assert holds == accepted


@pytest.mark.skipif(CFN_LINT is None, reason="cfn-lint is not installed")
@pytest.mark.parametrize("vpc", [False, True], ids=["no-vpc", "vpc"])
def test_cfn_lint_passes_with_the_vpc_mode_off_and_on(vpc: bool) -> None:
    values = {"DocSpaceUrl": "https://portal.example.com", "DocSpaceApiKeySecret": "a/key"}
    if vpc:
        values |= VPC
    command = [CFN_LINT or "cfn-lint", str(ROOT / "template.yaml"), "--parameters"]
    command += [f"{k}={v}" for k, v in values.items()]
    result = subprocess.run(  # noqa: S603 - our own cfn-lint on our own template
        command, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_handlers_read_the_document_the_template_passes() -> None:
    for logical_id, spec in READERS.items():
        handler = load_handler(spec.folder, spec.attribute)
        assert handler.config_section in config.DOCUMENT_KEYS, logical_id
    assert json.loads(json.dumps(iam.config_document(TEMPLATE)))  # plain JSON
