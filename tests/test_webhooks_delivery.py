"""webhooks/delivery.py: the tolerant parse of a verified body, and the content key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.webhooks.delivery import UnusableDelivery, parse_delivery, parse_time

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
USER = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"


def body(event: dict[str, Any] | None = None, **parts: Any) -> bytes:
    evt = {
        "id": 4711,
        "createOn": "2026-11-20T05:59:58Z",
        "createBy": USER,
        "trigger": "file.updated",
        "triggerId": 512,
    }
    evt.update(event or {})
    data = {"event": evt, "payload": {"id": 5678, "title": "x"}, "webhook": {"id": 7}}
    data.update(parts)
    return json.dumps(data).encode()


def test_a_file_event_is_parsed() -> None:
    d = parse_delivery(body(), now=NOW)
    assert (d.event_id, d.trigger, d.trigger_id, d.entity_id, d.webhook_id) == (
        4711,
        "file.updated",
        512,
        5678,
        7,
    )
    assert d.create_on == datetime(2026, 11, 20, 5, 59, 58, tzinfo=UTC)
    assert d.create_by == USER and d.retry_count == 0
    assert len(d.content_key) == 64


def test_open_64_bit_trigger_ids_and_string_entity_ids() -> None:
    d = parse_delivery(
        body(
            {"trigger": "file.downloaded", "triggerId": 1 << 34}, payload={"id": "sbox-12|a.docx"}
        ),
        now=NOW,
    )
    assert d.trigger_id == 1 << 34 and d.entity_id == "sbox-12|a.docx"


def test_sparse_bodies_are_accepted() -> None:
    # DocSpace omits defaults: no createBy, no payload id, no webhook.
    raw = json.dumps(
        {"event": {"id": 1, "createOn": "2026-11-20T05:00:00Z", "trigger": "user.updated"}}
    )
    d = parse_delivery(raw, now=NOW)
    assert d.create_by is None and d.entity_id is None and d.webhook_id is None


def test_form_submit_takes_the_submitted_form() -> None:
    d = parse_delivery(
        body(
            {"trigger": "form.submit"},
            payload={"originalForm": {"id": 1}, "submittedForm": {"id": 2}},
        ),
        now=NOW,
    )
    assert d.entity_id == 2


def test_manual_retry_has_the_same_content_key_and_other_events_do_not() -> None:
    first = parse_delivery(body(), now=NOW)
    manual = parse_delivery(
        body({"id": 9999}, webhook={"id": 7, "retryCount": 2, "retryOn": "2026-11-20T06:00:00Z"}),
        now=NOW,
    )
    assert manual.event_id != first.event_id and manual.content_key == first.content_key
    assert manual.retry_count == 2
    other_file = parse_delivery(body(payload={"id": 5679}), now=NOW)
    other_time = parse_delivery(body({"createOn": "2026-11-20T05:59:59Z"}), now=NOW)
    other_user = parse_delivery(body({"createBy": "00000000-0000-0000-0000-000000000001"}), now=NOW)
    string_id = parse_delivery(body(payload={"id": "5678"}), now=NOW)
    keys = {d.content_key for d in (first, other_file, other_time, other_user, string_id)}
    assert len(keys) == 5


def test_zone_less_and_offset_times_are_utc() -> None:
    assert parse_time("2026-11-20T05:00:00") == datetime(2026, 11, 20, 5, tzinfo=UTC)
    assert parse_time("2026-11-20T05:00:00.1234567Z") == datetime(
        2026, 11, 20, 5, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_time("2026-11-20T07:00:00+02:00") == datetime(2026, 11, 20, 5, tzinfo=UTC)
    for bad in ("", "yesterday", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+14:00", 5, None):
        assert parse_time(bad) is None


def test_a_few_days_old_is_fine_but_not_weeks_or_the_future() -> None:
    old = (NOW - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parse_delivery(body({"createOn": old}), now=NOW).event_id == 4711
    for when in (NOW - timedelta(days=30), NOW + timedelta(hours=2)):
        with pytest.raises(UnusableDelivery, match="out of range"):
            parse_delivery(body({"createOn": when.strftime("%Y-%m-%dT%H:%M:%SZ")}), now=NOW)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"event": 1}',
        body({"trigger": "file.exploded"}),
        body({"trigger": None}),
        body({"id": True}),
        body({"id": 0}),
        body({"id": 2**70}),
        body({"createOn": "soon"}),
        b"[" * 100_000,
        b"\xff\xfe",
    ],
)
def test_unusable_bodies_raise_a_typed_error(raw: bytes) -> None:
    with pytest.raises(UnusableDelivery) as caught:
        parse_delivery(raw, now=NOW)
    assert "{" not in caught.value.reason  # no body text in the reason
