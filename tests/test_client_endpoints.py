"""Endpoint wrappers: request shapes, safety checks, id validation."""

from __future__ import annotations

import json

import pytest
import responses

from docspace_sentinel.docspace.errors import Forbidden, MalformedResponse
from docspace_sentinel.docspace.models import IpRestriction
from tests.support import API, envelope, make_client

JOHN = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"


@responses.activate
def test_set_user_status_puts_one_user_ids_body() -> None:
    responses.put(f"{API}/people/status/2", json=envelope([{"id": JOHN, "status": 2}], count=1))
    users = make_client().set_user_status([JOHN], 2)
    assert users[0].is_disabled
    assert json.loads(responses.calls[0].request.body or b"{}") == {
        "userIds": [JOHN],
        "resendAll": False,
    }


@responses.activate
def test_set_user_status_403_is_all_or_nothing() -> None:
    body = {"error": {"message": "Access denied"}, "status": 1, "statusCode": 403}
    responses.put(f"{API}/people/status/2", status=403, json=body)
    with pytest.raises(Forbidden, match="Access denied"):
        make_client().set_user_status([JOHN], 2)
    assert len(responses.calls) == 1


def test_set_user_status_rejects_other_statuses() -> None:
    with pytest.raises(ValueError):
        make_client().set_user_status([JOHN], 4)


@pytest.mark.parametrize(
    "bad", ["../settings", "x?admin=1", "", "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a1"]
)
def test_user_ids_are_validated_before_reaching_a_url(bad: str) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="GUID"):
        client.user(bad)
    with pytest.raises(ValueError, match="GUID"):
        client.set_user_status([bad], 2)


@pytest.mark.parametrize("bad", ["../1", "1?x=", 0, -4, "abc", True])
def test_room_and_file_ids_are_validated(bad: object) -> None:
    client = make_client()
    with pytest.raises(ValueError):
        client.room(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.file(bad)  # type: ignore[arg-type]


@responses.activate
def test_ip_restrictions_put_sends_single_addresses_and_reads_the_echo() -> None:
    echo = {"ipRestrictions": [{"ip": "203.0.113.7", "forAdmin": False}], "enable": True}
    responses.put(f"{API}/settings/iprestrictions", json=envelope(echo, count=1))
    result = make_client().put_ip_restrictions([IpRestriction("203.0.113.7")], enable=True)
    assert result == [IpRestriction("203.0.113.7")]
    sent = json.loads(responses.calls[0].request.body or b"{}")
    assert sent == echo


@pytest.mark.parametrize("ip", ["10.0.0.0/24", "10.0.0.1-10.0.0.9", "nonsense"])
def test_ip_restrictions_never_sends_cidr_or_ranges(ip: str) -> None:
    with pytest.raises(ValueError, match="single addresses"):
        make_client().put_ip_restrictions([IpRestriction(ip)])


def test_ip_restrictions_refuses_to_enable_an_empty_list() -> None:
    with pytest.raises(ValueError, match="empty"):
        make_client().put_ip_restrictions([], enable=True)


@responses.activate
def test_ip_restriction_list_and_settings() -> None:
    responses.get(
        f"{API}/settings/iprestrictions",
        json=envelope([{"id": 1, "tenantId": 1, "ip": "198.51.100.20", "forAdmin": True}]),
    )
    responses.get(
        f"{API}/settings/iprestrictions/settings",
        json=envelope({"enable": True, "lastModified": "2025-01-01T00:00:00"}),
    )
    client = make_client()
    assert client.ip_restrictions() == [IpRestriction("198.51.100.20", for_admin=True, id=1)]
    assert client.ip_restriction_settings().enable is True


@responses.activate
def test_an_unreadable_ip_restriction_row_fails_the_read_instead_of_vanishing() -> None:
    # The sync writes the list back whole: a skipped row would be deleted from the portal.
    rows = [{"id": 1, "ip": "198.51.100.20", "forAdmin": False}, {"id": 2, "forAdmin": True}]
    responses.get(f"{API}/settings/iprestrictions", json=envelope(rows))
    with pytest.raises(MalformedResponse, match="partial list"):
        make_client().ip_restrictions()


@responses.activate
def test_file_to_room_lookups() -> None:
    responses.get(
        f"{API}/files/file/5678",
        json=envelope({"id": 5678, "title": "a.docx", "folderId": 31, "rootFolderId": 2}),
    )
    path = [
        {"id": 2, "title": "Rooms"},
        {"id": 30, "title": "VDR", "roomType": 8},
        {"id": 31, "title": "Q1", "parentId": 30},
    ]
    responses.get(f"{API}/files/folder/31/path", json=envelope(path, count=1))
    client = make_client()
    entry = client.file(5678)
    breadcrumbs = client.folder_path(entry.folder_id or 0)
    assert [f.id for f in breadcrumbs if f.room_type is not None] == [30]


@responses.activate
def test_users_by_email_is_exact() -> None:
    people = [
        {"id": JOHN, "email": "john@example.com"},
        {"id": "1c9d6a3e-0000-4a5b-8c7d-111111111111", "email": "john@example.com.evil"},
    ]
    responses.get(f"{API}/people/filter", json=envelope(people, total=2))
    found = make_client().users_by_email("John@Example.com")
    assert [u.id for u in found] == [JOHN]
