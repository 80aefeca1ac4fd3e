"""Administrator commands, against the same state table and portal the functions use.

    python -m local.cli restrictions list [--all]
    python -m local.cli restrictions lift USER_ID
    python -m local.cli restrictions extend USER_ID (--minutes N | --until 2026-12-01T08:00:00Z)
    python -m local.cli restrictions permanent USER_ID
    python -m local.cli rooms create-vdr --title "Project X VDR"

Settings come from the environment as for the functions: ``STATE_TABLE`` (and AWS credentials
for it), ``DOCSPACE_URL`` with ``DOCSPACE_API_KEY`` or ``DOCSPACE_API_KEY_SECRET``, and
optionally ``FINDINGS_TOPIC_ARN`` to publish what a manual lift did.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))

from docspace_sentinel.client import DocSpaceClient, guid
from docspace_sentinel.config import env_required, env_str
from docspace_sentinel.dates import parse_user_date
from docspace_sentinel.errors import SentinelError
from docspace_sentinel.restrictions import RestrictionStore
from docspace_sentinel.state import StateStore


def _records() -> RestrictionStore:
    return RestrictionStore(StateStore(env_required("STATE_TABLE", hint="the state table name")))


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def restrictions_list(args: argparse.Namespace) -> int:
    rows = [r.to_dict() for r in _records().all() if args.all or r.held]
    _print(rows)
    return 0


def restrictions_lift(args: argparse.Namespace) -> int:
    from docspace_sentinel.workflows.restriction_release import lift

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
            from docspace_sentinel.publisher import FindingPublisher

            FindingPublisher(topic).publish(notice)
    _print({"userId": record.user_id, "outcome": outcome})
    return 0 if outcome in ("lifted", "closed") else 1


def restrictions_extend(args: argparse.Namespace) -> int:
    records = _records()
    if args.until:
        until = parse_user_date(args.until)
    else:
        until = records.store.now() + timedelta(minutes=args.minutes)
    if not records.extend(args.user_id, until):
        print(f"no active restriction for {args.user_id}", file=sys.stderr)
        return 1
    _print(records.get(args.user_id).to_dict())  # type: ignore[union-attr]
    return 0


def restrictions_permanent(args: argparse.Namespace) -> int:
    records = _records()
    if not records.make_permanent(args.user_id):
        print(f"no active restriction for {args.user_id}", file=sys.stderr)
        return 1
    _print(records.get(args.user_id).to_dict())  # type: ignore[union-attr]
    return 0


def rooms_create_vdr(args: argparse.Namespace) -> int:
    with DocSpaceClient.from_env() as client:
        room = client.create_room(args.title, room_type=8)
    _print({"id": room.id, "title": room.title, "roomType": room.room_type})
    return 0


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
    when.add_argument("--minutes", type=int, help="from now")
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
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except (SentinelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
