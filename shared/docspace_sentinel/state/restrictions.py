"""Temporary restrictions (disabled users), recorded so they can be lifted automatically.

A restriction record lives at ``pk = "restriction"``, ``sk = <userId>`` (``state_keys``: one
current record per user, so listing them all is one query). Its ``state`` moves:

    restricting → active → lifting → lifted       (the normal path)
    restricting → failed                          (the portal refused; nothing changed)
    active → closed                               (an administrator re-enabled or deleted the user)

``liftAt`` is when the restriction ends (absent when ``permanent``). It is deliberately *not*
the table's TTL attribute ``expiresAt``, which is only set once a record is finished, so an
active restriction can never be swept away by DynamoDB.

Every transition is a conditional write, so two runs can never both disable or both re-enable
the same user, and a run that crashed mid-way is finished by the next one instead of repeated.
The portal calls that drive the transitions, with the full table of moves, are ``disabling``;
the checks before a disable are ``enforcement``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from . import keys as state_keys
from .errors import ConditionFailed
from .store import StateStore, to_epoch, to_iso

KEEP_FINISHED = timedelta(days=90)

RESTRICTING = "restricting"
ACTIVE = "active"
LIFTING = "lifting"
LIFTED = "lifted"
FAILED = "failed"
CLOSED = "closed"
#: States in which we hold (or may hold) the user disabled.
HELD = frozenset({RESTRICTING, ACTIVE, LIFTING})


class Restriction(NamedTuple):
    user_id: str
    state: str
    source: str
    reason: str
    finding_id: str | None
    restricted_at: datetime | None
    lift_at: datetime | None
    permanent: bool
    user_name: str | None = None
    last_error: str | None = None
    attempts: int = 0
    lifted_at: datetime | None = None
    #: The run (run key) that restricted the user.
    owner: str | None = None
    #: The portal's ``terminated`` stamp of our disable, when it gave one.
    terminated_at: datetime | None = None
    #: The title of the finding that caused it ("[HIGH] ..."), for follow-ups to name it.
    finding_title: str | None = None

    @property
    def held(self) -> bool:
        return self.state in HELD

    def due(self, now: datetime) -> bool:
        return self.held and not self.permanent and self.lift_at is not None and self.lift_at <= now

    def to_dict(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "userName": self.user_name,
            "state": self.state,
            "source": self.source,
            "reason": self.reason,
            "findingId": self.finding_id,
            "findingTitle": self.finding_title,
            "restrictedAt": to_iso(self.restricted_at) if self.restricted_at else None,
            "liftAt": to_iso(self.lift_at) if self.lift_at else None,
            "permanent": self.permanent,
            "lastError": self.last_error,
            "attempts": self.attempts,
        }


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _from_item(item: dict[str, Any]) -> Restriction:
    return Restriction(
        user_id=str(item["sk"]),
        state=str(item.get("state", "")),
        source=str(item.get("source", "")),
        reason=str(item.get("reason", "")),
        finding_id=item.get("findingId"),
        restricted_at=_time(item.get("restrictedAt")),
        lift_at=_time(item.get("liftAt")),
        permanent=bool(item.get("permanent", False)),
        user_name=item.get("userName"),
        last_error=item.get("lastError"),
        attempts=int(item.get("attempts", 0)),
        lifted_at=_time(item.get("liftedAt")),
        owner=item.get("owner"),
        terminated_at=_time(item.get("terminatedAt")),
        finding_title=item.get("findingTitle"),
    )


class RestrictionStore:
    """Restriction records in the state table."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def get(self, user_id: str) -> Restriction | None:
        item = self.store.get(*state_keys.restriction(user_id))
        return _from_item(item) if item else None

    def all(self) -> Iterator[Restriction]:
        for item in self.store.query(state_keys.RESTRICTION):
            yield _from_item(item)

    def begin(
        self,
        user_id: str,
        *,
        source: str,
        reason: str,
        finding_id: str,
        duration: timedelta,
        user_name: str | None,
        owner: str,
        finding_title: str | None = None,
    ) -> bool:
        """Claim the right to disable ``user_id``: False when a restriction is already held."""
        now = self.store.now()
        try:
            self.store.call(
                "put_item",
                Item=self.store.encode(
                    {
                        **state_keys.restriction(user_id).item(),
                        "state": RESTRICTING,
                        "source": source,
                        "reason": reason,
                        "findingId": finding_id,
                        "findingTitle": finding_title,
                        "userName": user_name,
                        "owner": owner,
                        "restrictedAt": to_iso(now),
                        "liftAt": to_iso(now + duration),
                        "permanent": False,
                        "attempts": 0,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk) OR NOT (#s IN (:a, :b, :c))",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=self.store.encode(
                    {":a": RESTRICTING, ":b": ACTIVE, ":c": LIFTING}
                ),
            )
        except ConditionFailed:
            return False
        return True

    def transition(self, user_id: str, expected: str, new: str, **fields: Any) -> bool:
        """Move a record from ``expected`` to ``new`` (False if it was not in ``expected``)."""
        values: dict[str, Any] = {"state": new, **fields}
        if new in (LIFTED, FAILED, CLOSED):
            values["expiresAt"] = to_epoch(self.store.now() + KEEP_FINISHED)
        names = {f"#f{i}": key for i, key in enumerate(values)}
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
        attr_values = {f":v{i}": value for i, value in enumerate(values.values())}
        attr_values[":expected"] = expected
        try:
            self.store.call(
                "update_item",
                Key=self.store.encode(state_keys.restriction(user_id).item()),
                UpdateExpression=f"SET {sets}",
                ConditionExpression="#state = :expected",
                ExpressionAttributeNames={**names, "#state": "state"},
                ExpressionAttributeValues=self.store.encode(attr_values),
            )
        except ConditionFailed:
            return False
        return True

    def note_failure(self, user_id: str, state: str, error: str) -> None:
        """Keep the record's state; count the attempt and remember the error for the next run."""
        record = self.get(user_id)
        attempts = (record.attempts if record else 0) + 1
        self.transition(user_id, state, state, lastError=error[:500], attempts=attempts)

    def extend(self, user_id: str, until: datetime) -> bool:
        record = self.get(user_id)
        if record is None or not record.held:
            return False
        return self.transition(
            user_id, record.state, record.state, liftAt=to_iso(until), permanent=False
        )

    def make_permanent(self, user_id: str) -> bool:
        record = self.get(user_id)
        if record is None or not record.held:
            return False
        return self.transition(user_id, record.state, record.state, permanent=True)
