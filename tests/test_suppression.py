"""Suppression rules: the CLI, matching, the run's count and metric, the gate, end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.enforcement.gate import DISABLE, ActionRequest, Gate, ResponseSettings
from docspace_sentinel.findings import suppression as sup
from docspace_sentinel.findings.finding import Finding, RoomRef, Severity, UserRef
from docspace_sentinel.findings.suppression import Rule, Rules, RuleStore, Subject
from docspace_sentinel.state import keys as state_keys
from docspace_sentinel.state.restrictions import RestrictionStore
from docspace_sentinel.state.store import StateStore
from local.aws import LocalAws
from local.cli import main
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now
from tests.test_e2e_realtime_guard import Pipeline, _member
from tests.test_e2e_realtime_guard import pipe as pipe  # the fixture
from tests.test_metrics import emf, named

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
USER = "11111111-1111-4111-8111-111111111111"
OTHER = "33333333-3333-4333-8333-333333333333"


def _rule(**fields: Any) -> Rule:
    values: dict[str, Any] = {
        "id": "sr-0123456789",
        "user_id": USER,
        "workflow": "bulk_change_guard",
        "reason": "migration",
        "created_by": "alice",
        "created_at": NOW,
        "until": NOW + timedelta(days=1),
    }
    return Rule(**(values | fields))


def _finding(**fields: Any) -> Finding:
    values: dict[str, Any] = {
        "workflow": "bulk_change_guard",
        "kind": "bulk_file_change",
        "severity": Severity.HIGH,
        "title": "Pat changed 30 files",
        "summary": "-",
        "dedup": (USER, "x"),
        "portal_url": "https://portal.example",
        "user": UserRef(USER.upper()),
        "room": RoomRef(7, "Deals"),
    }
    return Finding(**(values | fields))


def _store(aws: LocalAws, now: datetime | None = None) -> StateStore:
    return StateStore(aws.table_name, client=aws.dynamodb, clock=(lambda: now) if now else None)


# -- matching -------------------------------------------------------------------------------------


def test_a_rule_matches_its_user_workflow_kind_and_room_only() -> None:
    finding = Subject.of(_finding())
    assert finding == Subject("bulk_change_guard", "bulk_file_change", USER, 7)
    assert _rule().matches(finding)
    assert _rule(kind="bulk_file_change", room_id=7).matches(finding)
    assert not _rule(user_id=OTHER).matches(finding)
    assert not _rule(workflow="realtime_guard").matches(finding)
    assert not _rule(kind="bulk_download").matches(finding)
    assert not _rule(room_id=8).matches(finding)
    assert not _rule(room_id=7).matches(finding._replace(room_id=None))
    assert not _rule().matches(finding._replace(user_id=None))


def test_an_expired_rule_matches_nothing_even_while_stored(aws: LocalAws) -> None:
    store = _store(aws, NOW)
    rules = RuleStore(store)
    rules.add(_rule(id="sr-000000000a", until=NOW - timedelta(seconds=1)))
    rules.add(_rule(id="sr-000000000b", user_id=OTHER, until=None))  # permanent
    assert {r.id for r in rules.stored()} == {"sr-000000000a", "sr-000000000b"}
    loaded = Rules(store, "bulk_change_guard")
    assert loaded.match(Subject.of(_finding())) is None
    assert loaded.match(Subject.of(_finding(user=UserRef(OTHER)))).id == "sr-000000000b"  # type: ignore[union-attr]
    # the TTL is the end plus a margin; a permanent rule has none
    item = store.get(*state_keys.suppress_rule("sr-000000000a"))
    assert item is not None and int(item["expiresAt"]) == int(
        (NOW + timedelta(days=29, hours=23, minutes=59, seconds=59)).timestamp()
    )
    assert "expiresAt" not in (store.get(*state_keys.suppress_rule("sr-000000000b")) or {})


def test_a_malformed_stored_rule_is_skipped_and_logged(
    aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    store = _store(aws, NOW)
    RuleStore(store).add(_rule())
    store.put({"pk": "suppress", "sk": "sr-bad", "userId": "../x", "workflow": "nope"})
    store.put({**_rule(id="sr-00000000ff").item(), "until": None, "permanent": False})
    # a hand-edited item: the string "false" is not a permanent rule
    store.put({**_rule(id="sr-00000000fe").item(), "until": None, "permanent": "false"})
    rules = Rules(store)
    assert [r.id for r in rules.load()] == ["sr-0123456789"]
    assert "sr-bad" in caplog.text and "sr-00000000ff" in caplog.text
    assert "sr-00000000fe" in caplog.text


def test_the_rules_are_read_once_per_run(aws: LocalAws) -> None:
    store = _store(aws, NOW)
    RuleStore(store).add(_rule())
    calls: list[str] = []
    original = store.query

    def counting(pk: str, **kwargs: Any) -> Any:
        calls.append(pk)
        return original(pk, **kwargs)

    store.query = counting  # type: ignore[method-assign]
    rules = Rules(store, "bulk_change_guard")
    for _ in range(5):
        assert rules.match(Subject.of(_finding())) is not None
    assert calls == ["suppress"]


def test_hits_are_recorded_bounded_and_listed(aws: LocalAws) -> None:
    store = _store(aws, NOW)
    rules = Rules.of([_rule()], NOW, store)
    for i in range(sup.MAX_HITS_PER_RUN + 5):
        rules.hit(_finding(dedup=(USER, str(i))), _rule())
    assert rules.hits == sup.MAX_HITS_PER_RUN + 5
    hits = RuleStore(store).hits()
    assert len(hits) == sup.MAX_HITS_PER_RUN
    assert hits[0]["ruleId"] == "sr-0123456789" and hits[0]["title"] == "Pat changed 30 files"
    assert hits[0]["userId"] == USER and hits[0]["workflow"] == "bulk_change_guard"
    # a hit sits beside the published findings of its workflow, never on a fingerprint
    item = store.get(
        *state_keys.suppress_hit(
            "bulk_change_guard", "sr-0123456789", _finding(dedup=(USER, "0")).fingerprint
        )
    )
    assert item is not None and int(item["expiresAt"]) == int(
        (NOW + timedelta(days=30)).timestamp()
    )
    later = _store(aws, NOW + timedelta(days=31))
    assert RuleStore(later).hits() == []  # past its TTL, even before DynamoDB deletes it


# -- the gate -------------------------------------------------------------------------------------


class Portal:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def user(self, user_id: str) -> Any:
        self.calls.append(f"user {user_id}")
        raise AssertionError("a suppressed action reads nothing from the portal")


def test_the_gate_refuses_an_action_on_a_suppressed_finding(aws: LocalAws) -> None:
    store = _store(aws, NOW)
    RuleStore(store).add(_rule(kind="bulk_file_change"))
    portal: Any = Portal()
    gate = Gate(
        portal,
        RestrictionStore(store),
        ResponseSettings(mode="enforce"),
        source="bulk_change_guard",
        owner="run",
    )
    request = ActionRequest(DISABLE, USER, NOW, "f", "why", subject=Subject.of(_finding()))
    action = gate.act(request)
    assert (action.status, action.detail) == (
        "skipped",
        "suppressed by rule sr-0123456789 (migration)",
    )
    assert portal.calls == [] and gate.counts == {}  # no read, no slot of the cap
    # another kind is not named by the rule: the gate goes on to its other checks
    other = request._replace(subject=Subject.of(_finding(kind="bulk_download")))
    with pytest.raises(AssertionError, match="reads nothing"):
        gate.act(other)
    # given no subject, the gate still knows its workflow and the user: a rule naming no kind
    # or room holds
    RuleStore(store).add(_rule(id="sr-00000000aa", user_id=OTHER))
    fresh = Gate(
        portal,
        RestrictionStore(store),
        ResponseSettings(mode="enforce"),
        source="bulk_change_guard",
        owner="run",
    )
    assert fresh.act(ActionRequest(DISABLE, OTHER.upper(), NOW, "f")).detail.startswith(
        "suppressed by rule sr-00000000aa"
    )


# -- the CLI --------------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_cli_add_list_remove(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATE_TABLE", aws.table_name)
    until = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d")
    code, added, _ = _cli(
        capsys, "suppress", "add", "--user", USER.upper(), "--workflow", "bulk_change_guard",
        "--kind", "bulk_file_change", "--room", "7", "--until", until, "--reason", "  data   migration ",
    )  # fmt: skip
    assert code == 0
    assert added["userId"] == USER and added["kind"] == "bulk_file_change" and added["roomId"] == 7
    assert added["until"].startswith(
        (datetime.fromisoformat(until) + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00")
    )
    assert added["reason"] == "data migration" and added["permanent"] is False
    assert added["createdBy"].startswith("arn:aws:sts::")  # the caller identity (moto's)
    code, permanent, _ = _cli(
        capsys, "suppress", "add", "--user", OTHER, "--workflow", "login_audit", "--permanent",
        "--reason", "service account", "--by", "bob",
    )  # fmt: skip
    assert code == 0 and permanent["permanent"] is True and permanent["createdBy"] == "bob"
    code, listed, _ = _cli(capsys, "suppress", "list")
    assert code == 0 and {r["id"] for r in listed} == {added["id"], permanent["id"]}
    assert all(r["active"] for r in listed)
    code, removed, _ = _cli(capsys, "suppress", "remove", added["id"])
    assert code == 0 and removed["removed"]["id"] == added["id"]
    assert [r["id"] for r in _cli(capsys, "suppress", "list")[1]] == [permanent["id"]]
    code, _, err = _cli(capsys, "suppress", "remove", added["id"])
    assert code == 1 and "no suppression rule" in err
    assert _cli(capsys, "suppress", "list", "--hits")[1] == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--until", ""], "a rule needs an end"),
        ([], "a rule needs an end"),
        (["--until", "2020-01-01"], "is in the past"),
        (["--until", "2099-01-01T00:00:00Z"], "--permanent"),
        (["--until", "tomorrow"], "not an ISO 8601 time"),
        (["--until", "2099-01-01", "--permanent"], "not both"),
        (["--permanent", "--workflow", "nightly"], "unknown workflow 'nightly'"),
        (["--permanent", "--user", "pat@example.com"], "must be a user id"),
        (["--permanent", "--user", "../settings"], "must be a user id"),
        (["--permanent", "--reason", "  "], "a reason is required"),
        (["--permanent", "--room", "-1"], "room id"),
        (["--permanent", "--kind", "Bulk File"], "not a finding kind"),
    ],
)
def test_cli_refusals_are_one_line(
    argv: list[str],
    words: str,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STATE_TABLE", aws.table_name)
    base = {"--user": USER, "--workflow": "bulk_change_guard", "--reason": "why"}
    for name, value in base.items():
        if name not in argv:
            argv = [*argv, name, value]
    code, out, err = _cli(capsys, "suppress", "add", *argv)
    assert code == 2 and out is None
    assert err.startswith("error: ") and words in err and err.count("\n") == 1, err
    assert list(RuleStore(_store(aws)).stored()) == []


def test_the_known_workflows_are_the_workflows() -> None:
    from docspace_sentinel.workflows import bulk_change_guard, restriction_release, vdr_activity
    from docspace_sentinel.workflows.config_watch import findings as config_watch
    from docspace_sentinel.workflows.inactive_members import findings as inactive
    from docspace_sentinel.workflows.ip_allowlist import findings as ip_allowlist
    from docspace_sentinel.workflows.login_audit import findings as login_audit
    from docspace_sentinel.workflows.realtime_guard import findings as realtime

    modules = (bulk_change_guard, restriction_release, vdr_activity, config_watch, inactive)
    names = {m.WORKFLOW for m in (*modules, ip_allowlist, login_audit, realtime)}
    assert names == set(sup.WORKFLOWS)


# -- end to end -----------------------------------------------------------------------------------


def _add(aws: LocalAws, user: str, workflow: str = "bulk_change_guard", **fields: Any) -> Rule:
    store = _store(aws)
    rule = _rule(
        id=sup.new_rule_id(),
        user_id=user,
        workflow=workflow,
        created_at=store.now(),
        until=store.now() + timedelta(days=1),
        **fields,
    )
    RuleStore(store).add(rule)
    return rule


@pytest.mark.e2e
def test_a_suppressed_burst_in_enforce_mode_disables_nobody_and_publishes_nothing(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws, MODE="enforce")
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    rule = _add(aws, planted.user_id, kind="bulk_file_change", room_id=planted.room_id)
    capsys.readouterr()
    summary = run("bulk_change_guard", scheduled(iso(utc_now())))
    assert summary["findingsSuppressedByRule"] == 1 and summary["findingsPublished"] == 0
    assert summary["usersFlagged"] == 1
    metrics = emf(capsys.readouterr().out)
    assert named(metrics, "FindingsSuppressedByRule")[0]["value"] == 1
    assert not named(metrics, "FindingsPublished")
    assert aws.findings() == []
    assert simulator.scenario.user_by_id(planted.user_id).status == 1
    assert simulator.stats.requests["PUT /api/2.0/people/status/{status}"] == 0
    assert list(RestrictionStore(_store(aws)).all()) == []
    # listed, with the rule that kept it back
    assert main(["suppress", "list", "--hits"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["ruleId"] == rule.id and hit["userId"] == planted.user_id
    assert hit["kind"] == "bulk_file_change" and "changed 32 files" in hit["title"]


@pytest.mark.e2e
def test_a_rule_silences_exactly_what_it_names_until_it_expires(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, simulator, aws)  # dry run: the windows below are re-read on demand
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    now = utc_now()

    def window(i: int) -> dict[str, str]:  # one run key each
        return {"from": iso(now - timedelta(hours=48)), "to": iso(now - timedelta(seconds=i))}

    # another user's rule, the same user's rule for another workflow or another room: it alerts
    _add(aws, OTHER)
    _add(aws, planted.user_id, workflow="realtime_guard")
    _add(aws, planted.user_id, room_id=planted.room_id + 1000)
    summary = run("bulk_change_guard", window(0))
    assert summary["findingsPublished"] == 1 and summary["findingsSuppressedByRule"] == 0
    assert [f["user"]["id"] for f in aws.findings()] == [planted.user_id]
    # its own rule: silenced (an on-demand re-scan with the dedup record gone)
    store = _store(aws)
    for item in list(store.query("sent#bulk_change_guard")):
        store.delete(item["pk"], item["sk"])
    rule = _add(aws, planted.user_id)
    summary = run("bulk_change_guard", window(1))
    assert summary["findingsSuppressedByRule"] == 1 and summary["findingsPublished"] == 0
    assert aws.findings() == []
    # expired (still stored: DynamoDB's TTL deletes lazily): the same finding alerts again
    stored = store.get(*state_keys.suppress_rule(rule.id))
    assert stored is not None
    store.put({**stored, "until": iso(store.now() - timedelta(seconds=1))})
    summary = run("bulk_change_guard", window(2))
    assert summary["findingsPublished"] == 1 and summary["findingsSuppressedByRule"] == 0
    assert [f["user"]["id"] for f in aws.findings()] == [planted.user_id]


@pytest.mark.e2e
def test_the_realtime_guard_keeps_a_room_scoped_burst_back_and_disables_nobody(
    pipe: Pipeline,
    simulator: SimulatorServer,
    aws: LocalAws,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = _member(simulator)
    planted = simulator.scenario.planted.bulk_changer
    assert planted is not None
    room = planted.room_id
    rule = _add(aws, user, workflow="realtime_guard", room_id=room)
    start = utc_now() - timedelta(minutes=3)
    simulator.actions.change_files(user, 25, room_id=room, at=start, spacing=timedelta(seconds=7))
    capsys.readouterr()
    pipe.drain()
    assert pipe.failures == []
    # the room is found before the gate decides: no disable, nothing published, one hit
    assert simulator.scenario.user_by_id(user).status == 1
    assert simulator.stats.requests["PUT /api/2.0/people/status/{status}"] == 0
    assert aws.findings() == []
    assert named(emf(capsys.readouterr().out), "FindingsSuppressedByRule")
    (hit,) = RuleStore(_store(aws)).hits(["realtime_guard"])
    assert hit["ruleId"] == rule.id and hit["roomId"] == room and hit["userId"] == user
    # another user's burst in the same room is not named by the rule: disabled and reported
    s = simulator.scenario
    skip = {s.key_user.id, planted.user_id, user}
    second = next(
        u.id
        for u in s.users
        if u.status == 1 and not (u.is_docspace_admin or u.is_ldap or u.is_sso) and u.id not in skip
    )
    simulator.actions.change_files(second, 25, room_id=room, at=start, spacing=timedelta(seconds=7))
    pipe.drain()
    (finding,) = aws.findings()
    assert finding["user"]["id"] == second.lower() and finding["room"]["id"] == room
    assert [a["status"] for a in finding["actions"]] == ["done"]
    assert simulator.scenario.user_by_id(second).status == 2


# -- the runner ---------------------------------------------------------------------------------


class Client:
    requests_sent = 0
    portal_url = "https://portal.example"


class Publisher:
    def __init__(self) -> None:
        self.sent: list[Finding] = []

    def publish(self, finding: Finding) -> str:
        self.sent.append(finding)
        return f"m-{len(self.sent)}"


def test_the_runner_counts_what_rules_keep_back_apart_from_repeats(aws: LocalAws) -> None:
    from docspace_sentinel.runtime.runner import RunContext, Runner, RunOutcome, RunSettings

    store = _store(aws)
    now = store.now()
    RuleStore(store).add(_rule(created_at=now, until=now + timedelta(hours=1)))
    publisher = Publisher()
    runner = Runner(
        "bulk_change_guard",
        RunSettings(state_table=aws.table_name, topic_arn="-"),
        client=Client(),  # type: ignore[arg-type]
        store=store,
        publisher=publisher,  # type: ignore[arg-type]
    )
    seen: dict[str, Any] = {}
    mine, other = _finding(), _finding(user=UserRef(OTHER), dedup=(OTHER, "x"))

    def work(context: RunContext) -> RunOutcome:
        seen["rules"] = context.rules
        # published now (context.publish): False for a finding a rule keeps back
        seen["early"] = [context.publish(mine), context.publish(other), context.publish(other)]
        return RunOutcome(findings=[mine, other])

    window = (now - timedelta(hours=1), now - timedelta(minutes=1))
    summary = runner.run(scheduled(iso(now)), work, lambda _invocation: window)
    assert seen["early"] == [False, True, False]
    assert seen["rules"] is runner.rules  # one set of rules for the run, the gate's too
    assert [f.user.id for f in publisher.sent if f.user] == [OTHER]
    assert summary["findingsPublished"] == 1
    assert summary["findingsSuppressed"] == 2  # the repeats of the other user's finding
    assert summary["findingsSuppressedByRule"] == 2  # mine, twice
    (hit,) = RuleStore(store).hits()
    assert hit["findingId"] == mine.fingerprint


@pytest.mark.e2e
def test_the_login_check_logs_out_nobody_a_kind_rule_names(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_e2e_ip_allowlist import LOGOUT, _register_planted

    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off", ON_VIOLATION="logout", MODE="enforce")
    off = sorted({p.user_id.lower() for p in simulator.scenario.planted.off_allowlist_logins})
    silenced = off[0]
    rule = _add(aws, silenced, workflow="ip_allowlist", kind="ip_not_allowed")
    _register_planted(simulator)
    summary = run("ip_allowlist", scheduled(iso(utc_now())))
    flagged = {f["user"]["id"]: f for f in aws.findings() if f["kind"] == "ip_not_allowed"}
    assert set(flagged) == set(off[1:])  # the others are logged out and reported
    assert all(f["actions"][0]["status"] == "done" for f in flagged.values())
    assert simulator.stats.requests[LOGOUT] == len(off) - 1
    assert summary["findingsSuppressedByRule"] >= 1
    hits = RuleStore(_store(aws)).hits(["ip_allowlist"])
    assert {h["userId"] for h in hits} == {silenced} and {h["ruleId"] for h in hits} == {rule.id}


def test_rules_that_cannot_be_read_for_good_are_none_and_other_errors_fail(
    aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    from docspace_sentinel.state.errors import StateError

    store = _store(aws, NOW)
    RuleStore(store).add(_rule())

    def refused(pk: str, **kwargs: Any) -> Any:
        raise StateError("DynamoDB query on t failed: AccessDeniedException")

    store.query = refused  # type: ignore[method-assign]
    assert Rules(store).match(Subject.of(_finding())) is None
    assert "not readable" in caplog.text

    def throttled(pk: str, **kwargs: Any) -> Any:
        raise StateError("DynamoDB query on t failed: ProvisionedThroughputExceededException")

    store.query = throttled  # type: ignore[method-assign]
    with pytest.raises(StateError):
        Rules(store).match(Subject.of(_finding()))


def test_the_next_step_that_suggests_a_rule_is_a_command_that_works(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shlex

    from docspace_sentinel.findings.next_steps import steps

    monkeypatch.setenv("STATE_TABLE", aws.table_name)
    (step,) = [s for s in steps(_finding()) if "suppress add" in s]
    command = step.split("`")[1].replace("<YYYY-MM-DD>", "2099-01-01").replace("...", "known")
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "local.cli"]
    until = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    argv = [until if a == "2099-01-01" else a for a in argv[3:]]
    code, added, err = _cli(capsys, *argv)
    assert code == 0, err
    assert (added["userId"], added["workflow"], added["kind"]) == (
        USER,
        "bulk_change_guard",
        "bulk_file_change",
    )
    # a finding about no user cannot be named by a rule: no such step
    assert not [s for s in steps(_finding(user=None)) if "suppress add" in s]
