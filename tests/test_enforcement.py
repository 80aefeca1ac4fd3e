"""The enforcement gate: the pure refusal check (every reason, the order), the gate over a fake
portal and the local state table (the cap, lazy reads, the disable state machine), lifting and
reconciling, "seen" versus "acted", and the recency rule end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docspace_sentinel.docspace.errors import Forbidden, NotFound, ServerError
from docspace_sentinel.docspace.models import User
from docspace_sentinel.enforcement.disabling import lift, reconcile
from docspace_sentinel.enforcement.gate import (
    DISABLE,
    LOGOUT,
    ORDER,
    ActionRequest,
    Facts,
    Gate,
    ResponseSettings,
    Why,
    refusal,
    staged,
    stale,
)
from docspace_sentinel.findings.finding import ActionTaken, Finding, Severity
from docspace_sentinel.state import keys as state_keys
from docspace_sentinel.state.restrictions import Restriction, RestrictionStore
from docspace_sentinel.state.store import StateStore
from local.aws import LocalAws
from local.lambda_runtime import invoke
from local.simulator.server import SimulatorServer
from tests.e2e import iso, point_at, run, scheduled, utc_now

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LOGOUT_ROUTE = "PUT /api/2.0/security/activeconnections/logoutall/{userid}"
STATUS = "PUT /api/2.0/people/status/{status}"
USER = "11111111-1111-4111-8111-111111111111"
KEY = "22222222-2222-4222-8222-222222222222"
ENFORCE = ResponseSettings(mode="enforce", max_per_run=2)


def _user(user_id: str = USER, **fields: Any) -> User:
    return User(id=user_id, display_name="Pat", status=fields.pop("status", 1), **fields)


def _record(state: str = "active", **fields: Any) -> Restriction:
    values: dict[str, Any] = {
        "user_id": USER,
        "state": state,
        "source": "test",
        "reason": "r",
        "finding_id": "f-old",
        "restricted_at": NOW - timedelta(minutes=5),
        "lift_at": NOW + timedelta(minutes=55),
        "permanent": False,
        "owner": "run-old",
    }
    values.update(fields)
    return Restriction(**values)


def _request(kind: str = DISABLE, *, age: timedelta = timedelta(minutes=5)) -> ActionRequest:
    return ActionRequest(kind, USER, NOW - age, "f-new", "why")


def _facts(**fields: Any) -> Facts:
    values: dict[str, Any] = {"now": NOW, "user": _user(), "key_user_id": KEY, "owner": "run"}
    values.update(fields)
    return Facts(**values)


# -- the pure check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "why", "words"),
    [
        (_facts(user=None), Why.GONE, "no longer exists"),
        (_facts(user=_user(is_owner=True)), Why.PROTECTED, "the portal owner"),
        (_facts(user=_user(is_admin=True)), Why.PROTECTED, "a DocSpace admin"),
        (_facts(key_user_id=USER.upper()), Why.PROTECTED, "the API key's own user"),
        (_facts(user=_user(is_ldap=True)), Why.PROTECTED, "an LDAP user"),
        (_facts(user=_user(is_sso=True)), Why.PROTECTED, "an SSO user"),
        (_facts(record=_record()), Why.HELD, "already restricted by Sentinel until"),
        (_facts(record=_record("restricting")), Why.HELD, "already restricted"),
        (_facts(record=_record(owner="run"), user=_user(status=2)), Why.DONE, "disabled until"),
        (_facts(record=_record("lifted", finding_id="f-new")), Why.SAME_FINDING, "(lifted)"),
        (_facts(record=_record("failed", finding_id="f-new")), Why.SAME_FINDING, "(failed)"),
        (_facts(user=_user(status=2)), Why.ADMIN_DISABLED, "disabled by an administrator"),
        (_facts(user=_user(status=4)), Why.PENDING, "has not activated"),
        (_facts(acted=2), Why.CAP, "the cap of 2 restrictions per run"),
    ],
)
def test_every_reason_to_refuse_a_disable(facts: Facts, why: Why, words: str) -> None:
    refused = refusal(_request(), facts, ENFORCE)
    assert refused is not None and refused.why is why and words in refused.detail
    expected = {Why.DONE: "done"}.get(why, "skipped")
    assert refused.status == expected and refused.counts is (why is Why.DONE)


def test_protected_ids_and_allowed_directory_users() -> None:
    listed = ENFORCE._replace(protected_ids=frozenset({USER}))
    refused = refusal(_request(), _facts(), listed)
    assert refused is not None and "PROTECTED_USER_IDS" in refused.detail
    allowed = ENFORCE._replace(protect_ldap=False, protect_sso=False)
    assert refusal(_request(), _facts(user=_user(is_ldap=True, is_sso=True)), allowed) is None


def test_go_and_the_dry_run() -> None:
    assert refusal(_request(), _facts(acted=1), ENFORCE) is None
    assert refusal(_request(LOGOUT), _facts(), ENFORCE) is None
    dry = ENFORCE._replace(mode="dry-run")
    proposed = refusal(_request(), _facts(), dry)
    assert proposed is not None and proposed.why is Why.DRY_RUN and proposed.status == "proposed"
    assert (
        proposed.counts and proposed.detail == "dry run: would disable until 2026-11-29 13:00 UTC"
    )
    logout = refusal(_request(LOGOUT), _facts(), dry)
    assert logout is not None and logout.detail == "dry run: would end every session"


def test_a_dry_run_reports_what_enforce_would_refuse() -> None:
    dry = ENFORCE._replace(mode="dry-run")
    assert ORDER[DISABLE][-1] is ORDER[LOGOUT][-1] is Why.DRY_RUN
    for facts, why in [
        (_facts(user=_user(is_admin=True)), Why.PROTECTED),
        (_facts(acted=2), Why.CAP),
        (_facts(user=_user(status=2)), Why.ADMIN_DISABLED),
    ]:
        refused = refusal(_request(), facts, dry)
        assert refused is not None and refused.why is why


def test_the_order_of_the_checks() -> None:
    old = timedelta(days=3)
    # A disable: who the user is and what was done before come first, then recency.
    held = refusal(_request(age=old), _facts(record=_record()), ENFORCE)
    assert held is not None and held.why is Why.HELD
    same = refusal(_request(age=old), _facts(record=_record("lifted", finding_id="f-new")), ENFORCE)
    assert same is not None and same.why is Why.SAME_FINDING
    gone = refusal(_request(age=old), _facts(user=None), ENFORCE)
    assert gone is not None and gone.why is Why.GONE
    late = refusal(_request(age=old), _facts(user=_user(status=2), acted=9), ENFORCE)
    assert late is not None and late.why is Why.STALE
    disabled = refusal(_request(), _facts(user=_user(status=2), acted=9), ENFORCE)
    assert disabled is not None and disabled.why is Why.ADMIN_DISABLED
    # A log-out asks about recency first (no portal read) and looks at no restriction record.
    first = refusal(_request(LOGOUT, age=old), _facts(user=None), ENFORCE)
    assert first is not None and first.why is Why.STALE
    capped = refusal(_request(LOGOUT), _facts(record=_record(), acted=2), ENFORCE)
    assert capped is not None and capped.detail == "the cap of 2 actions per run was reached"
    assert refusal(_request(LOGOUT), _facts(user=_user(status=2)), ENFORCE) is None


@pytest.mark.parametrize(
    ("suppression", "bound"), [("24", timedelta(hours=24)), ("0", timedelta(hours=1))]
)
def test_the_bound_is_the_suppression_period_at_least_an_hour(
    suppression: str, bound: timedelta
) -> None:
    settings = ResponseSettings.from_env({"SUPPRESSION_HOURS": suppression})
    assert settings.act_within == bound
    assert stale(NOW - bound, NOW, settings) is None
    assert stale(NOW - timedelta(minutes=5), NOW, settings) is None
    reason = stale(NOW - bound - timedelta(seconds=1), NOW, settings)
    assert reason is not None and "reported only" in reason and "SUPPRESSION_HOURS" in reason


def test_weeks_old_evidence_is_stale() -> None:
    reason = stale(NOW - timedelta(days=21), NOW, ResponseSettings.from_env({}))
    assert reason is not None and "504 h old" in reason and "24 h" in reason


def _finding(last: str) -> Finding:
    return Finding(
        workflow="w", kind="k", severity=Severity.LOW, title="t", summary="s",
        dedup=(USER, "x", last), portal_url="https://p.example.com",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "stage"),
    [("done", "acted"), ("failed", "acted"), ("proposed", "observed"), ("skipped", "observed")],
)
def test_seen_or_acted_is_decided_in_one_place(status: str, stage: str) -> None:
    action = ActionTaken(DISABLE, USER, status, "d")
    for built in ("acted", "observed"):
        finding = staged(_finding(built), action)
        assert finding.dedup[-1] == stage and finding.actions == (action,)
    assert staged(_finding("acted"), None).dedup[-1] == "observed"
    assert staged(_finding("acted"), None).actions == ()


# -- the gate over a fake portal and the local table ---------------------------------------------


class FakePortal:
    """The few calls the gate and the release make; every call is logged."""

    def __init__(self, *users: User) -> None:
        self.users = {u.id: u for u in users}
        self.calls: list[str] = []
        self.fail: Exception | None = None
        self.confirm = True

    def me(self) -> User:
        self.calls.append("me")
        return _user(KEY, is_admin=True)

    def user(self, user_id: str) -> User:
        self.calls.append(f"user {user_id}")
        if user_id not in self.users:
            raise NotFound("no such user")
        return self.users[user_id]

    def set_user_status(self, ids: list[str], status: int) -> list[User]:
        self.calls.append(f"status {status}")
        if self.fail is not None:
            raise self.fail
        for user_id in ids:
            self.users[user_id] = self.users[user_id]._replace(
                status=status, terminated=NOW if status == 2 else None
            )
        return [self.users[i] for i in ids] if self.confirm else []

    def logout_all(self, user_id: str) -> None:
        self.calls.append(f"logout {user_id}")
        if self.fail is not None:
            raise self.fail


@pytest.fixture
def records(aws: LocalAws) -> Iterator[RestrictionStore]:
    yield RestrictionStore(StateStore(aws.table_name, client=aws.dynamodb, clock=lambda: NOW))


def _held(records: RestrictionStore) -> Restriction:
    record = records.get(USER)
    assert record is not None
    return record


def _gate(portal: Any, records: RestrictionStore, settings: ResponseSettings = ENFORCE) -> Gate:
    return Gate(portal, records, settings, source="test", owner="run")


def test_enforce_disables_and_records_it(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    action = _gate(portal, records).act(_request())
    assert action == ActionTaken(DISABLE, USER, "done", "disabled until 2026-11-29 13:00 UTC")
    record = records.get(USER)
    assert record is not None and record.state == "active" and record.finding_id == "f-new"
    assert record.terminated_at == NOW and record.owner == "run" and record.reason == "why"
    # the same request again: held, and this very run did it
    again = _gate(portal, records).act(_request())
    assert again.status == "done" and again.detail == "disabled until 2026-11-29 13:00 UTC"
    other = Gate(portal, records, ENFORCE, source="test", owner="other")
    assert other.act(_request()).detail.startswith("already restricted by Sentinel")


def test_the_cap_counts_actions_proposals_and_repeats_per_kind(records: RestrictionStore) -> None:
    users = [_user(f"{i}1111111-1111-4111-8111-111111111111") for i in range(4)]
    gate = _gate(FakePortal(*users), records, ENFORCE._replace(mode="dry-run"))
    statuses = [gate.act(ActionRequest(DISABLE, u.id, NOW, "f")).status for u in users]
    assert statuses == ["proposed", "proposed", "skipped", "skipped"]
    assert gate.act(ActionRequest(LOGOUT, users[0].id, NOW, "f")).status == "proposed"


def test_the_gate_reads_only_what_the_checks_reach(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user(is_owner=True))
    gate = _gate(portal, records)
    assert gate.act(_request(LOGOUT, age=timedelta(days=2))).status == "skipped"
    assert portal.calls == []  # a stale log-out asks the portal nothing
    assert gate.act(_request()).detail == "protected: the portal owner"
    assert portal.calls == [f"user {USER}"]  # the owner never costs a GET /people/@self


def test_a_logout(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    done = _gate(portal, records).act(_request(LOGOUT))
    assert done == ActionTaken(LOGOUT, USER, "done", "every session was ended")
    portal.fail = ServerError("boom", status_code=500)
    # another login (the first one's log-out is once-only: see below)
    failed = _gate(portal, records).act(_request(LOGOUT)._replace(evidence_id="login-2"))
    assert failed.status == "failed" and "ServerError" in failed.detail
    assert records.get(USER) is None


def _logout_on(login: str) -> ActionRequest:
    return _request(LOGOUT)._replace(evidence_id=login)


def test_a_logout_is_taken_once_per_login(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    assert _gate(portal, records).act(_logout_on("7")).status == "done"
    record = records.store.get(*state_keys.logout(USER, "7"))
    assert record is not None and record["state"] == "done" and record["outcome"] == "done"
    # a retry of the same run says what it did; a later run skips the login; a new login acts
    again = _gate(portal, records)
    assert again.act(_logout_on("7")) == ActionTaken(
        LOGOUT, USER, "done", "every session was ended"
    )
    assert again.counts[LOGOUT] == 1  # what this run did counts toward the cap
    later = Gate(portal, records, ENFORCE, source="test", owner="later")
    skipped = later.act(_logout_on("7"))
    assert skipped.status == "skipped" and skipped.detail == "already acted on this login (done)"
    assert later.counts == {}
    assert later.act(_logout_on("8")).status == "done"
    assert portal.calls.count(f"logout {USER}") == 2
    # no once-record in a dry run, nor before the other checks let the log-out through
    dry = Gate(portal, records, ENFORCE._replace(mode="dry-run"), source="test", owner="dry")
    assert dry.act(_logout_on("9")).status == "proposed"
    stale_one = later.act(_request(LOGOUT, age=timedelta(days=3))._replace(evidence_id="9"))
    assert (
        stale_one.status == "skipped" and records.store.get(*state_keys.logout(USER, "9")) is None
    )


def test_a_failed_logout_is_recorded_failed_never_released(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    portal.fail = ServerError("boom", status_code=504)
    assert _gate(portal, records).act(_logout_on("7")).status == "failed"
    record = records.store.get(*state_keys.logout(USER, "7"))
    assert record is not None and record["state"] == "done" and record["outcome"] == "failed"
    portal.fail = None
    retried = _gate(portal, records).act(_logout_on("7"))
    assert retried.status == "failed" and retried.detail.endswith("; not repeated")
    later = Gate(portal, records, ENFORCE, source="test", owner="later").act(_logout_on("7"))
    assert later.detail == "already acted on this login (failed)"
    assert portal.calls.count(f"logout {USER}") == 1


def test_a_logout_claimed_by_a_crashed_attempt_is_not_repeated(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    key = state_keys.logout(USER, "7")
    assert records.store.claim(*key, "run", until=NOW + timedelta(days=1), lease=timedelta(1))
    action = _gate(portal, records).act(_logout_on("7"))
    assert action.status == "failed" and "earlier attempt of this run" in action.detail
    # another run's live claim: that run is acting
    other = state_keys.logout(USER, "8")
    assert records.store.claim(*other, "racer", until=NOW + timedelta(days=1), lease=timedelta(1))
    busy = _gate(portal, records).act(_logout_on("8"))
    assert busy.detail == "another run is acting on this login"
    assert f"logout {USER}" not in portal.calls


def test_a_refused_disable_is_recorded_failed(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    portal.fail = Forbidden("Access denied", status_code=403)
    action = _gate(portal, records).act(_request())
    assert action.status == "failed" and "refused" in action.detail
    record = records.get(USER)
    assert record is not None and record.state == "failed" and record.last_error


@pytest.mark.parametrize("how", ["5xx", "unconfirmed"])
def test_an_unknown_outcome_stays_restricting(records: RestrictionStore, how: str) -> None:
    portal: Any = FakePortal(_user())
    if how == "5xx":
        portal.fail = ServerError("boom", status_code=502)
    else:
        portal.confirm = False
    action = _gate(portal, records).act(_request())
    assert action.status == "failed" and "reconciled" in action.detail
    record = records.get(USER)
    assert record is not None and record.state == "restricting" and record.attempts == 1


def test_another_run_holding_the_claim_is_not_repeated(records: RestrictionStore) -> None:
    gate = _gate(FakePortal(_user()), records)
    # the claim is taken between the check and the call (a second run, racing)
    records.begin(USER, source="x", reason="r", finding_id="f", duration=ENFORCE.duration,
                  user_name=None, owner="racer")  # fmt: skip
    record = records.get(USER)
    assert record is not None
    gate.records = _Racing(records)
    action = gate.act(_request())
    assert action.detail == "another run is restricting this user"


class _Racing(RestrictionStore):
    """Reads no record (as before the race), but the claim in the table stands."""

    def __init__(self, inner: RestrictionStore) -> None:
        super().__init__(inner.store)

    def get(self, user_id: str) -> Restriction | None:
        return None


def test_a_crashed_runs_restricting_record_is_finished(records: RestrictionStore) -> None:
    records.begin(USER, source="x", reason="r", finding_id="f", duration=ENFORCE.duration,
                  user_name=None, owner="crashed")  # fmt: skip
    portal: Any = FakePortal(_user(status=2))
    action = _gate(portal, records).act(_request())
    assert action.status == "skipped" and "already restricted" in action.detail
    assert _held(records).state == "active"


def test_lift_and_its_outcomes(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    _gate(portal, records).act(_request())
    settled = lift(portal, records, _held(records))
    assert settled == ("lifted", "restriction_lifted", "the restriction was lifted", "done")
    assert _held(records).state == "lifted"
    assert lift(portal, records, _held(records)).outcome == "skipped"


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ("deleted", "the user was deleted meanwhile"),
        ("re-enabled", "an administrator re-enabled the user meanwhile"),
        ("disabled again", "an administrator disabled the user again meanwhile; left disabled"),
    ],
)
def test_a_disable_no_longer_ours_closes_without_a_call(
    records: RestrictionStore, change: str, what: str
) -> None:
    portal: Any = FakePortal(_user())
    _gate(portal, records).act(_request())
    if change == "deleted":
        del portal.users[USER]
    elif change == "re-enabled":
        portal.users[USER] = portal.users[USER]._replace(status=1)
    else:
        portal.users[USER] = portal.users[USER]._replace(terminated=NOW + timedelta(minutes=1))
    calls = len(portal.calls)
    settled = lift(portal, records, _held(records))
    assert settled == ("closed", "restriction_closed", what, "skipped")
    assert _held(records).state == "closed"
    assert not any(c.startswith("status") for c in portal.calls[calls:])


def test_a_failed_lift_stays_lifting(records: RestrictionStore) -> None:
    portal: Any = FakePortal(_user())
    _gate(portal, records).act(_request())
    portal.fail = ServerError("boom", status_code=503)
    assert lift(portal, records, _held(records)).outcome == "failed"
    record = records.get(USER)
    assert record is not None and record.state == "lifting" and record.attempts == 1
    portal.fail = None
    assert lift(portal, records, record).outcome == "lifted"


@pytest.mark.parametrize(
    ("status", "state", "notice"),
    [(2, "active", None), (1, "failed", "restriction_failed"), (None, "closed", None)],
)
def test_reconcile_an_unconfirmed_disable(
    records: RestrictionStore, status: int | None, state: str, notice: str | None
) -> None:
    records.begin(USER, source="x", reason="r", finding_id="f", duration=ENFORCE.duration,
                  user_name=None, owner="crashed")  # fmt: skip
    portal: Any = FakePortal(*([_user(status=status)] if status else []))
    settled = reconcile(portal, records, _held(records))
    assert settled.outcome == state and settled.notice == notice
    assert _held(records).state == state


# -- end to end -----------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("violation", ["logout", "restrict"])
def test_the_allowlist_does_not_act_on_old_off_list_logins(
    simulator: SimulatorServer, aws: LocalAws, monkeypatch: pytest.MonkeyPatch, violation: str
) -> None:
    # The planted off-list logins are 20 to 22 hours old: past a 1-hour bound.
    point_at(
        monkeypatch,
        simulator,
        aws,
        PORTAL_SYNC="off",
        ON_VIOLATION=violation,
        MODE="enforce",
        SUPPRESSION_HOURS=1,
    )
    planted = simulator.scenario.planted
    for user_id, entries in planted.allowlists.items():
        registration = {"userId": user_id, "allowedIps": list(entries)}
        invoke("ip_allowlist", registration, attribute="register_handler")
    run("ip_allowlist", scheduled(iso(utc_now())))
    flagged = [f for f in aws.findings() if f["kind"] == "ip_not_allowed"]
    assert {f["user"]["id"] for f in flagged} == {p.user_id for p in planted.off_allowlist_logins}
    for finding in flagged:
        [action] = finding["actions"]
        assert action["status"] == "skipped" and "reported only" in action["detail"]
    assert simulator.stats.requests[LOGOUT_ROUTE] == 0 and simulator.stats.requests[STATUS] == 0
    assert all(
        simulator.scenario.user_by_id(p.user_id).status == 1 for p in planted.off_allowlist_logins
    )


def test_a_lapsed_logout_claim_of_another_run_is_never_taken_over(aws: LocalAws) -> None:
    # Run A claimed the log-out, called the portal and died before confirming; its lease ran
    # out. A later run re-reading the same login must not log the user out a second time.
    clock = [NOW]
    store = StateStore(aws.table_name, client=aws.dynamodb, clock=lambda: clock[0])
    portal: Any = FakePortal(_user())
    key = state_keys.logout(USER, "7")
    assert store.claim(*key, "run-A", until=NOW + timedelta(days=1), lease=timedelta(minutes=15))
    portal.logout_all(USER)
    clock[0] = NOW + timedelta(minutes=20)
    later = Gate(portal, RestrictionStore(store), ENFORCE, source="t", owner="run-B")
    action = later.act(_logout_on("7"))
    assert action.status == "skipped" and "may have done it" in action.detail
    assert portal.calls.count(f"logout {USER}") == 1


def test_a_user_id_the_client_refuses_is_nobody_to_act_on_not_a_failed_run(
    records: RestrictionStore,
) -> None:
    """An audit event naming "not-a-guid" as its user reaches the gate: no action, no
    exception that would fail the run on every retry."""
    from docspace_sentinel.docspace.client import guid

    class Strict(FakePortal):
        def user(self, user_id: str) -> User:
            guid(user_id)  # the real client refuses what is not a GUID (ValueError)
            return super().user(user_id)

    portal: Any = Strict(_user())
    action = _gate(portal, records).act(ActionRequest(DISABLE, "not-a-guid", NOW, "f", "why"))
    assert action.status == "skipped" and "status 2" not in portal.calls
