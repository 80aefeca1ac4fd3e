"""A finding in the AWS Security Finding Format (ASFF), for Security Hub's ``BatchImportFindings``.

One finding is one ASFF finding: its ``Id`` is the finding's id (the fingerprint), so a re-run,
a re-publication after the suppression period and a follow-up all address the same ASFF finding.
The ASFF ``Types`` of each finding kind are in ``TYPES`` (one place); a kind not listed there
gets ``DEFAULT_TYPES``. Portal strings (names, titles, e-mail addresses) go in as data: one line
(``untrusted.one_line``) and bounded to the ASFF limits.

A follow-up (``Finding.follows``) does not become an ASFF finding of its own: it updates the one
it follows (``followed_up``): the original's fields re-imported with a newer ``UpdatedAt`` and
the follow-up named in ``ProductFields``; a follow-up that ends the matter (``RESOLVING``: the
restriction lifted or closed, the finding closed with the CLI) also archives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from ..finding import Finding, Severity
from ..normalize import format_utc, shorten
from ..untrusted import one_line

SCHEMA_VERSION = "2018-10-08"
TITLE_MAX = 256
DESCRIPTION_MAX = 1024
#: A ``ProductFields`` or ``Details.Other`` value (the ASFF allows 1024 characters; portal text
#: is kept shorter).
VALUE_MAX = 256
ID_MAX = 512
#: The prefix of our ``ProductFields`` keys (``aws/`` is Security Hub's own).
FIELD_PREFIX = "docspace-sentinel/"

#: The ASFF types (namespace/category[/classifier]) of each finding kind.
TYPES: Mapping[str, tuple[str, ...]] = {
    # bulk changes: files changed or deleted en masse, what ransomware or sabotage looks like
    "bulk_file_change": ("TTPs/Impact", "Effects/Data Destruction", "Unusual Behaviors/User"),
    "forged_delivery": ("TTPs/Defense Evasion", "Unusual Behaviors/Application"),
    "vdr_high_activity": ("Unusual Behaviors/User", "Effects/Data Exfiltration"),
    "brute_force": ("TTPs/Credential Access",),
    "login_after_failures": ("TTPs/Initial Access", "Unusual Behaviors/User"),
    "login_digest": ("Software and Configuration Checks/Industry and Regulatory Standards",),
    "ip_not_allowed": ("TTPs/Initial Access", "Unusual Behaviors/IP address"),
    "ip_unverifiable": ("Unusual Behaviors/IP address",),
    "login_blocked_by_ip": ("TTPs/Initial Access",),
    "allowlist_too_wide": ("Software and Configuration Checks/AWS Security Best Practices",),
    "config_change": ("Software and Configuration Checks/Industry and Regulatory Standards",),
    "config_snapshot_change": (
        "Software and Configuration Checks/Industry and Regulatory Standards",
    ),
    "config_change_by_sentinel": (
        "Software and Configuration Checks/Industry and Regulatory Standards",
    ),
    "inactive_member_reminder": (
        "Software and Configuration Checks/Industry and Regulatory Standards",
    ),
    "room_activity_report": (
        "Software and Configuration Checks/Industry and Regulatory Standards",
    ),
}
DEFAULT_TYPES: tuple[str, ...] = ("Software and Configuration Checks",)

#: Follow-up kinds that end the matter of the finding they follow: it is archived (and set
#: RESOLVED where ``BatchUpdateFindings`` is allowed).
RESOLVING = frozenset({"restriction_lifted", "restriction_closed", "finding_closed"})

_LABEL = {
    Severity.LOW: ("LOW", 30),
    Severity.MEDIUM: ("MEDIUM", 50),
    Severity.HIGH: ("HIGH", 80),
    Severity.CRITICAL: ("CRITICAL", 95),
}

#: The fields we write at import; a re-import sends exactly these (GetFindings returns more).
IMPORT_FIELDS = (
    "SchemaVersion",
    "Id",
    "ProductArn",
    "ProductName",
    "CompanyName",
    "GeneratorId",
    "AwsAccountId",
    "Region",
    "Types",
    "FirstObservedAt",
    "LastObservedAt",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "SourceUrl",
    "ProductFields",
    "Resources",
    "FindingProviderFields",
    "RecordState",
)


class Account(NamedTuple):
    """Where findings are imported: the account's default product in its region."""

    partition: str
    region: str
    account_id: str

    @property
    def product_arn(self) -> str:
        return (
            f"arn:{self.partition}:securityhub:{self.region}:{self.account_id}"
            f":product/{self.account_id}/default"
        )

    @classmethod
    def of_arn(cls, arn: str) -> Account | None:
        """From any ARN that names a region and an account (a Lambda function's, say)."""
        parts = arn.split(":")
        if len(parts) < 6 or parts[0] != "arn" or not parts[3] or not parts[4].isdigit():
            return None
        return cls(parts[1], parts[3], parts[4])


def types_of(kind: str) -> list[str]:
    return list(TYPES.get(kind, DEFAULT_TYPES))


