"""The configuration watch's own rules: settings, which events are ours, merging both paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from docspace_sentinel.docspace.models import AuditEvent
from docspace_sentinel.findings.finding import Severity
from docspace_sentinel.runtime.errors import ConfigError
from docspace_sentinel.state import journal
from docspace_sentinel.state.journal import OwnAction
from docspace_sentinel.workflows.config_watch.audit import AuditChange
from docspace_sentinel.workflows.config_watch.catalogue import Subject, Watched
from docspace_sentinel.workflows.config_watch.merge import Pending, merge
from docspace_sentinel.workflows.config_watch.ownership import Ownership
from docspace_sentinel.workflows.config_watch.settings import ConfigWatchSettings
from docspace_sentinel.workflows.config_watch.snapshot import Snapshot, SnapshotChange, diff

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEY_USER = "aaaaaaaa-1111-4111-8111-111111111111"
OTHER = "bbbbbbbb-2222-4222-8222-222222222222"
VICTIM = "cccccccc-3333-4333-8333-333333333333"
TEN = timedelta(minutes=10)


def _event(action: int, *, user: str = KEY_USER, at: datetime = T0, target: tuple[str, ...] = (),
           event_id: int = 1) -> AuditEvent:  # fmt: skip
    return AuditEvent(event_id, at, action, user, "Someone", "text", target=target)


def _change(event: AuditEvent, subject: str, target: str = "") -> AuditChange:
    watched = Watched(event.action_id, "Name", Severity.MEDIUM, subject, "meaning", target)
    return AuditChange(event, watched, Severity.MEDIUM, True)


def _snap(subject: str, key: str = "", change: str = "changed") -> SnapshotChange:
    return SnapshotChange(subject, key, change, Severity.HIGH, f"{subject} {change}", 1, 2, None)


# -- settings ---------------------------------------------------------------------------------


def test_severity_overrides_read_per_action_id() -> None:
    settings = ConfigWatchSettings.from_env({"SEVERITY_OVERRIDES": "6094=low, 6028:High"})
    assert dict(settings.severity_overrides) == {6094: Severity.LOW, 6028: Severity.HIGH}
    assert ConfigWatchSettings.from_env({}).severity_overrides == {}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("6094", "items must be <actionId>=<severity>"),
        ("x=high", "items must be"),
        ("6094=urgent", "severity of 6094 must be one of low, medium, high, critical"),
        ("6094=low 6094=high", "gives 6094 two different severities"),
    ],
)
def test_a_bad_override_names_the_setting(value: str, words: str) -> None:
    with pytest.raises(ConfigError, match="SEVERITY_OVERRIDES") as raised:
        ConfigWatchSettings.from_env({"SEVERITY_OVERRIDES": value})
    assert words in str(raised.value)


# -- ownership --------------------------------------------------------------------------------


def test_our_disable_and_ip_sync_are_ours_once_each() -> None:
    entries = [
        OwnAction(journal.DISABLE, VICTIM, T0 - timedelta(seconds=3), "bulk_change_guard"),
        OwnAction(journal.IP_SYNC, journal.PORTAL, T0 + timedelta(minutes=1), "ip_allowlist"),
    ]
    own = Ownership(KEY_USER.upper(), entries, TEN)
    events = [
        _event(6032, target=(VICTIM,), event_id=1),
        _event(4020, target=(VICTIM.upper(),), event_id=2),  # another code: the same entry
        _event(6032, target=(VICTIM,), event_id=3, at=T0 + timedelta(minutes=5)),  # used up
        _event(6094, event_id=4, at=T0 + timedelta(minutes=1, seconds=2)),
        _event(6094, event_id=5, at=T0 + timedelta(minutes=4)),  # a second 6094: not ours
    ]
    assert own.explained(events) == {1: entries[0], 2: entries[0], 4: entries[1]}


def test_not_ours_by_another_user_far_in_time_before_the_note_or_for_another_target() -> None:
    entries = [OwnAction(journal.DISABLE, VICTIM, T0, "bulk_change_guard")]
    own = Ownership(KEY_USER, entries, TEN)
    assert own.explained([_event(6032, user=OTHER)]) == {}
    assert own.explained([_event(6032, at=T0 + timedelta(minutes=11), target=(VICTIM,))]) == {}
    # our event comes after our note: one well before it is someone else's, holding our key
    assert own.explained([_event(6032, at=T0 - timedelta(minutes=8), target=(VICTIM,))]) == {}
    assert own.explained([_event(6032, target=(OTHER,))]) == {}
    assert own.explained([_event(6009)]) == {}  # not a code we write
    assert own.by_key_user(_event(6009))


def test_an_entry_goes_to_the_event_closest_to_it() -> None:
    """An intruder's 6094 with our key a minute before our sync's own does not take its note."""
    entries = [OwnAction(journal.IP_SYNC, journal.PORTAL, T0, "ip_allowlist")]
    intruder = _event(6094, at=T0 - timedelta(seconds=50), event_id=1)
    ours = _event(6094, at=T0 + timedelta(seconds=1), event_id=2)
    assert Ownership(KEY_USER, entries, TEN).explained([intruder, ours]) == {2: entries[0]}


# -- merge ------------------------------------------------------------------------------------


def test_a_snapshot_change_joins_the_audit_event_that_explains_it() -> None:
    hook = _change(_event(6055, user=OTHER, target=("17",), event_id=5), Subject.WEBHOOK, "webhook")
    other_hook = _change(
        _event(6055, user=OTHER, target=("18",), event_id=6), Subject.WEBHOOK, "webhook"
    )
    pending = [Pending(_snap(Subject.WEBHOOK, "17", "created"), T0 - timedelta(hours=1), T0)]
    merged = merge([other_hook, hook], pending, audit_read_until=T0, lag=TEN)
    assert merged.confirmed == {5: [pending[0].change]}
    assert merged.alone == merged.waiting == []


def test_a_user_type_change_explains_a_new_admin() -> None:
    raised = _change(_event(4019, user=OTHER, target=(VICTIM,), event_id=9), Subject.USER_TYPE)
    pending = [Pending(_snap(Subject.ADMINS, VICTIM.upper(), "added"), None, T0)]
    assert merge([raised], pending, audit_read_until=T0, lag=TEN).confirmed == {
        9: [pending[0].change]
    }


def test_a_change_is_never_blamed_on_an_event_made_after_it_was_seen() -> None:
    """Restrictions seen off at T0: the admin who switched them back on at T0 + 30 min is not
    the one who switched them off."""
    pending = [Pending(_snap(Subject.IP_RESTRICTIONS, "", "disabled"), T0 - timedelta(hours=1), T0)]
    fixer = _change(
        _event(6094, user=OTHER, at=T0 + timedelta(minutes=30)), Subject.IP_RESTRICTIONS
    )
    merged = merge([fixer], pending, audit_read_until=T0 + timedelta(hours=1), lag=TEN)
    assert merged.confirmed == {} and merged.alone == pending


def test_an_unexplained_change_waits_for_the_lag_then_goes_alone() -> None:
    pending = [Pending(_snap(Subject.IP_RESTRICTIONS, "", "disabled"), T0 - timedelta(hours=1), T0)]
    # an older event of the same subject (before the previous snapshot) explains nothing
    old = _change(_event(6094, user=OTHER, at=T0 - timedelta(hours=2)), Subject.IP_RESTRICTIONS)
    waiting = merge([old], pending, audit_read_until=T0 + timedelta(minutes=5), lag=TEN)
    assert waiting.waiting == pending and waiting.alone == []
    later = merge([], pending, audit_read_until=T0 + TEN, lag=TEN)
    assert later.alone == pending and later.waiting == []


def test_without_an_audit_trail_every_change_goes_alone_at_once() -> None:
    pending = [Pending(_snap(Subject.WEBHOOK, "3", "created"), None, T0)]
    merged = merge(None, pending, audit_read_until=None, lag=TEN)
    assert merged.alone == pending


def test_the_documented_catalogue_is_the_catalogue() -> None:
    """docs/config-watch.md lists every watched action with its default severity."""
    import re
    from pathlib import Path

    from docspace_sentinel.workflows.config_watch.catalogue import CATALOGUE

    text = Path(__file__).resolve().parent.parent.joinpath("docs", "config-watch.md").read_text()
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (\w+) \| (LOW|MEDIUM|HIGH|CRITICAL)", text, re.M)
    documented = {int(code): (name, subject, level.lower()) for code, name, subject, level in rows}
    expected = {code: (w.name, w.subject, w.severity.value) for code, w in CATALOGUE.items()}
    assert documented == expected


def test_our_ip_sync_absorbs_only_the_list_it_wrote() -> None:
    """A snapshot change still waiting for its event is dropped as ours only when the list and
    switch now are what our sync noted it wrote; an intruder's switch-off is kept."""
    from types import SimpleNamespace
    from typing import Any

    from docspace_sentinel.docspace.models.ip_restrictions import list_digest
    from docspace_sentinel.workflows.config_watch import Sorted, _merge

    entries = [["203.0.113.7", False], ["198.51.100.23", False]]
    ours = {"enabled": True, "entries": entries}
    noted = OwnAction(journal.IP_SYNC, journal.PORTAL, T0, "ip_allowlist",
                      list_digest(True, [(ip, a) for ip, a in entries]))  # fmt: skip
    sync_event = _change(_event(6094, at=T0 + timedelta(seconds=1), event_id=7),
                         Subject.IP_RESTRICTIONS)  # fmt: skip
    sorted_ = Sorted([], [(sync_event, noted)], [], frozenset())
    context: Any = SimpleNamespace(
        scan=SimpleNamespace(completed_until=T0 + timedelta(minutes=5)),
        settings=SimpleNamespace(lag=TEN),
    )

    def waiting(after: dict[str, Any]) -> Pending:
        change = SnapshotChange(Subject.IP_RESTRICTIONS, "", "changed", Severity.MEDIUM,
                                "IP list changed", None, after, None)  # fmt: skip
        return Pending(change, T0 - timedelta(hours=1), T0 + timedelta(minutes=4))

    mine, theirs = waiting(ours), waiting({"enabled": False, "entries": entries})
    merged = _merge(context, sorted_, [mine, theirs])
    assert merged.waiting == [theirs] and merged.alone == [] and merged.confirmed == {}


