"""Audit trail and login history endpoints: ordering, filters, the paging bug, fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from local.simulator import Scenario, SimulatorServer
from local.simulator.wire import parse_api_datetime

EVENTS = "/api/2.0/security/audit/events/filter"
LAST = "/api/2.0/security/audit/events/last"
LOGINS = "/api/2.0/security/audit/login/filter"
LOGIN_LAST = "/api/2.0/security/audit/login/last"


@pytest.fixture
def api(simulator: SimulatorServer) -> Iterator[Any]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {simulator.api_key}"

        def call(path: str, **params: Any) -> requests.Response:
            return session.get(simulator.url + path, params=params, timeout=10)

        yield call


def all_pages(api: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start = 0
    while True:
        page = api(path, count=100, startIndex=start, **params).json()["response"]
        items += page
        if len(page) < 100:
            return items
        start += 100


def key(e: dict[str, Any]) -> tuple[int, int]:
    micros = parse_api_datetime(e["date"])
    assert micros is not None
    return micros, e["id"]


def test_newest_first_with_id_tiebreak_and_no_total(api: Any, scenario: Scenario) -> None:
    body = api(EVENTS, count=100).json()
    assert "total" not in body
    keys = [key(e) for e in body["response"]]
    assert keys == sorted(keys, reverse=True)
    events = all_pages(api, EVENTS)
    assert len(events) == len(scenario.audit)
    assert len({e["id"] for e in events}) == len(events)


def test_audit_ids_are_not_in_date_order(api: Any) -> None:
    ids = [e["id"] for e in api(EVENTS, count=100).json()["response"]]
    assert ids != sorted(ids, reverse=True)


def test_default_count_is_100_and_last_is_20(api: Any) -> None:
    assert len(api(EVENTS).json()["response"]) == 100
    last = api(LAST).json()
    assert len(last["response"]) == 20 and "total" not in last
    assert [e["id"] for e in last["response"]] == [
        e["id"] for e in api(EVENTS, count=20).json()["response"]
    ]
    assert len(api(LOGIN_LAST).json()["response"]) == 20


def test_from_to_are_inclusive(api: Any, scenario: Scenario) -> None:
    sample = api(EVENTS, count=50).json()["response"]
    lo, hi = sample[30]["date"], sample[10]["date"]
    got = api(EVENTS, **{"from": lo, "to": hi}).json()["response"]
    assert [e["id"] for e in got] == [e["id"] for e in sample[10:31]]
    # The same instant written in UTC works as well.
    micros = parse_api_datetime(hi)
    assert micros is not None
    utc = (scenario.date_of(micros)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    assert api(EVENTS, to=utc, count=1).json()["response"][0]["id"] == sample[10]["id"]


def test_user_filter_pages_a_filtered_set(api: Any, scenario: Scenario) -> None:
    heavy = scenario.planted.vdr_heavy
    assert heavy is not None
    events = all_pages(api, EVENTS, userId=heavy.user_id)
    assert events and all(e["userId"] == heavy.user_id for e in events)
    assert set(heavy.event_ids) <= {e["id"] for e in events}
    assert api(EVENTS, userId="00000000-0000-0000-0000-000000000000").json()["count"] == 100
    assert api(EVENTS, userId="not-a-guid").status_code == 400


@pytest.mark.parametrize("action", ["5034", "UserFileUpdated", "userfileupdated"])
def test_action_by_code_or_name(api: Any, action: str) -> None:
    events = api(EVENTS, action=action).json()["response"]
    assert events and all(e["actionId"] == 5034 for e in events)
    assert all(e["action"].startswith("Users [") for e in events)


@pytest.mark.parametrize("action", ["0", "1", "5999", "NoSuchAction"])
def test_undefined_action_is_400(api: Any, action: str) -> None:
    r = api(EVENTS, action=action)
    assert r.status_code == 400 and "action" in r.json()["response"]["errors"]
    assert api(LOGINS, action=action).status_code == 400


def test_module_type_is_the_500_bug(api: Any) -> None:
    r = api(EVENTS, moduleType=1)
    assert r.status_code == 500
    assert r.json()["error"]["message"] == "Object reference not set to an instance of an object."
    assert api(EVENTS, moduleType=0).status_code == 200
    assert api(EVENTS, moduleType=99).status_code == 400


def test_target_and_entry_type_semantics(api: Any, scenario: Scenario) -> None:
    bulk = scenario.planted.bulk_changer
    assert bulk is not None
    file_id = str(bulk.file_ids[0])
    exact = api(EVENTS, action=5002, target=file_id).json()["response"]
    assert all(e["target"] == [file_id] for e in exact)
    like = all_pages(api, EVENTS, entryType=1, target=file_id)
    assert like and all(file_id in ",".join(e["target"]) for e in like)
    # target alone (no action, no entryType) is ignored.
    assert api(EVENTS, target=file_id).json()["count"] == 100


def test_action_type_narrows(api: Any) -> None:
    events = api(EVENTS, actionType=12).json()["response"]  # Download
    assert events and {e["actionId"] for e in events} == {5009}


def test_event_shapes(api: Any, scenario: Scenario) -> None:
    events = all_pages(api, EVENTS)
    files = [e for e in events if e["location"] == 1]
    assert all(e["entries"] == [1] and e["product"] == 2 for e in files)
    assert any(e["context"].startswith("Rooms: ") for e in files)
    assert any(e["context"] == "My documents" for e in files)
    copies = [e for e in events if e["actionId"] == 5013]
    assert copies and all(len(e["target"]) == 2 for e in copies)
    renamed = scenario.layout
    old = f"Rooms: {renamed.renamed_room_old_title}"
    rename = [e for e in events if e["actionId"] == 5071]
    assert rename[0]["context"] == old and rename[0]["target"] == [str(renamed.renamed_room_id)]
    assert rename[0]["location"] == 27 and rename[0]["entries"] == [25]
    assert any(e["context"] == old for e in files) and any(
        e["context"] == "Rooms: Contracts Archive" for e in files
    )


def test_last_cuts_long_parts(api: Any, scenario: Scenario) -> None:
    long_file = next(f for f in scenario.files.values() if len(f.title) >= 50)
    event_id = scenario.add_audit_event(5002, target=[long_file.id])
    last = api(LAST).json()["response"]
    mine = next(e for e in last if e["id"] == event_id)
    assert mine["action"] == f"File Updated: {long_file.title[:47]}..."
    full = api(EVENTS, count=1).json()["response"][0]
    assert full["action"] == f"File Updated: {long_file.title}"


def test_login_filter_pages_before_filtering(api: Any, scenario: Scenario) -> None:
    brute = scenario.planted.brute_force
    assert brute is not None
    everything = all_pages(api, LOGINS)
    mine = [e for e in everything if e["userId"] == brute.user_id]
    first = api(LOGINS, userId=brute.user_id, count=10).json()["response"]
    # The window is the 10 newest events of ALL users, filtered afterwards: short or empty.
    assert len(first) < 10 < len(mine)
    window = [e for e in everything[:10] if e["userId"] == brute.user_id]
    assert [e["id"] for e in first] == [e["id"] for e in window]


def test_login_shapes(api: Any, scenario: Scenario) -> None:
    brute = scenario.planted.brute_force
    assert brute is not None
    events = {e["id"]: e for e in all_pages(api, LOGINS)}
    failed = events[brute.failed_event_ids[0]]
    assert failed["userId"] == "712d9ec3-5d2b-4b13-824f-71f00191dcca"
    assert failed["user"] == brute.login and failed["actionId"] == 1013
    assert not {"target", "context", "actionType", "entries"} & set(failed)
    assert events[brute.success_event_id]["userId"] == brute.user_id
    assert any(e["ip"] == "2001" for e in events.values())


def test_audit_option_missing_returns_last(api: Any, simulator: SimulatorServer) -> None:
    simulator.audit_option = False
    last = [e["id"] for e in api(LAST).json()["response"]]
    for params in ({}, {"startIndex": 500, "count": 5}, {"action": 5009, "userId": "x" * 0}):
        assert [e["id"] for e in api(EVENTS, **params).json()["response"]] == last
    login_last = [e["id"] for e in api(LOGIN_LAST).json()["response"]]
    assert [e["id"] for e in api(LOGINS, startIndex=300).json()["response"]] == login_last


def test_added_events_land_in_date_order(api: Any, scenario: Scenario) -> None:
    older = scenario.now - timedelta(days=2)
    event_id = scenario.add_audit_event(5009, target=[scenario.layout.overlapping_id], date=older)
    found = all_pages(api, EVENTS, action=5009)
    keys = [key(e) for e in found]
    assert keys == sorted(keys, reverse=True) and event_id in {e["id"] for e in found}
    login_id = scenario.add_login_event(1002, login="mallory", date=older, ip="192.0.2.1")
    logins = {e["id"]: e for e in all_pages(api, LOGINS)}
    assert logins[login_id]["user"] == "mallory"
