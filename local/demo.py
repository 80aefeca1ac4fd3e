"""`make demo`: the workflows end to end against the bundled simulator and in-process AWS.

It starts the DocSpace simulator on 127.0.0.1 with the demo scenario (a seeded portal with a
planted case for each workflow), creates the state table, the findings topic and an SQS queue
subscribed to it in moto, runs each workflow's Lambda handler in this process as EventBridge
Scheduler would fire it, and prints every finding as an email subscriber receives it (and the
bulk-change findings and the restriction-lifted follow-up also as the chat message).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "shared"))

from docspace_sentinel.docspace.client import DocSpaceClient  # noqa: E402
from docspace_sentinel.docspace.dates import format_utc  # noqa: E402
from docspace_sentinel.findings.finding import Finding, Severity  # noqa: E402
from docspace_sentinel.findings.routing import ALERT, category  # noqa: E402
from docspace_sentinel.findings.sns_request import email_subject  # noqa: E402
from docspace_sentinel.state.restrictions import RestrictionStore  # noqa: E402
from docspace_sentinel.state.store import StateStore  # noqa: E402
from local.lambda_runtime import invoke  # noqa: E402
from local.simulator.generate import generate_scenario  # noqa: E402
from local.simulator.scenario import Scenario  # noqa: E402
from local.simulator.server import SimulatorServer  # noqa: E402

SCHEDULE = "arn:aws:scheduler:eu-west-1:123456789012:schedule/docspace-sentinel/{}"
RULE = "=" * 78


def _heading(text: str) -> None:
    print(f"\n{RULE}\n{text}\n{RULE}")


def _tour(client: DocSpaceClient) -> None:
    """What the client sees of the portal: the wire contract, handled."""
    me = client.me()
    rooms = list(client.rooms())
    users = list(client.users())
    now = datetime.now(UTC)
    day = list(client.audit_events(now - timedelta(days=1), now))
    logins = list(client.login_events(now - timedelta(days=1), now))
    settings = client.ip_restriction_settings()
    _heading("The portal, through the DocSpace client")
    print(f"API key acts as: {me.display_name} (admin: {me.is_admin})")
    disabled = sum(1 for _ in client.users(status=2))
    print(f"People: {len(users)} active or pending, {disabled} disabled")
    kinds = Counter(
        {8: "VDR", 2: "collaboration", 5: "custom", 6: "public"}.get(r.room_type or 0, "other")
        for r in rooms
    )
    print("Rooms: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    print(f"Audit events in the last 24 h: {len(day)}; login events: {len(logins)}")
    print(f"IP restrictions enabled: {settings.enable}")
    print(f"Requests made: {client.requests_sent}")


def _plant_old_burst(scenario: Scenario, at: datetime) -> str | None:
    """A bulk change by another plain user, long ago: enforce reports it without acting."""
    bulk = scenario.planted.bulk_changer
    if bulk is None:
        return None
    user = next(
        (
            u
            for u in scenario.users
            if u.status == 1
            and not (u.is_admin or u.is_owner or u.is_ldap or u.is_sso)
            and u.id not in (scenario.layout.key_user_id, bulk.user_id)
        ),
        None,
    )
    if user is None:
        return None
    for n, file_id in enumerate(bulk.file_ids[:25]):
        scenario.add_audit_event(
            5002, user_id=user.id, date=at + n * timedelta(seconds=15), target=[file_id]
        )
    return str(user.name)


def _quiet_invoke(function: str, event: dict[str, Any], attribute: str = "handler") -> Any:
    """Invoke a handler, keeping its structured logs and metric lines (stdout) out of the way
    unless it fails."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            return invoke(function, event, attribute=attribute)
    except Exception:
        print(captured.getvalue())
        raise


def _run(function: str, event: dict[str, Any], label: str) -> dict[str, Any]:
    summary: dict[str, Any] = _quiet_invoke(function, event)
    keys = (
        "status",
        "eventsScanned",
        "eventsSkipped",
        "findingsPublished",
        "findingsSuppressed",
        "apiCalls",
        "cursorAfter",
    )
    shown = {k: summary[k] for k in keys if summary.get(k) is not None}
    print(f"\n[{label}] {json.dumps(shown)}")
    return summary