# -- second review: matching, compaction, carry-over -------------------------------------------


def test_a_password_change_never_takes_the_blame_for_someone_elses_session_change() -> None:
    """X changes the session lifetime; later Y changes their own password (4017 and its cookie
    reset 6032). The session change is X's, not the side effect's."""
    from types import SimpleNamespace
    from typing import Any

    from docspace_sentinel.workflows.config_watch import Sorted, _merge

    real = _change(_event(6032, user=OTHER, at=T0 + timedelta(minutes=10), event_id=1),
                   Subject.SESSION)  # fmt: skip
    reset = _change(_event(6032, user=VICTIM, at=T0 + timedelta(minutes=40), event_id=2),
                    Subject.SESSION)  # fmt: skip
    change = SnapshotChange(Subject.SESSION, "", "changed", Severity.MEDIUM, "s", {}, {}, None)
    pending = [Pending(change, T0, T0 + timedelta(hours=1))]
    context: Any = SimpleNamespace(
        scan=SimpleNamespace(completed_until=T0 + timedelta(hours=2)),
        settings=SimpleNamespace(lag=TEN),
    )
    merged = _merge(context, Sorted([real], [], [reset], frozenset()), pending)
    assert list(merged.confirmed) == [1]


def test_an_own_ip_sync_is_still_recognised_once_its_waiting_change_is_compacted() -> None:
    from types import SimpleNamespace
    from typing import Any

    from docspace_sentinel.docspace.models.ip_restrictions import list_digest
    from docspace_sentinel.workflows.config_watch import Sorted, _merge
    from docspace_sentinel.workflows.config_watch.state import fit

    def listed(n: int) -> dict[str, Any]:
        return {"enabled": True,
                "entries": [[f"10.0.{i // 250}.{i % 250}", False] for i in range(n)]}  # fmt: skip

    after = listed(120)  # more than the state table keeps whole
    change = SnapshotChange(Subject.IP_RESTRICTIONS, "", "changed", Severity.MEDIUM, "c",
                            listed(119), after, None)  # fmt: skip
    _, [stored] = fit(Snapshot({}, {}), [Pending(change, T0 - timedelta(hours=1), T0)])
    assert "sha256" in stored.change.after
    written = list_digest(True, ((e[0], e[1]) for e in after["entries"]))
    own = _change(_event(6094, at=T0, event_id=9), Subject.IP_RESTRICTIONS)
    noted = OwnAction(journal.IP_SYNC, journal.PORTAL, T0, "ip_allowlist", written)
    context: Any = SimpleNamespace(
        scan=SimpleNamespace(completed_until=T0 + timedelta(hours=1)),
        settings=SimpleNamespace(lag=TEN),
    )
    merged = _merge(context, Sorted([], [(own, noted)], [], frozenset()), [stored])
    assert merged.alone == merged.waiting == []


