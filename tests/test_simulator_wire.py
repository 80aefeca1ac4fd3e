"""The simulator's wire rules over real HTTP: envelope, dates, validation, auth, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.simulator import SimulatorServer
from local.simulator.wire import (
    drop_nulls,
    format_api_datetime,
    format_plain_datetime,
    html_encode,
    parse_api_datetime,
)

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}(Z|[+-]\d{2}:\d{2})$")
AUDIT = "/api/2.0/security/audit/events/filter"


@pytest.fixture
def http(simulator: SimulatorServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {simulator.api_key}"
        yield session


def get(
    http: requests.Session, sim: SimulatorServer, path: str, **params: Any
) -> requests.Response:
    return http.get(sim.url + path, params=params, timeout=10)


def test_envelope_shape_and_links(http: requests.Session, simulator: SimulatorServer) -> None:
    r = get(http, simulator, AUDIT, count=3)
    body = r.json()
    assert r.status_code == 200
    assert list(body) == ["response", "count", "links", "status", "statusCode"]  # no total
    assert body["count"] == 3 and body["status"] == 0 and body["statusCode"] == 200
    assert body["links"] == [{"href": f"{simulator.url}{AUDIT}?count=3", "action": "GET"}]


def test_null_fields_are_omitted_everywhere(
    http: requests.Session, simulator: SimulatorServer
) -> None:
    events = get(http, simulator, AUDIT, count=100).json()["response"]
    assert all(None not in e.values() for e in events)
    assert any("city" not in e for e in events) or any("target" not in e for e in events)
    users = get(http, simulator, "/api/2.0/people/filter", count=100).json()["response"]
    assert all("terminated" not in u for u in users if u["status"] != 2)


def test_dates_are_strings_in_the_tenant_offset(
    http: requests.Session, simulator: SimulatorServer
) -> None:
    events = get(http, simulator, AUDIT, count=20).json()["response"]
    assert all(DATE_RE.match(e["date"]) and e["date"].endswith("+03:00") for e in events)


def test_utc_tenant_uses_z(simulator_factory: Any) -> None:
    sim = simulator_factory(tenant_offset="Z", audit_events=500, login_events=100)
    r = requests.get(
        sim.url + AUDIT, headers={"Authorization": f"Bearer {sim.api_key}"}, timeout=10
    )
    assert r.json()["response"][0]["date"].endswith("Z")


@pytest.mark.parametrize("count", ["0", "101", "-1"])
def test_count_outside_range_is_a_validation_envelope(
    http: requests.Session, simulator: SimulatorServer, count: str
) -> None:
    r = get(http, simulator, AUDIT, count=count)
    body = r.json()
    assert r.status_code == 400
    assert body["status"] == 1 and body["statusCode"] == 400 and body["count"] == 1
    assert body["response"]["title"] == "One or more validation errors occurred."
    assert body["response"]["errors"] == {"count": ["The field Count must be between 1 and 100."]}


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-01",  # zone-less
        "2025-01-01T10:00:00",  # zone-less
        "2025-01-01T10:00:00.123456+00:00",  # Python isoformat: 6 digits
        "2025-01-01T10:00:00 03:00",  # an unencoded '+' decoded to a space
        "yesterday",
    ],
)
def test_bad_from_is_400(http: requests.Session, simulator: SimulatorServer, value: str) -> None:
    r = get(http, simulator, AUDIT, **{"from": value})
    assert r.status_code == 400
    assert "from" in r.json()["response"]["errors"]


def test_unencoded_plus_is_rejected(http: requests.Session, simulator: SimulatorServer) -> None:
    r = http.get(simulator.url + AUDIT + "?from=2025-01-01T10:00:00+03:00", timeout=10)
    assert r.status_code == 400
    r = http.get(simulator.url + AUDIT + "?from=2025-01-01T10:00:00%2B03:00", timeout=10)
    assert r.status_code == 200


@pytest.mark.parametrize(
    "header", [None, "sk-sim-7f3a9c2e5b1d4e8f", "Bearer wrong", "Basic Zm9vOmJhcg=="]
)
def test_bad_auth_is_401_with_empty_body(simulator: SimulatorServer, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = requests.get(simulator.url + AUDIT, headers=headers, timeout=10)
    assert r.status_code == 401 and r.content == b""


def test_unknown_route_and_bad_json(http: requests.Session, simulator: SimulatorServer) -> None:
    r = get(http, simulator, "/api/2.0/nothing/here")
    assert r.status_code == 404
    assert r.json()["error"] == {"message": "Not found", "type": None, "stack": None, "hresult": 0}
    r = http.put(simulator.url + "/api/2.0/settings/iprestrictions", data=b"{nope", timeout=10)
    assert r.status_code == 400 and r.json()["statusCode"] == 400


def test_keep_alive_reuses_the_connection(
    http: requests.Session, simulator: SimulatorServer
) -> None:
    for _ in range(5):
        assert get(http, simulator, "/api/2.0/people/@self").status_code == 200
    assert get(http, simulator, "/api/2.0/people/@self").headers.get("Connection") != "close"


def test_date_helpers_round_trip() -> None:
    micros = 1_741_090_542_123_456
    text = format_api_datetime(micros, 180)
    assert text == "2025-03-04T15:15:42.1234560+03:00"
    assert parse_api_datetime(text) == micros
    assert format_api_datetime(micros, 0).endswith(".1234560Z")
    assert format_api_datetime(micros, -330).endswith("-05:30")
    assert parse_api_datetime("2025-03-04T12:15:42.123Z") == 1_741_090_542_123_000
    assert parse_api_datetime("2025-03-04T12-15-42Z") == 1_741_090_542_000_000
    assert parse_api_datetime("2025-03-04T12:15:42.12345Z") is None
    assert format_plain_datetime(1_741_090_542_000_000) == "2025-03-04T12:15:42Z"


def test_small_helpers() -> None:
    assert drop_nulls({"a": None, "b": [{"c": None, "d": 1}]}) == {"b": [{"d": 1}]}
    assert html_encode("O'Neil & <Co>") == "O&#39;Neil &amp; &lt;Co&gt;"
