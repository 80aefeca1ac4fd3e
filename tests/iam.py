"""A small evaluator of the IAM policies template.yaml gives its functions, for the tests.

moto does not enforce IAM, so a policy that is too narrow (AccessDenied in AWS) or too wide
(a function that may rewrite another's records) passes every moto test. The tests instead take
each function's role as SAM's own transform writes it, resolve the intrinsic functions with
fixed names, and evaluate it against requests: recorded ones (what the code did while it ran)
and forbidden ones (what it must never be able to do).

Only the IAM features the template uses are modelled: Allow and Deny, ``Action`` and
``Resource`` with wildcards, and the condition operators below (with the ``ForAllValues:`` /
``ForAnyValue:`` set operators). Anything else raises ``Unsupported``: a policy this module does
not understand must fail the test, not pass it.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PARTITION = "aws"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK = "sentinel"
TABLE_NAME = "sentinel-StateTable"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE_NAME}"
TOPIC_NAME = "sentinel-FindingsTopic"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}"

#: The parameters the template is resolved with (the rest take their defaults).
PARAMETERS = {
    "DocSpaceUrl": "https://portal.example.com",
    "DocSpaceApiKeySecret": "docspace-sentinel/api-key",
    "ReminderSender": "reminders@example.com",
    "WebhookSecretArn": "docspace-sentinel/webhook-secret",
}
REALTIME_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:sentinel-RealtimeQueue"
#: The same with both exports on (Security Hub, an EventBridge bus).
EXPORT_BUS = "security-team"
EXPORTS_ON = {**PARAMETERS, "SecurityHubExport": "true", "EventBusName": EXPORT_BUS}
PRODUCT_ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
HUB_ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default"
EXPORT_BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{EXPORT_BUS}"

#: What ``Ref`` / ``Fn::GetAtt`` of the stack's resources resolve to.
CONFIG_PARAMETER_NAME = f"/{STACK}/config"
CONFIG_PARAMETER_ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{CONFIG_PARAMETER_NAME}"
REFS = {
    "ConfigDocument": CONFIG_PARAMETER_NAME,
    "StateTable": TABLE_NAME,
    "FindingsTopic": TOPIC_ARN,
    "OperationsTopic": f"arn:aws:sns:{REGION}:{ACCOUNT}:sentinel-OperationsTopic",
    "TopicKey": "key-0001",
    "RealtimeQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/sentinel-RealtimeQueue",
}
ATTRIBUTES = {
    ("StateTable", "Arn"): TABLE_ARN,
    ("FindingsTopic", "TopicName"): TOPIC_NAME,
    ("TopicKey", "Arn"): f"arn:aws:kms:{REGION}:{ACCOUNT}:key/key-0001",
    ("RealtimeQueue", "Arn"): REALTIME_QUEUE_ARN,
}
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": STACK,
    "AWS::URLSuffix": "amazonaws.com",
}
_NO_VALUE = object()


class Unsupported(AssertionError):
    """The policy uses an IAM feature this evaluator does not model."""


# -- resolving the template ---------------------------------------------------------------------


class Resolver:
    """Intrinsic functions of one template, with fixed names for the stack's resources."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
        self.template = template
        self.parameters: dict[str, Any] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            value = parameters.get(name, spec.get("Default", ""))
            if spec.get("Type") == "CommaDelimitedList":
                value = [v.strip() for v in str(value).split(",")]
            self.parameters[name] = value
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, arg)] = node.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                target, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if (target, attribute) not in ATTRIBUTES:
                    return f"<{target}.{attribute}>"
                return ATTRIBUTES[(target, attribute)]
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in arg)
                return left == right
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Select":
                index, items = arg
                return self.value(items)[int(self.value(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.value(text)).split(separator)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(i) for i in self.value(items))
            if key == "Fn::FindInMap":
                mapping, top, second = (self.value(a) for a in arg)
                return self.template["Mappings"][mapping][top][second]
            if key.startswith("Fn::"):
                raise Unsupported(f"intrinsic {key}")
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        return REFS.get(name, f"<{name}>")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        values = {k: self.value(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name:
                target, attribute = name.split(".", 1)
                return str(self.value({"Fn::GetAtt": [target, attribute]}))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def config_document(template: Mapping[str, Any], **parameters: str) -> Any:
    """The template's configuration document (ConfigDocument's value), parsed."""
    resolver = Resolver(template, {**PARAMETERS, **parameters})
    return json.loads(
        resolver.value(template["Resources"]["ConfigDocument"]["Properties"]["Value"])
    )


def translate(template: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudFormation template ``sam`` deploys (SAM's transform; no AWS is called)."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    source = copy.deepcopy(dict(template))
    for resource in source["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = "s3://bucket/code.zip"
    translated: dict[str, Any] = transform(source, dict(PARAMETERS), NoManagedPolicies())
    return translated


def function_statements(
    translated: Mapping[str, Any], function: str, parameters: Mapping[str, str] = PARAMETERS
) -> list[dict[str, Any]]:
    """Every statement of the inline policies of ``function``'s execution role, resolved."""
    role = translated["Resources"][function]["Properties"]["Role"]
    role_id = role["Fn::GetAtt"][0]
    properties = translated["Resources"][role_id]["Properties"]
    resolver = Resolver(translated, parameters)
    statements: list[dict[str, Any]] = []
    for policy in resolver.value(properties.get("Policies") or []):
        found = policy["PolicyDocument"]["Statement"]
        statements += found if isinstance(found, list) else [found]
    return statements


# -- evaluating -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Who asks, for resource policies: a service (``cloudwatch.amazonaws.com``) or an ARN.
    principal: str | None = None

    def __str__(self) -> str:
        keys = ", ".join(f"{k}={list(v)}" for k, v in sorted(self.context.items()))
        return f"{self.action} on {self.resource}" + (f" [{keys}]" if keys else "")


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    # IAM wildcards are * and ? only: fnmatch's [...] must not be a character class.
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


_MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringLike": _like,
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": _like,
}


def _operator_holds(
    operator: str, key: str, wanted: list[str], present: Sequence[str] | None
) -> bool:
    set_op, _, base = operator.rpartition(":")
    if base == "Null":
        if set_op:
            raise Unsupported(operator)
        [flag] = wanted
        return (present is None) == (flag.lower() == "true")
    negated = base.endswith("NotEquals") or base.endswith("NotLike")
    positive = base.replace("Not", "", 1) if negated else base
    if positive not in _MATCHERS:
        raise Unsupported(f"condition operator {operator}")
    match = _MATCHERS[positive]

    def one(value: str) -> bool:
        hit = any(match(p, value) for p in wanted)
        return not hit if negated else hit

    if set_op == "ForAllValues":
        return present is None or all(one(v) for v in present)  # vacuously true, as in IAM
    if set_op == "ForAnyValue":
        return present is not None and any(one(v) for v in present)
    if set_op:
        raise Unsupported(operator)
    if present is None:
        return negated  # a missing key: a negated operator matches, a positive one does not
    if len(present) != 1:
        raise Unsupported(f"{operator} on the multi-valued key {key}")
    return one(present[0])


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    for operator, block in conditions.items():
        for key, wanted in block.items():
            present = request.context.get(key)
            if not _operator_holds(operator, key, _listed(wanted), present):
                return False
    return True


def _principal_matches(principal: Any, request: Request) -> bool:
    """A resource policy's ``Principal`` (identity policies have none)."""
    if principal is None or principal == "*" or principal == {"AWS": "*"}:
        return True
    if isinstance(principal, Mapping) and set(principal) <= {"AWS", "Service"}:
        return any(request.principal in _listed(v) for v in principal.values())
    raise Unsupported(f"Principal {principal}")


def statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    for unsupported in ("NotAction", "NotResource", "NotPrincipal"):
        if unsupported in statement:
            raise Unsupported(unsupported)
    if not _principal_matches(statement.get("Principal"), request):
        return False
    if not any(_like(a, request.action, case=False) for a in _listed(statement["Action"])):
        return False
    if not any(_like(r, request.resource) for r in _listed(statement.get("Resource", "*"))):
        return False
    return conditions_hold(statement.get("Condition") or {}, request)


def decide(statements: Iterable[Mapping[str, Any]], request: Request) -> str:
    """``allow``, ``deny`` (an explicit Deny) or ``implicit`` (nothing allows it)."""
    allowed = False
    for statement in statements:
        if statement_matches(statement, request):
            if statement["Effect"] == "Deny":
                return "deny"
            allowed = True
    return "allow" if allowed else "implicit"


def dynamodb_request(operation: str, *pks: str, table_arn: str = TABLE_ARN) -> Request:
    """A request to the state table; ``pks`` are the partition keys it names (none: a Scan)."""
    context = {"dynamodb:LeadingKeys": tuple(pks)} if pks else {}
    return Request(f"dynamodb:{operation}", table_arn, context)
