"""The configuration watch's audit classifier: catalogue codes, overrides, unknown settings
codes kept at LOW with the portal's own text, ordinary events ignored, odd input counted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from docspace_sentinel.docspace.models import AuditEvent
from docspace_sentinel.findings.finding import Severity
from docspace_sentinel.workflows.config_watch.audit import Classified, classify
from docspace_sentinel.workflows.config_watch.catalogue import CATALOGUE, Subject

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
ADMIN = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
WEBHOOK_CREATED = {
    "id": 1,
    "date": "2026-11-29T12:00:00.0000000+03:00",
    "user": "Anna Admin",
    "userId": ADMIN,
    "action": "Webhook created: exfil",
    "actionId": 6055,
    "actionType": 1,
    "product": 7,
    "location": 29,
    "target": ["12"],
    "entries": [],
    "context": "Settings",
}


def _event(n: int, code: int, **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {"user_id": ADMIN, "product": 7, "location": 29, **fields}
    return AuditEvent(id=n, date=T0, action_id=code, **values)


def test_a_catalogue_code_becomes_a_change_with_its_default_severity() -> None:
    event = AuditEvent.from_wire(WEBHOOK_CREATED)
    result = classify([event])
    assert result == Classified([result.changes[0]], 1, 0, 0, 0)
    change = result.changes[0]
    assert change.event is event and change.known
    assert change.watched is CATALOGUE[6055]
    assert change.severity is Severity.MEDIUM


def test_an_override_replaces_the_default_severity_per_action_id() -> None:
    result = classify([_event(1, 6036), _event(2, 6094)], {6094: Severity.HIGH})
    assert [c.severity for c in result.changes] == [Severity.HIGH, Severity.HIGH]
    assert CATALOGUE[6094].severity is Severity.MEDIUM


def test_an_unknown_settings_code_is_reported_low_with_its_text_kept() -> None:
    newer = _event(1, 6150, action="Passkeys settings updated")
    by_location = _event(2, 6151, product=None, action="Настройки обновлены")
    result = classify([newer, by_location])
    assert result.unknown == 2 and result.ignored == 0
    for change in result.changes:
        assert not change.known
        assert change.severity is Severity.LOW
        assert change.watched.subject == Subject.OTHER
        assert change.watched.name == f"action {change.event.action_id}"
    assert [c.event.action for c in result.changes] == [
        "Passkeys settings updated",
        "Настройки обновлены",
    ]


def test_an_unknown_settings_code_can_be_overridden_too() -> None:
    result = classify([_event(1, 6150)], {6150: Severity.MEDIUM})
    assert result.changes[0].severity is Severity.MEDIUM


def test_ordinary_events_and_unwatched_settings_are_ignored() -> None:
    events = [
        _event(1, 5002, product=2, location=1),  # FileUpdated
        _event(2, 5085, product=2, location=27),  # RoomCreateUser
        _event(3, 6020),  # ColorThemeChanged: a known settings code, not watched
        _event(4, 5999, product=2, location=1),  # unknown, but not the settings product
    ]
    result = classify(events)
    assert result == Classified([], 4, 4, 0, 0)


def test_an_event_without_a_user_id_is_still_a_change_with_its_actor_unknown() -> None:
    result = classify([_event(1, 6036, user_id=None), _event(2, 6036, user_id="  ")])
    assert [c.event.id for c in result.changes] == [1, 2]
    assert (result.scanned, result.malformed) == (2, 0)


def test_hostile_and_odd_input_never_raises() -> None:
    odd: list[Any] = [
        None,
        {"actionId": 6036},
        "6036",
        _event(1, True),
        _event(2, -1),
        _event(3, 10**30),  # unknown, settings product
        _event(4, 6036, product="7", location=[29]),  # still a catalogue code
        _event(5, 6150, product=object(), location=None),
    ]
    result = classify(odd, {6036: "high", 10**30: "nonsense"})  # type: ignore[dict-item]
    assert result.scanned == 8
    assert result.malformed == 5  # not events, a bool code, the server's None (-1)
    assert [c.event.id for c in result.changes] == [3, 4]
    assert result.changes[0].severity is Severity.LOW  # a bad override keeps the default
    assert result.changes[1].severity is Severity.HIGH  # a string override is read
    assert result.ignored == 1  # the product that is no number is not the settings product


def test_default_overrides_are_not_shared_state() -> None:
    first = classify([_event(1, 6094)])
    second = classify([_event(2, 6094)])
    assert first.changes[0].severity is second.changes[0].severity is Severity.MEDIUM