def _scheduled(function: str, when: datetime, label: str | None = None) -> dict[str, Any]:
    """Fire ``function`` as its EventBridge Scheduler schedule would at ``when``."""
    schedule = SCHEDULE.format(function.replace("_", "-"))
    return _run(
        function, {"scheduledTime": format_utc(when), "scheduleArn": schedule}, label or function
    )


#: Findings that would reach the alert mailbox (the template's filter policy with
#: ``AlertEmailMinSeverity`` medium: alerts at or above it and follow-ups, never reports).
MAILBOX: Counter[str] = Counter()


def _print_findings(aws: Any, *, chat: bool = False) -> int:
    """Print each new finding as the e-mail subscriber gets it (subject and body); ``chat``:
    also as the AWS Chatbot message (Slack/Teams)."""
    findings = [Finding.from_dict(item) for item in aws.findings()]
    for finding in findings:
        routed = category(finding)
        to_mailbox = routed == ALERT and (
            finding.severity.rank >= Severity.MEDIUM.rank or finding.follows is not None
        )
        MAILBOX["alert mailbox" if to_mailbox else "not mailed"] += 1
        print(f"\n--- finding {finding.fingerprint} ({finding.workflow}/{finding.kind}) ---")
        where = "to the alert mailbox" if to_mailbox else "not to the alert mailbox"
        print(f"({routed}, {finding.severity.value}: {where})")
        print(f"Subject: {email_subject(finding)}\n")
        print(finding.render_text())
        if chat:
            note = finding.render_chatbot()
            content = note["content"]
            print("Chat (AWS Chatbot, Slack/Teams):")
            print(f"  title:  {content['title']}")
            print(f"  thread: {note['metadata']['threadId']}")
            print("  description:")
            print("\n".join(f"    {line}" for line in content["description"].splitlines()))
            print("  next steps:")
            print("\n".join(f"    - {step}" for step in content["nextSteps"]))
    return len(findings)


def _intruder(scenario: Scenario) -> list[str]:
    """An administrator's stolen session at work, outside Sentinel: what the watch must see."""
    layout = scenario.layout
    admin = next(a for a in layout.admin_ids if a != layout.key_user_id)
    plain = [
        u
        for u in scenario.users
        if u.status == 1
        and not (u.is_admin or u.is_owner or u.is_room_admin or u.is_ldap or u.is_sso)
        and u.id != layout.key_user_id
    ]
    actions = scenario.admin_actions
    actions.add_admin(admin, plain[0].id)
    actions.create_webhook(plain[1].id, "Nightly export", "https://collector.example.net/in")
    actions.set_ip_restrictions(admin, False)
    actions.set_tfa(admin, "none")
    actions.download_audit_report(admin)
    name = scenario.user_by_id(admin).name
    return [
        f"{name} made {plain[0].name} a DocSpace admin",
        f"{plain[1].name} (a plain user) created a webhook sending to collector.example.net",
        f"{name} switched IP restrictions and two-factor authentication off",
        f"{name} downloaded the audit trail report",
    ]


