"""Least privilege in template.yaml: each function's IAM policy against what its code does.

moto does not enforce IAM. So the policies are evaluated here (tests/iam.py) on the roles SAM's
own transform writes, against two kinds of request:

* what the code does: every workflow runs against the simulator and moto while every AWS call
  it makes is recorded (operation, table, partition keys, topic, sender); each recorded call must
  be allowed by the policy of the function that made it, or it would be AccessDenied in AWS;
  and every DynamoDB action and partition-key pattern a function is granted must have been used
  by it (a grant nothing uses is privilege nobody needs). A code change that touches a new
  record type, or stops touching one, fails here until the template follows;
* what a function must never do: the VDR monitor cannot touch restriction, allowlist or
  IP-sync records, no function but the allowlist ones can Scan, and so on (evaluated without
  running anything).

``STATE_ACCESS`` below is the resulting table, kept here so that a change of privilege shows
up in review as a change of this table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.client import BaseClient

from docspace_sentinel.findings.errors import MailError
from docspace_sentinel.findings.suppression import Rule, RuleStore, new_rule_id
from docspace_sentinel.runtime import config
from docspace_sentinel.state import keys as state_keys
from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
from local.aws import LocalAws
from local.invoke import load_template, template_functions
from local.lambda_runtime import invoke
from local.simulator.faults import Faults
from local.simulator.server import SimulatorServer
from local.simulator.wire import to_micros
from tests import iam
from tests.e2e import iso, point_at, scheduled, utc_now

TEMPLATE = load_template()
FUNCTIONS = template_functions(TEMPLATE)

#: The state-table access of each function, as the template grants it: groups of actions, each
#: on some partition-key patterns (``*`` wildcard; ``None``: no key, i.e. a Scan, which reads
#: the whole table). Each group is one policy statement.
Grants = tuple[tuple[tuple[str, ...], tuple[str | None, ...]], ...]
RUN = ("GetItem", "PutItem", "DeleteItem")  # the runner's claims, lock, cursor, sent findings
SYNC = ("lock#ip_allowlist_sync", "ipsync")  # one portal sync at a time; what it added
ALLOW = (("Query",), ("allow",))  # the allowlist listing
#: Until the marker says the allowlists are in the version-2 layout, one Scan looks for old ones.
LAYOUT = (("GetItem", "PutItem"), ("schema",))
SCAN = (("Scan",), (None,))
#: Our own portal writes, noted before each is made (state/journal.py).
JOURNAL = (("PutItem",), ("ownact",))
#: The suppression rules, read once per run by every function that publishes (a rule's hits are
#: written beside the published findings, in ``sent#<workflow>``).
RULES = (("Query",), ("suppress",))


def _runner(workflow: str) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    return RUN, (f"run#{workflow}", f"lock#{workflow}", f"cursor#{workflow}", f"sent#{workflow}")


STATE_ACCESS: dict[str, Grants] = {
    "VdrActivityFunction": (
        _runner("vdr_activity"),
        RULES,
        (("UpdateItem", "Query"), ("activity#*",)),
    ),
    "LoginAuditFunction": (_runner("login_audit"), RULES),
    "ConfigWatchFunction": (
        _runner("config_watch"),
        RULES,
        (("GetItem", "PutItem"), ("cfgsnap",)),  # the last settings snapshot
        (("Query",), ("ownact",)),  # our own writes, to tell them from an intruder's
    ),
    "BulkChangeGuardFunction": (
        _runner("bulk_change_guard"),
        RULES,
        (("GetItem", "PutItem", "UpdateItem"), ("restriction",)),
        JOURNAL,
    ),
    "RestrictionReleaseFunction": (
        _runner("restriction_release"),
        RULES,
        (("GetItem", "UpdateItem", "Query"), ("restriction",)),
        (("GetItem",), ("closed",)),  # a closed finding's follow-ups are not published
        JOURNAL,
    ),
    "InactiveMembersFunction": (
        _runner("inactive_members"),
        RULES,
        (("PutItem", "DeleteItem"), ("reminder#*", "report#*")),
    ),
    "IpAllowlistFunction": (
        _runner("ip_allowlist"),
        RULES,
        (RUN, SYNC),
        (("GetItem", "PutItem"), ("logout#*",)),  # ON_VIOLATION=logout: once per login
        (("GetItem", "PutItem", "UpdateItem"), ("restriction",)),  # ON_VIOLATION=restrict
        ALLOW,
        LAYOUT,
        SCAN,
        JOURNAL,
    ),
    "IpAllowlistRegisterFunction": (
        (RUN, ("allow", *SYNC, "sent#ip_allowlist")),
        RULES,
        ALLOW,
        LAYOUT,
        SCAN,
        JOURNAL,
    ),
    "RealtimeGuardFunction": (
        # claims: a delivery (by event id and content key), a burst, a published finding
        (
            ("PutItem", "DeleteItem"),
            ("rtseen#event", "rtseen#content", "rtburst#*", "sent#realtime_guard"),
        ),
        RULES,
        (("UpdateItem", "Query"), ("rtwin#*",)),
        (("GetItem",), ("rtburst#*",)),  # a burst already reported: no window read
        (("UpdateItem",), ("rtcap",)),
        (("GetItem", "PutItem", "UpdateItem"), ("restriction",)),
        JOURNAL,
    ),
    # The webhook receiver only verifies and queues: no state at all.
    "WebhookReceiverFunction": (),
}

#: The export calls each publishing function is granted with both exports on (each must be
#: used in the drift test): every published finding is imported and put on the bus; the
#: release's follow-ups also read the original and set it RESOLVED.
_EXPORTS = (("securityhub", "BatchImportFindings"), ("events", "PutEvents"))
EXPORT_CALLS: dict[str, tuple[tuple[str, str], ...]] = {
    "VdrActivityFunction": _EXPORTS,
    "LoginAuditFunction": _EXPORTS,
    "ConfigWatchFunction": _EXPORTS,
    "BulkChangeGuardFunction": _EXPORTS,
    "RestrictionReleaseFunction": (
        *_EXPORTS,
        ("securityhub", "GetFindings"),
        ("securityhub", "BatchUpdateFindings"),
    ),
    "InactiveMembersFunction": _EXPORTS,
    "IpAllowlistFunction": _EXPORTS,
    "IpAllowlistRegisterFunction": _EXPORTS,
    "RealtimeGuardFunction": _EXPORTS,
}

#: Functions that run on queue messages, not on a schedule (no run records: no "duplicate").
NOT_SCHEDULED = {"RealtimeGuardFunction"}
#: Functions that never call DocSpace nor publish findings (no API key, no topic key).
NOT_SCANNING = {"WebhookReceiverFunction"}
#: The secret (template parameter) each function may read; every other is out of reach.
SECRET_OF = {
    f: "WebhookSecretArn" if f in NOT_SCANNING else "DocSpaceApiKeySecret" for f in STATE_ACCESS
}


def granted(function: str, action: str, pk: str | None) -> bool:
    return any(
        action in actions and any(_matches(p, pk) for p in patterns)
        for actions, patterns in STATE_ACCESS[function]
    )


def _matches(pattern: str | None, pk: str | None) -> bool:
    if pattern is None or pk is None:
        return pattern is pk
    return iam._like(pattern, pk)


#: Partition keys of records that decide who is restricted or allowed in (tests below).
GUARDED = ("restriction", "allow", "allow#0a1b2c3d", "ipsync", "lock#ip_allowlist_sync")
ITEM_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query")


@cache
def translated() -> dict[str, Any]:
    return iam.translate(TEMPLATE)


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", iam.REGION)  # the SAM transform reads it


def statements(function: str) -> list[dict[str, Any]]:
    return iam.function_statements(translated(), function)


def statements_exporting(function: str) -> list[dict[str, Any]]:
    """With both exports on (``SecurityHubExport=true``, ``EventBusName``)."""
    return iam.function_statements(translated(), function, iam.EXPORTS_ON)


def _dynamodb_statements(function: str) -> list[dict[str, Any]]:
    return [
        s
        for s in statements(function)
        if any(str(a).lower().startswith("dynamodb:") for a in iam._listed(s["Action"]))
    ]


def _sample(pattern: str | None) -> tuple[str, ...]:
    return () if pattern is None else (pattern.replace("*", "0a1b2c3d"),)


# -- what each function may do, without running anything ----------------------------------------


def test_every_function_is_in_the_state_access_table() -> None:
    assert set(STATE_ACCESS) == set(FUNCTIONS)


@pytest.mark.parametrize("function", sorted(STATE_ACCESS))
def test_each_function_is_granted_exactly_its_state_access(function: str, region: None) -> None:
    """Probe every action on every known record type: allowed exactly where the table says."""
    probes = {p for grants in STATE_ACCESS.values() for _, patterns in grants for p in patterns}
    probes |= {"run#other", "cursor#other", "sent#other", "lock#other", "unknown"}
    actions = (*ITEM_ACTIONS, "Scan", "BatchWriteItem", "BatchGetItem", "DescribeTable")
    wrong = []
    for action in actions:
        for probe in sorted(probes, key=str):
            if action == "Scan" and probe is not None:
                continue
            request = iam.dynamodb_request(action, *_sample(probe))
            expected = granted(function, action, _sample(probe)[0] if probe else None)
            got = iam.decide(statements(function), request) == "allow"
            if got != expected:
                wrong.append(f"{request}: {'allowed' if got else 'denied'}")
    assert not wrong, f"{function}:\n" + "\n".join(wrong)


def test_the_vdr_monitor_cannot_touch_restrictions_allowlists_or_the_ip_sync(
    region: None,
) -> None:
    allowed = [
        str(request)
        for pk in GUARDED
        for action in ITEM_ACTIONS
        if iam.decide(
            statements("VdrActivityFunction"), request := iam.dynamodb_request(action, pk)
        )
        == "allow"
    ]
    assert not allowed, f"the VDR monitor may: {allowed}"


@pytest.mark.parametrize("function", sorted(STATE_ACCESS))
def test_only_the_allowlist_functions_scan_and_no_function_has_whole_table_access(
    function: str, region: None
) -> None:
    scan = iam.decide(statements(function), iam.dynamodb_request("Scan")) == "allow"
    assert scan == (function in {"IpAllowlistFunction", "IpAllowlistRegisterFunction"})
    for statement in _dynamodb_statements(function):
        actions = iam._listed(statement["Action"])
        assert not any("*" in a for a in actions), f"{function}: wildcard action {actions}"
        item_actions = [a for a in actions if a.lower() != "dynamodb:scan"]
        if item_actions:
            # ForAllValues holds vacuously when a request names no key: the Null check is what
            # keeps a keyless request (a Scan) out of a statement scoped by key.
            condition = statement.get("Condition") or {}
            assert condition.get("Null", {}).get("dynamodb:LeadingKeys") == "false", statement
            assert "dynamodb:LeadingKeys" in json.dumps(condition), statement


def test_another_table_or_an_index_is_out_of_reach(region: None) -> None:
    other = f"arn:aws:dynamodb:{iam.REGION}:{iam.ACCOUNT}:table/other"
    for function in STATE_ACCESS:
        for arn in (other, f"{iam.TABLE_ARN}/index/x"):
            request = iam.dynamodb_request("GetItem", "run#x", table_arn=arn)
            assert iam.decide(statements(function), request) != "allow", (function, arn)


def test_only_the_inactive_members_function_sends_email_and_only_from_the_sender(
    region: None,
) -> None:
    sender = iam.PARAMETERS["ReminderSender"]
    identity = f"arn:aws:ses:{iam.REGION}:{iam.ACCOUNT}:identity/"
    for function in STATE_ACCESS:
        granted = {
            a.lower()
            for s in statements(function)
            for a in iam._listed(s["Action"])
            if a.lower().startswith("ses:")
        }
        if function != "InactiveMembersFunction":
            assert not granted, f"{function}: {granted}"
            continue
        assert granted == {"ses:sendemail"}, granted  # the code calls SendEmail only
        policy = statements(function)
        ok = iam.Request("ses:SendEmail", identity + sender, {"ses:FromAddress": (sender,)})
        assert iam.decide(policy, ok) == "allow"
        # a recipient's identity is checked too in the SES sandbox: still only from the sender
        to = iam.Request("ses:SendEmail", identity + "x@y.example", {"ses:FromAddress": (sender,)})
        assert iam.decide(policy, to) == "allow"
        spoof = iam.Request(
            "ses:SendEmail", identity + "ceo@example.com", {"ses:FromAddress": ("ceo@example.com",)}
        )
        assert iam.decide(policy, spoof) != "allow"
        for action in ("ses:SendRawEmail", "ses:DeleteIdentity", "ses:VerifyEmailIdentity"):
            request = iam.Request(action, identity + sender, {"ses:FromAddress": (sender,)})
            assert iam.decide(policy, request) != "allow", action


@pytest.mark.parametrize("function", sorted(STATE_ACCESS))
def test_its_own_secret_and_no_other_is_readable(function: str, region: None) -> None:
    prefix = f"arn:aws:secretsmanager:{iam.REGION}:{iam.ACCOUNT}:secret:"
    name = iam.PARAMETERS[SECRET_OF[function]]
    policy = statements(function)
    for other_parameter in {"DocSpaceApiKeySecret", "WebhookSecretArn"} - {SECRET_OF[function]}:
        other_name = iam.PARAMETERS[other_parameter]
        request = iam.Request("secretsmanager:GetSecretValue", f"{prefix}{other_name}-AbC123")
        assert iam.decide(policy, request) != "allow", other_parameter

    def read(arn: str, action: str = "secretsmanager:GetSecretValue") -> str:
        return iam.decide(policy, iam.Request(action, arn))

    assert read(f"{prefix}{name}-AbC123") == "allow"
    for other in (f"{name}-prod-AbC123", f"{name}-AbC123x", f"{name}/x-AbC123", "other-AbC123"):
        assert read(prefix + other) != "allow", other
    for action in ("secretsmanager:PutSecretValue", "secretsmanager:ListSecrets"):
        assert read(f"{prefix}{name}-AbC123", action) != "allow", action


def test_the_topic_key_is_used_only_through_sns(region: None) -> None:
    key = iam.ATTRIBUTES[("TopicKey", "Arn")]
    via_sns = {"kms:ViaService": (f"sns.{iam.REGION}.amazonaws.com",)}
    for function in STATE_ACCESS:
        policy = statements(function)
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            if function in NOT_SCANNING:  # publishes nothing
                assert iam.decide(policy, iam.Request(action, key, via_sns)) != "allow"
                continue
            assert iam.decide(policy, iam.Request(action, key, via_sns)) == "allow"
            assert iam.decide(policy, iam.Request(action, key)) != "allow", (function, action)
        assert iam.decide(policy, iam.Request("kms:Encrypt", key, via_sns)) != "allow"


# -- what each function does, recorded while it runs --------------------------------------------


class Recorder:
    """Every AWS call made through botocore, with the function that was running."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.calls: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)

    def run(self, function: str, event: dict[str, Any]) -> Any:
        spec = FUNCTIONS[function]
        parameters.clear_caches()  # each function reads the secret itself, as in Lambda
        self.current = function
        try:
            return invoke(spec.folder, event, attribute=spec.attribute)
        finally:
            self.current = None


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder()
    original = BaseClient._make_api_call

    def recording(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if recorder.current is not None:
            service = client.meta.service_model.service_name
            recorder.calls[recorder.current].append((service, operation, dict(params)))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    yield recorder


def _pk_values(operation: str, params: dict[str, Any]) -> tuple[str, ...]:
    """The partition keys a DynamoDB request names (what IAM sees as dynamodb:LeadingKeys)."""
    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        return (params["Key"]["pk"]["S"],)
    if operation == "PutItem":
        return (params["Item"]["pk"]["S"],)
    if operation == "Query":
        expression = params["KeyConditionExpression"]
        names = {v: k for k, v in (params.get("ExpressionAttributeNames") or {}).items()}
        for part in expression.split(" AND "):
            left, _, right = (s.strip() for s in part.partition("="))
            if names.get(left, left) == "pk" or left == "pk":
                return (params["ExpressionAttributeValues"][right]["S"],)
        raise AssertionError(f"a Query without a pk condition: {expression}")
    if operation == "Scan":
        return ()
    raise AssertionError(f"DynamoDB {operation} is not modelled in this test: add it")


def as_request(service: str, operation: str, params: dict[str, Any], aws: LocalAws) -> iam.Request:
    if service == "dynamodb":
        assert params["TableName"] == aws.table_name, params["TableName"]
        return iam.dynamodb_request(operation, *_pk_values(operation, params))
    if service == "sns" and operation == "Publish":
        assert params["TopicArn"] == aws.topic_arn
        return iam.Request("sns:Publish", iam.TOPIC_ARN)
    if service == "ses" and operation == "SendEmail":
        source = params["Source"]
        identity = f"arn:aws:ses:{iam.REGION}:{iam.ACCOUNT}:identity/{source}"
        return iam.Request("ses:SendEmail", identity, {"ses:FromAddress": (source,)})
    if service == "sqs" and operation == "SendMessage":
        assert params["QueueUrl"].endswith("/realtime"), params["QueueUrl"]
        return iam.Request("sqs:SendMessage", iam.REALTIME_QUEUE_ARN)
    if service == "ssm" and operation == "GetParameter":
        assert params["Name"] == iam.CONFIG_PARAMETER_NAME, params["Name"]
        return iam.Request("ssm:GetParameter", iam.CONFIG_PARAMETER_ARN)
    if service == "securityhub" and operation == "BatchImportFindings":
        (product,) = {f["ProductArn"] for f in params["Findings"]}
        return iam.Request("securityhub:BatchImportFindings", product)
    if service == "securityhub" and operation == "GetFindings":
        return iam.Request("securityhub:GetFindings", iam.HUB_ARN)
    if service == "securityhub" and operation == "BatchUpdateFindings":
        fields = (
            {"securityhub:ASFFSyntaxPath/Workflow.Status": (params["Workflow"]["Status"],)}
            if "Workflow" in params
            else {}
        )
        assert set(params) <= {"FindingIdentifiers", "Workflow"}, params  # nothing else
        return iam.Request("securityhub:BatchUpdateFindings", iam.HUB_ARN, fields)
    if service == "events" and operation == "PutEvents":
        (bus,) = {e["EventBusName"] for e in params["Entries"]}
        arn = f"arn:aws:events:{iam.REGION}:{iam.ACCOUNT}:event-bus/{bus}"
        return iam.Request("events:PutEvents", arn)
    if service == "secretsmanager" and operation == "GetSecretValue":
        client = boto3.client("secretsmanager", region_name=iam.REGION)
        arn = client.describe_secret(SecretId=params["SecretId"])["ARN"]
        return iam.Request("secretsmanager:GetSecretValue", arn)
    raise AssertionError(f"{service}:{operation} is not modelled in this test: add it")


def _run_everything(
    recorder: Recorder, simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every function, with the settings that take each one down its acting paths (enforce
    mode, restrict on violation, portal sync, SES), then each schedule again (a retry)."""
    sender = iam.PARAMETERS["ReminderSender"]
    point_at(
        monkeypatch,
        simulator,
        aws,
        MODE="enforce",
        ON_VIOLATION="restrict",
        PORTAL_SYNC="enforce",
        ALWAYS_ALLOWED_IPS="192.0.2.1",
        ROOM_TYPES="1,2,5,6,8",
        REMINDER_SENDER=sender,
        MANAGER_EMAIL="security@example.com",
        DOCSPACE_MAX_ATTEMPTS=1,
    )
    # The API key from Secrets Manager, as in Lambda (point_at gives the plain local key).
    secret = iam.PARAMETERS["DocSpaceApiKeySecret"]
    boto3.client("secretsmanager", region_name=iam.REGION).create_secret(
        Name=secret, SecretString=json.dumps({"apiKey": simulator.api_key})
    )
    monkeypatch.delenv("DOCSPACE_API_KEY")
    monkeypatch.setenv("DOCSPACE_API_KEY_SECRET", secret)
    # The template's configuration document, read by every function but the receiver.
    boto3.client("ssm", region_name=iam.REGION).put_parameter(
        Name=iam.CONFIG_PARAMETER_NAME,
        Value=json.dumps(iam.config_document(TEMPLATE, **iam.EXPORTS_ON)),
        Type="String",
    )
    # Both exports on: Security Hub (moto) and a bus in this account.
    boto3.client("events", region_name=iam.REGION).create_event_bus(Name=iam.EXPORT_BUS)
    monkeypatch.setenv(config.CONFIG_PARAMETER, iam.CONFIG_PARAMETER_NAME)
    now = utc_now()
    event = scheduled(iso(now))
    scenario = simulator.scenario
    # A suppression rule on the brute-forced user: the login audit keeps its finding back and
    # records the hit (every function reads the rules; hits are written to sent#<workflow>).
    brute = scenario.planted.brute_force
    assert brute is not None
    rules = RuleStore(StateStore(aws.table_name, client=aws.dynamodb))
    rule = Rule(new_rule_id(), brute.user_id.lower(), "login_audit", "drill", "test", now, None)
    rules.add(rule)
    for name in ("VdrActivityFunction", "LoginAuditFunction", "BulkChangeGuardFunction"):
        recorder.run(name, event)
    recorder.run("LoginAuditFunction", {"last": True})  # a query: no state at all
    assert [h["ruleId"] for h in rules.hits(["login_audit"])] == [rule.id]

    records = RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb))
    for record in list(records.all()):
        records.extend(record.user_id, now - timedelta(minutes=1))
    assert list(records.all()), "the bulk guard restricted nobody: the release has nothing to do"
    # The portal refuses the lift once (the failure is noted on the record), then accepts it.
    simulator.faults = Faults(rate_5xx=1.0, methods=("PUT",), seed=1)
    failing = scheduled(iso(now + timedelta(minutes=5)), arn="failing-release")
    assert recorder.run("RestrictionReleaseFunction", failing)["failed"] >= 1
    simulator.faults = Faults()
    recorder.run("RestrictionReleaseFunction", scheduled(iso(now + timedelta(minutes=10))))

    # SES refuses the sender until it is verified: the reminder claims are given back.
    with pytest.raises(MailError):
        recorder.run("InactiveMembersFunction", event)
    boto3.client("ses", region_name=iam.REGION).verify_email_identity(EmailAddress=sender)
    recorder.run("InactiveMembersFunction", event)

    register = "IpAllowlistRegisterFunction"
    allowlists = scenario.planted.allowlists
    for user_id, entries in sorted(allowlists.items()):
        recorder.run(register, {"userId": user_id, "allowedIps": list(entries)})
    user_id, entries = sorted(allowlists.items())[0]
    recorder.run(register, {"userId": user_id, "operation": "add", "allowedIps": ["192.0.2.9"]})
    recorder.run(
        register, {"userId": user_id, "operation": "remove", "allowedIps": [*entries, "192.0.2.9"]}
    )
    recorder.run(register, {"userId": user_id, "allowedIps": list(entries)})
    # ON_VIOLATION=logout, on demand (before the first scheduled run, whose cursor would make
    # the same logins old news): its once-records
    monkeypatch.setenv("ON_VIOLATION", "logout")
    window = {"from": iso(now - timedelta(hours=24)), "to": iso(now)}
    assert recorder.run("IpAllowlistFunction", window)["status"] == "completed"
    monkeypatch.setenv("ON_VIOLATION", "restrict")
    # On a new stack the scheduled run may come before any registration: then it is the one
    # that checks the allowlists' key layout (one Scan) and writes the marker.
    StateStore(aws.table_name, client=aws.dynamodb).delete(*state_keys.ALLOWLIST_SCHEMA)
    recorder.run("IpAllowlistFunction", event)

    _receive_a_webhook(recorder)
    _consume_webhooks(recorder, simulator)
    # After the others, and after their writes (dated now): it reads their journal.
    watch = scheduled(iso(now + timedelta(minutes=4)))
    assert recorder.run("ConfigWatchFunction", watch)["ownChanges"] >= 1

    for name in FUNCTIONS:
        if name != register and name not in NOT_SCANNING | NOT_SCHEDULED:
            later = {
                "RestrictionReleaseFunction": scheduled(iso(now + timedelta(minutes=10))),
                "ConfigWatchFunction": watch,
            }
            again = recorder.run(name, later.get(name, event))
            assert again["status"] == "duplicate", (name, again)


def _receive_a_webhook(recorder: Recorder) -> None:
    """The receiver reads its secret from Secrets Manager and queues one signed delivery."""
    from docspace_sentinel.webhooks import receiver
    from docspace_sentinel.webhooks.signature import sign

    secret = iam.PARAMETERS["WebhookSecretArn"]
    boto3.client("secretsmanager", region_name=iam.REGION).create_secret(
        Name=secret, SecretString=json.dumps({"secret": "Webhook-Secret-1!"})
    )
    queue = boto3.client("sqs", region_name=iam.REGION).create_queue(QueueName="realtime")
    receiver.reset_caches()
    body = json.dumps(
        {"event": {"id": 1, "createOn": iso(utc_now()), "trigger": "file.updated"}, "payload": {}}
    )
    event = {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"x-docspace-signature-256": sign("Webhook-Secret-1!", body.encode())},
        "body": body,
        "isBase64Encoded": False,
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCSPACE_WEBHOOK_SECRET_ARN", secret)
        patch.setenv("REALTIME_QUEUE_URL", queue["QueueUrl"])
        answer = recorder.run("WebhookReceiverFunction", event)
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"status": "queued"}


def _consume_webhooks(recorder: Recorder, simulator: SimulatorServer) -> None:
    """The real-time guard takes what the receiver queued, then a user's burst (disabled:
    MODE=enforce) with a manual retry (new event id, same content: its first claim is given
    back)."""
    sqs = boto3.client("sqs", region_name=iam.REGION)
    url = sqs.get_queue_url(QueueName="realtime")["QueueUrl"]
    queued = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    scenario = simulator.scenario
    planted = scenario.planted.bulk_changer
    user = next(
        u.id
        for u in scenario.users
        if u.status == 1
        and not (u.is_docspace_admin or u.is_ldap or u.is_sso)
        and u.id not in (scenario.key_user.id, planted.user_id if planted else "")
    )
    when = iso(utc_now())

    def body(event_id: int, file_id: int) -> str:
        event = {"id": event_id, "createOn": when, "createBy": user, "trigger": "file.updated"}
        return json.dumps({"event": event, "payload": {"id": file_id}})

    files = sorted(scenario.files)[:25]
    with scenario.lock:  # the portal confirms the burst (the consumer samples the files)
        for file_id in files:
            scenario.files[file_id].updated = to_micros(utc_now())
            scenario.files[file_id].modified_by = user
    bodies = [m["Body"] for m in queued] + [body(100 + i, f) for i, f in enumerate(files)]
    bodies.append(body(999, files[0]))  # the manual retry
    records = [{"messageId": f"m-{i}", "body": b} for i, b in enumerate(bodies)]
    for i in range(0, len(records), 10):
        answer = recorder.run("RealtimeGuardFunction", {"Records": records[i : i + 10]})
        assert answer == {"batchItemFailures": []}, answer
    assert scenario.user_by_id(user).status == 2


@pytest.mark.e2e
def test_the_policies_allow_exactly_what_the_code_does(
    recorder: Recorder,
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    region: None,
) -> None:
    _run_everything(recorder, simulator, aws, monkeypatch)
    denied: list[str] = []
    unused: list[str] = []
    for function in FUNCTIONS:
        assert recorder.calls[function], f"{function} made no AWS call"
        reads_document = ("ssm", "GetParameter") in {(c[0], c[1]) for c in recorder.calls[function]}
        assert reads_document == (function not in NOT_SCANNING), function
        policy = statements_exporting(function)
        called = {(c[0], c[1]) for c in recorder.calls[function]}
        for granted_call in EXPORT_CALLS.get(function, ()):
            if granted_call not in called:
                unused.append(f"{function}: {granted_call[0]}:{granted_call[1]} was never used")
        dynamodb: list[tuple[str, tuple[str | None, ...]]] = []
        for service, operation, params in recorder.calls[function]:
            request = iam.decide(policy, req := as_request(service, operation, params, aws))
            if request != "allow":
                denied.append(f"{function}: {req}")
            if service == "dynamodb":
                dynamodb.append((operation, _pk_values(operation, params) or (None,)))
        calls = {(a, k) for a, ks in dynamodb for k in ks}
        for actions, patterns in STATE_ACCESS[function]:
            group = f"{function}: {list(actions)} on {list(patterns)}"
            for action in actions:
                if not any(a == action and _matches(p, k) for a, k in calls for p in patterns):
                    unused.append(f"{group}: {action} was never used")
            for pattern in patterns:
                if not any(a in actions and _matches(pattern, k) for a, k in calls):
                    unused.append(f"{group}: {pattern or 'a keyless request'} was never touched")
    assert not denied, "calls the policies would refuse in AWS:\n" + "\n".join(sorted(set(denied)))
    # A grant no run used is privilege nobody needs (each action, and each key pattern).
    assert not unused, "granted but never used:\n" + "\n".join(unused)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_the_configuration_document_and_no_other_parameter_is_readable(
    function: str, region: None
) -> None:
    policy = statements(function)
    reads = function not in NOT_SCANNING
    own = iam.Request("ssm:GetParameter", iam.CONFIG_PARAMETER_ARN)
    assert (iam.decide(policy, own) == "allow") == reads, function
    for other in (
        f"arn:aws:ssm:{iam.REGION}:{iam.ACCOUNT}:parameter/{iam.STACK}/config-old",
        f"arn:aws:ssm:{iam.REGION}:{iam.ACCOUNT}:parameter/other/config",
        f"arn:aws:ssm:{iam.REGION}:{iam.ACCOUNT}:parameter{iam.CONFIG_PARAMETER_NAME}/x",
    ):
        assert iam.decide(policy, iam.Request("ssm:GetParameter", other)) != "allow", other
    for action in ("ssm:GetParameters", "ssm:GetParametersByPath", "ssm:PutParameter"):
        assert iam.decide(policy, iam.Request(action, iam.CONFIG_PARAMETER_ARN)) != "allow"


# -- the topic key and the onboarding bus (resource policies) -----------------------------------


def _resource_policy(resource: str, prop: str, **parameters: str) -> list[dict[str, Any]]:
    resolver = iam.Resolver(TEMPLATE, {**iam.PARAMETERS, **parameters})
    properties = resolver.value(TEMPLATE["Resources"][resource]["Properties"])
    found = properties[prop]["Statement"]
    return found if isinstance(found, list) else [found]


def test_the_topic_key_serves_only_this_accounts_alarms() -> None:
    policy = _resource_policy("TopicKey", "KeyPolicy")
    alarm = f"arn:aws:cloudwatch:{iam.REGION}:{iam.ACCOUNT}:alarm:sentinel-VdrActivityErrorsAlarm"
    theirs = "arn:aws:cloudwatch:eu-west-1:999999999999:alarm:theirs"

    def alarms(account: str | None, arn: str | None) -> iam.Request:
        context = {"aws:SourceAccount": (account,)} if account else {}
        context |= {"aws:SourceArn": (arn,)} if arn else {}
        return iam.Request("kms:GenerateDataKey", "*", context, "cloudwatch.amazonaws.com")

    assert iam.decide(policy, alarms(iam.ACCOUNT, alarm)) == "allow"
    assert iam.decide(policy, alarms("999999999999", theirs)) != "allow"
    assert iam.decide(policy, alarms(None, None)) != "allow"  # a request without a source
    assert iam.decide(policy, alarms(iam.ACCOUNT, f"arn:aws:sns:{iam.REGION}:1:x")) != "allow"


BUS_ARN = f"arn:aws:events:{iam.REGION}:{iam.ACCOUNT}:event-bus/{iam.STACK}-onboarding"
HR_ROLE = f"arn:aws:iam::{iam.ACCOUNT}:role/hr-onboarding"
PARTNER_ROLE = "arn:aws:iam::210987654321:role/hr-sync"


def _put_events(principal: str) -> iam.Request:
    return iam.Request("events:PutEvents", BUS_ARN, {"aws:PrincipalArn": (principal,)}, principal)


def test_onboarding_events_come_on_a_dedicated_bus_not_the_default_one() -> None:
    resources = TEMPLATE["Resources"]
    rules = [
        (name, event["Properties"])
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] in ("EventBridgeRule", "CloudWatchEvent")
    ]
    assert [name for name, _ in rules] == ["IpAllowlistRegisterFunction"]
    for _, properties in rules:
        bus = properties.get("EventBusName")
        assert bus is not None, "the onboarding rule listens on the default bus"
        target = bus.get("Ref") or bus.get("Fn::GetAtt", [None])[0]
        assert resources[target]["Type"] == "AWS::Events::EventBus"
        assert "Policy" in resources[target]["Properties"], "the bus has no resource policy"
        name = iam.Resolver(TEMPLATE, iam.PARAMETERS).value(resources[target]["Properties"]["Name"])
        assert BUS_ARN.endswith(f"/{name}")
    assert {"OnboardingBusName", "OnboardingBusArn"} <= set(TEMPLATE["Outputs"])


def test_only_the_named_senders_may_put_onboarding_events() -> None:
    policy = _resource_policy(
        "OnboardingBus", "Policy", OnboardingSenderArns=f"{HR_ROLE},{PARTNER_ROLE}"
    )
    assert iam.decide(policy, _put_events(HR_ROLE)) == "allow"
    assert iam.decide(policy, _put_events(PARTNER_ROLE)) == "allow"  # another account
    # Anyone else is denied outright, so an identity policy granting PutEvents cannot help.
    for other in (
        f"arn:aws:iam::{iam.ACCOUNT}:role/some-app",
        f"arn:aws:iam::{iam.ACCOUNT}:root",
        f"{HR_ROLE}-2",
    ):
        assert iam.decide(policy, _put_events(other)) == "deny", other


def test_without_named_senders_nobody_may_put_onboarding_events() -> None:
    policy = _resource_policy("OnboardingBus", "Policy")  # the default: empty
    for principal in (HR_ROLE, f"arn:aws:iam::{iam.ACCOUNT}:root"):
        assert iam.decide(policy, _put_events(principal)) == "deny"


def test_only_the_receiver_sends_to_the_realtime_queue_and_only_sends(region: None) -> None:
    send = iam.Request("sqs:SendMessage", iam.REALTIME_QUEUE_ARN)
    for function in STATE_ACCESS:
        allowed = iam.decide(statements(function), send) == "allow"
        assert allowed == (function == "WebhookReceiverFunction"), function
    policy = statements("WebhookReceiverFunction")
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"):
        assert iam.decide(policy, iam.Request(action, iam.REALTIME_QUEUE_ARN)) != "allow", action
    other = f"arn:aws:sqs:{iam.REGION}:{iam.ACCOUNT}:other"
    assert iam.decide(policy, iam.Request("sqs:SendMessage", other)) != "allow"


def _resolved(**parameters: str) -> dict[str, Any]:
    translated = iam.translate(TEMPLATE)
    resolved: dict[str, Any] = iam.Resolver(translated, parameters).value(translated["Resources"])
    return resolved


def test_the_consumer_runs_at_most_5_at_once_and_the_receiver_is_unreserved(
    region: None,
) -> None:
    translated = iam.translate(TEMPLATE)["Resources"]
    (mapping,) = [
        r["Properties"]
        for r in translated.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["FunctionName"] == {"Ref": "RealtimeGuardFunction"}
    ]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}  # SQS allows 2 to 1000
    receiver = _resolved()["WebhookReceiverFunction"]["Properties"]
    # Unreserved by default: a new account may have only 10 concurrent executions.
    assert "ReservedConcurrentExecutions" not in receiver


# -- the exports: Security Hub and the EventBridge bus, only when switched on -------------------

_IMPORT = iam.Request("securityhub:BatchImportFindings", iam.PRODUCT_ARN)
_PUT = iam.Request("events:PutEvents", iam.EXPORT_BUS_ARN)


def _resolve_request(status: str) -> iam.Request:
    context = {"securityhub:ASFFSyntaxPath/Workflow.Status": (status,)}
    return iam.Request("securityhub:BatchUpdateFindings", iam.HUB_ARN, context)


@pytest.mark.parametrize("function", sorted(STATE_ACCESS))
def test_without_the_exports_no_function_may_call_security_hub_or_put_events(
    function: str, region: None
) -> None:
    policy = statements(function)  # the defaults: both off
    for request in (
        _IMPORT,
        _PUT,
        iam.Request("securityhub:GetFindings", iam.HUB_ARN),
        _resolve_request("RESOLVED"),
    ):
        assert iam.decide(policy, request) != "allow", (function, request)


@pytest.mark.parametrize("function", sorted(STATE_ACCESS))
def test_with_the_exports_each_publisher_imports_into_its_default_product_and_puts_on_that_bus(
    function: str, region: None
) -> None:
    policy = statements_exporting(function)
    publishes = function in EXPORT_CALLS
    assert (iam.decide(policy, _IMPORT) == "allow") == publishes
    assert (iam.decide(policy, _PUT) == "allow") == publishes
    other_product = f"arn:aws:securityhub:{iam.REGION}:{iam.ACCOUNT}:product/aws/guardduty"
    other_region = iam.PRODUCT_ARN.replace(iam.REGION, "us-east-1")
    for product in (other_product, other_region):
        request = iam.Request("securityhub:BatchImportFindings", product)
        assert iam.decide(policy, request) != "allow", product
    for bus in ("default", f"{iam.EXPORT_BUS}-2", "other"):
        arn = f"arn:aws:events:{iam.REGION}:{iam.ACCOUNT}:event-bus/{bus}"
        assert iam.decide(policy, iam.Request("events:PutEvents", arn)) != "allow", bus
    # only the release (whose follow-ups update the original) reads findings or resolves them
    release = function == "RestrictionReleaseFunction"
    reads = iam.Request("securityhub:GetFindings", iam.HUB_ARN)
    assert (iam.decide(policy, reads) == "allow") == release
    assert (iam.decide(policy, _resolve_request("RESOLVED")) == "allow") == release
    for status in ("SUPPRESSED", "NOTIFIED", "NEW"):
        assert iam.decide(policy, _resolve_request(status)) != "allow", status
    unconditioned = iam.Request("securityhub:BatchUpdateFindings", iam.HUB_ARN)
    assert iam.decide(policy, unconditioned) != "allow"  # e.g. a Severity or Note change
    # RESOLVED together with another field (any product's finding): refused as a whole
    for field in ("Severity.Label", "VerificationState", "Note.Text", "Types"):
        context = {
            "securityhub:ASFFSyntaxPath/Workflow.Status": ("RESOLVED",),
            f"securityhub:ASFFSyntaxPath/{field}": ("x",),
        }
        both = iam.Request("securityhub:BatchUpdateFindings", iam.HUB_ARN, context)
        assert iam.decide(policy, both) != "allow", field
