"""Inactive member reminders and the manager report, end to end (simulator, moto with SES)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import boto3
import pytest

from local.aws import REGION, LocalAws
from local.simulator.model import User
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now

pytestmark = pytest.mark.e2e

ALL_TYPES = "1,2,5,6,8"


def _by_kind(findings: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["kind"] == kind]


def _reminded(findings: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {
        (f["user"]["id"], room["id"])
        for f in _by_kind(findings, "inactive_member_reminder")
        for room in f["evidence"]["rooms"]
    }


def _sent_emails() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_the_planted_inactive_members_are_reminded_and_nobody_else(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, ROOM_TYPES=ALL_TYPES)
    planted = simulator.scenario.planted.inactive_members
    expected = {(m.user_id, m.room_id) for m in planted if m.reason != "disabled"}
    assert any(m.reason == "active_elsewhere" for m in planted)
    summary = run("inactive_members", scheduled(iso(utc_now())))
    findings = aws.findings()
    assert _reminded(findings) == expected
    reports = _by_kind(findings, "room_activity_report")
    assert len(reports) == summary["rooms"] > 0
    disabled = {m.user_id for m in planted if m.reason == "disabled"}
    for report in reports:
        listed = {
            m["userId"] for m in report["evidence"]["inactive"] + report["evidence"]["active"]
        }
        assert not listed & disabled
    assert summary["membersReminded"] == len(expected)


def test_the_run_reads_its_period_in_the_one_scan_the_runner_plans(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, ROOM_TYPES=ALL_TYPES, PERIOD_DAYS=10)
    now = utc_now()
    summary = run("inactive_members", scheduled(iso(now)))
    # the window the summary reports is the one read: PERIOD_DAYS, not the cursor's look-back
    assert summary["window"] == {"from": iso(now - timedelta(days=10)), "to": iso(now)}
    assert summary["status"] == "completed" and summary["eventsScanned"] > 0
    assert summary["cursorBefore"] is None and summary["cursorAfter"] is None


def test_nobody_is_reminded_without_planted_cases(
    simulator_factory, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator_factory(plant=False)
    point_at(monkeypatch, sim, aws, ROOM_TYPES=ALL_TYPES)
    run("inactive_members", scheduled(iso(utc_now())))
    findings = aws.findings()
    assert _reminded(findings) == set()
    assert all(not r["evidence"]["inactive"] for r in _by_kind(findings, "room_activity_report"))


def test_the_cooldown_holds_across_runs(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws, ROOM_TYPES=ALL_TYPES, REMINDER_COOLDOWN_DAYS=30)
    first = run("inactive_members", scheduled(iso(utc_now())))
    assert first["membersReminded"] > 0
    aws.findings()
    second = run("inactive_members", scheduled(iso(utc_now() + timedelta(days=1))))
    assert second["membersReminded"] == 0
    findings = aws.findings()
    assert _reminded(findings) == set()
    # the managers still get the day's report, which says nobody was reminded now
    reports = _by_kind(findings, "room_activity_report")
    assert reports and all(not m["remindedNow"] for r in reports for m in r["evidence"]["inactive"])


def test_a_room_of_250_members_is_read_whole(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = simulator.scenario
    room = next(r for r in scenario.rooms if r.room_type == 8)
    for i in range(250):
        scenario.add_user(
            User(
                str(uuid.UUID(int=i + 1)),
                f"Guest{i}",
                "Reader",
                f"reader{i}",
                f"reader{i}@example.com",
                0,
            ),
            rooms=[(room.id, 2)],
        )
    point_at(monkeypatch, simulator, aws, ROOM_IDS=str(room.id))
    run("inactive_members", scheduled(iso(utc_now())))
    findings = aws.findings()
    readers = {u for u, r in _reminded(findings) if r == room.id and u.startswith("00000000")}
    assert len(readers) == 250
    assert simulator.stats.requests["GET /api/2.0/files/rooms/{id}/share"] >= 3


def test_groups_links_owner_and_missing_rooms(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = simulator.scenario
    grouped = next(
        (room_id, share.subject_id)
        for room_id, shares in scenario.shares.items()
        for share in shares
        if share.subject_type == 2
    )
    room_id, group_id = grouped
    point_at(monkeypatch, simulator, aws, ROOM_IDS=f"{room_id},999999", EXPAND_GROUPS="false")
    summary = run("inactive_members", scheduled(iso(utc_now())))
    findings = aws.findings()
    assert summary["missingRooms"] == [999999]
    assert [f["room"]["id"] for f in _by_kind(findings, "room_missing")] == [999999]
    report = _by_kind(findings, "room_activity_report")[0]
    judged = {m["userId"] for m in report["evidence"]["inactive"] + report["evidence"]["active"]}
    owner = next(s.subject_id for s in scenario.shares[room_id] if s.is_owner)
    assert owner not in judged  # the room owner is skipped by default
    assert scenario.layout.key_user_id not in judged
    direct = {s.subject_id for s in scenario.shares[room_id] if s.subject_type == 0}
    group_only = set(scenario.groups[group_id].member_ids) - direct
    assert group_only and not (group_only & judged)

    monkeypatch.setenv("EXPAND_GROUPS", "true")
    monkeypatch.setenv("SKIP_OWNER", "false")
    # the next day's run (one report per room per day)
    run("inactive_members", scheduled(iso(utc_now() + timedelta(days=1))))
    report = _by_kind(aws.findings(), "room_activity_report")
    expanded = {
        m["userId"] for r in report for m in r["evidence"]["inactive"] + r["evidence"]["active"]
    }
    active_group_only = {u for u in group_only if scenario.user_by_id(u).status == 1}
    assert active_group_only <= expanded
    assert owner in expanded


def test_reminders_and_reports_by_ses_when_a_sender_is_set(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = "sentinel@example.com"
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=sender)
    point_at(
        monkeypatch,
        simulator,
        aws,
        ROOM_TYPES=ALL_TYPES,
        REMINDER_SENDER=sender,
        MANAGER_EMAIL="security@example.com",
    )
    planted = simulator.scenario.planted.inactive_members
    reminded_users = {m.user_id for m in planted if m.reason != "disabled"}
    run("inactive_members", scheduled(iso(utc_now())))
    emails = _sent_emails()
    reminders = [e for e in emails if e.subject.startswith("Reminder")]
    expected = {simulator.scenario.user_by_id(u).email for u in reminded_users}
    assert {e.destinations["ToAddresses"][0] for e in reminders} == expected
    assert len(reminders) == len(expected)  # one email per member, listing all their quiet rooms
    reports = [e for e in emails if e.subject.startswith("DocSpace room activity")]
    assert "security@example.com" in {e.destinations["ToAddresses"][0] for e in reports}
    findings = aws.findings()
    assert _by_kind(findings, "inactive_member_reminder") == []  # by email instead
    assert _by_kind(findings, "room_activity_report")  # and always on SNS


def _refused(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _by_kind(findings, "mail_recipient_refused")


def test_a_refused_address_is_reported_and_skipped(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One address SES refuses must not stop the other reminders and the reports (before, the
    run failed on every try, every month), nor be tried again within the cooldown."""
    sender = "sentinel@example.com"
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=sender)
    scenario = simulator.scenario
    room = next(r for r in scenario.rooms if r.room_type == 8)
    mallory = scenario.add_user(
        User(str(uuid.UUID(int=77)), "Mallory", "Member", "mallory", "mallory@", 0),
        rooms=[(room.id, 2)],
    )
    point_at(
        monkeypatch,
        simulator,
        aws,
        ROOM_TYPES=ALL_TYPES,
        REMINDER_SENDER=sender,
        MANAGER_EMAIL="security@example.com",
    )
    planted = scenario.planted.inactive_members
    others = {scenario.user_by_id(m.user_id).email for m in planted if m.reason != "disabled"}
    assert others

    summary = run("inactive_members", scheduled(iso(utc_now())))

    assert summary["recipientsRefused"] == 1
    emails = _sent_emails()
    reminders = {e.destinations["ToAddresses"][0] for e in emails if e.subject.startswith("Rem")}
    assert reminders == others  # every other member still reminded
    reports = [e for e in emails if e.subject.startswith("DocSpace room activity")]
    assert {e.destinations["ToAddresses"][0] for e in reports} >= {"security@example.com"}
    assert any(room.title in e.subject for e in reports)  # the room of the refused member too
    findings = aws.findings()
    [refused] = _refused(findings)
    assert refused["user"]["id"] == mallory.id.lower()
    assert refused["room"]["id"] == room.id
    assert refused["evidence"]["recipient"] == "mallory@"
    assert refused["evidence"]["sesError"] == "InvalidParameterValue"
    assert "Mallory" in refused["title"]
    report = next(
        f for f in _by_kind(findings, "room_activity_report") if f["room"]["id"] == room.id
    )
    row = next(m for m in report["evidence"]["inactive"] if m["userId"] == mallory.id.lower())
    assert row["remindedNow"] is False and row["reminderRefused"] is True

    # The next run within the cooldown neither retries nor reports the address again.
    sent = len(_sent_emails())
    again = run("inactive_members", scheduled(iso(utc_now() + timedelta(days=1))))
    assert again["recipientsRefused"] == 0
    assert again["membersReminded"] == 0
    assert _refused(aws.findings()) == []
    later = _sent_emails()[sent:]
    assert not any(e.subject.startswith("Reminder") for e in later)


