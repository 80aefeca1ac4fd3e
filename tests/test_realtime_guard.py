"""The real-time guard's pure rule, its window and cap in DynamoDB (moto), and its dedup."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from docspace_sentinel.state.store import StateStore
from docspace_sentinel.webhooks.delivery import parse_delivery
from docspace_sentinel.workflows.realtime_guard import dedup, rules, window
from docspace_sentinel.workflows.realtime_guard.dedup import Claim
from docspace_sentinel.workflows.realtime_guard.rules import Entry, crossing, entry_key, kind_of
from docspace_sentinel.workflows.realtime_guard.settings import RealtimeSettings
from docspace_sentinel.workflows.realtime_guard.window import CapCounter, WindowStore
from local.aws import LocalAws

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
W = timedelta(minutes=10)


def _changes(
    n: int, step: timedelta = timedelta(seconds=7), files: int | None = None
) -> list[Entry]:
    return [Entry(T0 + i * step, str(1000 + (i % files if files else i))) for i in range(n)]


# -- the pure rule ------------------------------------------------------------------------------


def test_more_than_the_threshold_distinct_files_in_a_window_is_a_burst() -> None:
    burst = crossing(_changes(25), 20, W)
    assert burst is not None and len(burst.keys) == 21
    assert burst.start == T0 and burst.end == T0 + 20 * timedelta(seconds=7)
    assert crossing(_changes(20), 20, W) is None


def test_the_order_of_deliveries_and_duplicates_do_not_matter() -> None:
    entries = _changes(25)
    shuffled = entries * 2
    random.Random(3).shuffle(shuffled)
    assert crossing(shuffled, 20, W) == crossing(entries, 20, W)


def test_one_file_fifty_times_is_one_file() -> None:
    assert crossing(_changes(50, files=1), 20, W) is None
    assert crossing(_changes(50, files=20), 20, W) is None


def test_the_window_slides_over_create_on() -> None:
    # 30 files, one every minute: never more than 11 in any 10 minutes
    assert crossing(_changes(30, step=timedelta(minutes=1)), 11, W) is None
    burst = crossing(_changes(30, step=timedelta(minutes=1)), 10, W)
    assert burst is not None and burst.start == T0 and len(burst.keys) == 11
    # exactly the window apart is inside it, as in the polling guard
    assert crossing([Entry(T0, "1"), Entry(T0 + W, "2")], 1, W) is not None


def test_triggers_map_to_the_polling_guards_changes_and_downloads() -> None:
    for trigger in ("file.created", "file.uploaded", "file.updated", "file.trashed",
                    "file.deleted", "file.restored", "file.copied", "file.moved"):  # fmt: skip
        assert kind_of(trigger) == rules.CHANGE
    assert kind_of("file.downloaded") == kind_of("folder.downloaded") == rules.DOWNLOAD
    for trigger in ("folder.updated", "room.created", "user.updated", "form.submit"):
        assert kind_of(trigger) is None
    assert entry_key("folder.downloaded", 7) != entry_key("file.downloaded", 7)


def test_settings_share_the_polling_guards_names_and_download_defaults() -> None:
    s = RealtimeSettings.from_env(
        {"FILE_CHANGE_THRESHOLD": "5", "WINDOW_MINUTES": "3", "MODE": "enforce"}
    )
    assert (s.threshold, s.window, s.response.mode) == (5, timedelta(minutes=3), "enforce")
    assert s.download_threshold == 50 and s.act_on_downloads is False
    assert RealtimeSettings.from_env({"ACT_ON_DOWNLOADS": "true"}).act_on_downloads


# -- DynamoDB -----------------------------------------------------------------------------------


@pytest.fixture
def store(aws: LocalAws) -> Iterator[StateStore]:
    yield StateStore(aws.table_name, client=aws.dynamodb)


def test_the_window_store_is_idempotent_and_order_free(store: StateStore) -> None:
    windows = WindowStore(store)
    entries = _changes(25)
    shuffled = entries * 2
    random.Random(5).shuffle(shuffled)
    for entry in shuffled:
        assert windows.add("U-1", rules.CHANGE, entry, W)
    read = windows.read("u-1", rules.CHANGE, T0, T0 + W)
    assert sorted(read) == sorted(entries)
    # placed by createOn: a range reads only its entries; another kind is apart
    assert len(windows.read("u-1", rules.CHANGE, T0, T0 + timedelta(seconds=70))) == 11
    assert windows.read("u-1", rules.DOWNLOAD, T0, T0 + W) == []
    assert windows.read("u-2", rules.CHANGE, T0, T0 + W) == []


def test_a_full_minute_keeps_what_it_has(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(window, "MINUTE_CAP", 3)
    windows = WindowStore(store)
    entries = _changes(5, step=timedelta(seconds=1))
    assert [windows.add("u", rules.CHANGE, e, W) for e in entries] == [True] * 3 + [False] * 2
    assert windows.add("u", rules.CHANGE, entries[0], W)  # a duplicate is still fine
    assert len(windows.read("u", rules.CHANGE, T0, T0 + W)) == 3


def test_the_cap_is_shared_per_window(store: StateStore) -> None:
    a, b = CapCounter(store, W, 2), CapCounter(store, W, 2)
    assert a.take(T0) and b.take(T0 + timedelta(minutes=1))
    assert not a.take(T0 + timedelta(minutes=2)) and not b.take(T0)
    b.give_back(T0)
    assert a.take(T0)
    assert a.take(T0 + W)  # the next window has its own count
    assert not CapCounter(store, W, 0).take(T0)


def _delivery(event_id: int, created: datetime = T0) -> str:
    return (
        f'{{"event":{{"id":{event_id},"createOn":"{created:%Y-%m-%dT%H:%M:%S}Z",'
        f'"createBy":"u-1","trigger":"file.updated"}},"payload":{{"id":42}}}}'
    )


def test_dedup_by_event_id_and_content_key_under_concurrent_consumers(store: StateStore) -> None:
    now = T0 + timedelta(minutes=1)
    first = parse_delivery(_delivery(1), now=now)
    manual_retry = parse_delivery(_delivery(2), now=now)  # new id, same content
    assert first.content_key == manual_retry.content_key
    mine = Claim(store, first, "msg-1")
    assert mine.take()
    # another consumer with the same delivery (a duplicate) while this one processes it
    assert not Claim(store, first, "msg-2").take()
    assert not Claim(store, manual_retry, "msg-3").take()
    # a redelivery of the same SQS message takes over its own claim
    assert Claim(store, first, "msg-1").take()
    mine.release()  # a failure: the retry reprocesses it
    retry = Claim(store, first, "msg-2")
    assert retry.take()
    retry.confirm()
    assert not Claim(store, first, "msg-1").take()
    assert not Claim(store, manual_retry, "msg-3").take()
    item = store.get("rtseen#event", "1")
    assert item is not None and item["state"] == "done"
    kept = int(item["expiresAt"]) - int(store.now().timestamp())
    assert kept >= dedup.KEEP.total_seconds() - 60


def test_a_bad_setting_fails_the_batch_before_any_aws_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from botocore.client import BaseClient

    from docspace_sentinel.runtime.errors import ConfigError
    from local.lambda_runtime import FakeContext, load_handler

    for name, value in {
        "STATE_TABLE": "state",
        "FINDINGS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:findings",
        "DOCSPACE_URL": "https://portal.example.com",
        "DOCSPACE_API_KEY": "sk-local",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "DOWNLOAD_THRESHOLD": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DOCSPACE_API_KEY_SECRET", raising=False)

    def no_aws(*args: object) -> None:
        raise AssertionError("an AWS call before the settings were checked")

    monkeypatch.setattr(BaseClient, "_make_api_call", no_aws)
    handler = load_handler("realtime_guard")
    event = {"Records": [{"messageId": "m", "body": _delivery(1)}]}
    with pytest.raises(ConfigError, match="DOWNLOAD_THRESHOLD"):
        handler(event, FakeContext("realtime_guard"))


def test_long_string_ids_are_kept_short_and_an_oversized_item_means_full(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows = WindowStore(store)
    long_ids = [f"sbox-1-|/{'x' * 240}{i}" for i in range(3)]
    for i, key in enumerate(long_ids):
        assert windows.add("u", rules.CHANGE, Entry(T0 + timedelta(seconds=i), key), W)
    read = windows.read("u", rules.CHANGE, T0, T0 + W)
    assert len({e.key for e in read}) == 3
    assert all(len(e.key) <= window.MAX_KEY for e in read)
    assert window.stored_key("12345") == "12345"
    # DynamoDB refusing the item (over 400 KB) is a full minute, not a failed delivery
    from botocore.exceptions import ClientError

    def refuse(*_a: object, **_k: object) -> None:
        error = {"Error": {"Code": "ValidationException", "Message": "Item size exceeded"}}
        raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]

    monkeypatch.setattr(store.client, "update_item", refuse)
    assert windows.add("u", rules.CHANGE, Entry(T0, "999"), W) is False


def test_a_reported_burst_skips_reading_the_window_again(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docspace_sentinel.state import keys as state_keys
    from docspace_sentinel.workflows.realtime_guard.consumer import Consumer

    user = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    consumer = Consumer(store, RealtimeSettings(), lambda: None, lambda _f: "m")
    reads: list[str] = []
    real_read = consumer.windows.read
    monkeypatch.setattr(consumer.windows, "read", lambda *a: reads.append(a[0]) or real_read(*a))

    def body(event_id: int) -> str:
        return (
            f'{{"event":{{"id":{event_id},"createOn":"{T0:%Y-%m-%dT%H:%M:%S}Z",'
            f'"createBy":"{user}","trigger":"file.updated"}},"payload":{{"id":{event_id}}}}}'
        )

    monkeypatch.setattr(store, "now", lambda: T0 + timedelta(minutes=1))
    assert consumer.message({"body": body(1)}, "m1") == "counted" and len(reads) == 1
    key = state_keys.realtime_burst(user, rules.CHANGE)
    # a claim still in progress (its owner may have crashed) does not stop the read
    assert store.claim(*key, "other", until=T0 + 2 * W, lease=timedelta(minutes=5))
    assert consumer.message({"body": body(2)}, "m2") == "counted" and len(reads) == 2
    store.confirm(*key, "other", until=T0 + 2 * W)
    assert consumer.message({"body": body(3)}, "m3") == "burst" and len(reads) == 2
    # the entry is still kept in the window
    assert len(real_read(user, rules.CHANGE, T0, T0 + W)) == 3


def test_the_confirmation_samples_the_portal_and_needs_three_confirmed_files() -> None:
    import random

    from docspace_sentinel.docspace.errors import NotFound, ServerError
    from docspace_sentinel.docspace.models.files import FileEntry
    from docspace_sentinel.workflows.realtime_guard import confirm as c

    user = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    wire = {"id": 1, "updated": "2026-11-29T15:00:05.0000000+03:00", "updatedBy": {"id": user}}
    parsed = FileEntry.from_wire(wire)
    assert parsed.updated == T0 + timedelta(seconds=5) and parsed.updated_by == user

    class Portal:
        def __init__(self, files: dict[int, FileEntry | Exception]) -> None:
            self.files = files
            self.calls: list[int] = []

        def file(self, file_id: int) -> FileEntry:
            self.calls.append(file_id)
            found = self.files.get(file_id, NotFound("no"))
            if isinstance(found, Exception):
                raise found
            return found

    entries = _changes(21)  # files 1000..1020 changed at T0 + 7 s steps
    changed = {e.key: FileEntry(int(e.key), updated=e.at, updated_by=user) for e in entries}
    portal = Portal({int(k): v for k, v in changed.items()})
    check = c.confirm(portal, user.upper(), entries)
    assert check.verdict == c.CONFIRMED and len(portal.calls) == c.SAMPLES == 5
    assert set(portal.calls) <= {int(k) for k in changed} and portal.calls == sorted(portal.calls)
    # a lock or comment: the content time did not move; someone else's change; a portal error
    stale = {int(k): v._replace(updated=T0 - timedelta(days=3)) for k, v in changed.items()}
    assert c.confirm(Portal(stale), user, entries).verdict == c.UNCONFIRMED
    other = {int(k): v._replace(updated_by="someone") for k, v in changed.items()}
    assert c.confirm(Portal(other), user, entries).verdict == c.UNCONFIRMED
    flaky: dict[int, FileEntry | Exception] = {int(k): ServerError("e") for k in changed}
    assert c.confirm(Portal(flaky), user, entries).verdict == c.UNCONFIRMED
    # no such files at all: forged; a burst of deletes cannot be confirmed (never looked up)
    assert c.confirm(Portal({}), user, entries).verdict == c.FORGED
    deletes = [e._replace(deleted=True) for e in entries]
    nobody = Portal({})
    assert c.confirm(nobody, user, deletes).verdict == c.UNCONFIRMED and nobody.calls == []
    # one file deleted since the burst: still confirmed; two: not
    for gone, verdict in ((1, c.CONFIRMED), (2, c.UNCONFIRMED)):
        some: dict[int, FileEntry | Exception] = {int(k): v for k, v in changed.items()}
        picked = [f for f, _, _ in c.samples(entries, random.Random(3))]
        for file_id in picked[:gone]:
            some[file_id] = NotFound("deleted")
        assert c.confirm(Portal(some), user, entries, pick=random.Random(3)).verdict == verdict
    # bounded in time
    ticks = iter([0.0, 0.0, 100.0, 100.0])
    late = c.confirm(Portal({}), user, entries, clock=lambda: next(ticks))
    assert late.sampled == 1 and late.verdict == c.UNCONFIRMED


def test_a_forger_cannot_choose_which_files_are_sampled() -> None:
    """A forged burst of made-up ids with three real recent edits of the victim placed first,
    in the middle and last (where fixed picks would look) is not confirmed: the picks are
    random, and one made-up file among them is enough to refuse."""
    import random

    from docspace_sentinel.docspace.errors import NotFound
    from docspace_sentinel.docspace.models.files import FileEntry
    from docspace_sentinel.workflows.realtime_guard import confirm as c

    user = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    entries = _changes(21)  # files 1000..1020
    real = {1000, 1005, 1010, 1020}  # even four real edits among the made-up ones

    class Portal:
        def file(self, file_id: int) -> FileEntry:
            if file_id not in real:
                raise NotFound("no")
            at = T0 + timedelta(seconds=7 * (file_id - 1000))
            return FileEntry(file_id, updated=at, updated_by=user)

    verdicts = {
        c.confirm(Portal(), user, entries, pick=random.Random(n)).verdict for n in range(50)
    }
    assert c.CONFIRMED not in verdicts
    # and the default picks are not the fixed places
    picked = {tuple(f for f, _, _ in c.samples(entries)) for _ in range(20)}
    assert len(picked) > 1


@pytest.mark.parametrize("padding", ["string ids", "deletes", "folders"])
def test_entries_the_portal_cannot_confirm_count_against_the_burst(padding: str) -> None:
    """Three real recent edits of the victim padded with entries the confirmation cannot look
    up (third-party string ids, deletes, folders) still cross the threshold: those entries may
    be picked too, and count as not confirmed."""
    import random

    from docspace_sentinel.docspace.models.files import FileEntry
    from docspace_sentinel.workflows.realtime_guard import confirm as c

    user = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    real = [Entry(T0 + timedelta(seconds=n), str(1000 + n)) for n in range(3)]
    pad = [
        Entry(T0 + timedelta(seconds=10 + n), key, deleted)
        for n in range(19)
        for key, deleted in [
            {
                "string ids": (f"sbox-{n}", False),
                "deletes": (str(2000 + n), True),
                "folders": (f"folder:{n}", False),
            }[padding]
        ]
    ]

    class Portal:
        def file(self, file_id: int) -> FileEntry:
            return FileEntry(file_id, updated=T0 + timedelta(seconds=file_id - 1000),
                             updated_by=user)  # fmt: skip

    verdicts = {
        c.confirm(Portal(), user, [*real, *pad], pick=random.Random(n)).verdict for n in range(50)
    }
    assert c.CONFIRMED not in verdicts


def test_the_confirmation_refuses_an_old_createon_matched_to_a_later_real_edit() -> None:
    """A forged burst naming real files the user edited recently, with createOn chosen well
    before those edits (the receiver accepts createOn days old), is not confirmed: a file's
    content time must fall near the deliveries that name it, not merely after them."""
    from docspace_sentinel.docspace.models.files import FileEntry
    from docspace_sentinel.workflows.realtime_guard import confirm as c

    user = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    entries = _changes(21)  # createOn T0 .. T0 + 140 s
    edited = T0 + timedelta(days=10)  # the user's real edits, ten days after the forged createOn

    class Portal:
        def file(self, file_id: int) -> FileEntry:
            return FileEntry(file_id, updated=edited, updated_by=user)

    assert c.confirm(Portal(), user, entries).verdict == c.UNCONFIRMED


def test_odd_file_ids_or_records_never_fail_the_confirmation_or_the_enrichment() -> None:
    """A forged burst naming file 0 (or a non-ASCII digit), or a portal record without an id,
    is unconfirmed / left out, never an exception that sends every delivery to the DLQ."""
    from docspace_sentinel.docspace.client import int_id
    from docspace_sentinel.docspace.models.files import FileEntry
    from docspace_sentinel.workflows.realtime_guard import confirm as c
    from docspace_sentinel.workflows.realtime_guard import findings as f

    class Portal:
        def file(self, file_id: int) -> FileEntry:
            if int_id(file_id, "fileId") == 7:
                return FileEntry.from_wire({"title": "no id"})
            raise AssertionError("not looked up")

    user = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    odd = [Entry(T0, "0"), Entry(T0 + timedelta(seconds=1), "00"), Entry(T0, "7")]
    assert c.confirm(Portal(), user, odd).verdict == c.UNCONFIRMED
    around = f.enrich(Portal(), ["0", "\u00b2", "7"])
    assert around.titles == {} and not around.complete


def test_one_real_file_named_with_leading_zeros_is_one_file() -> None:
    """ "7", "07", "007" … name one file: they count once toward the threshold, and one real
    edit cannot confirm a forged burst by being sampled three times."""
    from docspace_sentinel.docspace.models.files import FileEntry
    from docspace_sentinel.workflows.realtime_guard import confirm as c

    user = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
    assert entry_key("file.updated", "007") == entry_key("file.updated", 7) == "7"
    assert entry_key("file.updated", "sbox-007") == "sbox-007"
    variants = [Entry(T0 + timedelta(seconds=i), "0" * i + "7") for i in range(21)]

    class Portal:
        def file(self, file_id: int) -> FileEntry:
            return FileEntry(file_id, updated=T0, updated_by=user)

    check = c.confirm(Portal(), user, variants)
    assert check.sampled == 1 and check.verdict == c.UNCONFIRMED
