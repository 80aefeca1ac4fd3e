"""Generic access to the state table (``STATE_TABLE``): typed values in and out, one operation
with its errors mapped (a lost condition is ``ConditionFailed``), get/put/delete and paged
queries, and the stored form of times. ``StateStore`` builds its protocols on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ..docspace import dates
from .errors import ConditionFailed, StateError


def to_iso(value: datetime) -> str:
    """The stored form of a time (items, cursors): UTC, always six fractional digits."""
    return dates.format_utc(value.astimezone(UTC), "micro")


def to_epoch(value: datetime) -> int:
    return int(value.timestamp())


class Table:
    """Plain access to one DynamoDB table; ``client`` is a boto3 DynamoDB client (created lazily
    when omitted), ``clock`` the time the protocols write (the wall clock by default)."""

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


def _wall_clock() -> datetime:
    return dates.utcnow()  # looked up on each call, so a local runtime can stand in for it
