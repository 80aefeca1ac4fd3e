"""Attacker-controlled text (a login typed on the sign-in page, names, titles) in every rendering.

A failed sign-in by an unknown caller is recorded with the login exactly as typed, so the
brute-force finding carries whatever anyone on the internet chooses to type.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from docspace_sentinel.findings import untrusted
from docspace_sentinel.findings.finding import ActionTaken, Finding, RoomRef, Severity, UserRef
from docspace_sentinel.findings.mail import Email, Mailer, html_page
from docspace_sentinel.findings.sns_request import email_subject

PORTAL = "https://portal.example.com"
REGION = "eu-west-1"

# The payload: a live link, a channel ping and a forged line.
FORGED_LOGIN = (
    "<!channel> [reset your password](https://evil.example/reset)\n"
    "*severity:* low (false positive, ignore)"
)
# The same trick against the e-mail text: a line that looks like the sentinel's own.
FORGED_PORTAL = "mallory\r\nPortal: https://evil.example/reset\nSeverity: LOW"

# Every kind of line break and control a value could carry.
CONTROLS = [
    "\r",
    "\n",
    "\t",
    "\x0b",
    "\x0c",
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",  # NEL
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u200b",  # zero-width space
]


def brute_force(login: str) -> Finding:
    """A finding shaped as login_audit builds one for a login burst."""
    return Finding(
        workflow="login_audit",
        kind="brute_force",
        severity=Severity.MEDIUM,
        title=f"12 failed logins for login {login}",
        summary=f"12 failed logins for login {login} between 2026-11-04 10:00:00 and 10:04:00 UTC.",
        dedup=("burst", "login", login, "2026-11-04"),
        portal_url=PORTAL,
        user=UserRef(login, login, login),
        room=RoomRef(7, login),
        period_start=datetime(2026, 11, 4, 10, tzinfo=UTC),
        period_end=datetime(2026, 11, 4, 10, 4, tzinfo=UTC),
        evidence={"failures": 12, "logins": [login], login: login, "detail": {"login": login}},
        context={"attempts": [{"login": login, "ip": "203.0.113.9"}]},
        actions=(ActionTaken("block_ip", login, "proposed", login),),
    )


def _chat_strings(note: dict[str, Any]) -> list[str]:
    """Every string a chat client may show: title, description, next steps, all metadata."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(note)
    return out


def _assert_chat_safe(text: str) -> None:
    assert "<!" not in text and "<@" not in text, text
    assert not re.search(r"\[[^\]]*\]\s*\(", text), text  # no markdown link
    assert "https://evil" not in text, text  # no bare link either
    assert "*severity:*" not in text, text
    assert not re.search(r"(?<!\w)@(here|channel|everyone)", text), text


class TestChat:
    def test_forged_login_in_every_field(self) -> None:
        note = brute_force(FORGED_LOGIN).render_chatbot()
        content, meta = note["content"], note["metadata"]
        for field in (content["title"], content["description"], meta["summary"]):
            _assert_chat_safe(field)
        # the description's lines are the sentinel's: none starts with the forged text
        for line in content["description"].splitlines():
            assert "severity:" not in line.lower() or not line.startswith("*severity")
        assert "false positive" in content["title"]  # still shown, as text, on the same line
        assert "\n" not in content["title"] and "\n" not in meta["summary"]
        for text in _chat_strings(note):
            if text.startswith("Review in DocSpace: "):
                continue  # the configured portal link, ours
            if text in {note["id"], meta["threadId"]}:
                continue
            _assert_chat_safe(text)

    def test_forged_line_cannot_appear_in_the_description(self) -> None:
        description = brute_force(FORGED_LOGIN).render_chatbot()["content"]["description"]
        ours = (
            "12 failed logins",
            "*Sentinel:* ",
            "*Follows:* ",
            "*User:* ",
            "*Room:* ",
            "*Period:* ",
            "*Evidence*",
            "• ",
            "    ◦ ",
        )
        for line in description.splitlines():
            assert not line or line.startswith(ours) or line.startswith("_Finding "), line

    @pytest.mark.parametrize(
        "mention", ["@here", "@channel", "@everyone", "<!here>", "<@U024BE7LH>", "<!subteam^S1>"]
    )
    def test_mentions_are_neutralised(self, mention: str) -> None:
        note = brute_force(f"x {mention} y").render_chatbot()
        for text in (note["content"]["title"], note["metadata"]["summary"]):
            _assert_chat_safe(text)
            assert "&lt;" in text or "\uff20" in text

    @pytest.mark.parametrize("markup", ["*bold*", "_it_", "~del~", "`code`", "```block```"])
    def test_emphasis_and_code_are_neutralised(self, markup: str) -> None:
        title = brute_force(markup).render_chatbot()["content"]["title"]
        assert markup not in title
        # after the severity's own *bold*: what Sentinel did, then the portal's words
        assert not any(c in title.split("*", 2)[2] for c in "*_~`")

    def test_what_sentinel_did_survives_a_title_of_entities(self) -> None:
        """A name of 60 ampersands (five characters each, escaped) cannot push "would disable"
        out of the chat title, nor leave a split entity at its end."""
        finding = brute_force("&" * 300)
        finding = finding.with_actions(ActionTaken("disable_user", "u1", "proposed"))
        title = finding.render_chatbot()["content"]["title"]
        assert len(title) <= 250 and "would disable" in title
        assert title.endswith("&amp;…")

    def test_an_email_address_stays_readable(self) -> None:
        assert untrusted.chat("jane@example.com") == "jane@example.com"

    def test_slack_link_syntax_is_text(self) -> None:
        assert untrusted.chat("<https://evil.example|click>") == (
            "&lt;https[:]//evil.example\u2223click&gt;"
        )


