"""All durable state in one DynamoDB table (``STATE_TABLE``): ``pk`` / ``sk`` and a TTL.

The keys are built in ``state_keys`` (its docstring has the table of every record); this module
holds the store and the protocols on it. Attributes of the records written here
(``expiresAt`` is the TTL attribute, epoch seconds):

=================== =========================================================================
record              attributes
=================== =========================================================================
run                 ``state`` running|done|failed, ``leaseUntil``, ``summary`` (JSON),
                    ``expiresAt``
lock                ``owner`` (run key), ``leaseUntil``, ``expiresAt``
cursor              ``position`` (ISO UTC: everything up to here is processed), ``runKey``,
                    ``updatedAt``
once-per-period     ``state`` claimed|done, ``owner``, ``leaseUntil``, ``doneAt``,
(sent finding,      ``expiresAt`` (= end of the period), and what the effect returned
reminder, report)   (``messageId``; ``outcome``/``sesError`` for a refused address)
activity            ``h00``..``h23``: distinct events per hour, ``expiresAt``
versioned records   ``version`` (``put_versioned``: allowlists, the IP-sync record)
=================== =========================================================================

Every write two runs could race on is conditional.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from ..docspace import dates
from . import keys as state_keys
from .errors import ConditionFailed, CursorConflict, StateError
from .keys import Key

log = logging.getLogger(__name__)


class RunClaim(NamedTuple):
    state: Literal["claimed", "done", "busy"]
    summary: dict[str, Any] | None = None


class Once(NamedTuple):
    """What ``StateStore.once`` did: the keys it claimed, acted on and confirmed (none: nothing
    was due, the act did not run), and the fields the act returned."""

    claimed: tuple[Key, ...]
    fields: Mapping[str, Any]


class Cursor(NamedTuple):
    position: datetime
    run_key: str | None = None
    #: When the position was written (the wall clock of that commit).
    updated_at: datetime | None = None


def to_iso(value: datetime) -> str:
    """The stored form of a time (items, cursors): UTC, always six fractional digits."""
    return dates.format_utc(value.astimezone(UTC), "micro")


def to_epoch(value: datetime) -> int:
    return int(value.timestamp())


class StateStore:
    """The state table. ``client`` is a boto3 DynamoDB client (created lazily when omitted)."""

    def __init__(
        self,
        table_name: str,
        *,
        client: Any | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table_name
        self.client = client
        self.clock = clock or _wall_clock
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    # -- low level ----------------------------------------------------------------------------

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Plain values to DynamoDB's typed form (``None`` values are left out)."""
        return {k: self._ser.serialize(v) for k, v in values.items() if v is not None}

    def decode(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._de.deserialize(v) for k, v in item.items()}

    def call(self, operation: str, **kwargs: Any) -> Any:
        """One DynamoDB operation on this table; a lost condition raises ``ConditionFailed``,
        anything else ``StateError``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(TableName=self.table, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                old: Any = exc.response.get("Item")
                raise ConditionFailed(self.decode(old) if old else None) from None
            code = exc.response.get("Error", {}).get("Code", "?")
            raise StateError(f"DynamoDB {operation} on {self.table} failed: {code}") from exc
        except BotoCoreError as exc:
            raise StateError(f"DynamoDB {operation} on {self.table} failed: {exc}") from exc

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self.call("get_item", Key=self.encode({"pk": pk, "sk": sk}), ConsistentRead=True)
        item = answer.get("Item")
        return self.decode(item) if item else None

    def put(self, values: Mapping[str, Any]) -> None:
        self.call("put_item", Item=self.encode(values))

    def delete(self, pk: str, sk: str) -> None:
        self.call("delete_item", Key=self.encode({"pk": pk, "sk": sk}))

    def query(
        self, pk: str, *, sk_from: str | None = None, sk_to: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items of one partition, optionally with ``sk_from <= sk <= sk_to``, in sk order."""
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": pk}
        if sk_from is not None and sk_to is not None:
            condition += " AND sk BETWEEN :a AND :b"
            values |= {":a": sk_from, ":b": sk_to}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": self.encode(values),
            "ConsistentRead": True,
        }
        return self.paged("query", **kwargs)

    def paged(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The items of a ``query`` or ``scan``, page after page."""
        while True:
            answer = self.call(operation, **kwargs)
            for item in answer.get("Items", []):
                yield self.decode(item)
            if "LastEvaluatedKey" not in answer:
                return
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def now(self) -> datetime:
        return self.clock()

    # -- versioned records: optimistic writes ---------------------------------------------------

    def put_versioned(self, item: Mapping[str, Any], expected: int) -> int:
        """Write ``item`` (keys included) as version ``expected + 1``, only if the stored one is
        still version ``expected`` (0: there is none). Returns the new version; a record someone
        else changed meanwhile raises ``ConditionFailed``."""
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if expected:
            condition = self._version_condition(expected)
        version = expected + 1
        self.call("put_item", Item=self.encode({**item, "version": version}), **condition)
        return version

    def delete_versioned(self, key: Key, expected: int) -> None:
        """Delete a record only if it is still version ``expected`` (else ``ConditionFailed``)."""
        self.call("delete_item", Key=self.encode(key.item()), **self._version_condition(expected))

    def _version_condition(self, expected: int) -> dict[str, Any]:
        return {
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": self.encode({":v": expected}),
        }

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

    # -- sent findings: suppression and exactly-once publishing --------------------------------

    def claim(self, pk: str, sk: str, owner: str, *, until: datetime, lease: timedelta) -> bool:
        """Claim a once-per-period effect (a publish, a reminder) before doing it.

        False while an earlier effect with this key is within its period (``until``, kept as
        the TTL), or while another run is doing it. A claim left by a crash of the same run
        (same ``owner``) is taken over, so a retried run finishes what it started; a claim
        whose lease ran out is taken over by anyone ("prefer a duplicate over a loss").
        """
        now = self.now()
        try:
            self.call(
                "put_item",
                Item=self.encode(
                    {
                        "pk": pk,
                        "sk": sk,
                        "state": "claimed",
                        "owner": owner,
                        "leaseUntil": to_epoch(now + lease),
                        "expiresAt": to_epoch(until),
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR expiresAt < :now "
                    "OR (#s = :claimed AND (leaseUntil < :now OR #o = :me))"
                ),
                ExpressionAttributeNames={"#s": "state", "#o": "owner"},
                ExpressionAttributeValues=self.encode(
                    {":now": to_epoch(now), ":claimed": "claimed", ":me": owner}
                ),
            )
        except ConditionFailed:
            return False
        return True

    def confirm(self, pk: str, sk: str, owner: str, *, until: datetime, **fields: Any) -> None:
        """The claimed effect happened: keep the record until ``until``."""
        self.put(
            {
                "pk": pk,
                "sk": sk,
                "state": "done",
                "owner": owner,
                "doneAt": to_iso(self.now()),
                "expiresAt": to_epoch(until),
                **fields,
            }
        )

    def release(self, pk: str, sk: str, owner: str) -> None:
        """The claimed effect failed: drop our claim so a retry can do it."""
        try:
            self.call(
                "delete_item",
                Key=self.encode({"pk": pk, "sk": sk}),
                ConditionExpression="#o = :me AND #s = :claimed",
                ExpressionAttributeNames={"#o": "owner", "#s": "state"},
                ExpressionAttributeValues=self.encode({":me": owner, ":claimed": "claimed"}),
            )
        except ConditionFailed:
            pass

    def once(
        self,
        keys: Iterable[Key],
        owner: str,
        act: Callable[[tuple[Key, ...]], Mapping[str, Any] | None],
        *,
        until: datetime,
        lease: timedelta = timedelta(minutes=15),
        keep_until: datetime | None = None,
        confirm_attempts: int = 1,
    ) -> Once:
        """Do an effect once per period: claim -> act -> confirm, release on error.

        Each key is claimed (``claim``; a key within its period, or held by another run, is
        left out). When one was, ``act(claimed)`` runs once, and each claimed key is confirmed
        until ``keep_until`` (default ``until``) with the fields ``act`` returned (e.g. a
        message id, or ``outcome=refused``). If ``act`` raises, the claims are released so a
        retry can do it, and the error goes on.

        With ``confirm_attempts`` > 1 the effect cannot be taken back (a message is out):
        failing now would make a retry repeat it, so the confirm is tried that often and then
        only logged (the claim stays; only a retry of this very run could repeat the effect).
        """
        claimed = tuple(k for k in keys if self.claim(*k, owner, until=until, lease=lease))
        if not claimed:
            return Once((), {})
        try:
            fields = dict(act(claimed) or {})
        except BaseException:
            for key in claimed:
                self.release(*key, owner)
            raise
        for key in claimed:
            self._confirm(key, owner, keep_until or until, fields, confirm_attempts)
        return Once(claimed, fields)

    def _confirm(
        self, key: Key, owner: str, until: datetime, fields: Mapping[str, Any], attempts: int
    ) -> None:
        for attempt in range(1, attempts + 1):
            try:
                self.confirm(*key, owner, until=until, **fields)
                return
            except StateError as exc:
                if attempts == 1:
                    raise
                log.warning("recording %s %s failed (%s), attempt %d", *key, exc, attempt)
        log.error("%s %s was done (%s) but could not be recorded", *key, dict(fields))

    # -- activity counts (VDR baselines) ------------------------------------------------------

    def set_activity_hours(
        self,
        user_id: str,
        room_id: int,
        day: str,
        hours: Mapping[str, int],
        *,
        keep_until: datetime,
    ) -> None:
        """Overwrite the distinct-event counts of some hours (``"00"``..``"23"``) of one user's
        day in one room: one update, attributes ``h00``..``h23``.

        Overwriting (not adding) makes a re-scan of the same hours idempotent: a retried or
        overlapping run writes the same, or a more complete, count.
        """
        if not hours:
            return
        names = {f"#h{hour}": f"h{hour}" for hour in hours}
        values: dict[str, Any] = {f":h{hour}": count for hour, count in hours.items()}
        values[":ttl"] = to_epoch(keep_until)
        sets = ", ".join(f"#h{hour} = :h{hour}" for hour in hours)
        self.call(
            "update_item",
            Key=self.encode(state_keys.activity(user_id, room_id, day).item()),
            UpdateExpression=f"SET {sets}, expiresAt = :ttl",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self.encode(values),
        )

    def activity_totals(self, user_id: str) -> dict[tuple[int, str], int]:
        """Distinct events per (room id, day) of one user: the whole (TTL-bounded) history,
        in one query."""
        totals: dict[tuple[int, str], int] = {}
        for item in self.query(state_keys.activity_partition(user_id)):
            room_day = state_keys.activity_day(str(item["sk"]))
            if room_day is not None:
                totals[room_day] = sum(
                    int(v) for k, v in item.items() if k.startswith("h") and k[1:].isdigit()
                )
        return totals


def _wall_clock() -> datetime:
    return dates.utcnow()  # looked up on each call, so a local runtime can stand in for it