def test_a_refused_report_recipient_is_reported(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = "sentinel@example.com"
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=sender)
    room = next(r for r in simulator.scenario.rooms if r.room_type == 8)
    point_at(
        monkeypatch,
        simulator,
        aws,
        ROOM_IDS=str(room.id),
        REMINDER_SENDER=sender,
        MANAGER_EMAIL="security@",
    )
    summary = run("inactive_members", scheduled(iso(utc_now())))
    assert summary["rooms"] == 1
    findings = aws.findings()
    [refused] = _refused(findings)
    assert refused["room"]["id"] == room.id
    assert refused["evidence"]["recipient"] == "security@"
    assert refused["user"] is None
    assert _by_kind(findings, "room_activity_report")


def test_a_lone_surrogate_in_a_room_title_does_not_stop_the_run(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``"\\ud800"`` is valid JSON; it must not make every publish, and so the run, fail."""
    from docspace_sentinel.workflows import inactive_members

    real = inactive_members.rosters

    def with_surrogate(*args: Any, **kwargs: Any) -> Any:
        rooms, missing = real(*args, **kwargs)
        for roster in rooms:
            roster.room = roster.room._replace(title=f"Q4 \ud800 {roster.room.title}")
        return rooms, missing

    monkeypatch.setattr(inactive_members, "rosters", with_surrogate)
    room = next(r for r in simulator.scenario.rooms if r.room_type == 8)
    point_at(monkeypatch, simulator, aws, ROOM_IDS=str(room.id))
    summary = run("inactive_members", scheduled(iso(utc_now())))
    assert summary["status"] == "completed"
    [report] = _by_kind(aws.findings(), "room_activity_report")
    assert report["room"]["title"].startswith("Q4 \ud800 ")


def test_names_cannot_forge_report_rows_or_mail_lines(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docspace_sentinel.findings.mail import Email, Mailer

    sender = "sentinel@example.com"
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=sender)
    scenario = simulator.scenario
    room = next(r for r in scenario.rooms if r.room_type == 8)
    scenario.add_user(
        User(
            str(uuid.UUID(int=78)),
            "Eve\nMallory | mallory@example.com | 99 | -\nPortal: https://evil.example",
            "Quiet",
            "eve",
            "eve@example.com",
            0,
        ),
        rooms=[(room.id, 2)],
    )
    sent: list[Email] = []
    real_send = Mailer.send

    def spy(self: Mailer, email: Email) -> str:
        sent.append(email)
        return real_send(self, email)

    monkeypatch.setattr(Mailer, "send", spy)
    point_at(monkeypatch, simulator, aws, ROOM_IDS=str(room.id), REMINDER_SENDER=sender)
    run("inactive_members", scheduled(iso(utc_now())))

    reports = [e for e in sent if e.subject.startswith("DocSpace room activity")]
    assert reports
    for report in reports:
        table = report.text.split("\n\n", 1)[1]
        rows = table.splitlines()
        assert all(row.count(" | ") == 3 for row in rows), rows
        assert not any(row.startswith(("Mallory", "Portal:")) for row in rows), rows
    [reminder] = [e for e in sent if e.to == "eve@example.com"]
    assert not any(line.startswith("Portal: https://evil") for line in reminder.text.splitlines())
    assert "Eve Mallory" in reminder.text