def test_a_shrunk_section_unread_for_a_run_reports_no_change_when_it_comes_back() -> None:
    from docspace_sentinel.workflows.config_watch.snapshot import carry_forward
    from docspace_sentinel.workflows.config_watch.state import comparable, fit

    trusted = [f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}" for i in range(30000)]
    tfa = {"app": {"enabled": True, "trustedIps": trusted}}
    first, _ = fit(Snapshot({"tfa": tfa, "owner": "o"}, {}), [])
    assert "tfa#shrunk" in first.unreadable
    blind = Snapshot({"owner": "o"}, {"tfa": "500 ServerError"})
    second, _ = fit(carry_forward(first, blind), [])
    back = Snapshot({"tfa": tfa, "owner": "o"}, {})
    assert diff(second, comparable(second, back)) == []


def test_a_section_kept_as_a_digest_still_reports_that_it_changed() -> None:
    from docspace_sentinel.workflows.config_watch.state import comparable, fit

    admins = {f"{i:08d}-0000-4000-8000-000000000000": "x" * 250 for i in range(1200)}
    first, _ = fit(Snapshot({"admins": admins}, {}), [])
    more = {**admins, "ffffffff-0000-4000-8000-000000000000": "evil"}
    [change] = diff(first, comparable(first, Snapshot({"admins": more}, {})))
    assert (change.subject, change.change) == ("admins", "changed")
    assert diff(first, comparable(first, Snapshot({"admins": admins}, {}))) == []
