from __future__ import annotations

from datetime import UTC, datetime

import pytest

from docspace_sentinel.docspace.errors import MalformedRecord
from docspace_sentinel.docspace.message_actions import (
    FILE_CHANGE,
    LOGIN_SUCCESS,
    MessageAction,
    action_label,
)
from docspace_sentinel.docspace.models import (
    AuditEvent,
    IpRestriction,
    LoginEvent,
    Room,
    RoomMember,
    User,
)
from tests.support import fixture


def test_audit_event_from_the_wire() -> None:
    rows = fixture("audit_events_page.json")["response"]
    event = AuditEvent.from_wire(rows[0])
    assert event.id == 48213
    assert event.date == datetime(2025, 3, 4, 9, 15, 42, tzinfo=UTC)
    assert event.action_id == MessageAction.FILE_UPDATED
    assert event.target == ("5678",)
    assert event.context == "Rooms: Project X VDR"
    assert event.location == 1 and event.entries == (1,)


def test_list_fields_keep_only_usable_items() -> None:
    rows = fixture("audit_events_page.json")["response"]
    raw = {**rows[0], "target": [1123, "x", True, None, 2.5], "entries": [1, True, "2", 3]}
    event = AuditEvent.from_wire(raw)
    assert event.target == ("1123", "x")
    assert event.entries == (1, 3)


def test_omitted_fields_become_none_and_unknown_codes_are_kept() -> None:
    rows = fixture("audit_events_page.json")["response"]
    event = AuditEvent.from_wire(rows[2])
    assert event.action_id == 5999 and event.action_type == 77 and event.entries == (99,)
    assert event.ip is None and event.country is None and event.target == ()
    assert action_label(5999) == "5999"
    assert action_label(5002) == "FILE_UPDATED (5002)"


@pytest.mark.parametrize(
    "raw",
    [
        {"date": "2025-03-04T09:15:42.0000000Z", "actionId": 1},
        {"id": 1, "actionId": 1},
        {"id": 1, "date": "not a date", "actionId": 1},
        {"id": 1, "date": "2025-03-04T09:15:42.0000000Z"},
        {"id": True, "date": "2025-03-04T09:15:42.0000000Z", "actionId": 1},
        ["not", "an", "object"],
    ],
)
def test_records_without_identity_are_malformed(raw: object) -> None:
    with pytest.raises(MalformedRecord):
        AuditEvent.from_wire(raw)


def test_login_event() -> None:
    event = LoginEvent.from_wire(fixture("login_event.json"))
    assert event.action_id in LOGIN_SUCCESS
    assert event.login == "john.doe@example.com" and event.ip == "203.0.113.5"


def test_display_name_is_html_decoded() -> None:
    user = User.from_wire(
        {
            "id": "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11",
            "displayName": "O&#39;Brien &amp; Sons",
            "status": 2,
            "isAdmin": True,
            "isLDAP": True,
            "terminated": "2025-03-04T09:15:42.0000000Z",
        }
    )
    assert user.display_name == "O'Brien & Sons"
    assert user.is_disabled and user.is_admin and user.is_ldap and not user.is_owner
    assert user.terminated is not None


def test_room_members_users_groups_links() -> None:
    person = {
        "id": "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11",
        "displayName": "John Doe",
        "email": "j@x",
    }
    user = RoomMember.from_wire(
        {"access": 9, "sharedTo": person, "sharedToUser": person, "subjectType": 0}
    )
    group = RoomMember.from_wire(
        {
            "access": 2,
            "sharedTo": {"id": "1c9d6a3e-0000-4a5b-8c7d-111111111111", "name": "Legal"},
            "sharedToGroup": {"id": "1c9d6a3e-0000-4a5b-8c7d-111111111111", "name": "Legal"},
            "subjectType": 2,
        }
    )
    link = RoomMember.from_wire({"access": 2, "sharedLink": {"title": "Invite"}, "subjectType": 1})
    assert user.is_user and user.is_manager and user.user is not None
    assert group.is_group and not group.is_user and group.group is not None
    assert group.group.name == "Legal"
    assert link.is_link and link.link_title == "Invite"


def test_room_and_ip_restriction() -> None:
    room = Room.from_wire(
        {"id": 42, "title": "VDR", "roomType": 8, "created": "2025-03-04T09:15:42.0000000Z"}
    )
    assert room.is_vdr and room.created is not None
    entry = IpRestriction.from_wire(
        {"id": 3, "tenantId": 1, "ip": "203.0.113.7", "forAdmin": False}
    )
    assert entry.to_wire() == {"ip": "203.0.113.7", "forAdmin": False}


def test_action_sets_and_lookup() -> None:
    assert MessageAction.lookup("LoginSuccessViaApi") == 1010
    assert MessageAction.lookup("iprestrictionssettingsupdated") == 6094
    assert MessageAction.lookup("5002") == 5002
    assert MessageAction.lookup(7777) == 7777
    with pytest.raises(ValueError):
        MessageAction.lookup("login")
    assert 1006 not in LOGIN_SUCCESS
    assert {5000, 5001, 5002, 5003, 5011, 5018, 5034, 5035, 5044, 5099} <= FILE_CHANGE
    assert 5009 not in FILE_CHANGE  # a download is not a change
