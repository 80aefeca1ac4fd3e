"""Every simulator response body validated against the official SDK's pydantic models.

The SDK (docspace_api_sdk 3.7.0) is imported only here: it takes seconds to import and is
never used at run time. Where the SDK is wrong about the wire (docs section 8) the test
says so and keeps the simulator on the real contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.simulator import Scenario, SimulatorServer

sdk = pytest.importorskip("docspace_api_sdk.models")


@pytest.fixture
def get(simulator: SimulatorServer) -> Iterator[Any]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {simulator.api_key}"

        def call(path: str, **params: Any) -> Any:
            r = session.get(simulator.url + path, params=params, timeout=10)
            assert r.status_code == 200, r.text
            return r.json()

        yield call


def test_audit_events(get: Any) -> None:
    body = get("/api/2.0/security/audit/events/filter")
    # ApiDateTime is modelled as an object; SDK 3.7.0 patches from_dict to take the string.
    for item in body["response"] + get("/api/2.0/security/audit/events/last")["response"]:
        model = sdk.AuditEventDto.from_dict(item)
        assert model.var_date.utc_time is not None and model.id == item["id"]
    # The array wrapper declares no `total`, and the audit envelope has none either.
    assert sdk.AuditEventArrayWrapper.from_dict(body).count == 100


def test_login_events(get: Any) -> None:
    body = get("/api/2.0/security/audit/login/filter")
    for item in body["response"]:
        assert sdk.LoginEventDto.from_dict(item).action_id is not None
    sdk.LoginEventArrayWrapper.from_dict(body)


def test_people(get: Any, scenario: Scenario) -> None:
    body = get("/api/2.0/people/filter", employeeStatus=7)
    for item in body["response"]:
        sdk.EmployeeFullDto.from_dict(item)
    # EmployeeFullArrayWrapper drops `total` (SDK quirk 4); the wire keeps it.
    assert "total" in body
    sdk.EmployeeFullArrayWrapper.from_dict(body)
    sdk.EmployeeFullDto.from_dict(
        get(f"/api/2.0/people/{scenario.layout.disabled_user_id}")["response"]
    )


def test_group(get: Any, scenario: Scenario) -> None:
    for group in scenario.groups.values():
        sdk.GroupDto.from_dict(get(f"/api/2.0/group/{group.id}")["response"])


def test_rooms(get: Any, scenario: Scenario) -> None:
    content = get("/api/2.0/files/rooms")["response"]
    sdk.FolderContentDtoInteger.from_dict(content)
    for item in content["folders"]:
        sdk.FolderDtoInteger.from_dict(item)
    sdk.FolderDtoInteger.from_dict(content["current"])
    room = get(f"/api/2.0/files/rooms/{scenario.layout.renamed_room_id}")["response"]
    assert sdk.FolderDtoInteger.from_dict(room).room_type == 8


def test_room_members(get: Any, scenario: Scenario) -> None:
    kinds: set[int] = set()
    for room in scenario.rooms:
        for filter_type in (0, 15):
            body = get(f"/api/2.0/files/rooms/{room.id}/share", filterType=filter_type)
            for item in body["response"]:
                # sharedTo is `Any` in the SDK; the typed siblings carry the checked shape.
                kinds.add(sdk.FileShareDto.from_dict(item).subject_type)
    assert kinds >= {0, 1, 2, 3, 4}


def test_files_and_paths(get: Any, scenario: Scenario) -> None:
    for file in list(scenario.files.values())[:15]:
        folder = scenario.folders[file.folder_id]
        if file.deleted or folder.personal_owner not in (None, scenario.key_user.id):
            continue
        dto = sdk.FileDtoInteger.from_dict(get(f"/api/2.0/files/file/{file.id}")["response"])
        assert dto.folder_id == file.folder_id
        for item in get(f"/api/2.0/files/folder/{file.folder_id}/path")["response"]:
            sdk.FolderDtoInteger.from_dict(item)


def test_ip_restrictions(get: Any, simulator: SimulatorServer) -> None:
    sent = {"ipRestrictions": [{"ip": "203.0.113.7", "forAdmin": True}], "enable": True}
    r = requests.put(
        simulator.url + "/api/2.0/settings/iprestrictions",
        json=sent,
        headers={"Authorization": f"Bearer {simulator.api_key}"},
        timeout=10,
    )
    sdk.IpRestrictionsDto.from_dict(r.json()["response"])
    for item in get("/api/2.0/settings/iprestrictions")["response"]:
        assert sdk.IPRestriction.from_dict(item).id is not None
    settings = get("/api/2.0/settings/iprestrictions/settings")["response"]
    assert sdk.IPRestrictionsSettings.from_dict(settings).enable is True