def generator_id(finding: Finding) -> str:
    return f"docspace-sentinel/{finding.workflow}/{finding.kind}"


def _text(value: object, limit: int) -> str:
    r"""One line, runs of blanks as one space, trimmed, at most ``limit`` characters, never
    blank: Security Hub refuses a Title, Description, Id or ``Details.Other`` value that does
    not match ``.*\S.*``, and a name of zero-width characters must not keep a real finding out."""
    text = " ".join(one_line(value).split())
    return shorten(text, limit) or "-"


def _resources(finding: Finding, account: Account) -> list[dict[str, Any]]:
    base = {"Type": "Other", "Partition": account.partition, "Region": account.region}
    resources: list[dict[str, Any]] = []
    if finding.user is not None:
        user = finding.user
        details = {"userId": user.id, "name": user.name, "email": user.email}
        resources.append(
            {
                **base,
                "Id": _text(f"docspace:user/{user.id}", ID_MAX),
                "Details": {"Other": _other(details)},
            }
        )
    if finding.room is not None and finding.room.id is not None:
        room = finding.room
        details = {"roomId": str(room.id), "title": room.title}
        resources.append(
            {**base, "Id": f"docspace:room/{room.id}", "Details": {"Other": _other(details)}}
        )
    if not resources:  # at least one resource: the portal
        portal = {"portalUrl": finding.portal_url}
        resources.append(
            {
                **base,
                "Id": _text(f"docspace:portal/{finding.portal_url}", ID_MAX),
                "Details": {"Other": _other(portal)},
            }
        )
    return resources


def _other(values: Mapping[str, object]) -> dict[str, str]:
    return {k: _text(v, VALUE_MAX) for k, v in values.items() if v not in (None, "")}


def build(finding: Finding, account: Account, *, now: datetime) -> dict[str, Any]:
    """``finding`` as one ASFF finding (``now``: its ``UpdatedAt``)."""
    label, normalized = _LABEL[finding.severity]
    types = types_of(finding.kind)
    created = format_utc(finding.created_at)
    asff: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding.fingerprint,
        "ProductArn": account.product_arn,
        "ProductName": "DocSpace Sentinel",
        "CompanyName": "DocSpace Sentinel",
        "GeneratorId": generator_id(finding),
        "AwsAccountId": account.account_id,
        "Region": account.region,
        "Types": types,
        "CreatedAt": created,
        "UpdatedAt": format_utc(max(finding.created_at, now)),
        "Severity": {"Label": label, "Normalized": normalized, "Original": finding.severity.value},
        "Title": _text(finding.title, TITLE_MAX),
        "Description": _text(
            finding.summary if finding.summary.strip() else finding.title, DESCRIPTION_MAX
        ),
        "ProductFields": {
            f"{FIELD_PREFIX}workflow": finding.workflow,
            f"{FIELD_PREFIX}kind": finding.kind,
            f"{FIELD_PREFIX}schemaVersion": str(finding.to_dict()["schemaVersion"]),
            **{
                f"{FIELD_PREFIX}action/{i}": _text(f"{a.action} {a.target}: {a.status}", VALUE_MAX)
                for i, a in enumerate(finding.actions[:5])
            },
        },
        "Resources": _resources(finding, account),
        "FindingProviderFields": {
            "Severity": {"Label": label, "Original": finding.severity.value},
            "Types": types,
        },
        "RecordState": "ACTIVE",
    }
    if finding.portal_url.startswith(("https://", "http://")):
        asff["SourceUrl"] = finding.portal_url
    if finding.period_start is not None:
        asff["FirstObservedAt"] = format_utc(finding.period_start)
    if finding.period_end is not None:
        asff["LastObservedAt"] = format_utc(finding.period_end)
    return asff


def followed_up(
    original: Mapping[str, Any], follow_up: Finding, *, now: datetime, resolve: bool
) -> dict[str, Any]:
    """The original ASFF finding (as ``GetFindings`` returned it, or as built) updated by a
    follow-up: re-imported with a newer ``UpdatedAt``, the follow-up in ``ProductFields``, and
    ``RecordState`` ARCHIVED when ``resolve``."""
    updated = {k: original[k] for k in IMPORT_FIELDS if k in original}
    # a newer UpdatedAt than the stored one, or Security Hub ignores the update
    previous = _parse(original.get("UpdatedAt"))
    later = now if previous is None or now > previous else previous + timedelta(milliseconds=1)
    updated["UpdatedAt"] = format_utc(later)
    fields = {
        k: v
        for k, v in dict(original.get("ProductFields") or {}).items()
        if not str(k).startswith("aws/")  # Security Hub's own, added at import
    }
    fields[f"{FIELD_PREFIX}followUpId"] = follow_up.fingerprint
    fields[f"{FIELD_PREFIX}followUpKind"] = follow_up.kind
    fields[f"{FIELD_PREFIX}followUp"] = _text(follow_up.title, VALUE_MAX)
    updated["ProductFields"] = fields
    if resolve:
        updated["RecordState"] = "ARCHIVED"
    return updated


def _parse(stamp: object) -> datetime | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
