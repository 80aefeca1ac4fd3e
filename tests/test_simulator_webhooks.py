"""The simulator delivers webhooks the way DocSpace does (docs/docspace-webhooks.md 1.2-1.7)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from local.simulator import SimulatorServer
from local.simulator.receiver import Received, WebhookReceiver
from local.simulator.webhook_payloads import TRIGGERS
from local.simulator.webhooks import WebhookFaults
from local.simulator.wire import from_micros

HOOK = "/api/2.0/settings/webhook"
SECRET = "Sentinel#Hook2026x"
AUDIT = "/api/2.0/security/audit/events/filter"


@pytest.fixture
def api(simulator: SimulatorServer) -> Iterator[Any]:
    simulator.webhooks.retry_base = 0.01  # 10, 20, 40, 80, 160 ms instead of 1..16 s
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {simulator.api_key}"

        def call(method: str, path: str, **kwargs: Any) -> requests.Response:
            return session.request(method, simulator.url + path, timeout=20, **kwargs)

        yield call


def create(api: Any, url: str, **fields: Any) -> requests.Response:
    body = {"name": "sentinel", "uri": url, "secretKey": SECRET, "ssl": False, **fields}
    return api("POST", HOOK, json=body)


def signature_ok(request: Received, secret: str = SECRET) -> bool:
    digest = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest().upper()
    return request.headers["x-docspace-signature-256"] == f"sha256={digest}"


def bodies(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.posts()]


def room_with_subfolder(simulator: SimulatorServer) -> int:
    s = simulator.scenario
    return next(r.id for r in s.rooms if any(f.parent_id == r.id for f in s.folders.values()))


# --- settings endpoints ----------------------------------------------------------------------


def test_create_probes_with_head_and_never_returns_the_secret(
    api: Any, webhook_receiver: WebhookReceiver
) -> None:
    response = create(api, webhook_receiver.url, triggers=TRIGGERS["file.updated"])
    assert response.status_code == 200, response.text
    heads = webhook_receiver.heads()
    assert len(heads) == 1 and "x-docspace-signature-256" not in heads[0].headers
    dto = response.json()["response"]
    assert dto["triggers"] == 512 and dto["ssl"] is False and dto["enabled"] is True
    assert SECRET not in response.text
    listed = api("GET", HOOK).json()["response"]
    assert [x["configs"]["id"] for x in listed] == [dto["id"]] and listed[0]["status"] == 0
    assert SECRET not in json.dumps(listed)


def test_validation_rules(api: Any, webhook_receiver: WebhookReceiver) -> None:
    url = webhook_receiver.url
    assert api("POST", HOOK, json={"uri": url, "secretKey": SECRET}).status_code == 400
    assert create(api, url, secretKey="ab" * 32).status_code == 400  # a 64-hex secret
    assert create(api, url, secretKey="short1!").status_code == 400  # under the minimum 8
    assert create(api, url, secretKey="has space 123").status_code == 400
    assert create(api, url, ssl=True).status_code == 400  # ssl needs https
    assert create(api, "http://10.0.0.5/hook").status_code == 400  # blacklisted
    assert create(api, "ftp://127.0.0.1/hook").status_code == 400
    webhook_receiver.head_status = 301  # redirects are not followed
    assert create(api, url).status_code == 400
    webhook_receiver.head_status = 200
    assert create(api, url).status_code == 200
    assert create(api, url).status_code == 400  # same name and uri
    assert create(api, url, name="other").status_code == 200


def test_update_enable_delete_and_audit(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    dto = create(api, webhook_receiver.url, targetId="42").json()["response"]
    update = {"id": dto["id"], "name": "renamed", "uri": webhook_receiver.url, "ssl": False}
    updated = api("PUT", HOOK, json=update).json()["response"]
    assert updated["name"] == "renamed" and updated.get("targetId") is None  # omitted clears it
    assert simulator.webhooks.configs[dto["id"]].secret == SECRET  # empty secret keeps it
    assert api("PUT", HOOK, json={**update, "id": 999}).status_code == 404
    off = {"id": dto["id"], "name": "renamed", "uri": webhook_receiver.url, "enabled": False}
    assert api("PUT", f"{HOOK}/enable", json=off).json()["response"]["enabled"] is False
    heads = len(webhook_receiver.heads())
    on = api("PUT", f"{HOOK}/enable", json={**off, "enabled": True}).json()["response"]
    assert on["enabled"] is True and len(webhook_receiver.heads()) == heads + 1
    assert api("DELETE", f"{HOOK}/{dto['id']}").json()["response"]["id"] == dto["id"]
    assert api("GET", HOOK).json()["response"] == []
    events = api("GET", AUDIT, params={"count": 20}).json()["response"]
    codes = [e["actionId"] for e in events if e["target"] and str(dto["id"]) in str(e["target"])]
    assert 6055 in codes and 6056 in codes and 6057 in codes


def test_triggers_endpoint_lists_downloads(api: Any) -> None:
    triggers = {t["name"]: t["id"] for t in api("GET", f"{HOOK}/triggers").json()["response"]}
    assert triggers["file.downloaded"] == 1 << 34 and triggers["folder.downloaded"] == 1 << 35
    assert triggers["file.updated"] == 512


# --- delivery --------------------------------------------------------------------------------


def test_delivery_is_signed_upper_hex_sparse_and_matches_the_audit_trail(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    create(api, webhook_receiver.url, triggers=TRIGGERS["file.updated"])
    s = simulator.scenario
    user = s.key_user.id
    room = room_with_subfolder(simulator)
    changed = simulator.actions.change_files(user, 3, room_id=room)
    assert simulator.webhooks.wait_idle(10)
    posts = webhook_receiver.posts()
    assert len(posts) == 3
    for post in posts:
        assert signature_ok(post)
        assert post.headers["content-type"] == "application/json; charset=utf-8"
        assert post.headers["x-docspace-signature-256"][7:].isupper()
    payloads = bodies(webhook_receiver)
    assert sorted(b["payload"]["id"] for b in payloads) == sorted(changed)
    for body in payloads:
        assert body["event"]["trigger"] == "file.updated" and body["event"]["triggerId"] == 512
        assert body["event"]["createBy"] == user and body["event"]["createOn"].endswith("Z")
        assert len(body["event"]["createOn"]) == 20  # whole seconds
        assert body["webhook"]["triggers"] == ["file.updated"]
        assert "retryCount" not in body["webhook"]
        payload = body["payload"]
        assert payload["fileEntryType"] == 2 and payload["rootId"] == s.layout.rooms_root_id
        assert payload["rootId"] != room and payload["rootFolderType"] == 14
        assert payload["securityByUsers"] == {}
        flat = json.dumps(payload)
        assert "null" not in flat and "false" not in flat and ": 0" not in flat
        assert all(v not in (None, False, 0) for v in payload.values())
    events = api("GET", AUDIT, params={"action": 5002, "count": 10}).json()["response"]
    assert sorted(int(e["target"][0]) for e in events[:3]) == sorted(changed)  # type: ignore[index]


def test_trigger_mask_and_target_id_filtering(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    s = simulator.scenario
    user = s.key_user.id
    room = room_with_subfolder(simulator)
    first = simulator.actions.change_files(user, 1, room_id=room)[0]
    create(api, webhook_receiver.url, name="downloads", triggers=TRIGGERS["file.downloaded"])
    create(api, webhook_receiver.url, name="one file", targetId=str(first))
    # not hierarchical: nothing inside the room matches (file ids may equal the room id, so
    # the mask narrows it to room events, as the docs advise)
    create(api, webhook_receiver.url, name="the room", targetId=str(room),
           triggers=TRIGGERS["room.updated"])  # fmt: skip
    both = simulator.actions.change_files(user, 2, room_id=room)  # first and one more
    assert both[0] == first
    second = both[1]
    simulator.actions.download_files(user, 2, room_id=room)
    folder = next(f for f in s.folders.values() if f.parent_id == room)
    simulator.actions.download_folder(user, folder.id)
    assert simulator.webhooks.wait_idle(10)
    seen = {(b["webhook"]["name"], b["event"]["trigger"], b["payload"]["id"])
            for b in bodies(webhook_receiver)}  # fmt: skip
    assert ("downloads", "file.downloaded", first) in seen
    assert not any(name == "downloads" and t != "file.downloaded" for name, t, _ in seen)
    assert {(t, i) for name, t, i in seen if name == "one file"} == {
        ("file.updated", first),
        ("file.downloaded", first),
    }
    assert not any(name == "the room" for name, _, _ in seen)
    assert ("one file", "file.updated", second) not in seen
    target = next(b for b in bodies(webhook_receiver) if b["webhook"]["name"] == "one file")
    assert target["webhook"]["target"] == {"id": first, "type": "file"}
    # no config subscribes to folder.downloaded, and "one file" does not match the folder
    assert not any(t == "folder.downloaded" for _, t, _ in seen)


def test_folder_downloaded_payload_is_a_folder(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    create(api, webhook_receiver.url, triggers=TRIGGERS["folder.downloaded"])
    s = simulator.scenario
    room = room_with_subfolder(simulator)
    folder = next(f for f in s.folders.values() if f.parent_id == room)
    simulator.actions.download_folder(s.key_user.id, folder.id)
    assert simulator.webhooks.wait_idle(10)
    (body,) = bodies(webhook_receiver)
    assert body["event"]["triggerId"] == 1 << 35
    assert body["payload"]["fileEntryType"] == 1 and body["payload"]["parentId"] == room
    assert body["payload"]["rootId"] == s.layout.rooms_root_id
    assert body["webhook"]["triggers"] == ["folder.downloaded"]


def test_third_party_file_has_string_ids(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    create(api, webhook_receiver.url)
    s = simulator.scenario
    room = room_with_subfolder(simulator)
    f = simulator.actions.add_third_party_file(room, "External.docx")
    s.add_audit_event(5002, target=[simulator.actions.third_party_id(f)], parts=[f.title])
    assert simulator.webhooks.wait_idle(10)
    (body,) = bodies(webhook_receiver)
    assert body["webhook"]["triggers"] == ["*"]
    assert isinstance(body["payload"]["id"], str) and isinstance(body["payload"]["parentId"], str)
    assert body["payload"]["providerKey"] == "box"


def test_automatic_retries_resign_changed_bodies_with_the_same_event_id(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    create(api, webhook_receiver.url)
    webhook_receiver.statuses = [500, 400]  # a 4xx is retried too
    simulator.actions.change_files(simulator.scenario.key_user.id, 1)
    assert simulator.webhooks.wait_idle(10)
    posts = webhook_receiver.posts()
    assert len(posts) == 3 and all(signature_ok(p) for p in posts)
    assert len({p.body for p in posts}) == 3
    assert len({p.headers["x-docspace-signature-256"] for p in posts}) == 3
    first, second, third = (json.loads(p.body) for p in posts)
    assert first["event"] == second["event"] == third["event"]
    assert "retryCount" not in first["webhook"]
    assert second["webhook"]["retryCount"] == 1 and third["webhook"]["retryCount"] == 2
    assert "500" in second["webhook"]["lastFailureContent"]
    assert "400" in third["webhook"]["lastFailureContent"]
    assert second["webhook"]["retryOn"].endswith("Z")
    listed = api("GET", HOOK).json()["response"][0]
    assert listed["status"] == 200 and listed["configs"]["lastSuccessOn"]
    assert listed["configs"]["lastFailureOn"]


def test_manual_retry_has_a_new_id_and_the_same_create_on_and_payload(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    create(api, webhook_receiver.url)
    simulator.actions.change_files(simulator.scenario.key_user.id, 1)
    assert simulator.webhooks.wait_idle(10)
    (original,) = bodies(webhook_receiver)
    logs = api("GET", f"{HOOK.replace('webhook', 'webhooks')}/log").json()
    assert logs["total"] == 1 and logs["response"][0]["status"] == 200
    log_id = logs["response"][0]["id"]
    assert log_id == original["event"]["id"]
    again = api("PUT", f"{HOOK}/{log_id}/retry").json()["response"]
    many = api("PUT", f"{HOOK}/retry", json={"ids": [log_id, 9999]}).json()["response"]
    assert len(many) == 1
    assert simulator.webhooks.wait_idle(10)
    retried = bodies(webhook_receiver)[1:]
    assert len(retried) == 2 and all(signature_ok(p) for p in webhook_receiver.posts())
    assert {b["event"]["id"] for b in retried} == {again["id"], many[0]["id"]}
    for body in retried:
        assert body["event"]["id"] != original["event"]["id"]
        assert body["event"]["createOn"] == original["event"]["createOn"]
        assert body["event"]["trigger"] == original["event"]["trigger"]
        assert body["payload"] == original["payload"]
        assert "retryCount" not in body["webhook"]


def test_410_after_retries_deletes_the_config(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    dto = create(api, webhook_receiver.url).json()["response"]
    webhook_receiver.status = 410
    simulator.actions.change_files(simulator.scenario.key_user.id, 1)
    assert simulator.webhooks.wait_idle(10)
    assert len(webhook_receiver.posts()) == 6  # one attempt and five retries
    assert api("GET", HOOK).json()["response"] == []
    events = api("GET", AUDIT, params={"action": 6057}).json()["response"]
    assert events and "410" in events[0]["action"]
    assert events[0]["target"] == [str(dto["id"])] or str(dto["id"]) in str(events[0]["target"])


def test_auto_disable_after_three_days_of_failures(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    hub = simulator.webhooks
    hub.max_retries = 0
    create(api, webhook_receiver.url)
    webhook_receiver.status = 503
    user = simulator.scenario.key_user.id
    simulator.actions.change_files(user, 1)  # fails within the trusted window
    assert hub.wait_idle(10)
    assert api("GET", HOOK).json()["response"][0]["configs"]["enabled"] is True
    later = from_micros(simulator.scenario.clock()) + timedelta(days=3, hours=1)
    hub.clock = lambda: later
    simulator.actions.change_files(user, 1)
    assert hub.wait_idle(10)
    listed = api("GET", HOOK).json()["response"][0]
    assert listed["configs"]["enabled"] is False and listed["status"] == 503
    events = api("GET", AUDIT, params={"action": 6056}).json()["response"]
    assert any("days without success" in e["action"] for e in events)
    simulator.actions.change_files(user, 1)  # a disabled config gets nothing
    assert hub.wait_idle(10)
    assert len(webhook_receiver.posts()) == 2


def test_connection_errors_are_retried_and_never_disable(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    hub = simulator.webhooks
    create(api, webhook_receiver.url)
    hub.max_retries = 1
    hub.clock = lambda: from_micros(simulator.scenario.clock()) + timedelta(days=10)
    hub.faults = WebhookFaults(drop_first=1.0)
    simulator.actions.change_files(simulator.scenario.key_user.id, 1)
    assert hub.wait_idle(10)
    (body,) = bodies(webhook_receiver)  # the first attempt never arrived
    assert body["webhook"]["retryCount"] == 1 and "error" in body["webhook"]["lastFailureContent"]
    assert hub.configs and all(c.enabled for c in hub.configs.values())


def test_duplicates_shuffle_and_lost_responses(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    hub = simulator.webhooks
    create(api, webhook_receiver.url)
    hub.auto_deliver = False
    hub.faults = WebhookFaults(duplicate=1.0, shuffle=True, seed=3)
    changed = simulator.actions.change_files(simulator.scenario.key_user.id, 6)
    assert webhook_receiver.posts() == [] and hub.pending == 6
    assert hub.deliver_pending() == 6
    assert hub.wait_idle(10)
    ids = [b["event"]["id"] for b in bodies(webhook_receiver)]
    assert len(ids) == 12 and all(ids.count(i) == 2 for i in set(ids))
    assert sorted({b["payload"]["id"] for b in bodies(webhook_receiver)}) == sorted(changed)
    hub.faults = WebhookFaults(lose_response=1.0)
    hub.max_retries = 1
    simulator.actions.change_files(simulator.scenario.key_user.id, 1)
    hub.deliver_pending()
    assert hub.wait_idle(10)
    last_two = bodies(webhook_receiver)[-2:]
    assert last_two[0]["event"]["id"] == last_two[1]["event"]["id"]
    assert last_two[1]["webhook"]["retryCount"] == 1


def test_deliveries_run_in_parallel(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    import threading
    import time

    create(api, webhook_receiver.url)
    active, peak, lock = [0], [0], threading.Lock()

    def slow(request: Received) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return 200

    webhook_receiver.respond = slow
    simulator.actions.change_files(simulator.scenario.key_user.id, 5)
    assert simulator.webhooks.wait_idle(10)
    assert len(webhook_receiver.posts()) == 5 and peak[0] > 1


def test_transport_hook_delivers_in_process(api: Any, simulator: SimulatorServer) -> None:
    calls: list[tuple[str, str, dict[str, str], bytes]] = []

    def transport(
        method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> tuple[int, str]:
        calls.append((method, url, headers, body))
        return 202, ""

    hub = simulator.webhooks
    hub.transport = transport
    assert create(api, "https://receiver.example/hook/portal-1", ssl=True).status_code == 200
    simulator.actions.download_files(simulator.scenario.key_user.id, 2)
    assert hub.wait_idle(10)
    assert [c[0] for c in calls] == ["HEAD", "POST", "POST"]
    assert calls[0][1] == "https://receiver.example/hook/portal-1" and calls[0][3] == b""
    for _, _, headers, body in calls[1:]:
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest().upper()
        assert headers["x-docspace-signature-256"] == "sha256=" + digest
        assert json.loads(body)["event"]["trigger"] == "file.downloaded"
    assert [x.status for x in hub.sent] == [202, 202]
    hub.transport = lambda *args: (404, "")
    assert create(api, "https://receiver.example/other", ssl=True).status_code == 400


def test_disabling_a_user_fires_user_updated_once_per_user(
    api: Any, simulator: SimulatorServer, webhook_receiver: WebhookReceiver
) -> None:
    create(api, webhook_receiver.url, triggers=TRIGGERS["user.updated"])
    s = simulator.scenario
    victims = [u.id for u in s.users if not (u.is_docspace_admin or u.is_ldap)
               and u.status == 1 and u.id != s.key_user.id][:2]  # fmt: skip
    response = api("PUT", "/api/2.0/people/status/2", json={"userIds": victims})
    assert response.status_code == 200, response.text
    assert simulator.webhooks.wait_idle(10)
    got = bodies(webhook_receiver)
    assert sorted(b["payload"]["id"] for b in got) == sorted(victims)
    for body in got:
        assert body["event"]["triggerId"] == 4 and body["payload"]["status"] == 2
        assert "isAdmin" not in body["payload"] and "isActive" not in body["payload"]
