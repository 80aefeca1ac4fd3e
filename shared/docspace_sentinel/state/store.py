"""All durable state in one DynamoDB table (``STATE_TABLE``): ``pk`` / ``sk`` and a TTL.

The keys are built in ``state_keys`` (its docstring has the table of every record); this module
holds ``StateStore``, the one object callers hold: generic access (``table``), runs, locks and
cursors (``runs``), and here the conditional-write idioms (versioned records, once per period)
and the activity counts. Attributes of the records written through it (``expiresAt`` is the TTL
attribute, epoch seconds):

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

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from . import keys as state_keys
from .errors import ConditionFailed, StateError
from .keys import Key
from .runs import Cursor as Cursor  # re-exported: callers import the store's records from here
from .runs import RunClaim as RunClaim
from .runs import RunRecords
from .table import to_epoch as to_epoch  # re-exported: the stored form of times
from .table import to_iso as to_iso

log = logging.getLogger(__name__)


class Once(NamedTuple):
    """What ``StateStore.once`` did: the keys it claimed, acted on and confirmed (none: nothing
    was due, the act did not run), and the fields the act returned."""

    claimed: tuple[Key, ...]
    fields: Mapping[str, Any]


class StateStore(RunRecords):
    """The state table. ``client`` is a boto3 DynamoDB client (created lazily when omitted)."""

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