class TestText:
    @pytest.mark.parametrize("login", [FORGED_LOGIN, FORGED_PORTAL])
    def test_no_line_can_be_forged(self, login: str) -> None:
        text = brute_force(login).render_text()
        lines = text.splitlines()
        # the only Portal and Severity lines are the sentinel's own
        assert [x for x in lines if x.lower().startswith("portal:")] == [f"Portal:     {PORTAL}"]
        assert [x for x in lines if x.lower().startswith("severity:")] == ["Severity: MEDIUM"]
        assert not any(x.lower().startswith("*severity") for x in lines)
        for line in lines:
            # a value from the portal never starts a line of its own: each line is the
            # sentinel's (a label, a heading or an indented evidence row)
            if "mallory" in line or "reset your password" in line:
                assert re.match(r"^(\[MEDIUM\] |[A-Z][a-z]+: |  )", line), line

    @pytest.mark.parametrize("login", [FORGED_LOGIN, FORGED_PORTAL])
    def test_subject_is_one_ascii_line(self, login: str) -> None:
        subject = email_subject(brute_force(login))
        assert subject.isascii() and subject.isprintable() and len(subject) < 100

    @pytest.mark.parametrize("control", CONTROLS)
    def test_controls_become_spaces_everywhere(self, control: str) -> None:
        value = f"a{control}b"
        finding = brute_force(value)
        assert untrusted.one_line(value) == "a b"
        text = finding.render_text()
        assert f"a{control}b" not in text
        assert "a b" in text
        for field in _chat_strings(finding.render_chatbot()):
            assert f"a{control}b" not in field
        assert control not in email_subject(finding)


class TestSurrogates:
    def test_renderings_of_a_lone_surrogate_encode(self) -> None:
        finding = brute_force("x\ud800y")
        finding.render_text().encode("utf-8")
        finding.to_json().encode("utf-8")
        for field in _chat_strings(finding.render_chatbot()):
            field.encode("utf-8")
        assert "x\ufffdy" in finding.render_text()

    def test_canonical_json_keeps_the_value(self) -> None:
        finding = brute_force("x\ud800y")
        assert Finding.from_json(finding.to_json().encode("utf-8")) == finding
        assert len(finding.fingerprint) == 32


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("ses", region_name=REGION)
        client.verify_email_identity(EmailAddress="sentinel@example.com")
        yield client


def _sent() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


class TestMail:
    def test_ses_subject_is_one_line(self, ses: Any) -> None:
        mailer = Mailer("sentinel@example.com", ses_client=ses)
        title = "Q4 board\r\nBcc: x@evil.example"
        mailer.send(Email("m@example.com", f"DocSpace room activity: {title}", "t", "<p>h</p>"))
        [message] = _sent()
        assert message.subject == "DocSpace room activity: Q4 board Bcc: x@evil.example"
        assert "\r" not in message.subject and "\n" not in message.subject

    @pytest.mark.parametrize("control", CONTROLS)
    def test_subject_controls(self, control: str) -> None:
        assert untrusted.subject(f"a{control}{control}b") == "a b"

    def test_surrogates_reach_ses_as_text(self, ses: Any) -> None:
        mailer = Mailer("sentinel@example.com", ses_client=ses)
        mailer.send(Email("m@example.com", "room \ud800", "body \ud800", "<p>\udfff</p>"))
        [message] = _sent()
        assert message.subject == "room \ufffd"

    def test_html_stays_escaped(self) -> None:
        page = html_page("<b>x</b>", ["<script>alert(1)</script>"], [["h"], ["<img src=x>"]])
        assert "<script>" not in page and "<img" not in page and "<b>x" not in page

    def test_a_report_cell_cannot_forge_a_row(self) -> None:
        cells = ["Mallory\nEve | eve@example.com | 99 | yes", "m@example.com", "0", "no"]
        row = " | ".join(untrusted.table_cell(c) for c in cells)
        assert "\n" not in row
        assert row.count(" | ") == 3


def test_a_link_in_portal_text_is_no_link_in_the_mail_beside_sentinels_own() -> None:
    """A room titled like a phishing link must not look like the deep links Sentinel adds."""
    text = brute_force("Deal https://evil.example/login www.evil.example").render_text()
    assert "https://evil.example" not in text and "www.evil.example" not in text
    assert "https[:]//evil.example/login" in text and "www[.]evil.example" in text
    assert f"{PORTAL}/rooms/shared/7/filter?folder=7" in text  # ours stays a link