def _realtime(simulator: SimulatorServer, aws: Any, scenario: Scenario) -> int:
    """A burst seen through the webhooks (in seconds), then through the polling guard."""
    from local.simulator.webhooks import WebhookFaults
    from local.webhook_pipe import InProcessPipe

    _heading("Real-time guard: DocSpace webhooks -> receiver -> SQS -> consumer (enforce)")
    pipe = InProcessPipe(simulator, aws.sqs, "Demo#Webhook-2026")
    os.environ |= pipe.env()
    with contextlib.redirect_stdout(io.StringIO()):
        pipe.hook()  # the portal probes the receiver (HEAD) before it saves the webhook
    print("Webhook configured on the portal, pointing at the receiver (in-process transport)")
    bulk = scenario.planted.bulk_changer
    user = next(
        u
        for u in scenario.users
        if u.status == 1
        and not (u.is_admin or u.is_owner or u.is_ldap or u.is_sso)
        and u.id not in (scenario.layout.key_user_id, bulk.user_id if bulk else "")
    )
    hub = simulator.webhooks
    hub.auto_deliver = False  # queued, then sent all at once: duplicated and shuffled
    hub.faults = WebhookFaults(duplicate=0.4, shuffle=True, seed=14)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    simulator.actions.change_files(user.id, 25, at=start, spacing=timedelta(seconds=7))
    queued = hub.pending
    status_route = "PUT /api/2.0/people/status/{status}"
    puts = simulator.stats.requests[status_route]
    seen: list[float] = []
    began = time.perf_counter()

    def drain(_: float) -> None:  # the queue drained at once: each message to the consumer
        pipe.feed(pipe.take())
        if not seen and scenario.user_by_id(user.id).status == 2:
            seen.append(time.perf_counter() - began)

    pipe.after_post = drain
    logs = io.StringIO()  # the handlers' structured logs
    with contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
        hub.deliver_pending()
        hub.wait_idle(60)
    pipe.after_post = None
    posts = len(pipe.receiver_seconds)
    print(
        f"{user.name} changed 25 files in 3 minutes: {queued} webhooks, {posts} deliveries "
        f"(duplicated, shuffled); {len(pipe.failures)} failed"
    )
    if not seen:
        raise SystemExit("the real-time guard did not disable the user")
    print(f"Disabled {seen[0]:.2f} s after the first delivery was sent (status 2 on the portal)")
    found = _print_findings(aws)

    _heading("The polling guard over the same burst: no second action")
    _scheduled(
        "bulk_change_guard",
        datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1),
        "bulk_change_guard (scheduled, enforce)",
    )
    found += _print_findings(aws)
    again = simulator.stats.requests[status_route] - puts
    print(f"\nPUT people/status requests for this burst: {again} (the real-time guard's one)")
    if again != 1:
        raise SystemExit("the user was acted on twice")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--audit-events", type=int, default=20_000)
    args = parser.parse_args(argv)

    # In-process AWS (moto) and quiet Powertools: the findings are the output.
    os.environ |= {
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "docspace-sentinel-demo",
        "POWERTOOLS_METRICS_NAMESPACE": "DocSpaceSentinelDemo",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "INITIAL_LOOKBACK_HOURS": "96",
        # The simulator is on this machine: no request-rate budget is needed (20/s in AWS).
        "DOCSPACE_REQUESTS_PER_SECOND": "0",
    }
    import warnings

    from aws_lambda_powertools.warnings import PowertoolsUserWarning
    from moto import mock_aws

    # One process runs every workflow here (one each in Lambda): Powertools notices that.
    warnings.simplefilter("ignore", PowertoolsUserWarning)

    from local.aws import create_local_aws

    scenario = generate_scenario(seed=args.seed, audit_events=args.audit_events)
    with SimulatorServer(scenario) as simulator, mock_aws():
        aws = create_local_aws("docspace-sentinel-demo")
        os.environ |= {
            "DOCSPACE_URL": simulator.url,
            "DOCSPACE_API_KEY": simulator.api_key,
            **aws.env(),
        }
        print(
            f"DocSpace simulator at {simulator.url} (seed {args.seed}, {len(scenario.audit)} audit events)"
        )
        with DocSpaceClient.from_env() as client:
            _tour(client)

        now = datetime.now(UTC).replace(microsecond=0)
        total = 0
        _heading("Configuration watch: the first run takes the settings snapshot")
        admin = next(a for a in scenario.layout.admin_ids if a != scenario.layout.key_user_id)
        # Protection as a careful team set it up, weeks ago.
        scenario.admin_actions.set_ip_restrictions(
            admin, True, ["203.0.113.7"], at=now - timedelta(days=20)
        )
        scenario.admin_actions.set_tfa(admin, "app", at=now - timedelta(days=20))
        _scheduled("config_watch", now)
        total += _print_findings(aws)

        _heading("VDR activity monitor (scheduled run)")
        _scheduled("vdr_activity", now)
        total += _print_findings(aws)

        _heading("Login audit (scheduled digest)")
        _scheduled("login_audit", now)
        total += _print_findings(aws)

        _heading("Login audit (on-demand query: failed logins of the last 3 days)")
        answer = invoke(
            "login_audit",
            {
                "action": "failure",
                "from": format_utc(now - timedelta(days=3)),
                "to": format_utc(now),
                "limit": 5,
            },
        )
        print(json.dumps(answer, indent=2))

        _heading("Bulk file-change guard (dry run, the default)")
        _scheduled("bulk_change_guard", now)
        total += _print_findings(aws, chat=True)

        _heading("Bulk file-change guard in enforce mode (an on-demand re-scan of 4 days)")
        old_burst = _plant_old_burst(scenario, now - timedelta(days=3))
        if old_burst:
            print(
                f"(plus a burst by {old_burst} three days ago, from the dry-run weeks: "
                "reported, but too old to act on)"
            )
        os.environ |= {"MODE": "enforce", "RESTRICTION_MINUTES": "60"}
        window = {"from": format_utc(now - timedelta(days=4)), "to": format_utc(now)}
        _run("bulk_change_guard", window, "bulk_change_guard enforce")
        total += _print_findings(aws, chat=True)
        bulk = scenario.planted.bulk_changer
        if bulk is not None:
            status = scenario.user_by_id(bulk.user_id).status
            print(f"\nOn the portal, {bulk.user_id} now has status {status} (2 = disabled)")

        _heading("Restriction release (every few minutes)")
        _scheduled("restriction_release", now + timedelta(minutes=5), "release: nothing due yet")
        records = RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb))
        for record in records.all():
            # what `python -m local.cli restrictions extend USER --until ...` does
            records.extend(record.user_id, now - timedelta(minutes=1))
        _scheduled("restriction_release", now + timedelta(minutes=10), "release: expired")
        total += _print_findings(aws, chat=True)
        if bulk is not None:
            status = scenario.user_by_id(bulk.user_id).status
            print(f"\nOn the portal, {bulk.user_id} now has status {status} (1 = active)")

        _heading("Inactive room members (monthly): reminders and the managers' reports")
        _scheduled("inactive_members", now)
        total += _print_findings(aws)

        _heading("IP allowlist: registrations, the login check and the portal sync (dry run)")
        for user_id, entries in sorted(scenario.planted.allowlists.items()):
            registration = {"userId": user_id, "allowedIps": list(entries)}
            registered = _quiet_invoke("ip_allowlist", registration, attribute="register_handler")
            print(f"registered {user_id}: {json.dumps(registered.get('allowedIps', registered))}")
        rejected = {
            "userId": next(iter(scenario.planted.allowlists)),
            "allowedIps": ["10.0.0.0/33", "not-an-ip"],
        }
        try:
            _quiet_invoke("ip_allowlist", rejected, attribute="register_handler")
        except ValueError as exc:
            print(f"rejected as a whole: {exc}")
        _scheduled("ip_allowlist", now)
        total += _print_findings(aws)

        _heading("Configuration and privilege watch: an intruder at work, and our own changes")
        for line in _intruder(scenario):
            print(f"- {line}")
        _scheduled("config_watch", now + timedelta(minutes=4), "config_watch (next run)")
        total += _print_findings(aws)

        total += _realtime(simulator, aws, scenario)

        _heading("The same schedules fire again (a retried delivery): nothing is sent twice")
        for function in (
            "vdr_activity",
            "login_audit",
            "bulk_change_guard",
            "inactive_members",
            "ip_allowlist",
            "config_watch",
        ):
            again = _scheduled(function, now, f"{function} retried")
            if again["status"] != "duplicate":
                raise SystemExit(f"{function}: a retried delivery ran again")
        _scheduled("vdr_activity", now + timedelta(minutes=15), "vdr_activity 15 min later")
        repeated = _print_findings(aws)

        _heading(
            f"Done: {total} findings published, {repeated} repeated; "
            f"{MAILBOX['alert mailbox']} reach the alert mailbox (AlertEmailMinSeverity medium, "
            f"follow-ups, no reports), {MAILBOX['not mailed']} do not"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
