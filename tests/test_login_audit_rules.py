"""The login audit's pure rules: the digest, the burst rule and query rows, for failed logins
that DocSpace records under the shared Guest account with an attacker-typed login string."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from docspace_sentinel.docspace.logins import GUEST, LOGIN_SHOWN, login_key, login_label
from docspace_sentinel.docspace.models import LoginEvent
from docspace_sentinel.workflows.login_audit.findings import (
    burst_finding,
    digest_evidence,
    digest_finding,
)
from docspace_sentinel.workflows.login_audit.query import event_to_dict
from docspace_sentinel.workflows.login_audit.rules import find_bursts, tally_logins
from docspace_sentinel.workflows.login_audit.settings import LoginAuditSettings
from tests.support import PORTAL, fixture

T0 = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
ANNA = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"
BOB = "6b1e1f5a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
FAIL_API = 1013
FAIL = 1005
SUCCESS_API = 1010


def _event(
    n: int,
    action: int,
    login: str,
    *,
    user_id: str = GUEST,
    user: str | None = None,
    ip: str | None = None,
    minutes: float = 0,
) -> LoginEvent:
    # For a Guest row the server shows the typed login as the user (docspace-api.md 3.3).
    return LoginEvent(
        id=n,
        date=T0 + timedelta(minutes=minutes, seconds=n),
        action_id=action,
        user_id=user_id,
        user=user if user is not None else login,
        login=login,
        ip=ip or f"198.51.100.{n % 250}",
    )


def test_login_key_trims_folds_case_drops_control_characters_and_bounds_length() -> None:
    assert login_key("  Anna@Example.COM ") == "anna@example.com"
    assert login_key("anna@exa\x00mple.com\u200b\r\n") == "anna@example.com"
    assert login_key("ROOT") == login_key("root") == "root"
    assert login_key("") == login_key(None) == login_key(" \t\x07") == ""
    huge = login_key("A" * 1_000_000)
    assert len(huge) <= 256 and set(huge) == {"a"}
    assert len(login_label(huge)) == LOGIN_SHOWN
    assert login_label("") == "(empty login)"


def test_guest_failures_are_grouped_by_the_login_typed_never_under_a_user() -> None:
    events = [
        # Anna signs in once and fails once under her own id (a TFA code, say): her row.
        _event(1, SUCCESS_API, "anna@example.com", user_id=ANNA, user="Anna Jensen"),
        _event(2, 1025, "anna@example.com", user_id=ANNA, user="Anna Jensen"),
        # Unknown callers: all under the one Guest id, the login string as typed.
        *(_event(10 + n, FAIL_API, "anna@example.com") for n in range(5)),
        _event(20, FAIL_API, " ANNA@example.com "),
        *(_event(30 + n, FAIL, login) for n, login in enumerate(["root", "Root", "test", ""])),
        _event(40, SUCCESS_API, "bob@example.com", user_id=BOB, user="Bob Smith"),
    ]
    digest = tally_logins(events)
    assert set(digest.users) == {ANNA, BOB}
    anna = digest.users[ANNA]
    assert (anna.name, anna.successes, anna.failures) == ("Anna Jensen", 1, 1)
    assert {k: t.failures for k, t in digest.guest_logins.items()} == {
        "anna@example.com": 6,
        "root": 2,
        "test": 1,
        "": 1,
    }
    evidence = digest_evidence(digest, top=25)
    assert [row["userId"] for row in evidence["perUser"]] == [ANNA, BOB]
    assert all(row["userId"] != GUEST for row in evidence["perUser"])
    assert [(row["login"], row["failures"]) for row in evidence["perGuestLogin"]] == [
        ("anna@example.com", 6),
        ("root", 2),
        ("(empty login)", 1),
        ("test", 1),
    ]
    assert (evidence["users"], evidence["failures"], evidence["guestFailures"]) == (2, 11, 10)
    assert evidence["guestLogins"] == 4 and evidence["guestLoginsNotShown"] == 0


def test_a_spray_of_random_logins_is_bounded_in_the_digest() -> None:
    spray = [_event(n, FAIL, f"user{n}-{'x' * 5000}\x1b[31m") for n in range(2000)]
    spray += [_event(5000 + n, FAIL, "admin") for n in range(3)]
    evidence = digest_evidence(tally_logins(spray), top=5)
    rows = evidence["perGuestLogin"]
    assert len(rows) == 5 and rows[0] == {
        "login": "admin",
        "failures": 3,
        "distinctIps": sorted({e.ip for e in spray[-3:] if e.ip}),
        "countries": [],
    }
    assert all(len(row["login"]) <= LOGIN_SHOWN and "\x1b" not in row["login"] for row in rows)
    assert evidence["guestLogins"] == 2001
    assert evidence["guestLoginsNotShown"] == 1996
    assert evidence["guestFailuresNotShown"] == 1996
    assert evidence["perUser"] == [] and evidence["users"] == 0


def test_the_digest_counts_only_what_is_newer_than_the_cursor() -> None:
    events = [_event(n, FAIL, "root", minutes=n) for n in range(4)]
    digest = tally_logins(events, since=events[1].date)
    assert digest.guest_logins["root"].failures == 2


def test_login_variants_of_one_login_make_one_burst() -> None:
    settings = LoginAuditSettings(failures=10, window=timedelta(minutes=5))
    variants = [
        "Anna@Example.com",
        " anna@example.com",
        "ANNA@EXAMPLE.COM\x00",
        "anna@example.com ",
    ]
    failures = [
        _event(n, FAIL_API, variants[n % 4], ip=f"203.0.113.{n}", minutes=n * 0.2)
        for n in range(10)
    ]
    success = _event(
        99, SUCCESS_API, "anna@example.com", user_id=ANNA, user="Anna Jensen", minutes=3
    )
    bursts = find_bursts([*failures, success], settings)
    assert [(b.key_type, b.key, b.success is not None) for b in bursts] == [
        ("login", "anna@example.com", False),
        ("login", "anna@example.com", True),
    ]
    after = burst_finding(bursts[1], "https://portal.example.com")
    assert after.user is not None and after.user.id == ANNA
    assert after.summary.startswith("Anna Jensen signed in")


def test_a_huge_login_does_not_make_a_huge_finding() -> None:
    settings = LoginAuditSettings(failures=10, window=timedelta(minutes=5))
    login = "\x1b]0;pwned\x07" + "A" * 1_000_000
    failures = [_event(n, FAIL, login, ip="203.0.113.9", minutes=n * 0.01) for n in range(200)]
    bursts = find_bursts(failures, settings)
    assert bursts and {b.key_type for b in bursts} == {"login"}
    finding = burst_finding(bursts[0], "https://portal.example.com")
    assert len(finding.title) < 200 and len(finding.summary) < 300
    assert "\x1b" not in finding.title and "\x07" not in finding.summary
    assert len(finding.evidence["sampleEventIds"]) <= 25
    assert all(len(login) <= LOGIN_SHOWN for login in finding.evidence["logins"])


def test_a_query_row_of_a_guest_failure_names_no_user() -> None:
    row = event_to_dict(_event(1, FAIL_API, "anna@example.com"))
    assert row["user"] is None and row["guest"] is True
    assert row["login"] == "anna@example.com" and row["userId"] == GUEST
    own = event_to_dict(_event(2, SUCCESS_API, "anna@example.com", user_id=ANNA, user="Anna"))
    assert own["user"] == "Anna" and own["guest"] is False


def test_an_ip_burst_with_a_forged_address_is_shown_bounded() -> None:
    settings = LoginAuditSettings(failures=10, window=timedelta(minutes=5))
    forged = "203.0.113.9\r\n" + "9" * 100_000  # X-Real-IP is whatever the request said
    failures = [_event(n, FAIL, f"guess-{n}", ip=forged, minutes=n * 0.1) for n in range(12)]
    [burst] = find_bursts(failures, settings)
    assert burst.key_type == "ip"
    finding = burst_finding(burst, "https://portal.example.com")
    assert len(finding.title) < 200 and "\r" not in finding.title
    assert finding.evidence["loginCount"] == 10


# -- over a wire page: the rules as the scheduled run applies them ------------------------------


def _page() -> list[LoginEvent]:
    """A login-history page as the server sends it (newest first, +03:00 dates): ten Guest
    failures for variants of Anna's login from one IP, then her success from that IP; a stray
    ``root`` failure; Bob's password sign-in and logout."""
    return [LoginEvent.from_wire(row) for row in fixture("login/login_audit/001.json")["response"]]


