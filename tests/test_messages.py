"""Messages a person can act on: headlines that say what Sentinel did, labelled evidence, deep
links, next steps, follow-ups, VDR baseline and activity kind, and the alert mailbox's routing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from docspace_sentinel.docspace.message_actions import MessageAction, activity_kind
from docspace_sentinel.findings import links
from docspace_sentinel.findings.finding import (
    ActionTaken,
    Finding,
    FollowRef,
    RoomRef,
    Severity,
    UserRef,
)
from docspace_sentinel.findings.labels import is_appendix, label
from docspace_sentinel.findings.next_steps import steps
from docspace_sentinel.findings.publisher import FindingPublisher
from docspace_sentinel.findings.routing import REPORT_KINDS, category, quiet_period
from docspace_sentinel.findings.sns_request import email_subject, message_attributes
from docspace_sentinel.state.restrictions import Restriction
from docspace_sentinel.workflows import restriction_release, vdr_activity
from local.invoke import load_template

PORTAL = "https://portal.example.com"
USER_ID = "6b1e1f5a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
ORIGINAL = "0123456789abcdef0123456789abcdef"
REGION = "eu-west-1"


def bulk(status: str, detail: str, **overrides: Any) -> Finding:
    fields: dict[str, Any] = {
        "workflow": "bulk_change_guard",
        "kind": "bulk_file_change",
        "severity": Severity.HIGH,
        "title": "Leon Costa changed 32 files in 10 minutes",
        "summary": "Leon Costa changed 32 distinct files within 10 minutes.",
        "dedup": (USER_ID, "2026-11-29T17:14", "acted"),
        "portal_url": PORTAL,
        "user": UserRef(USER_ID, "Leon Costa"),
        "room": RoomRef(1015, "Engineering Specs"),
        "evidence": {
            "distinctFiles": 32,
            "threshold": 20,
            "sampleFiles": [{"id": "1059", "title": "Agreement 740.pdf"}],
            "sampleEventIds": [29888, 29891],
            "someNewCount": 3,
        },
        "actions": (ActionTaken("disable_user", USER_ID, status, detail),),
    }
    fields.update(overrides)
    return Finding(**fields)


ENFORCED = bulk("done", "disabled until 2026-11-29 14:20 UTC")
DRY_RUN = bulk("proposed", "dry run: would disable until 2026-11-29 14:20 UTC")


class TestHeadline:
    def test_the_subject_says_sentinel_acted_and_until_when(self) -> None:
        subject = email_subject(ENFORCED)
        assert subject.startswith("[DocSpace Sentinel] HIGH (disabled until 14:20 UTC): Leon")
        assert len(subject) < 100

    def test_a_dry_run_subject_says_it_only_would_have(self) -> None:
        subject = email_subject(DRY_RUN)
        assert subject.startswith("[DocSpace Sentinel] HIGH (dry run: would disable): Leon")
        assert email_subject(DRY_RUN) != email_subject(ENFORCED)

    def test_text_and_chat_titles_say_it_too(self) -> None:
        assert ENFORCED.render_text().splitlines()[0] == (
            "[HIGH] Leon Costa changed 32 files in 10 minutes - disabled until 2026-11-29 14:20 UTC"
        )
        assert "dry run: would disable" in DRY_RUN.render_chatbot()["content"]["title"]
        assert "Sentinel: disabled until 2026-11-29 14:20 UTC" in ENFORCED.render_text()

    def test_wording_never_changes_the_fingerprint(self) -> None:
        reworded = bulk("done", "x", title="Something else", summary="other words")
        assert reworded.fingerprint == ENFORCED.fingerprint


class TestEvidence:
    def test_labels_come_from_the_table_or_read_as_words(self) -> None:
        assert label("distinctFiles") == "Distinct files changed"
        assert label("someNewCount") == "Some new count"
        assert is_appendix("sampleEventIds") and is_appendix("otherEventIds")

    def test_e_mail_has_labels_links_and_an_appendix_for_event_ids(self) -> None:
        text = ENFORCED.render_text()
        evidence = text.split("\nEvidence\n", 1)[1].split("\n\n", 1)[0]
        assert "Distinct files changed: 32" in evidence
        assert "Threshold (more than):  20" in evidence
        assert "distinctFiles" not in text and "sampleEventIds" not in text
        assert "29888" not in evidence
        assert f"Agreement 740.pdf (#1059)  {PORTAL}/doceditor?fileId=1059" in evidence
        appendix = text.split("Appendix: raw ids", 1)[1]
        assert "Sample event ids: 29888, 29891" in appendix

    def test_chat_keeps_lists_as_lists_and_leaves_ids_to_the_json(self) -> None:
        finding = bulk("done", "d", evidence={"add": ["198.51.100.1", "198.51.100.2"]})
        description = finding.render_chatbot()["content"]["description"]
        assert "• *To add:*\n    ◦ 198.51.100.1\n    ◦ 198.51.100.2" in description
        chat = ENFORCED.render_chatbot()["content"]["description"]
        assert "29888" not in chat
        assert "• *Files (sample):*\n    ◦ Agreement 740.pdf (#1059)\n" in chat

    def test_a_list_of_records_is_a_table_of_portal_text_that_cannot_add_a_column(self) -> None:
        rows = [{"login": "a|b", "failures": 3}, {"login": "root\nx", "failures": 1}]
        text = bulk("done", "d", evidence={"perGuestLogin": rows}).render_text()
        assert "    Login  | Failed sign-ins\n    -------+----------------\n" in text
        assert "    a¦b    | 3\n    root x | 1\n" in text


class TestLinks:
    def test_routes_of_the_docspace_client(self) -> None:
        assert links.room(PORTAL, 1015) == f"{PORTAL}/rooms/shared/1015/filter?folder=1015"
        assert links.file(PORTAL + "/", "1059") == f"{PORTAL}/doceditor?fileId=1059"
        assert links.user(PORTAL, USER_ID, "jane+x@example.com") == (
            f"{PORTAL}/accounts/people/filter?search=jane%2Bx@example.com"
        )

    @pytest.mark.parametrize("room_id", ["1015/../../x", "1e3", -1, True, None, "\uff11\uff12"])
    def test_only_validated_ids_make_a_link(self, room_id: object) -> None:
        assert links.room(PORTAL, room_id) is None

    def test_portal_text_never_reaches_a_url(self) -> None:
        assert links.user(PORTAL, USER_ID, "x@y.com?a=<b>") == f"{PORTAL}/accounts/people/filter"
        assert links.user(PORTAL, "not-a-guid", "x@y.com") is None
        assert links.file("javascript:alert(1)", 1) is None


class TestNextSteps:
    def test_an_enforced_restriction_says_how_to_lift_or_extend_it(self) -> None:
        text = "\n".join(steps(ENFORCED))
        assert f"python -m local.cli restrictions lift {USER_ID}" in text
        assert f"python -m local.cli restrictions extend {USER_ID} --minutes" in text
        assert f"findings close {ENFORCED.fingerprint} --reason false-positive" in text
        assert "suppress add --workflow bulk_change_guard --kind bulk_file_change" in text

    def test_a_dry_run_has_no_lift_and_says_nothing_changed(self) -> None:
        text = "\n".join(steps(DRY_RUN))
        assert "restrictions lift" not in text and "nothing was changed" in text

    def test_a_user_id_that_is_not_a_guid_is_never_put_in_a_command(self) -> None:
        forged = bulk("done", "d", user=UserRef("x; rm -rf /", "Mallory"))
        text = "\n".join(steps(forged))
        assert "rm -rf" not in text and "restrictions lift" not in text

    def test_both_renderings_show_them(self) -> None:
        assert "Next steps\n  1. " in ENFORCED.render_text()
        next_steps = ENFORCED.render_chatbot()["content"]["nextSteps"]
        assert any("restrictions lift" in step for step in next_steps)


class TestFollowUps:
    def record(self, title: str | None) -> Restriction:
        now = datetime(2026, 11, 29, 13, 20, tzinfo=UTC)
        return Restriction(
            user_id=USER_ID,
            state="active",
            source="bulk_change_guard",
            reason="32 distinct files changed within 10 minutes",
            finding_id=ORIGINAL,
            restricted_at=now,
            lift_at=now + timedelta(hours=1),
            permanent=False,
            user_name="Leon Costa",
            finding_title=title,
        )

    def test_a_notice_follows_the_finding_that_restricted_the_user(self) -> None:
        record = self.record("[HIGH] Leon Costa changed 32 files in 10 minutes")
        notice = restriction_release._notice(
            PORTAL, record, "restriction_lifted", "the restriction was lifted", "done"
        )
        assert notice.follows == FollowRef(ORIGINAL, record.finding_title)
        assert (
            f"Follows:  [HIGH] Leon Costa changed 32 files in 10 minutes "
            f"(id {ORIGINAL})" in notice.render_text()
        )
        note = notice.render_chatbot()
        assert note["metadata"]["threadId"] == ORIGINAL
        assert note["id"] == notice.fingerprint != ORIGINAL
        assert "*Follows:* " in note["content"]["description"]
        assert message_attributes(notice)["follows"]["StringValue"] == ORIGINAL
        assert "follow-up" in email_subject(notice)

    def test_a_record_without_a_title_names_its_reason(self) -> None:
        notice = restriction_release.changed_notice(
            PORTAL, self.record(None), "extended until 2026-11-30 08:00 UTC"
        )
        assert notice.follows is not None
        assert notice.follows.title == (
            "bulk_change_guard: 32 distinct files changed within 10 minutes"
        )
        assert notice.kind == "restriction_extended"
        assert "extended until 2026-11-30 08:00 UTC" in notice.render_text().splitlines()[0]

    def test_the_title_is_recorded_with_the_restriction(self) -> None:
        record = self.record("[HIGH] t")
        assert record.to_dict()["findingTitle"] == "[HIGH] t"


class TestVdr:
    def test_activity_kinds(self) -> None:
        assert activity_kind(MessageAction.FILE_DOWNLOADED) == "downloads"
        assert activity_kind(MessageAction.FILE_READED) == "views"
        assert activity_kind(MessageAction.FILE_UPDATED) == "edits"
        assert activity_kind(MessageAction.ROOM_CREATED) == "other"

    def test_evidence_shows_the_usual_level_beside_the_day_and_the_kind(self) -> None:
        settings = vdr_activity.VdrSettings()
        verdict = vdr_activity.judge(212, [4, 8, 6], settings)
        evidence = vdr_activity._evidence(
            212, verdict, settings, [1, 2], Counter(views=70, downloads=72, edits=70), (4, 8, 6)
        )
        assert evidence["distinctEvents"] == 212
        assert evidence["usualLevel"] == "6.0 ± 1.6 events a day over 3 day(s)"
        assert evidence["activityKinds"] == {"downloads": 72, "views": 70, "edits": 70}
        assert vdr_activity._evidence(5, verdict, settings, [], Counter(), ())["usualLevel"] == (
            "no earlier activity in this room"
        )


class TestRouting:
    def test_reports_and_alerts(self) -> None:
        assert {"login_digest", "inactive_member_reminder", "room_activity_report"} <= REPORT_KINDS
        digest = bulk("done", "d", workflow="login_audit", kind="login_digest", actions=())
        assert category(digest) == "report"
        assert message_attributes(digest)["category"]["StringValue"] == "report"
        assert message_attributes(ENFORCED)["category"]["StringValue"] == "alert"
        assert "follows" not in message_attributes(ENFORCED)

    def test_an_unchanged_dry_run_plan_is_not_re_sent_daily(self) -> None:
        day = timedelta(hours=24)
        plan = bulk("proposed", "d", workflow="ip_allowlist", kind="ip_sync_planned")
        assert quiet_period(plan, day) >= timedelta(days=30)
        assert quiet_period(ENFORCED, day) == day


def _email_policy(min_severity: str) -> dict[str, Any]:
    """The alert mailbox's filter policy as CloudFormation resolves it for ``min_severity``."""
    template = load_template()
    props = template["Resources"]["FindingsEmailSubscription"]["Properties"]
    assert props["FilterPolicyScope"] == "MessageAttributes"
    policy = json.loads(json.dumps(props["FilterPolicy"]))
    table = template["Mappings"]["AlertEmailSeverities"]
    for branch in policy["$or"]:
        if "severity" in branch:
            find = branch["severity"]["Fn::FindInMap"]
            assert find == ["AlertEmailSeverities", {"Ref": "AlertEmailMinSeverity"}, "AtLeast"]
            branch["severity"] = table[min_severity]["AtLeast"]
    return policy


