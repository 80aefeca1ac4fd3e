"""The configuration watch's catalogue: real 3.7.2 codes, the issue's coverage, its severities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from docspace_sentinel.docspace.message_actions import NAMES, MessageAction
from docspace_sentinel.docspace.models import AuditEvent
from docspace_sentinel.findings.finding import Severity
from docspace_sentinel.workflows.config_watch.catalogue import (
    CATALOGUE,
    NOT_WATCHED,
    SETTINGS_LOCATION,
    SETTINGS_PRODUCT,
    Subject,
    is_settings_event,
)

SUBJECTS = {v for k, v in vars(Subject).items() if k.isupper()}


def test_every_code_is_a_messageaction_of_the_enum_under_its_server_name() -> None:
    for code, watched in CATALOGUE.items():
        assert watched.action_id == code
        assert code in NAMES  # a code the table lacks is not a real MessageAction
        assert MessageAction.lookup(watched.name) == code, watched.name


def test_enum_holds_the_codes_3_7_2_added_for_developer_tools_and_tokens() -> None:
    for code in (6054, 6055, 6056, 6057, 6058, 6059, 6060, 6093, 9901, 9909, 5501, 5132):
        assert getattr(MessageAction, NAMES[code]) == code
    assert MessageAction.DEV_TOOLS_ACCESS_SETTINGS_CHANGED == 6054
    assert MessageAction.IP_RESTRICTIONS_SETTINGS_UPDATED == 6094  # an existing name kept


def test_each_entry_has_a_subject_a_one_line_meaning_and_a_target_kind() -> None:
    targets = {
        "",
        "user",
        "users",
        "webhook",
        "api_key",
        "oauth_client",
        "portal",
        "plugin",
        "room",
    }
    for watched in CATALOGUE.values():
        assert watched.subject in SUBJECTS
        assert watched.meaning and "\n" not in watched.meaning
        assert watched.target in targets, watched


@pytest.mark.parametrize(
    ("subject", "codes"),
    [
        (Subject.ADMINS, {6010, 6011}),
        (Subject.OWNER, {6022}),
        (Subject.USER_TYPE, {4019}),
        (Subject.DEV_TOOLS, {6054}),
        (Subject.WEBHOOK, {6055, 6056, 6057}),
        (Subject.API_KEY, {6058, 6059, 6060}),
        (Subject.ACCESS_TOKEN, {9909}),
        (Subject.IP_RESTRICTIONS, {6094}),
        (Subject.TFA, {6036, 6037, 6038}),
        (Subject.LOGIN_SETTINGS, {6095}),
        (Subject.SESSION, {6032}),
        (Subject.PASSWORD, {6004}),
        (Subject.PORTAL_ACCESS, {6031}),
        (Subject.SSO, {6029, 6030}),
        (Subject.LDAP, {5501, 5502}),
        (Subject.TRUSTED_DOMAINS, {6003}),
        (Subject.AUDIT_SETTINGS, {6035}),
        (Subject.REPORTS, {6027, 6028}),
        (Subject.PORTAL, {6039, 6025, 6026}),
        (Subject.BACKUP, {5132}),
        (Subject.EXPORT, {5041}),
        (Subject.USERS, {4022}),
    ],
)
def test_the_issues_coverage_list(subject: str, codes: set[int]) -> None:
    assert codes <= {c for c, w in CATALOGUE.items() if w.subject == subject}


def test_default_severities_of_the_issue() -> None:
    high = {6009, 6010, 6016, 6022, 6036}
    for code in high:
        assert CATALOGUE[code].severity is Severity.HIGH, code
    # Not HIGH by themselves: the caller raises them (actor not an admin, role read back).
    for code in (6055, 6058):
        assert CATALOGUE[code].actor_must_be_admin
        assert CATALOGUE[code].severity is Severity.MEDIUM
    assert CATALOGUE[4019].raises_privilege and CATALOGUE[4019].severity is Severity.MEDIUM
    for code in (6027, 6028, 5041):
        assert CATALOGUE[code].severity is Severity.LOW
    for code in (6004, 6032, 6095, 6029, 6035, 6094):
        assert CATALOGUE[code].severity is Severity.MEDIUM


def test_privilege_changes_ask_for_the_role_read_back_and_only_they() -> None:
    raising = {c for c, w in CATALOGUE.items() if w.raises_privilege}
    assert raising == {6009, 6010, 6016, 6022, 4019}
    assert {c for c, w in CATALOGUE.items() if w.actor_must_be_admin} == {6055, 6058}


def test_not_watched_settings_are_known_and_outside_the_catalogue() -> None:
    assert not NOT_WATCHED & set(CATALOGUE)
    for code in NOT_WATCHED:
        assert code in NAMES
    assert 6020 in NOT_WATCHED  # ColorThemeChanged: cosmetic


def _event(product: int | None, location: int | None) -> AuditEvent:
    return AuditEvent(1, datetime(2026, 1, 1, tzinfo=UTC), 6020, product=product, location=location)


def test_settings_product_by_product_or_location() -> None:
    assert is_settings_event(_event(SETTINGS_PRODUCT, None))
    assert is_settings_event(_event(None, SETTINGS_LOCATION))
    assert not is_settings_event(_event(2, 1))
    assert not is_settings_event(_event(None, None))
