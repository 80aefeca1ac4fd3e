"""Administrator commands, against the same state table and portal the functions use.

    python -m local.cli restrictions list [--all]
    python -m local.cli restrictions lift USER_ID
    python -m local.cli restrictions extend USER_ID (--minutes N | --until 2026-12-01T08:00:00Z)
    python -m local.cli restrictions permanent USER_ID
    python -m local.cli rooms create-vdr --title "Project X VDR"
    python -m local.cli allowlist list [USER]
    python -m local.cli allowlist replace USER ENTRY [ENTRY ...]
    python -m local.cli allowlist add USER ENTRY [ENTRY ...]
    python -m local.cli allowlist remove USER (ENTRY [ENTRY ...] | --all)
    python -m local.cli allowlist import FILE [--format json|csv]
    python -m local.cli allowlist sync [--confirm-remove ADDRESS ...]
    python -m local.cli allowlist migrate-keys [--dry-run]
    python -m local.cli webhooks install --url URL [--secret-name NAME] [--rotate-secret]
    python -m local.cli webhooks status [--url URL]
    python -m local.cli webhooks remove [--url URL] --yes
    python -m local.cli suppress add --user USER_ID --workflow WORKFLOW [--kind KIND]
        [--room ROOM_ID] (--until 2026-12-31[T08:00:00Z] | --permanent) --reason "..." [--by WHO]
    python -m local.cli suppress list [--all | --hits]
    python -m local.cli suppress remove RULE_ID
    python -m local.cli findings close FINDING_ID --reason false-positive|resolved [--note TEXT]

``USER`` is a user id or an email that names exactly one portal user. An ``ENTRY`` is an IPv4
or IPv6 address, a CIDR block or an ``a-b`` range. A change runs the portal sync in the mode
``PORTAL_SYNC`` says (``dry-run`` unless set), as the registration function does. An import
that names one user twice (e.g. once by id, once by email) is refused whole. ``sync
--confirm-remove`` lets the sync drop those always-allowed addresses while restrictions apply
(as ``PORTAL_SYNC_CONFIRM_REMOVE`` does).

Settings come from the environment as for the functions: ``STATE_TABLE`` (and AWS credentials
for it), ``DOCSPACE_URL`` with ``DOCSPACE_API_KEY`` or ``DOCSPACE_API_KEY_SECRET``, and
optionally ``FINDINGS_TOPIC_ARN`` to publish what a manual lift or a sync did. ``suppress``
(rules that keep a workflow's findings about one user back, and every action on them:
``docspace_sentinel.findings.suppression``) needs only the state table; a rule's author is the
AWS caller identity when STS answers, else ``$USER``, unless ``--by`` says. ``webhooks``
needs no state table; ``install`` writes the secret with the AWS credentials of the environment
(``local.webhook_setup``).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import ipaddress
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))

from docspace_sentinel.docspace.client import DocSpaceClient, guid
from docspace_sentinel.docspace.dates import parse_user_date
from docspace_sentinel.findings.finding import Finding
from docspace_sentinel.runtime.env import env_required, env_str
from docspace_sentinel.runtime.errors import SentinelError
from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore


def _records() -> RestrictionStore:
    return RestrictionStore(StateStore(env_required("STATE_TABLE", hint="the state table name")))


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def restrictions_list(args: argparse.Namespace) -> int:
    rows = [r.to_dict() for r in _records().all() if args.all or r.held]
    _print(rows)
    return 0


def restrictions_lift(args: argparse.Namespace) -> int:
    from docspace_sentinel.findings.exports import ExportSettings
    from docspace_sentinel.workflows.restriction_release import lift

    exports = ExportSettings.from_env()  # a bad setting fails here, before the lift
    records = _records()
    record = records.get(args.user_id)
    if record is None or not record.held:
        print(f"no active restriction for {args.user_id}", file=sys.stderr)
        return 1
    with DocSpaceClient.from_env() as client:
        outcome, notice = lift(client, records, record)
    if notice is not None:
        topic = env_str("FINDINGS_TOPIC_ARN")
        if topic:
            from docspace_sentinel.runtime.handler import finding_publisher

            # with the exports the functions have (the lift updates the Security Hub finding)
            finding_publisher(topic, exports).publish(notice)
    _print({"userId": record.user_id, "outcome": outcome})
    return 0 if outcome in ("lifted", "closed") else 1


#: The furthest a restriction's end may be moved: a longer one is what ``permanent`` is for, and
#: a bound catches a typo in the minutes.
MAX_EXTENSION = timedelta(days=366)


def restrictions_extend(args: argparse.Namespace) -> int:
    records = _records()
    now = records.store.now()
    if args.until:
        until = parse_user_date(args.until)
    else:
        minutes = args.minutes.strip()
        if not minutes.isascii() or not minutes.lstrip("-").isdigit() or len(minutes) > 9:
            raise ValueError(f"--minutes must be a whole number, got {args.minutes[:40]!r}")
        until = now + timedelta(minutes=int(minutes))
    if until <= now:
        raise ValueError("the restriction's new end must be in the future")
    if until > now + MAX_EXTENSION:
        raise ValueError(
            f"the restriction's new end must be within {MAX_EXTENSION.days} days"
            " (use `restrictions permanent` for longer)"
        )
    if not records.extend(args.user_id, until):
        print(f"no active restriction for {args.user_id}", file=sys.stderr)
        return 1
    record = records.get(args.user_id)
    _publish_change(record, f"extended until {until:%Y-%m-%d %H:%M} UTC")
    _print(record.to_dict())  # type: ignore[union-attr]
    return 0


def _publish_change(record: Any, what: str) -> None:
    """Publish the follow-up of an extended or permanent restriction (``FINDINGS_TOPIC_ARN``)."""
    topic = env_str("FINDINGS_TOPIC_ARN")
    if not topic or record is None:
        return
    from docspace_sentinel.findings.publisher import FindingPublisher
    from docspace_sentinel.workflows.restriction_release import changed_notice

    portal = env_str("DOCSPACE_URL") or ""
    FindingPublisher(topic).publish(changed_notice(portal, record, what))


def restrictions_permanent(args: argparse.Namespace) -> int:
    records = _records()
    if not records.make_permanent(args.user_id):
        print(f"no active restriction for {args.user_id}", file=sys.stderr)
        return 1
    record = records.get(args.user_id)
    _publish_change(record, "made permanent: it is never lifted automatically")
    _print(record.to_dict())  # type: ignore[union-attr]
    return 0


def rooms_create_vdr(args: argparse.Namespace) -> int:
    with DocSpaceClient.from_env() as client:
        room = client.create_room(args.title, room_type=8)
    _print({"id": room.id, "title": room.title, "roomType": room.room_type})
    return 0


# -- suppression rules ----------------------------------------------------------------------------


def _author(given: str | None) -> str:
    """Who adds a rule: ``--by``, else the AWS caller identity, else the local user."""
    if given and given.strip():
        return " ".join(given.split())[:200]
    try:
        import boto3

        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError, KeyError):
        return f"cli:{getpass.getuser()}"


def suppress_add(args: argparse.Namespace) -> int:
    from docspace_sentinel.findings import suppression as sup

    store = _state()
    now = store.now()
    if args.permanent and args.until:
        raise ValueError("give either --until or --permanent, not both")
    if not args.permanent and not args.until:
        raise ValueError(
            "a rule needs an end: --until 2026-12-31 (or an ISO 8601 time), or --permanent"
        )
    rule = sup.Rule(
        id=sup.new_rule_id(),
        user_id=sup.user_id(args.user),
        workflow=sup.workflow(args.workflow),
        reason=sup.reason(args.reason),
        created_by=_author(args.by),
        created_at=now,
        until=None if args.permanent else sup.until_of(args.until, now),
        kind=sup.kind(args.kind) if args.kind is not None else None,
        room_id=sup.room_id(args.room) if args.room is not None else None,
    )
    sup.RuleStore(store).add(rule)
    _print(rule.to_dict(now))
    return 0


def suppress_list(args: argparse.Namespace) -> int:
    from docspace_sentinel.findings import suppression as sup

    store = _state()
    rules = sup.RuleStore(store)
    if args.hits:
        _print(rules.hits())
        return 0
    now = store.now()
    _print([r.to_dict(now) for r in rules.stored() if args.all or r.active(now)])
    return 0


def suppress_remove(args: argparse.Namespace) -> int:
    from docspace_sentinel.findings import suppression as sup

    removed = sup.RuleStore(_state()).remove(args.rule_id)
    if removed is None:
        print(f"no suppression rule {args.rule_id}", file=sys.stderr)
        return 1
    _print({"removed": removed.to_dict()})
    return 0


# -- allowlists ----------------------------------------------------------------------------------


def _state() -> StateStore:
    return StateStore(env_required("STATE_TABLE", hint="the state table name"))


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def _publisher(
    client: DocSpaceClient, store: StateStore, owner: str
) -> Callable[[list[Finding]], Any]:
    """Publishes (once per fingerprint, like the functions) when ``FINDINGS_TOPIC_ARN`` is set."""

    def publish(findings: list[Finding]) -> None:
        if not findings or not env_str("FINDINGS_TOPIC_ARN"):
            return
        from docspace_sentinel.runtime.handler import finding_publisher as cached_publisher
        from docspace_sentinel.runtime.runner import Runner, RunSettings
        from docspace_sentinel.workflows.ip_allowlist import WORKFLOW

        settings = RunSettings.from_env()
        runner = Runner(
            WORKFLOW,
            settings,
            client=client,
            store=store,
            publisher=cached_publisher(settings.topic_arn, settings.exports),
        )
        runner.publish(findings, owner)

    return publish


def _owner() -> str:
    from docspace_sentinel.docspace.dates import utcnow

    return f"cli@{utcnow().isoformat()}"


def _target(user: str) -> dict[str, Any]:
    return {"email": user} if "@" in user else {"userId": user}


def allowlist_list(args: argparse.Namespace) -> int:
    from docspace_sentinel.workflows.ip_allowlist.store import AllowlistStore

    records = AllowlistStore(_state())
    if args.user:
        found = records.get(guid(args.user))
        if found is None:
            print(f"no allowlist for {args.user}", file=sys.stderr)
            return 1
        _print(found.to_dict())
        return 0
    _print([a.to_dict() for a in records.all()])
    return 0


def allowlist_migrate_keys(args: argparse.Namespace) -> int:
    """Move allowlists stored under their pre-version-2 keys (once per deployed table)."""
    from docspace_sentinel.workflows.ip_allowlist.migration import migrate_keys

    _print(migrate_keys(_state(), dry_run=args.dry_run).to_dict())
    return 0


def allowlist_change(args: argparse.Namespace) -> int:
    from docspace_sentinel.workflows.ip_allowlist.registration import (
        Registration,
        register,
        resolve_user,
    )
    from docspace_sentinel.workflows.ip_allowlist.settings import AllowlistSettings
    from docspace_sentinel.workflows.ip_allowlist.store import AllowlistStore

    store = _state()
    settings = AllowlistSettings.from_env()
    owner = _owner()
    with DocSpaceClient.from_env() as client:
        entries: list[str] = list(args.entries)
        if getattr(args, "all", False):
            if entries:
                print("error: give entries or --all, not both", file=sys.stderr)
                return 2
            target = _target(args.user)
            who = Registration(target.get("userId"), target.get("email"), "remove", (), _by())
            user_id, _email = resolve_user(client, who)
            current = AllowlistStore(store).get(user_id)
            if current is None:
                print(f"no allowlist for {args.user}", file=sys.stderr)
                return 1
            entries = list(current.entries)
        record = {**_target(args.user), "operation": args.operation, "allowedIps": entries}
        answer = register(
            record,
            client=client,
            store=store,
            sync_settings=settings.sync,
            owner=owner,
            publish=_publisher(client, store, owner),
            default_by=_by(),
        )
    _print(answer)
    return 0


_SEPARATORS = re.compile(r"[\s;]+")


def read_import(path: Path, form: str | None) -> list[dict[str, Any]]:
    """Records from a JSON file (a list of records, ``{"allowlists": [...]}`` or one record) or
    a CSV file with the columns ``userId``, ``email``, ``allowedIps`` (entries separated by
    spaces or ``;``; rows of the same user are merged)."""
    form = form or ("csv" if path.suffix.lower() == ".csv" else "json")
    text = path.read_text(encoding="utf-8-sig")
    if form == "json":
        data = json.loads(text)
        if isinstance(data, dict):
            data = data.get("allowlists", [data])
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list of records")
        return data
    merged: dict[str, dict[str, Any]] = {}
    reader = csv.DictReader(text.splitlines())
    missing = {"allowedIps"} - set(reader.fieldnames or ())
    if missing or not {"userId", "email"} & set(reader.fieldnames or ()):
        raise ValueError(f"{path}: the CSV needs the columns userId and/or email, and allowedIps")
    for row in reader:
        user_id = (row.get("userId") or "").strip()
        email = (row.get("email") or "").strip()
        key = (user_id or email).lower()
        record = merged.setdefault(key, {"allowedIps": []})
        if user_id:
            record["userId"] = user_id
        if email:
            record["email"] = email
        record["allowedIps"] += [e for e in _SEPARATORS.split(row.get("allowedIps") or "") if e]
    return list(merged.values())


def allowlist_import(args: argparse.Namespace) -> int:
    """Every record is validated and resolved first: one bad record stores nothing."""
    from docspace_sentinel.workflows.ip_allowlist.errors import InvalidAllowlist
    from docspace_sentinel.workflows.ip_allowlist.registration import (
        expansion_problems,
        parse_registration,
        resolve_user,
        store_registration,
    )
    from docspace_sentinel.workflows.ip_allowlist.settings import AllowlistSettings
    from docspace_sentinel.workflows.ip_allowlist.sync import sync_locked

    records = read_import(Path(args.file), args.format)
    problems: list[str] = []
    parsed = []
    for number, record in enumerate(records, 1):
        try:
            parsed.append(parse_registration({**record, "operation": "replace"}, default_by=_by()))
        except InvalidAllowlist as exc:
            problems += [f"record {number}: {p}" for p in exc.problems]
    settings = AllowlistSettings.from_env()
    for number, registration in enumerate(parsed, 1):
        # Checked before anything is stored: the import is refused whole, not half done.
        texts = [e.text for e in registration.entries]
        problems += [
            f"record {number}: {p}" for p in expansion_problems(texts, settings.sync.max_expanded)
        ]
    if problems:
        raise InvalidAllowlist(problems, subject=f"import of {args.file}")
    store = _state()
    owner = _owner()
    with DocSpaceClient.from_env() as client:
        resolved = []
        for number, registration in enumerate(parsed, 1):
            try:
                resolved.append((*resolve_user(client, registration), registration))
            except InvalidAllowlist as exc:
                problems += [f"record {number}: {p}" for p in exc.problems]
        if problems:
            raise InvalidAllowlist(problems, subject=f"import of {args.file}")
        # Each record replaces its user's list: a user named twice would keep only the last
        # record while both were reported imported. Refused rather than merged, as the two
        # may disagree and the feeding system should say which is right.
        first: dict[str, int] = {}
        for number, (user_id, _email, _registration) in enumerate(resolved, 1):
            if user_id in first:
                problems.append(
                    f"records {first[user_id]} and {number} both name user {user_id}; "
                    "put the user's entries in one record"
                )
            first.setdefault(user_id, number)
        if problems:
            raise InvalidAllowlist(problems, subject=f"import of {args.file}")
        changes = [
            store_registration(store, *item, max_expanded=settings.sync.max_expanded)
            for item in resolved
        ]
        sync = sync_locked(client, store, settings.sync, owner)
        _publisher(client, store, owner)(sync.findings)
    _print(
        {
            "imported": len(changes),
            "changed": sum(c.changed for c in changes),
            "allowlists": [c.to_dict(settings.sync.max_expanded) for c in changes],
            "portalSync": {"mode": settings.sync.mode, **sync.to_dict()},
        }
    )
    return 0


def allowlist_sync(args: argparse.Namespace) -> int:
    from docspace_sentinel.workflows.ip_allowlist.settings import AllowlistSettings
    from docspace_sentinel.workflows.ip_allowlist.sync import sync_locked

    store = _state()
    settings = AllowlistSettings.from_env()
    sync_settings = settings.sync._replace(
        confirm_remove=tuple(dict.fromkeys((*settings.sync.confirm_remove, *args.confirm_remove)))
    )
    owner = _owner()
    with DocSpaceClient.from_env() as client:
        sync = sync_locked(client, store, sync_settings, owner)
        _publisher(client, store, owner)(sync.findings)
    plan = sync.plan
    _print(
        {
            "mode": sync_settings.mode,
            **sync.to_dict(),
            "diff": plan.evidence(sync_settings.mode) if plan is not None else None,
        }
    )
    return 0 if sync.status in ("off", "unchanged", "planned", "applied") else 1


# -- webhooks ------------------------------------------------------------------------------------


def _webhook_url(args: argparse.Namespace, *, required: bool) -> str | None:
    from local.webhook_setup import check_url

    url = args.url or env_str("WEBHOOK_RECEIVER_URL") or None
    if url is None:
        if required:
            raise ValueError("--url is required (the receiver's Function URL)")
        return None
    return check_url(url, allow_http=getattr(args, "allow_http", False))


def webhooks_install(args: argparse.Namespace) -> int:
    from local.webhook_setup import DEFAULT_SECRET_NAME, SecretStore, install

    url = _webhook_url(args, required=True)
    assert url is not None
    name = args.secret_name or env_str("DOCSPACE_WEBHOOK_SECRET_ARN") or DEFAULT_SECRET_NAME
    with DocSpaceClient.from_env() as client:
        _print(install(client, SecretStore(name), url, rotate=args.rotate_secret))
    return 0


def webhooks_status(args: argparse.Namespace) -> int:
    from local.webhook_setup import status

    with DocSpaceClient.from_env() as client:
        report, healthy = status(client, _webhook_url(args, required=False))
    _print(report)
    return 0 if healthy else 1


def webhooks_remove(args: argparse.Namespace) -> int:
    from local.webhook_setup import remove

    if not args.yes:
        raise ValueError("removing the webhook stops real-time detection: add --yes")
    with DocSpaceClient.from_env() as client:
        report = remove(client, _webhook_url(args, required=False))
    _print(report)
    return 0 if report["deleted"] else 1


def _address(value: str) -> str:
    from docspace_sentinel.workflows.ip_allowlist.entries import unmapped

    try:
        return str(unmapped(ipaddress.ip_address(value.strip())))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a single IP address: {value!r}") from None


def _user_id(value: str) -> str:
    try:
        return guid(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m local.cli", description=__doc__.splitlines()[0])
    groups = top.add_subparsers(dest="group", required=True)

    restrictions = groups.add_parser("restrictions", help="temporary restrictions (disabled users)")
    commands = restrictions.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="active restrictions (--all: finished ones too)")
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(run=restrictions_list)
    lift_now = commands.add_parser("lift", help="lift a restriction now")
    lift_now.add_argument("user_id", type=_user_id)
    lift_now.set_defaults(run=restrictions_lift)
    extend = commands.add_parser("extend", help="move a restriction's end")
    extend.add_argument("user_id", type=_user_id)
    when = extend.add_mutually_exclusive_group(required=True)
    # Checked by the command, not by argparse, so a bad value is one line, not a usage text.
    when.add_argument("--minutes", help="from now, a whole number above 0")
    when.add_argument("--until", help="an ISO 8601 time (UTC unless it says otherwise)")
    extend.set_defaults(run=restrictions_extend)
    permanent = commands.add_parser("permanent", help="never lift this restriction automatically")
    permanent.add_argument("user_id", type=_user_id)
    permanent.set_defaults(run=restrictions_permanent)

    rooms = groups.add_parser("rooms", help="rooms")
    room_commands = rooms.add_subparsers(dest="command", required=True)
    create = room_commands.add_parser("create-vdr", help="create a Virtual Data Room")
    create.add_argument("--title", required=True)
    create.set_defaults(run=rooms_create_vdr)

    allowlists = groups.add_parser("allowlist", help="per-user IP allowlists")
    allow_commands = allowlists.add_subparsers(dest="command", required=True)
    show = allow_commands.add_parser("list", help="every allowlist, or one user's")
    show.add_argument("user", nargs="?", type=_user_id, help="a user id")
    show.set_defaults(run=allowlist_list)
    for operation, text in (
        ("replace", "set a user's allowlist"),
        ("add", "add entries to a user's allowlist"),
        ("remove", "remove entries from a user's allowlist"),
    ):
        command = allow_commands.add_parser(operation, help=text)
        command.add_argument("user", help="a user id, or an email naming exactly one user")
        command.add_argument(
            "entries",
            nargs="*" if operation == "remove" else "+",
            metavar="ENTRY",
            help="an address, a CIDR block or an a-b range",
        )
        if operation == "remove":
            command.add_argument("--all", action="store_true", help="remove the whole list")
        command.set_defaults(run=allowlist_change, operation=operation)
    importing = allow_commands.add_parser(
        "import", help="replace the allowlists of the users in a JSON or CSV file"
    )
    importing.add_argument("file")
    importing.add_argument("--format", choices=("json", "csv"), help="default: by the suffix")
    importing.set_defaults(run=allowlist_import)
    sync = allow_commands.add_parser("sync", help="run the portal sync now (PORTAL_SYNC mode)")
    sync.add_argument(
        "--confirm-remove",
        nargs="+",
        default=[],
        type=_address,
        metavar="ADDRESS",
        help="always-allowed addresses this sync may drop while IP restrictions apply",
    )
    sync.set_defaults(run=allowlist_sync)
    migrate = allow_commands.add_parser(
        "migrate-keys", help="move allowlists stored under the old keys (allow#<userId>) once"
    )
    migrate.add_argument("--dry-run", action="store_true", help="only count them")
    migrate.set_defaults(run=allowlist_migrate_keys)

    webhooks = groups.add_parser("webhooks", help="the portal's webhook for the real-time guard")
    hook_commands = webhooks.add_subparsers(dest="command", required=True)
    url_help = "the receiver's Function URL (default: WEBHOOK_RECEIVER_URL)"
    install = hook_commands.add_parser("install", help="create or update the webhook (idempotent)")
    install.add_argument("--url", help=url_help)
    install.add_argument(
        "--secret-name",
        help="Secrets Manager name or ARN for the webhook secret (default: "
        "DOCSPACE_WEBHOOK_SECRET_ARN, else docspace-sentinel/webhook-secret)",
    )
    install.add_argument("--rotate-secret", action="store_true", help="store and set a new secret")
    install.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)  # tests
    install.set_defaults(run=webhooks_install)
    show_hook = hook_commands.add_parser("status", help="our webhook's state (exit 1 if unhealthy)")
    show_hook.add_argument("--url", help=url_help)
    show_hook.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)
    show_hook.set_defaults(run=webhooks_status)
    drop = hook_commands.add_parser("remove", help="delete our webhook (the secret stays)")
    drop.add_argument("--url", help=url_help)
    drop.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)
    drop.add_argument("--yes", action="store_true", help="really delete it")
    drop.set_defaults(run=webhooks_remove)
    suppress = groups.add_parser(
        "suppress", help="suppression rules: keep a workflow's findings on one user back"
    )
    sup_commands = suppress.add_subparsers(dest="command", required=True)
    add = sup_commands.add_parser("add", help="add a rule (an end or --permanent is required)")
    # Checked by the command, not by argparse, so a bad value is one line, not a usage text.
    add.add_argument("--user", required=True, help="the user id (a GUID)")
    add.add_argument("--workflow", required=True, help="e.g. bulk_change_guard")
    add.add_argument("--kind", help="only this finding kind (e.g. bulk_file_change)")
    add.add_argument("--room", help="only findings about this room id")
    add.add_argument("--until", help="a date (through that day, UTC) or an ISO 8601 time")
    add.add_argument("--permanent", action="store_true", help="no end: until removed")
    add.add_argument("--reason", required=True, help="why (kept with the rule)")
    add.add_argument("--by", help="who adds it (default: the AWS caller identity, else $USER)")
    add.set_defaults(run=suppress_add)
    sup_list = sup_commands.add_parser("list", help="active rules (--all: expired ones too)")
    which = sup_list.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true")
    which.add_argument(
        "--hits", action="store_true", help="the findings rules kept back (last 30 days)"
    )
    sup_list.set_defaults(run=suppress_list)
    drop_rule = sup_commands.add_parser("remove", help="delete a rule now")
    drop_rule.add_argument("rule_id")
    drop_rule.set_defaults(run=suppress_remove)

    from local.findings_cli import add_parser as add_findings_parser

    add_findings_parser(groups)  # findings close (local/findings_cli.py)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except (SentinelError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NoRegionError:
        print(
            "error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in your"
            " AWS profile) to the stack's region",
            file=sys.stderr,
        )
        return 2
    except (BotoCoreError, ClientError) as exc:
        # No credentials, an expired token, access denied, a missing table: one line, no trace.
        print(f"error: AWS: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
