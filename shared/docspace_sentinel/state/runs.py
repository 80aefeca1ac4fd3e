"""Runs of a workflow on the state table: one run per scheduled time (``claim_run``), one run
of a workflow at a time (the lock), and the audit-trail position read up to (the cursor).
Attributes: see ``store``; keys: ``keys``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from . import keys as state_keys
from .errors import ConditionFailed, CursorConflict
from .table import Table, to_epoch, to_iso


class RunClaim(NamedTuple):
    state: Literal["claimed", "done", "busy"]
    summary: dict[str, Any] | None = None


class Cursor(NamedTuple):
    position: datetime
    run_key: str | None = None
    #: When the position was written (the wall clock of that commit).
    updated_at: datetime | None = None


class RunRecords(Table):
    """Run claims, locks and cursors (``StateStore`` is one)."""

    # -- runs: one effect per scheduled time ---------------------------------------------------

    def claim_run(self, workflow: str, run_key: str, lease: timedelta, keep: timedelta) -> RunClaim:
        """Claim a run key. ``done``: it already completed (return its summary, do nothing);
        ``busy``: another invocation holds it; ``claimed``: go ahead."""
        now = self.now()
        try:
            self.call(
                "put_item",
                Item=self.encode(
                    {
                        **state_keys.run(workflow, run_key).item(),
                        "state": "running",
                        "leaseUntil": to_epoch(now + lease),
                        "expiresAt": to_epoch(now + keep),
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #s = :failed OR (#s = :running AND leaseUntil < :now)"
                ),
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=self.encode(
                    {":failed": "failed", ":running": "running", ":now": to_epoch(now)}
                ),
                # A lost condition answers with the item that won: no second read.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as lost:
            item = lost.item or {}
            if item.get("state") == "done":
                return RunClaim("done", json.loads(item.get("summary") or "{}"))
            return RunClaim("busy")
        return RunClaim("claimed")

    def finish_run(
        self, workflow: str, run_key: str, summary: Mapping[str, Any], keep: timedelta
    ) -> None:
        self.put(
            {
                **state_keys.run(workflow, run_key).item(),
                "state": "done",
                "summary": json.dumps(summary, default=str),
                "expiresAt": to_epoch(self.now() + keep),
            }
        )

    def fail_run(self, workflow: str, run_key: str, keep: timedelta) -> None:
        """A failed run may be retried at once (its lease is dropped)."""
        self.put(
            {
                **state_keys.run(workflow, run_key).item(),
                "state": "failed",
                "leaseUntil": 0,
                "expiresAt": to_epoch(self.now() + keep),
            }
        )

    # -- lock: one run of a workflow at a time --------------------------------------------------

    def acquire_lock(self, workflow: str, owner: str, lease: timedelta) -> bool:
        now = self.now()
        try:
            self.call(
                "put_item",
                Item=self.encode(
                    {
                        **state_keys.lock(workflow).item(),
                        "owner": owner,
                        "leaseUntil": to_epoch(now + lease),
                        "expiresAt": to_epoch(now + lease + timedelta(days=1)),
                    }
                ),
                ConditionExpression="attribute_not_exists(pk) OR leaseUntil < :now OR #o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues=self.encode({":now": to_epoch(now), ":me": owner}),
            )
        except ConditionFailed:
            return False
        return True

    def release_lock(self, workflow: str, owner: str) -> None:
        try:
            self.call(
                "delete_item",
                Key=self.encode(state_keys.lock(workflow).item()),
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues=self.encode({":me": owner}),
            )
        except ConditionFailed:
            pass  # the lease ran out and another run holds it now: not ours to delete

    # -- cursor -------------------------------------------------------------------------------

    def get_cursor(self, workflow: str, scope: str = "default") -> Cursor | None:
        item = self.get(*state_keys.cursor(workflow, scope))
        if not item or "position" not in item:
            return None
        position = datetime.fromisoformat(str(item["position"]))
        try:
            updated: datetime | None = datetime.fromisoformat(str(item["updatedAt"]))
        except (KeyError, ValueError):
            updated = None  # only needed to recover a cursor past now (see scan.trusted_cursor)
        return Cursor(position, item.get("runKey"), updated)

    def commit_cursor(
        self,
        workflow: str,
        position: datetime,
        *,
        expected: datetime | None,
        run_key: str,
        scope: str = "default",
    ) -> datetime | None:
        """Move the cursor, only if nobody moved it since ``expected``, and only forward (back
        only from an ``expected`` past now, which no run can have read up to). Never past now,
        the wall clock at this commit, whatever the run was asked to read: events after it have
        not happened yet. Returns the position written, ``None`` when it stays."""
        now = self.now()
        position = min(position, now)
        if expected is not None and position <= expected <= now:
            return None
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if expected is not None:
            condition = {
                "ConditionExpression": "#p = :expected",
                "ExpressionAttributeNames": {"#p": "position"},
                "ExpressionAttributeValues": self.encode({":expected": to_iso(expected)}),
            }
        try:
            self.call(
                "put_item",
                Item=self.encode(
                    {
                        **state_keys.cursor(workflow, scope).item(),
                        "position": to_iso(position),
                        "runKey": run_key,
                        "updatedAt": to_iso(now),
                    }
                ),
                **condition,
            )
        except ConditionFailed:
            raise CursorConflict(
                f"the {workflow} cursor moved during this run (expected {expected}); not moving it"
            ) from None
        return position
