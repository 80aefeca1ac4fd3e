"""``python -m local.cli findings close FINDING_ID --reason false-positive|resolved [--note …]``.

Records the closure in the state table (``closed`` / ``<finding id>``: who, when, why), so the
functions stop publishing the finding's follow-ups; with ``SECURITY_HUB_EXPORT=true`` it also
archives the finding in Security Hub and sets it RESOLVED (a false positive also gets
``VerificationState: FALSE_POSITIVE``). Who: the AWS caller identity, else ``$USER``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from typing import Any

from docspace_sentinel.findings import closures
from docspace_sentinel.findings.exports import Exporter, ExportSettings
from docspace_sentinel.findings.exports.asff import followed_up
from docspace_sentinel.findings.finding import Finding, FollowRef, Severity
from docspace_sentinel.runtime.env import env_required
from docspace_sentinel.state.store import StateStore

_FINDING_ID = re.compile(r"[0-9a-f]{32}")


def finding_id(value: str) -> str:
    text = value.strip().lower()
    if not _FINDING_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f'not a finding id (32 hexadecimal characters, the finding\'s "id"): {value[:60]!r}'
        )
    return text


def who() -> str:
    """The AWS caller identity's ARN, else the local user name."""
    try:
        import boto3

        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except Exception:  # noqa: BLE001 - no credentials, no network: say who locally
        return f"user:{getpass.getuser()}"


def findings_close(args: argparse.Namespace) -> int:
    exports = ExportSettings.from_env()  # a bad setting fails here, before any AWS call
    store = StateStore(env_required("STATE_TABLE", hint="the state table name"))
    by = who()
    closure = closures.close(
        store, args.finding_id, args.reason, by, args.note or "", now=store.now()
    )
    answer: dict[str, Any] = dict(closure._asdict())
    answer["securityHub"] = (
        close_in_security_hub(closure, exports) if exports.security_hub else "off"
    )
    print(json.dumps(answer, indent=2))
    return 0


def close_in_security_hub(
    closure: closures.Closure, exports: ExportSettings, exporter: Exporter | None = None
) -> str:
    """Archive the ASFF finding and set it RESOLVED; what was done."""
    hub = (exporter or Exporter(exports)).securityhub()
    original = hub.original(closure.finding_id)
    if original is None:
        return "not found (never exported)"
    closing = Finding(
        workflow="operator",
        kind="finding_closed",
        severity=Severity.LOW,
        title=f"Closed as {closure.reason} by {closure.by}",
        summary=closure.note,
        dedup=(closure.finding_id,),
        portal_url="",
        follows=FollowRef(closure.finding_id),
    )
    from datetime import datetime

    hub.import_findings(
        [followed_up(original, closing, now=datetime.fromisoformat(closure.at), resolve=True)]
    )
    note = f"Closed as {closure.reason}" + (f": {closure.note}" if closure.note else "")
    resolved = hub.resolve(
        closure.finding_id,
        note={"Text": note[:512], "UpdatedBy": closure.by[:512]},
        verification="FALSE_POSITIVE" if closure.reason == "false-positive" else None,
    )
    return "archived and resolved" if resolved else "archived"


def add_parser(groups: Any) -> None:
    findings = groups.add_parser("findings", help="published findings")
    commands = findings.add_subparsers(dest="command", required=True)
    close = commands.add_parser(
        "close", help="close a finding: its follow-ups stop; Security Hub archives it"
    )
    close.add_argument("finding_id", type=finding_id, help='the finding\'s "id"')
    close.add_argument("--reason", required=True, choices=closures.REASONS)
    close.add_argument("--note", help="why, in a few words (kept with the closure)")
    close.set_defaults(run=findings_close)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it as: python -m local.cli findings close …")
