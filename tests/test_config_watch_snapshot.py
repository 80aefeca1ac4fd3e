"""Settings snapshots: reading section by section, and the diff rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import responses

from docspace_sentinel.docspace.errors import AuthError
from docspace_sentinel.docspace.transport import RetryPolicy
from docspace_sentinel.findings.finding import Severity
from docspace_sentinel.workflows.config_watch import snapshot as snap
from docspace_sentinel.workflows.config_watch.snapshot import Snapshot, diff, read_snapshot
from tests.support import API, envelope, make_client

ADMIN = "0b8e1b5e-1111-4c2d-9f3a-0a1b2c3d4e5f"
OTHER = "0b8e1b5e-2222-4c2d-9f3a-0a1b2c3d4e5f"
HOSTILE = "Hook\n<script>alert(1)</script> @channel ‮"


def base() -> dict[str, Any]:
    return {
        "ip_restrictions": {"enabled": True, "entries": [["10.0.0.1", False]]},
        "webhook": {
            "3": {
                "name": "Sentinel",
                "host": "abc.lambda-url.on.aws",
                "enabled": True,
                "ssl": True,
                "triggers": 0,
                "createdBy": ADMIN,
            },
        },
        "admins": {ADMIN: "Ada Admin"},
        "owner": ADMIN,
        "tfa": {
            "app": {"enabled": True, "trustedIps": [], "mandatoryUsers": [], "mandatoryGroups": []}
        },
        "password": {"minLength": 12, "upperCase": True, "digits": True, "specSymbols": False},
        "sso": {"enabled": False, "entityId": None},
        "login_settings": {"attemptCount": 5, "blockTime": 60, "checkPeriod": 60},
        "session": {"enabled": False, "lifeTime": 0},
        "dev_tools": {"limitedAccessForUsers": True},
        "trusted_domains": {"type": 0, "domains": []},
        "audit_settings": {"loginHistoryLifeTime": 180, "auditTrailLifeTime": 180},
    }


def changed(**edits: Any) -> Snapshot:
    sections = copy.deepcopy(base())
    sections.update(edits)
    return Snapshot(sections, {})


BEFORE = Snapshot(base(), {})


def only(changes: list[snap.SnapshotChange]) -> snap.SnapshotChange:
    assert len(changes) == 1, changes
    return changes[0]


def test_first_snapshot_reports_nothing() -> None:
    assert diff(None, BEFORE) == []


def test_same_snapshot_reports_nothing() -> None:
    assert diff(BEFORE, Snapshot(base(), {})) == []


def test_new_webhook_is_high_with_its_host_and_creator() -> None:
    hooks = copy.deepcopy(base()["webhook"])
    hooks["12"] = {"name": HOSTILE, "host": "evil.example.net", "enabled": True, "ssl": True,
                   "triggers": 0, "createdBy": OTHER}  # fmt: skip
    change = only(diff(BEFORE, changed(webhook=hooks)))
    assert (change.subject, change.key, change.change) == ("webhook", "12", "created")
    assert change.severity is Severity.HIGH and change.actor == OTHER
    assert "evil.example.net" in change.summary
    assert HOSTILE in change.summary or repr(HOSTILE) in change.summary  # data, passed through
    assert change.after["name"] == HOSTILE


def test_webhook_host_change_is_medium_and_delete_is_reported() -> None:
    hooks = copy.deepcopy(base()["webhook"])
    hooks["3"]["host"] = "attacker.example.com"
    change = only(diff(BEFORE, changed(webhook=hooks)))
    assert (change.change, change.severity) == ("changed", Severity.MEDIUM)
    change = only(diff(BEFORE, changed(webhook={})))
    assert (change.change, change.key, change.severity) == ("deleted", "3", Severity.MEDIUM)
    assert change.actor is None  # the creator did not necessarily delete it


def test_ip_restrictions_switched_off_is_high() -> None:
    change = only(diff(BEFORE, changed(ip_restrictions={"enabled": False, "entries": [
        ["10.0.0.1", False]]})))  # fmt: skip
    assert (change.subject, change.change, change.severity) == (
        "ip_restrictions", "disabled", Severity.HIGH)  # fmt: skip


def test_ip_restrictions_emptied_while_enabled_is_high() -> None:
    change = only(diff(BEFORE, changed(ip_restrictions={"enabled": True, "entries": []})))
    assert change.severity is Severity.HIGH and change.change == "removed"


def test_ip_entry_added_is_medium() -> None:
    entries = [["10.0.0.1", False], ["203.0.113.9", True]]
    change = only(diff(BEFORE, changed(ip_restrictions={"enabled": True, "entries": entries})))
    assert (change.change, change.severity) == ("changed", Severity.MEDIUM)
    assert "1 added" in change.summary


def test_new_admin_is_high_removed_admin_medium() -> None:
    changes = diff(BEFORE, changed(admins={OTHER: HOSTILE}))
    assert [(c.change, c.key, c.severity) for c in changes] == [
        ("added", OTHER, Severity.HIGH), ("removed", ADMIN, Severity.MEDIUM)]  # fmt: skip
    assert HOSTILE in changes[0].summary


def test_owner_change_is_high() -> None:
    change = only(diff(BEFORE, changed(owner=OTHER)))
    assert (change.subject, change.change, change.severity, change.key) == (
        "owner", "changed", Severity.HIGH, OTHER)  # fmt: skip


def test_tfa_switched_off_is_high_and_switched_on_low() -> None:
    off = {"app": {"enabled": False, "trustedIps": [], "mandatoryUsers": [],
                   "mandatoryGroups": []}}  # fmt: skip
    change = only(diff(BEFORE, changed(tfa=off)))
    assert (change.change, change.severity) == ("disabled", Severity.HIGH)
    change = only(diff(changed(tfa=off), BEFORE))
    assert (change.change, change.severity) == ("enabled", Severity.LOW)


def test_tfa_trusted_ip_added_is_medium() -> None:
    tfa = copy.deepcopy(base()["tfa"])
    tfa["app"]["trustedIps"] = ["192.0.2.1"]
    assert only(diff(BEFORE, changed(tfa=tfa))).severity is Severity.MEDIUM


def test_password_policy_weakened_medium_strengthened_low() -> None:
    weaker = {"minLength": 8, "upperCase": True, "digits": True, "specSymbols": False}
    change = only(diff(BEFORE, changed(password=weaker)))
    assert (change.change, change.severity) == ("weakened", Severity.MEDIUM)
    change = only(diff(changed(password=weaker), BEFORE))
    assert (change.change, change.severity) == ("strengthened", Severity.LOW)


def test_sso_and_other_settings_are_medium() -> None:
    changes = diff(BEFORE, changed(
        sso={"enabled": True, "entityId": "https://idp"},
        session={"enabled": True, "lifeTime": 100000},
        trusted_domains={"type": 2, "domains": []},
        dev_tools={"limitedAccessForUsers": False},
    ))  # fmt: skip
    assert [(c.subject, c.change, c.severity) for c in changes] == [
        ("sso", "enabled", Severity.MEDIUM),
        ("session", "enabled", Severity.MEDIUM),
        ("dev_tools", "weakened", Severity.MEDIUM),
        ("trusted_domains", "changed", Severity.MEDIUM),
    ]


def test_unreadable_section_on_either_side_gives_no_change() -> None:
    after = Snapshot({k: v for k, v in base().items() if k != "tfa"}, {"tfa": "403 Forbidden"})
    assert diff(BEFORE, after) == []
    assert diff(after, BEFORE) == []
    gone = Snapshot({**base(), "webhook": {}}, {"webhook": "MalformedResponse"})
    assert diff(BEFORE, gone) == []


def test_stored_garbage_is_skipped_not_a_crash() -> None:
    garbage = Snapshot({**base(), "webhook": ["x"], "admins": "y", "tfa": None}, {})
    assert diff(BEFORE, garbage) == []
    assert Snapshot.from_dict("nonsense") == Snapshot({}, {})


def test_order_is_deterministic() -> None:
    after = changed(owner=OTHER, admins={ADMIN: "Ada", OTHER: "Bob"},
                    ip_restrictions={"enabled": False, "entries": []})  # fmt: skip
    assert [c.subject for c in diff(BEFORE, after)] == ["owner", "admins", "ip_restrictions"]
    # the same snapshots with their sections (and the admins) in reversed order: same diff
    backwards = Snapshot(
        {k: (dict(reversed(list(v.items()))) if isinstance(v, dict) else v)
         for k, v in reversed(list(after.sections.items()))},
        {},
    )  # fmt: skip
    assert diff(BEFORE, backwards) == diff(BEFORE, after)


def test_digest_is_stable_across_key_order_and_round_trips() -> None:
    reordered = Snapshot(dict(reversed(list(base().items()))), {})
    assert reordered.digest() == BEFORE.digest()
    assert changed(owner=OTHER).digest() != BEFORE.digest()
    restored = Snapshot.from_dict(BEFORE.to_dict())
    assert restored == BEFORE and restored.digest() == BEFORE.digest()


def test_a_stored_snapshot_with_dynamodb_decimals_has_the_same_digest() -> None:
    from decimal import Decimal

    stored = copy.deepcopy(base())
    stored["password"]["minLength"] = Decimal(12)
    stored["ip_restrictions"]["entries"] = [("10.0.0.1", False)]
    restored = Snapshot.from_dict({"sections": stored, "unreadable": {}})
    assert restored.digest() == BEFORE.digest() and diff(BEFORE, restored) == []
    assert Snapshot.from_dict({"sections": "{not json"}) == Snapshot({}, {})


def test_section_names_are_the_catalogue_subjects() -> None:
    catalogue = pytest.importorskip("docspace_sentinel.workflows.config_watch.catalogue")
    names = {name for name, _ in snap._READERS} | {snap.OWNER, snap.TRUSTED_DOMAINS}
    subjects = {v for k, v in vars(catalogue.Subject).items() if not k.startswith("_")}
    assert names <= subjects


# --- read_snapshot over HTTP stubs ---------------------------------------------------------


def stub_all(**overrides: Any) -> None:
    bodies: dict[str, Any] = {
        "settings/iprestrictions/settings": {"enable": True, "lastModified": "2026-01-01T00:00:00"},
        "settings/iprestrictions": [{"id": 1, "ip": "10.0.0.1", "forAdmin": False}],
        "settings/webhook": [
            {
                "configs": {
                    "id": 3,
                    "name": "S",
                    "uri": "https://H.example/x",
                    "createdBy": {"id": ADMIN},
                },
                "status": 200,
            }
        ],
        "people/filter": [{"id": ADMIN, "displayName": "Ada", "isAdmin": True}],
        "settings/tfaapp": [{"id": "app", "enabled": True}],
        "settings/security/password": {"minLength": 8},
        "settings/ssov2": {"enableSso": False},
        "settings/security/loginSettings": {"attemptCount": 5},
        "settings/cookiesettings": {"enabled": False, "lifeTime": 0},
        "settings/devtoolsaccess": {"limitedAccessForUsers": False},
        "security/audit/settings/lifetime": {"auditTrailLifeTime": 180},
        "settings": {"ownerId": ADMIN, "trustedDomainsType": 0, "trustedDomains": []},
    }
    for path, body in bodies.items():
        if path in overrides:
            status, payload = overrides[path]
            responses.get(f"{API}/{path}", status=status, json=payload)
        else:
            total = len(body) if isinstance(body, list) else None
            responses.get(f"{API}/{path}", json=envelope(body, total=total))


def error(status: int) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": "nope"}, "status": 1, "statusCode": status}


@responses.activate
def test_read_snapshot_reads_every_section() -> None:
    stub_all()
    s = read_snapshot(make_client())
    assert s.unreadable == {}
    assert s.sections["webhook"]["3"]["host"] == "h.example"
    assert s.sections["admins"] == {ADMIN: "Ada"}
    assert s.sections["owner"] == ADMIN
    assert s.sections["ip_restrictions"] == {"enabled": True, "entries": [["10.0.0.1", False]]}


@responses.activate
def test_read_snapshot_marks_403_402_404_and_malformed_sections_unreadable() -> None:
    stub_all(**{
        "settings/ssov2": error(402),
        "settings/cookiesettings": error(403),
        "settings/devtoolsaccess": error(404),
        "settings/security/password": (200, envelope(["not", "an", "object"])),
    })  # fmt: skip
    s = read_snapshot(make_client())
    assert set(s.unreadable) == {"sso", "session", "dev_tools", "password"}
    assert s.unreadable["sso"].startswith("402")
    assert "sso" not in s.sections and "admins" in s.sections and "tfa" in s.sections


@responses.activate
def test_a_401_fails_the_run_but_one_broken_endpoint_leaves_only_its_section_unread() -> None:
    stub_all(**{"settings/tfaapp": error(401)})
    with pytest.raises(AuthError):
        read_snapshot(make_client())
    responses.reset()
    # A 5xx after the retries: that section is unread this run; the others and the audit
    # path carry on (the section keeps its last value: carry_forward).
    stub_all(**{"settings/tfaapp": error(500)})
    snapshot = read_snapshot(make_client(retry=RetryPolicy(max_attempts=1)))
    assert snapshot.unreadable == {"tfa": "500 ServerError"}
    assert "ip_restrictions" in snapshot.sections and "tfa" not in snapshot.sections


def test_sso_no_longer_checking_the_identity_providers_signatures_is_high() -> None:
    from docspace_sentinel.workflows.config_watch.snapshot import Snapshot, diff

    checked = {"enabled": True, "entityId": "idp", "verifyAuthResponsesSign": True,
               "verifyLogoutRequestsSign": True, "verifyLogoutResponsesSign": True}  # fmt: skip
    unchecked = {**checked, "verifyAuthResponsesSign": False}
    [change] = diff(Snapshot({"sso": checked}, {}), Snapshot({"sso": unchecked}, {}))
    assert (change.change, change.severity) == ("weakened", Severity.HIGH)
    assert "verifyAuthResponsesSign" in change.summary
    # a stored section from before these were read: no change on upgrade
    old = {"enabled": True, "entityId": "idp"}
    assert diff(Snapshot({"sso": old}, {}), Snapshot({"sso": checked}, {})) == []


def test_a_section_unread_for_a_run_keeps_its_last_value_so_the_change_still_shows() -> None:
    from docspace_sentinel.workflows.config_watch.snapshot import Snapshot, carry_forward, diff

    first = Snapshot({"owner": "o1"}, {})
    blind = Snapshot({}, {"owner": "500 ServerError"})
    assert diff(first, blind) == []
    kept = carry_forward(first, blind)
    assert kept.sections == {"owner": "o1"} and kept.unreadable == {}
    [change] = diff(kept, Snapshot({"owner": "o2"}, {}))
    assert (change.subject, change.change, change.after) == ("owner", "changed", "o2")
