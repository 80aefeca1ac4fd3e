"""The one-off move of allowlists to their version-2 keys (``state_keys``).

Until version 2 each allowlist had a partition of its own (``allow#<userId>`` / ``entries``), so
listing them was a Scan of the whole table, twice per IP-allowlist run and on every
registration. Now they share one (``allow`` / ``<userId>``) and listing is a Query.

A deployed table keeps its old items until ``python -m local.cli allowlist migrate-keys`` moves
them (operator credentials: the functions may not write the old keys). Until then a reader
would find no allowlist at all, which would silently switch the login check off and let the
portal sync take every registered address off the portal. So the allowlist store checks the
layout once per use: the marker item ``schema`` / ``allowlist-v2`` says it is done (one
GetItem); without the marker, one Scan looks for old items, and either finds none (a new table,
or one already migrated: the marker is written, and no function scans again for a week) or
some, and then the run fails naming the command (``LegacyAllowlists``) instead of working on a
partial view. The marker lapses after ``MARKER_VALID_FOR`` (one Scan a week): a stack rolled
back to a version before this layout writes old items again, which would otherwise be ignored
for good after the re-upgrade.

The migration is idempotent: each old item is written under its new key unless one is already
there (a registration made since wins), then deleted; the marker is written last.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, NamedTuple

from ...state import keys as state_keys
from ...state.errors import ConditionFailed
from ...state.store import StateStore, to_epoch, to_iso
from .errors import LegacyAllowlists

COMMAND = "python -m local.cli allowlist migrate-keys"
#: How long the marker spares the Scan for old items (it is kept as the item's TTL too).
MARKER_VALID_FOR = timedelta(days=7)


class Migration(NamedTuple):
    found: int
    moved: int
    #: Old items whose user already had an allowlist under the new key (that one is kept).
    superseded: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "moved": self.moved,
            "superseded": self.superseded,
            "dryRun": self.dry_run,
        }


def legacy_items(store: StateStore) -> Iterator[dict[str, Any]]:
    """Allowlist items in the old layout (a filtered Scan of the whole table)."""
    return store.paged(
        "scan",
        FilterExpression="begins_with(pk, :p) AND sk = :sk",
        ExpressionAttributeValues=store.encode(
            {":p": state_keys.LEGACY_ALLOW_PREFIX, ":sk": state_keys.LEGACY_ALLOW_SK}
        ),
        ConsistentRead=True,
    )


def check_layout(store: StateStore) -> None:
    """Raise ``LegacyAllowlists`` while old items remain; otherwise make sure the marker is
    there (so this costs one GetItem until it lapses). A marker without an expiry (written
    before it had one) counts as lapsed."""
    marker = store.get(*state_keys.ALLOWLIST_SCHEMA)
    lapses = marker.get("expiresAt") if marker else None
    if lapses is not None and float(lapses) > store.now().timestamp():
        return
    if next(legacy_items(store), None) is not None:
        raise LegacyAllowlists(
            "the allowlists are still stored under their old keys (allow#<userId>); run "
            f"`{COMMAND}` once, then retry"
        )
    _mark(store)


def migrate_keys(store: StateStore, *, dry_run: bool = False) -> Migration:
    """Move every old-layout allowlist to its new key; ``dry_run`` only counts them."""
    found = moved = superseded = 0
    for item in legacy_items(store):
        found += 1
        if dry_run:
            continue
        user_id = str(item["pk"]).removeprefix(state_keys.LEGACY_ALLOW_PREFIX)
        new = {**item, **state_keys.allowlist(user_id).item()}
        try:
            store.call(
                "put_item",
                Item=store.encode(new),
                ConditionExpression="attribute_not_exists(pk)",
            )
            moved += 1
        except ConditionFailed:
            superseded += 1
        store.delete(*state_keys.legacy_allowlist(user_id))
    if not dry_run:
        _mark(store)
    return Migration(found, moved, superseded, dry_run)


def _mark(store: StateStore) -> None:
    now = store.now()
    store.put(
        {
            **state_keys.ALLOWLIST_SCHEMA.item(),
            "doneAt": to_iso(now),
            "expiresAt": to_epoch(now + MARKER_VALID_FOR),
        }
    )
