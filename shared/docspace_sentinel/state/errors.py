"""Errors of the state table: DynamoDB failed, or a conditional write lost."""

from __future__ import annotations

from typing import Any

from ..runtime.errors import SentinelError


class StateError(SentinelError):
    """DynamoDB failed; the run stops without moving its cursor."""


class CursorConflict(StateError):
    """Another run moved the cursor since this run read it; this run's commit was refused."""


class ConditionFailed(StateError):
    """A conditional write lost: another run got there first (callers decide what that means).

    ``item``: the item that won, when the write asked for it
    (``ReturnValuesOnConditionCheckFailure``)."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__("the conditional write lost")
        self.item = item