def test_the_template_parameter_defaults_to_medium() -> None:
    parameter = load_template()["Parameters"]["AlertEmailMinSeverity"]
    assert parameter["Default"] == "medium"
    assert parameter["AllowedValues"] == ["low", "medium", "high", "critical"]


@pytest.fixture
def sns_sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        yield sns, sqs, sns.create_topic(Name="findings")["TopicArn"]


@pytest.mark.parametrize(
    ("min_severity", "expected"),
    [
        ("medium", {"medium alert", "high alert", "low follow-up"}),
        ("high", {"high alert", "low follow-up"}),
        ("low", {"low alert", "medium alert", "high alert", "low follow-up"}),
    ],
)
def test_the_alert_mailbox_gets_alerts_at_or_above_the_minimum_and_never_reports(
    sns_sqs: tuple[Any, Any, str], min_severity: str, expected: set[str]
) -> None:
    sns, sqs, topic = sns_sqs
    url = sqs.create_queue(QueueName="mailbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicyScope": "MessageAttributes",
            "FilterPolicy": json.dumps(_email_policy(min_severity)),
        },
    )
    publisher = FindingPublisher(topic, sns_client=sns)
    sent = {
        "low alert": bulk("done", "d", severity=Severity.LOW, dedup=("1",)),
        "medium alert": bulk("done", "d", severity=Severity.MEDIUM, dedup=("2",)),
        "high alert": bulk("done", "d", dedup=("3",)),
        "high report": bulk("done", "d", kind="room_activity_report", dedup=("4",)),
        "low follow-up": bulk(
            "done", "d", severity=Severity.LOW, dedup=("5",), follows=FollowRef(ORIGINAL, "t")
        ),
    }
    names = {finding.fingerprint: name for name, finding in sent.items()}
    for finding in sent.values():
        publisher.publish(finding)
    got: set[str] = set()
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            got.add(names[json.loads(message["Body"])["id"]])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert got == expected


def test_a_degraded_follow_up_stays_in_the_thread_of_the_finding_it_follows() -> None:
    from docspace_sentinel.findings.sns_request import degraded_request

    notice = bulk("done", "d", follows=FollowRef(ORIGINAL, "t"))
    request = degraded_request(notice, "arn:aws:sns:eu-west-1:123456789012:t", "ValueError")
    note = json.loads(json.loads(request["Message"])["https"])
    assert note["metadata"]["threadId"] == ORIGINAL
    assert request["MessageAttributes"]["follows"]["StringValue"] == ORIGINAL
    forged = bulk("done", "d", follows=FollowRef("<!channel>", "t"))
    request = degraded_request(forged, "arn:aws:sns:eu-west-1:123456789012:t", "ValueError")
    assert "follows" not in request["MessageAttributes"]
