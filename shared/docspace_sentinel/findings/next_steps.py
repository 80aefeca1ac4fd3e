"""Next steps per finding kind: what to check, and the commands that lift, extend or silence.

One table (``STEPS``), rendered by e-mail (a numbered list) and chat (the Chatbot ``nextSteps``).
Commands are filled in only with values the sentinel validated (a user GUID, a room's integer
id, the finding's own id, workflow and kind): portal text never reaches a command line.
``python -m local.cli`` is the operator CLI (README, "Operating it").
"""

from __future__ import annotations

import re

from .finding import Finding

CLI = "python -m local.cli"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_CHECK_USER = "Ask {who} (or their manager) whether this was them and expected."
_LIFT = f"Lift the restriction now: `{CLI} restrictions lift {{user}}`"
_EXTEND = f"Keep them disabled longer: `{CLI} restrictions extend {{user}} --minutes 240`"
_KEEP = f"Never lift it automatically: `{CLI} restrictions permanent {{user}}`"

#: kind -> steps. "{who}", "{user}", "{room}" are filled in by ``steps``; a step whose
#: placeholder cannot be filled is left out.
STEPS: dict[str, tuple[str, ...]] = {
    "bulk_file_change": (
        "Check the files listed: were they overwritten, renamed or deleted on purpose "
        "(a migration, a script) or by ransomware or a stolen session?",
        _CHECK_USER,
    ),
    "bulk_download": (
        "Check what was downloaded and whether the user should have it.",
        _CHECK_USER,
    ),
    "vdr_high_activity": (
        "Compare the day's events with the usual level and the kind of activity (evidence): mass "
        "downloads from a data room are the pattern to worry about.",
        "Check the user's recent sign-ins (below) for new IP addresses or countries.",
        _CHECK_USER,
    ),
    "brute_force": (
        "Check whether the login exists and whether the source addresses are known.",
        "If the attack goes on, block the addresses at the portal's IP restrictions or firewall.",
    ),
    "login_after_failures": (
        "Treat the account as possibly taken over: ask {who} whether they signed in.",
        "If not, reset the password and end every session in DocSpace (People > the user).",
    ),
    "ip_not_allowed": (
        "Ask {who} whether they signed in from this address (travel, new office, VPN).",
        f"If it is theirs, add it: `{CLI} allowlist add {{user}} <address>`",
    ),
    "ip_unverifiable": (
        "The sign-in could not be checked against the allowlist; look it up in the audit trail.",
    ),
    "allowlist_too_wide": (f"Narrow the allowlist: `{CLI} allowlist replace {{user}} <entries>`",),
    "ip_sync_refused": (
        "Read 'Refused because' below; nothing was written to the portal.",
        f"Run the sync by hand when fixed: `{CLI} allowlist sync`",
    ),
    "ip_sync_failed": (
        "The portal's IP restrictions may be half-written: check them in DocSpace settings.",
        f"Retry: `{CLI} allowlist sync`",
    ),
    "ip_sync_removal_held": (
        f"Confirm the removal: `{CLI} allowlist sync --confirm-remove <address>`",
    ),
    "restriction_lifted": (
        "Nothing to do if the original finding was explained; otherwise disable the user again "
        "in DocSpace.",
    ),
    "restriction_failed": (
        "The user may still be disabled or was never disabled: check their status in DocSpace.",
        f"Then lift or close the record: `{CLI} restrictions lift {{user}}`",
    ),
    "restriction_extended": (_LIFT,),
    "restriction_closed": ("Nothing to do: an administrator changed the user meanwhile.",),
    "webhook_unhealthy": (
        f"Check the webhook: `{CLI} webhooks status`; reinstall it: `{CLI} webhooks install "
        "--url <receiver URL>`",
    ),
    "webhook_healthy": ("Nothing to do: real-time detection has resumed.",),
    "config_change": ("Check who changed the setting and whether the change was approved.",),
}

_CLOSE = f"A false positive? Close it: `{CLI} findings close {{finding}} --reason false-positive`"
_SUPPRESS = (
    f"Expected and recurring? Silence it for a while: `{CLI} suppress add --workflow "
    '{workflow} --kind {kind}{user_option} --until <YYYY-MM-DD> --reason "..."`'
)


def steps(finding: Finding) -> list[str]:
    """The next steps for ``finding`` (sentinel text and validated ids only)."""
    user = finding.user.id if finding.user and _GUID.fullmatch(finding.user.id) else None
    values = {
        "who": "the user" if finding.user else "the person concerned",
        "user": user,
        "finding": finding.fingerprint,
        "workflow": finding.workflow,
        "kind": finding.kind,
        "user_option": f" --user {user}",
    }
    wanted = list(STEPS.get(finding.kind, ()))
    statuses = {a.status for a in finding.actions if a.action == "disable_user"}
    if "done" in statuses:
        wanted += [_LIFT, _EXTEND, _KEEP]
    elif "proposed" in statuses:
        wanted.append(
            "Dry run: nothing was changed. Disable the user in DocSpace yourself if needed "
            "(ResponseMode enforce lets Sentinel do it)."
        )
    if finding.follows is None:
        # a suppression rule names a user (``suppress add --user`` is required)
        wanted += [_CLOSE, _SUPPRESS] if user else [_CLOSE]
    out = []
    for step in wanted:
        if "{user}" in step and user is None:
            continue
        out.append(step.format(**values))
    return out
