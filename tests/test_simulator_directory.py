"""People, groups, rooms, room members, files, folder paths and IP restrictions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.simulator import Scenario, SimulatorServer


class Api:
    def __init__(self, sim: SimulatorServer, session: requests.Session) -> None:
        self.sim, self.session = sim, session

    def __call__(
        self, method: str, path: str, body: Any = None, **params: Any
    ) -> requests.Response:
        return self.session.request(
            method, self.sim.url + path, params=params, json=body, timeout=10
        )


@pytest.fixture
def api(simulator: SimulatorServer) -> Iterator[Api]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {simulator.api_key}"
        yield Api(simulator, session)


def audit_ids(api: Api, action: int) -> list[dict[str, Any]]:
    return list(
        api("GET", "/api/2.0/security/audit/events/filter", action=action).json()["response"]
    )


# --- people ---------------------------------------------------------------------------


def test_people_lookups(api: Api, scenario: Scenario) -> None:
    me = api("GET", "/api/2.0/people/@self").json()["response"]
    assert me["id"] == scenario.key_user.id and me["isAdmin"] and not me["isOwner"]
    owner = api("GET", f"/api/2.0/people/{scenario.owner.user_name}").json()["response"]
    assert owner["isOwner"] and owner["isAdmin"] is False
    html = api("GET", f"/api/2.0/people/{scenario.layout.html_user_id.upper()}").json()["response"]
    assert html["displayName"] == "Liam O&#39;Neil &amp; &lt;Partners&gt;"
    disabled = api("GET", f"/api/2.0/people/{scenario.layout.disabled_user_id}").json()["response"]
    assert disabled["status"] == 2 and "terminated" in disabled
    r = api("GET", "/api/2.0/people/00000000-0000-0000-0000-000000000001")
    assert r.status_code == 404 and r.json()["error"]["message"] == "The user could not be found"


def test_people_listing_count_and_total(api: Api, scenario: Scenario) -> None:
    body = api("GET", "/api/2.0/people/filter", count=5, startIndex=2).json()
    assert body["count"] == 5 and body["total"] == sum(1 for u in scenario.users if u.status != 2)
    active = api("GET", "/api/2.0/people").json()
    assert all(u["status"] == 1 for u in active["response"]) and active["total"] == active["count"]
    admins = api("GET", "/api/2.0/people/filter", isAdministrator="true").json()["response"]
    assert {u["id"] for u in admins} == {scenario.owner.id, *scenario.layout.admin_ids}
    found = api("GET", "/api/2.0/people/filter", filterValue="sentinel").json()
    assert found["total"] == 1
    assert api("GET", "/api/2.0/people/status/2").json()["total"] == 1


@pytest.mark.parametrize("who", ["owner", "self", "admin", "unknown", "ldap"])
def test_status_change_is_all_or_nothing_403(api: Api, scenario: Scenario, who: str) -> None:
    layout = scenario.layout
    target = {
        "owner": layout.owner_id,
        "self": layout.key_user_id,
        "admin": layout.admin_ids[0],
        "unknown": "00000000-0000-0000-0000-00000000abcd",
        "ldap": layout.ldap_user_id,
    }[who]
    innocent = layout.html_user_id
    r = api("PUT", "/api/2.0/people/status/2", {"userIds": [innocent, target]})
    assert r.status_code == 403 and r.json()["error"]["message"] == "Access denied"
    assert scenario.user_by_id(innocent).status == 1


def test_disable_and_enable(api: Api, scenario: Scenario) -> None:
    layout = scenario.layout
    ids = [layout.html_user_id, layout.pending_user_id]
    r = api("PUT", "/api/2.0/people/status/Terminated", {"userIds": ids})
    body = r.json()
    assert r.status_code == 200 and body["count"] == 1
    assert [u["status"] for u in body["response"]] == [2, 2]
    assert all("terminated" in u for u in body["response"])
    status_event = audit_ids(api, 4020)[0]
    assert status_event["target"] == ids and status_event["location"] == 30
    assert len(audit_ids(api, 6032)) == 2
    back = api("PUT", "/api/2.0/people/status/1", {"userIds": ids}).json()["response"]
    assert [u["status"] for u in back] == [1, 4]  # the never-activated user returns Pending
    assert api("PUT", "/api/2.0/people/status/4", {"userIds": ids}).json()["error"]["message"] == (
        "Incorrect status"
    )
    assert api("PUT", "/api/2.0/people/status/3", {"userIds": ids}).status_code == 400


def test_logout_all(api: Api, scenario: Scenario) -> None:
    r = api("PUT", f"/api/2.0/security/activeconnections/logoutall/{scenario.layout.sso_user_id}")
    body = r.json()
    assert r.status_code == 200 and "response" not in body and body["count"] == 0
    assert audit_ids(api, 4036)[0]["target"] == [scenario.layout.sso_user_id]


def test_group(api: Api, scenario: Scenario) -> None:
    group = next(iter(scenario.groups.values()))
    body = api("GET", f"/api/2.0/group/{group.id}").json()["response"]
    assert [m["id"] for m in body["members"]] == group.member_ids
    assert api("GET", "/api/2.0/group/00000000-0000-0000-0000-000000000009").status_code == 404


# --- rooms and files -------------------------------------------------------------------


def test_rooms_list_paging_inside_response(api: Api, scenario: Scenario) -> None:
    body = api("GET", "/api/2.0/files/rooms", count=3, startIndex=3).json()
    assert body["count"] == 1 and "total" not in body
    content = body["response"]
    assert content["total"] == len(scenario.rooms) and content["count"] == 3
    assert content["startIndex"] == 3 and content["current"]["rootFolderType"] == 14
    vdrs = api("GET", "/api/2.0/files/rooms", type=[8]).json()["response"]["folders"]
    assert vdrs and all(r["roomType"] == 8 and "type" not in r for r in vdrs)
    assert api("GET", "/api/2.0/files/rooms", count=101).status_code == 400
    titles = api("GET", "/api/2.0/files/rooms", filterValue="shared drafts").json()["response"]
    assert titles["total"] == 2


def test_room_lookup_and_create(api: Api, scenario: Scenario) -> None:
    room = api("GET", f"/api/2.0/files/rooms/{scenario.layout.renamed_room_id}").json()["response"]
    assert room["title"] == "Contracts Archive" and room["rootFolderType"] == 14
    r = api("GET", "/api/2.0/files/rooms/999999")
    assert r.status_code == 404 and r.json()["error"]["message"] == "Folder not found"
    created = api(
        "POST", "/api/2.0/files/rooms", {"title": "New VDR", "roomType": "VirtualDataRoom"}
    )
    assert created.status_code == 200 and created.json()["response"]["roomType"] == 8
    event = audit_ids(api, 5070)[0]
    assert event["target"] == [str(created.json()["response"]["id"])]
    assert event["context"] == "Rooms: New VDR"
    assert api("POST", "/api/2.0/files/rooms", {"title": "x"}).status_code == 400


def test_room_members_paging(api: Api, scenario: Scenario) -> None:
    room_id = scenario.layout.duplicate_title_room_ids[0]
    path = f"/api/2.0/files/rooms/{room_id}/share"
    body = api("GET", path, count=2).json()
    total = body["total"]
    assert body["count"] == 2 and total > 2
    assert body["response"][0]["isOwner"] is True
    past = api("GET", path, count=5, startIndex=total + 3).json()
    assert past["response"] == [] and past["count"] == -3
    links = api("GET", "/api/2.0/files/rooms/1002/share", filterType=15).json()
    shares = api("GET", f"/api/2.0/files/rooms/{sorted(r.id for r in scenario.rooms)[0]}/share",
                 filterType=15).json()["response"]  # fmt: skip
    assert links["statusCode"] == 200
    assert shares and all(s["subjectType"] in (1, 3, 4) and "sharedLink" in s for s in shares)


def test_files_and_paths(api: Api, scenario: Scenario) -> None:
    layout = scenario.layout
    overlap = layout.overlapping_id
    file = api("GET", f"/api/2.0/files/file/{overlap}").json()["response"]
    room = api("GET", f"/api/2.0/files/rooms/{overlap}").json()["response"]
    assert file["id"] == room["id"] == overlap and file["title"] != room["title"]
    assert file["rootFolderId"] == layout.rooms_root_id
    path = api("GET", f"/api/2.0/files/folder/{file['folderId']}/path").json()
    assert path["count"] == 1
    chain = path["response"]
    assert chain[0]["id"] == layout.rooms_root_id and chain[-1]["id"] == file["folderId"]
    assert any("roomType" in f for f in chain)
    r = api("GET", f"/api/2.0/files/file/{layout.deleted_file_id}")
    assert r.status_code == 404 and r.json()["error"]["message"] == "File not found"
    r = api("GET", f"/api/2.0/files/file/{layout.foreign_personal_file_id}")
    assert r.status_code == 403
    assert api("GET", f"/api/2.0/files/file/{layout.own_personal_file_id}").status_code == 200


# --- IP restrictions ---------------------------------------------------------------------

IPR = "/api/2.0/settings/iprestrictions"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ipRestrictions": [{"ip": "10.0.0.0/24"}]}, "IpRestrictions"),
        ({"ipRestrictions": [{"ip": "10.0.0.1-10.0.0.9"}]}, "IpRestrictions"),
        ({"ipRestrictions": [], "enable": True}, "Add at least 1 allowed IP address."),
    ],
)
def test_ip_restriction_errors(api: Api, body: Any, message: str) -> None:
    r = api("PUT", IPR, body)
    assert r.status_code == 400 and r.json()["error"]["message"] == message


def test_ip_restriction_binding_errors(api: Api) -> None:
    assert api("PUT", IPR, {"enable": False}).json()["statusCode"] == 400
    assert api("PUT", IPR, {"ipRestrictions": [{"forAdmin": True}]}).status_code == 400


def test_ip_restrictions_replace_echo_etag(api: Api, scenario: Scenario) -> None:
    sent = {"ipRestrictions": [{"ip": "203.0.113.7"}, {"ip": "2001:db8::1", "forAdmin": True}]}
    r = api("PUT", IPR, sent)
    assert r.json()["response"] == {
        "ipRestrictions": [{"ip": "203.0.113.7", "forAdmin": False},
                           {"ip": "2001:db8::1", "forAdmin": True}]
    }  # fmt: skip
    first = api("GET", IPR)
    ids = [e["id"] for e in first.json()["response"]]
    assert first.json()["response"][0] == {"id": ids[0], "tenantId": 1, "ip": "203.0.113.7",
                                           "forAdmin": False}  # fmt: skip
    settings = api("GET", f"{IPR}/settings").json()["response"]
    assert settings["enable"] is True
    etag = first.headers["ETag"]
    again = api.session.get(api.sim.url + IPR, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    api("PUT", f"{IPR}/settings", {"ipRestrictions": [{"ip": "203.0.113.7"}], "enable": False})
    after = api("GET", IPR)
    assert after.headers["ETag"] != etag and after.json()["response"][0]["id"] not in ids
    assert api("GET", f"{IPR}/settings").json()["response"]["enable"] is False
    assert len(audit_ids(api, 6094)) == 2
    assert api("PUT", IPR, {"ipRestrictions": None}).json()["response"] == {}
