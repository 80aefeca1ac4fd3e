"""The journal of our own portal writes (``state/journal.py``) and the code that writes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.docspace.errors import Forbidden
from docspace_sentinel.enforcement import disabling
from docspace_sentinel.state import journal
from docspace_sentinel.state.errors import StateError
from docspace_sentinel.state.journal import OwnAction, OwnActions
from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
from local.aws import LocalAws
from tests.support import Clock

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
USER = "11111111-1111-4111-8111-111111111111"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(aws: LocalAws, clock: Clock) -> Iterator[StateStore]:
    yield StateStore(aws.table_name, client=aws.dynamodb, clock=clock)


def test_entries_come_back_by_time_and_keep_apart_in_the_same_instant(
    store: StateStore, clock: Clock
) -> None:
    own = OwnActions(store, "bulk_change_guard")
    own.record(journal.DISABLE, USER.upper())
    own.record(journal.DISABLE, USER)  # the same microsecond: a second entry, not an overwrite
    clock.now = T0 + timedelta(minutes=5)
    own.record(journal.IP_SYNC)
    clock.now = T0 + timedelta(hours=2)
    own.record(journal.LOGOUT, USER)
    found = list(own.between(T0, T0 + timedelta(minutes=5)))
    assert found == [
        OwnAction(journal.DISABLE, USER, T0, "bulk_change_guard"),
        OwnAction(journal.DISABLE, USER, T0, "bulk_change_guard"),
        OwnAction(journal.IP_SYNC, journal.PORTAL, T0 + timedelta(minutes=5), "bulk_change_guard"),
    ]
    item = next(store.query("ownact"))
    assert item["expiresAt"] == int((T0 + journal.KEEP).timestamp())


def test_a_journal_that_cannot_be_written_never_stops_the_action(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(values: Any) -> None:
        raise StateError("throttled")

    monkeypatch.setattr(store, "put", broken)
    own = OwnActions(store)
    with caplog.at_level("WARNING"):
        assert own.record(journal.DISABLE, USER) is None  # logged, not raised
    assert "could not journal our own disable" in caplog.text
    own.forget(None)  # nothing to void


class Portal:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.journal_at_call: list[OwnAction] = []

    def set_user_status(self, ids: list[str], status: int) -> list[Any]:
        # What the journal held when the portal was called: the entry comes first.
        self.journal_at_call = list(OwnActions(self.store).between(T0, T0))
        raise Forbidden("no", status_code=403)


def test_a_disable_is_journalled_before_the_portal_is_called(store: StateStore) -> None:
    records = RestrictionStore(store)
    assert records.begin(
        USER,
        source="t",
        reason="r",
        finding_id="f",
        duration=timedelta(hours=1),
        user_name=None,
        owner="run",
    )
    portal: Any = Portal(store)
    status, _ = disabling.disable(portal, records, USER)
    assert status == "failed"
    assert [(e.kind, e.target) for e in portal.journal_at_call] == [(journal.DISABLE, USER)]
    # the portal refused it (403): it wrote no event, so the note no longer explains one
    assert list(OwnActions(store).between(T0, T0)) == []
