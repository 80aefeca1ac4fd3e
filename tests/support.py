"""Helpers shared by the client unit tests (and the settings classes' env names)."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.secret import Secret
from docspace_sentinel.docspace.settings import ClientSettings, RetryPolicy

PORTAL = "https://portal.example.com"
API = f"{PORTAL}/api/2.0"
KEY = "sk-test-0123456789abcdef"
FIXTURES = Path(__file__).parent / "fixtures" / "docspace"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def envelope(
    response: Any, *, total: int | None = None, count: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "response": response,
        "count": count
        if count is not None
        else (len(response) if isinstance(response, list) else 1),
        "links": [{"href": f"{API}/x", "action": "GET"}],
        "status": 0,
        "statusCode": 200,
    }
    if total is not None:
        body["total"] = total
    return body


class Sleeps(list[float]):
    """Records the sleeps the client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(
    *,
    retry: RetryPolicy | None = None,
    sleeps: Sleeps | None = None,
    remaining_time: Any = None,
    url: str = PORTAL,
    requests_per_second: float = 0.0,
) -> DocSpaceClient:
    settings = ClientSettings(
        url=url,
        api_key=Secret(KEY),
        timeout=5.0,
        retry=retry or RetryPolicy(max_attempts=4),
        requests_per_second=requests_per_second,
    )
    return DocSpaceClient(
        settings,
        sleep=sleeps if sleeps is not None else Sleeps(),
        rng=random.Random(1),
        remaining_time=remaining_time,
    )


def audit_row(event_id: int, date: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": event_id,
        "date": date,
        "user": "John Doe",
        "userId": "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11",
        "action": "File Updated: a.docx",
        "actionId": 5002,
        "actionType": 2,
        "product": 2,
        "location": 1,
        "target": [str(event_id)],
        "entries": [1],
        "context": "Rooms: VDR",
    }
    row.update(extra)
    return row


def login_row(event_id: int, date: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": event_id,
        "date": date,
        "user": "John Doe",
        "userId": "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11",
        "login": "john@example.com",
        "action": "Successful Login",
        "actionId": 1010,
        "ip": "203.0.113.5",
    }
    row.update(extra)
    return row


# -- settings classes ------------------------------------------------------------------------


def parts(cls: type) -> list[type]:
    """``cls`` and the settings classes it is built from (its fields' defaults that are
    settings themselves, e.g. the bulk guard's ``ResponseSettings``)."""
    found = [cls]
    defaults = list(getattr(cls, "_field_defaults", {}).values())
    if dataclasses.is_dataclass(cls):  # e.g. RunSettings.exports
        defaults += [f.default for f in dataclasses.fields(cls)]
    for default in defaults:
        if "from_env" in dir(type(default)):
            found += parts(type(default))
    return found


def env_constants(cls: type, prefix: str = "") -> set[str]:
    """The environment variable names declared as constants of ``cls`` and its parts (only
    the ``DEPRECATED_*`` ones with ``prefix="DEPRECATED_"``)."""
    return {
        value
        for part in parts(cls)
        for name in dir(part)
        if name.isupper()
        and name.startswith(prefix)
        and isinstance(value := getattr(part, name), str)
    }


class Clock:
    """A settable clock for ``StateStore(clock=...)``: ``clock.now = ...`` moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
