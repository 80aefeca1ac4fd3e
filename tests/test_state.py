"""Each conditional write of the state table, against moto (``StateStore``, ``state_keys``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.state import keys as state_keys
from docspace_sentinel.state.errors import ConditionFailed, CursorConflict
from docspace_sentinel.state.store import StateStore
from local.aws import LocalAws
from tests.support import Clock

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)
KEEP = timedelta(days=7)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(aws: LocalAws, clock: Clock) -> StateStore:
    return StateStore(aws.table_name, client=aws.dynamodb, clock=clock)


def _calls(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = store.call

    def recording(operation: str, **kwargs: Any) -> Any:
        calls.append(operation)
        return real(operation, **kwargs)

    monkeypatch.setattr(store, "call", recording)
    return calls


# -- runs ---------------------------------------------------------------------------------------


def test_claim_run_fresh_then_busy_while_running(store: StateStore) -> None:
    assert store.claim_run("wf", "k1", LEASE, KEEP).state == "claimed"
    assert store.get(*state_keys.run("wf", "k1"))["state"] == "running"  # type: ignore[index]
    assert store.claim_run("wf", "k1", LEASE, KEEP).state == "busy"
    assert store.claim_run("wf", "k2", LEASE, KEEP).state == "claimed"  # another key


def test_claim_run_of_a_done_run_returns_its_summary_without_a_second_read(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.claim_run("wf", "k1", LEASE, KEEP)
    store.finish_run("wf", "k1", {"findingsPublished": 2}, KEEP)
    calls = _calls(store, monkeypatch)
    claim = store.claim_run("wf", "k1", LEASE, KEEP)
    assert claim.state == "done" and claim.summary == {"findingsPublished": 2}
    assert calls == ["put_item"]  # the lost condition carried the old item (ALL_OLD)


def test_a_lost_condition_carries_the_old_item(store: StateStore) -> None:
    store.put({"pk": "x", "sk": "y", "a": 1})
    with pytest.raises(ConditionFailed) as lost:
        store.call(
            "put_item",
            Item=store.encode({"pk": "x", "sk": "y"}),
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert lost.value.item == {"pk": "x", "sk": "y", "a": 1}


def test_claim_run_after_a_failure_or_an_expired_lease(store: StateStore, clock: Clock) -> None:
    store.claim_run("wf", "k1", LEASE, KEEP)
    store.fail_run("wf", "k1", KEEP)
    assert store.claim_run("wf", "k1", LEASE, KEEP).state == "claimed"  # a failed run: retried
    assert store.claim_run("wf", "k1", LEASE, KEEP).state == "busy"
    clock.now += LEASE + timedelta(seconds=1)
    assert store.claim_run("wf", "k1", LEASE, KEEP).state == "claimed"  # the crashed run's lease


# -- lock ---------------------------------------------------------------------------------------


def test_lock_acquire_release_and_steal_after_the_lease(store: StateStore, clock: Clock) -> None:
    assert store.acquire_lock("wf", "a", LEASE)
    assert store.get(*state_keys.lock("wf"))["owner"] == "a"  # type: ignore[index]
    assert store.acquire_lock("wf", "a", LEASE)  # its owner again (a retry)
    assert not store.acquire_lock("wf", "b", LEASE)
    store.release_lock("wf", "b")  # not b's: stays
    assert not store.acquire_lock("wf", "b", LEASE)
    store.release_lock("wf", "a")
    assert store.acquire_lock("wf", "b", LEASE)
    clock.now += LEASE + timedelta(seconds=1)
    assert store.acquire_lock("wf", "c", LEASE)  # b's lease ran out
    store.release_lock("wf", "b")  # b no longer holds it: c keeps it
    assert store.get(*state_keys.lock("wf"))["owner"] == "c"  # type: ignore[index]


def test_the_ip_sync_lock_is_a_lock_like_the_others() -> None:
    assert state_keys.lock(state_keys.IP_SYNC_LOCK) == ("lock#ip_allowlist_sync", "lock")


# -- cursor -------------------------------------------------------------------------------------


def test_cursor_commit_first_then_forward_only(store: StateStore) -> None:
    first = T0 - timedelta(hours=2)
    assert store.commit_cursor("wf", first, expected=None, run_key="k1") == first
    assert store.get_cursor("wf") == (first, "k1", T0)
    assert (
        store.commit_cursor("wf", first - timedelta(hours=1), expected=first, run_key="k2") is None
    )
    later = T0 - timedelta(hours=1)
    assert store.commit_cursor("wf", later, expected=first, run_key="k2") == later
    assert store.get_cursor("wf", "other") is None  # another scope


def test_cursor_commit_conflicts_when_someone_moved_it(store: StateStore) -> None:
    first = T0 - timedelta(hours=2)
    store.commit_cursor("wf", first, expected=None, run_key="k1")
    with pytest.raises(CursorConflict):
        store.commit_cursor("wf", T0, expected=None, run_key="k2")  # expected none, one exists
    with pytest.raises(CursorConflict):
        store.commit_cursor("wf", T0, expected=first - timedelta(minutes=1), run_key="k2")
    assert store.get_cursor("wf").position == first  # type: ignore[union-attr]


def test_cursor_commit_is_clamped_to_now_and_recovers_from_a_cursor_past_now(
    store: StateStore,
) -> None:
    assert store.commit_cursor("wf", T0 + timedelta(hours=1), expected=None, run_key="k1") == T0
    future = T0 + timedelta(days=1)
    store.put({**state_keys.cursor("wf").item(), "position": "2026-03-03T12:00:00.000000Z"})
    # back from an expected past now (which no run can have read up to)
    assert store.commit_cursor("wf", T0 - timedelta(hours=1), expected=future, run_key="k2") == (
        T0 - timedelta(hours=1)
    )


# -- once per period ----------------------------------------------------------------------------


def test_claim_confirm_release(store: StateStore, clock: Clock) -> None:
    key = state_keys.sent("wf", "fp")
    until = T0 + timedelta(hours=1)
    assert store.claim(*key, "a", until=until, lease=LEASE)
    assert not store.claim(*key, "b", until=until, lease=LEASE)  # held by a
    assert store.claim(*key, "a", until=until, lease=LEASE)  # a retry of the same run
    store.release(*key, "b")  # not b's claim
    assert not store.claim(*key, "b", until=until, lease=LEASE)
    store.release(*key, "a")
    assert store.get(*key) is None
    assert store.claim(*key, "b", until=until, lease=LEASE)
    store.confirm(*key, "b", until=until, messageId="m1")
    store.release(*key, "b")  # done: a release no longer drops it
    assert store.get(*key)["messageId"] == "m1"  # type: ignore[index]
    assert not store.claim(*key, "b", until=until, lease=LEASE)  # done, within its period
    clock.now = until + timedelta(seconds=1)
    assert store.claim(*key, "c", until=clock.now + timedelta(hours=1), lease=LEASE)


def test_a_claim_whose_lease_ran_out_is_taken_over(store: StateStore, clock: Clock) -> None:
    key = state_keys.reminder("u1", 7)
    assert store.claim(*key, "a", until=T0 + timedelta(days=1), lease=LEASE)
    clock.now += LEASE + timedelta(seconds=1)
    assert store.claim(*key, "b", until=T0 + timedelta(days=1), lease=LEASE)


def test_once_acts_once_and_confirms_with_what_the_act_returned(store: StateStore) -> None:
    keys = [state_keys.reminder("u1", 1), state_keys.reminder("u1", 2)]
    acted: list[tuple[state_keys.Key, ...]] = []

    def act(claimed: tuple[state_keys.Key, ...]) -> dict[str, str]:
        acted.append(claimed)
        return {"outcome": "refused"}

    until = T0 + timedelta(hours=2)
    done = store.once(keys, "run", act, until=until, keep_until=T0 + timedelta(hours=1))
    assert done.claimed == tuple(keys) and done.fields == {"outcome": "refused"}
    assert acted == [tuple(keys)]
    for key in keys:
        item = store.get(*key)
        assert item is not None and item["state"] == "done" and item["outcome"] == "refused"
        assert item["expiresAt"] == int((T0 + timedelta(hours=1)).timestamp())  # keep_until

    again = store.once(keys, "other", act, until=until)
    assert again.claimed == () and again.fields == {} and len(acted) == 1  # already done


def test_once_acts_on_the_keys_it_could_claim_only(store: StateStore) -> None:
    taken, free = state_keys.reminder("u1", 1), state_keys.reminder("u1", 2)
    assert store.claim(*taken, "other", until=T0 + timedelta(hours=1), lease=LEASE)
    done = store.once([taken, free], "run", lambda claimed: None, until=T0 + timedelta(hours=1))
    assert done.claimed == (free,) and done.fields == {}


def test_once_releases_its_claims_when_the_act_fails(store: StateStore) -> None:
    key = state_keys.report_mail(7, "2026-03-02", "m@example.com")
    assert key == ("report#7", "2026-03-02#m@example.com")

    def act(claimed: object) -> None:
        raise RuntimeError("SES is down")

    with pytest.raises(RuntimeError):
        store.once([key], "run", act, until=T0 + timedelta(days=2))
    assert store.get(*key) is None  # a retry can do it
    assert store.once([key], "run", lambda c: {"messageId": "m"}, until=T0 + timedelta(days=2))[0]


def test_once_with_confirm_attempts_logs_a_record_that_cannot_be_written(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from docspace_sentinel.state.errors import StateError

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise StateError("throttled")

    monkeypatch.setattr(store, "confirm", refuse)
    key = state_keys.sent("wf", "fp")
    done = store.once(
        [key], "run", lambda c: {"messageId": "m1"}, until=T0 + timedelta(hours=1),
        confirm_attempts=3,
    )  # fmt: skip
    assert done.claimed == (key,)
    assert "could not be recorded" in caplog.text
    with pytest.raises(StateError):  # one attempt: the error goes on
        store.once([state_keys.sent("wf", "fp2")], "run", lambda c: None, until=T0)


# -- versioned records --------------------------------------------------------------------------


def test_put_versioned_create_update_conflict_and_delete(store: StateStore) -> None:
    key = state_keys.allowlist("U1")
    assert key == ("allow", "u1")
    assert store.put_versioned({**key.item(), "entries": ["192.0.2.1"]}, 0) == 1
    with pytest.raises(ConditionFailed):
        store.put_versioned({**key.item(), "entries": []}, 0)  # it exists now
    assert store.put_versioned({**key.item(), "entries": ["192.0.2.2"]}, 1) == 2
    with pytest.raises(ConditionFailed):
        store.put_versioned({**key.item(), "entries": []}, 1)  # stale
    assert store.get(*key) == {**key.item(), "entries": ["192.0.2.2"], "version": 2}
    with pytest.raises(ConditionFailed):
        store.delete_versioned(key, 1)
    store.delete_versioned(key, 2)
    assert store.get(*key) is None


# -- activity -----------------------------------------------------------------------------------


def test_activity_hours_overwrite_and_total_per_room_and_day(store: StateStore) -> None:
    keep = T0 + timedelta(days=30)
    store.set_activity_hours("u1", 7, "2026-03-01", {"09": 2, "10": 1}, keep_until=keep)
    store.set_activity_hours("u1", 7, "2026-03-01", {"10": 3}, keep_until=keep)  # overwritten
    store.set_activity_hours("u1", 8, "2026-03-02", {"00": 4}, keep_until=keep)
    store.set_activity_hours("u1", 9, "2026-03-02", {}, keep_until=keep)  # nothing written
    store.set_activity_hours("u2", 7, "2026-03-01", {"09": 5}, keep_until=keep)
    store.put({"pk": "activity#u1", "sk": "not-a-room"})  # ignored
    assert store.activity_totals("u1") == {(7, "2026-03-01"): 5, (8, "2026-03-02"): 4}
    item = store.get(*state_keys.activity("u1", 7, "2026-03-01"))
    assert item is not None and item["expiresAt"] == int(keep.timestamp())


def test_the_key_table_in_state_keys_is_what_the_builders_build() -> None:
    import re

    documented = re.findall(r"^``([^`]+)``\s+``([^`]+)``", state_keys.__doc__ or "", re.M)
    built = [
        state_keys.run("<workflow>", "<run key>"),
        state_keys.lock("<workflow>"),
        state_keys.lock(state_keys.IP_SYNC_LOCK),
        state_keys.cursor("<workflow>", "<scope>"),
        state_keys.sent("<workflow>", "<fingerprint>"),
        state_keys.suppress_hit("<workflow>", "<ruleId>", "<fp>"),
        state_keys.suppress_rule("<ruleId>"),
        state_keys.reminder("<userId>", "<roomId>"),
        state_keys.report_mail("<roomId>", "<YYYY-MM-DD>", "<address>"),
        state_keys.activity("<userId>", "<roomId>", "<YYYY-MM-DD>"),  # type: ignore[arg-type]
        state_keys.Key(state_keys.ALLOW, "<userId>"),
        state_keys.Key(state_keys.RESTRICTION, "<userId>"),
        state_keys.IP_SYNC_ADDED,
        state_keys.ALLOWLIST_SCHEMA,
        state_keys.logout("<userId>", "<loginId>"),
        state_keys.realtime_event("<event.id>"),
        state_keys.realtime_content("<content key>"),
        state_keys.realtime_window("<userId>", "<kind>", "<minute>"),
        state_keys.realtime_burst("<userId>", "<kind>"),
        state_keys.realtime_cap("<window start>"),
        state_keys.own_action("<time>", "<kind>", "<target>", "…"),
        state_keys.CONFIG_SNAPSHOT,
        state_keys.closed("<finding id>"),
    ]
    assert documented == [tuple(key) for key in built]
    assert state_keys.cursor("wf") == ("cursor#wf", "default")
    assert state_keys.restriction("ABC") == ("restriction", "abc")