def test_a_page_with_a_burst_and_a_success_after_it_makes_two_findings() -> None:
    settings = LoginAuditSettings(failures=10, window=timedelta(minutes=5))
    bursts = find_bursts(_page(), settings)
    # The IP burst holds the same failures and success as the login burst: merged away.
    assert [(b.key_type, b.key, b.success and b.success.id) for b in bursts] == [
        ("login", "anna@example.com", None),
        ("login", "anna@example.com", 7311),
    ]
    burst, after = (burst_finding(b, PORTAL) for b in bursts)
    assert (burst.kind, burst.title) == (
        "brute_force",
        "10 failed logins for login anna@example.com",
    )
    assert burst.summary.endswith("between 2026-11-04 09:03:00 and 09:05:15 UTC.")
    assert burst.dedup == ("burst", "login", "anna@example.com", "2026-11-04")
    assert burst.evidence["distinctIps"] == ["203.0.113.77"] and burst.user is None
    assert (after.kind, after.title) == (
        "login_after_failures",
        "Successful login after 10 failures (login anna@example.com)",
    )
    assert after.user is not None and (after.user.id, after.user.name) == (ANNA, "Anna Jensen")
    assert after.evidence["successEventId"] == 7311
    assert after.dedup == ("success", "login", "anna@example.com", "7311")


def test_the_digest_of_a_page_since_the_cursor() -> None:
    events = _page()
    cursor = datetime(2026, 11, 4, 6, 0, tzinfo=UTC)
    end = datetime(2026, 11, 4, 9, 20, tzinfo=UTC)
    digest = tally_logins(events, since=cursor)
    assert digest.skipped == 0  # the logout is neither counted nor skipped
    finding = digest_finding(digest, (cursor, end), PORTAL, top=25)
    assert finding.kind == "login_digest"
    assert finding.title == (
        "Login digest: 2 sign-ins, 11 failures "
        "(11 of them by unknown callers, on 2 logins), 2 users"
    )
    assert finding.summary.startswith("Between 2026-11-04 06:00 and 2026-11-04 09:20 UTC: ")
    assert finding.dedup == ("digest", "2026-11-04T06:00:00Z", "2026-11-04T09:20:00Z")
    assert (finding.period_start, finding.period_end) == (cursor, end)
    assert [(r["login"], r["failures"]) for r in finding.evidence["perGuestLogin"]] == [
        ("anna@example.com", 10),
        ("root", 1),
    ]
    assert [(r["user"], r["successes"], r["countries"]) for r in finding.evidence["perUser"]] == [
        ("Bob Smith", 1, ["Germany"]),
        ("Anna Jensen", 1, ["Netherlands"]),
    ]
    # A cursor past Bob's sign-in leaves him out of the digest, not out of detection.
    later = tally_logins(events, since=datetime(2026, 11, 4, 7, 0, tzinfo=UTC))
    assert set(later.users) == {ANNA}
