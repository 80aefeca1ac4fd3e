"""The administrators' ``allowlist`` commands against moto and the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from docspace_sentinel.state.store import StateStore
from docspace_sentinel.workflows.ip_allowlist.store import AllowlistStore
from local.aws import LocalAws
from local.cli import main
from local.simulator.model import IpRestriction
from local.simulator.server import SimulatorServer
from tests.e2e import point_at

pytestmark = pytest.mark.e2e

PUT = "PUT /api/2.0/settings/iprestrictions"


def _users(sim: SimulatorServer, n: int) -> list[str]:
    s = sim.scenario
    return [
        u.id
        for u in s.users
        if u.status == 1 and not (u.is_admin or u.is_owner) and u.id != s.layout.key_user_id
    ][:n]


def _stored(aws: LocalAws) -> dict[str, tuple[str, ...]]:
    records = AllowlistStore(StateStore(aws.table_name, client=aws.dynamodb))
    return {a.user_id: a.entries for a in records.all()}


def _out(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_replace_add_remove_and_list(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    (user_id,) = _users(simulator, 1)
    email = simulator.scenario.user_by_id(user_id).email
    assert main(["allowlist", "replace", user_id, "203.0.113.10", "198.51.100.0/24"]) == 0
    answer = _out(capsys)
    assert isinstance(answer, dict) and answer["entries"] == ["203.0.113.10", "198.51.100.0/24"]
    assert answer["updatedBy"].startswith("cli:")

    assert main(["allowlist", "add", email, "2001:DB8::1"]) == 0  # by email
    assert _out(capsys)["added"] == ["2001:db8::1"]  # type: ignore[index]
    assert main(["allowlist", "remove", user_id, "198.51.100.0/24"]) == 0
    assert _out(capsys)["removed"] == ["198.51.100.0/24"]  # type: ignore[index]
    assert _stored(aws) == {user_id: ("203.0.113.10", "2001:db8::1")}

    assert main(["allowlist", "list"]) == 0
    listed = _out(capsys)
    assert isinstance(listed, list) and [a["userId"] for a in listed] == [user_id]
    assert main(["allowlist", "list", user_id]) == 0
    assert _out(capsys)["entries"] == ["203.0.113.10", "2001:db8::1"]  # type: ignore[index]

    assert main(["allowlist", "remove", user_id, "--all"]) == 0
    assert _stored(aws) == {}
    assert main(["allowlist", "list", user_id]) == 1


def test_a_bad_entry_is_an_error_naming_it_and_stores_nothing(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws)
    (user_id,) = _users(simulator, 1)
    assert main(["allowlist", "replace", user_id, "203.0.113.10", "999.1.1.1", "fe80::1%eth0"]) == 2
    err = capsys.readouterr().err
    assert "'999.1.1.1'" in err and "'fe80::1%eth0'" in err and "zone index" in err
    assert _stored(aws) == {}


def test_import_json_and_csv(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS="192.0.2.1")
    first, second, third = _users(simulator, 3)
    third_email = simulator.scenario.user_by_id(third).email
    records = [
        {"userId": first, "allowedIps": ["203.0.113.10"]},
        {"userId": second, "allowedIps": ["198.51.100.0-198.51.100.3"]},
    ]
    data = tmp_path / "allowlists.json"
    data.write_text(json.dumps(records))
    assert main(["allowlist", "import", str(data)]) == 0
    answer = _out(capsys)
    assert isinstance(answer, dict) and answer["imported"] == 2
    assert answer["portalSync"]["status"] == "applied"
    assert simulator.stats.requests[PUT] == 1  # one sync for the whole file
    assert len(simulator.scenario.ip_restrictions.entries) == 6

    table = tmp_path / "allowlists.csv"
    table.write_text(
        "userId,email,allowedIps\n"
        f"{first},,203.0.113.11;203.0.113.12\n"
        f",{third_email},2001:db8::/48\n"
        f",{third_email},192.0.2.77\n"
    )
    assert main(["allowlist", "import", str(table)]) == 0
    assert _stored(aws) == {
        first: ("203.0.113.11", "203.0.113.12"),
        second: ("198.51.100.0-198.51.100.3",),
        third: ("2001:db8::/48", "192.0.2.77"),
    }


def test_import_rejects_the_whole_file_for_one_bad_record(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    point_at(monkeypatch, simulator, aws)
    first, second = _users(simulator, 2)
    table = tmp_path / "bad.csv"
    table.write_text(
        "userId,allowedIps\n"
        f"{first},203.0.113.10\n"
        f"{second},203.0.113.0/16 10.0.0.5-10.0.0.1\n"
        "not-a-guid,203.0.113.10\n"
    )
    assert main(["allowlist", "import", str(table)]) == 2
    err = capsys.readouterr().err
    assert "record 2" in err and "'203.0.113.0/16'" in err and "'10.0.0.5-10.0.0.1'" in err
    assert "record 3" in err and "GUID" in err
    assert _stored(aws) == {}

    missing = tmp_path / "nobody.json"
    missing.write_text(json.dumps([{"email": "nobody@example.com", "allowedIps": ["192.0.2.1"]}]))
    assert main(["allowlist", "import", str(missing)]) == 2
    assert "matches no portal user" in capsys.readouterr().err
    assert _stored(aws) == {}


def test_sync_command_reports_the_plan(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    (user_id,) = _users(simulator, 1)
    assert main(["allowlist", "replace", user_id, "203.0.113.10"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("PORTAL_SYNC", "dry-run")
    assert main(["allowlist", "sync"]) == 0
    answer = _out(capsys)
    assert isinstance(answer, dict) and answer["status"] == "planned"
    assert answer["diff"]["add"] == ["203.0.113.10"]
    assert [f["kind"] for f in aws.findings()] == ["ip_sync_planned"]
    assert simulator.stats.requests[PUT] == 0


def test_import_refuses_a_file_naming_one_user_twice(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="off")
    first, second = _users(simulator, 2)
    email = simulator.scenario.user_by_id(first).email
    records = [
        {"userId": first, "allowedIps": ["203.0.113.10"]},
        {"userId": second, "allowedIps": ["198.51.100.7"]},
        {"email": email.upper(), "allowedIps": ["203.0.113.11"]},
    ]
    data = tmp_path / "twice.json"
    data.write_text(json.dumps(records))
    assert main(["allowlist", "import", str(data)]) == 2
    err = capsys.readouterr().err
    assert f"records 1 and 3 both name user {first}" in err
    assert _stored(aws) == {}

    table = tmp_path / "twice.csv"
    table.write_text(f"userId,email,allowedIps\n{first},,203.0.113.10\n,{email},203.0.113.11\n")
    assert main(["allowlist", "import", str(table)]) == 2
    assert "records 1 and 2 both name user" in capsys.readouterr().err
    assert _stored(aws) == {}


def test_sync_confirm_remove_lets_an_always_allowed_address_go(
    simulator: SimulatorServer,
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, simulator, aws, PORTAL_SYNC="enforce", ALWAYS_ALLOWED_IPS="192.0.2.1")
    restrictions = simulator.scenario.ip_restrictions
    restrictions.entries = [IpRestriction(1, "192.0.2.50", False)]
    restrictions.next_id, restrictions.enable = 2, True
    (user_id,) = _users(simulator, 1)
    assert main(["allowlist", "replace", user_id, "203.0.113.10"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("ALWAYS_ALLOWED_IPS", "192.0.2.2")
    assert main(["allowlist", "sync"]) == 0  # the new address is written, the old one held
    answer = _out(capsys)
    assert isinstance(answer, dict) and answer["status"] == "applied"
    assert answer["diff"]["removalHeldBack"] == ["192.0.2.1"]
    assert {e.ip for e in restrictions.entries} == {
        "192.0.2.50",
        "203.0.113.10",
        "192.0.2.1",
        "192.0.2.2",
    }
    assert main(["allowlist", "sync", "--confirm-remove", "::ffff:192.0.2.1"]) == 0
    assert _out(capsys)["status"] == "applied"  # type: ignore[index]
    assert {e.ip for e in restrictions.entries} == {"192.0.2.50", "203.0.113.10", "192.0.2.2"}
    with pytest.raises(SystemExit):
        main(["allowlist", "sync", "--confirm-remove", "192.0.2.0/24"])
    assert "not a single IP address" in capsys.readouterr().err


def test_migrate_keys_moves_old_layout_allowlists_once(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table written before version 2 (``allow#<userId>`` / ``entries``): every use of the
    allowlists fails naming the command until ``migrate-keys`` has moved them; a second run
    finds nothing; a newer item under the new key wins over an old one."""
    from docspace_sentinel.workflows.ip_allowlist.errors import LegacyAllowlists

    monkeypatch.setenv("STATE_TABLE", aws.table_name)
    store = StateStore(aws.table_name, client=aws.dynamodb)
    old = {"entries": ["203.0.113.10"], "updatedBy": "api", "version": 3}
    store.put({"pk": "allow#aaaa", "sk": "entries", "email": "a@example.com", **old})
    store.put({"pk": "allow#bbbb", "sk": "entries", **old})
    store.put({"pk": "allow", "sk": "bbbb", "entries": ["192.0.2.1"], "version": 1})
    store.put({"pk": "run#other", "sk": "entries"})  # not an allowlist
    with pytest.raises(LegacyAllowlists, match="migrate-keys"):
        AllowlistStore(store).all()
    assert main(["allowlist", "list"]) == 2  # the CLI says so too
    assert "migrate-keys" in capsys.readouterr().err

    assert main(["allowlist", "migrate-keys", "--dry-run"]) == 0
    assert _out(capsys) == {"found": 2, "moved": 0, "superseded": 0, "dryRun": True}
    assert store.get("allow#aaaa", "entries") is not None

    assert main(["allowlist", "migrate-keys"]) == 0
    assert _out(capsys) == {"found": 2, "moved": 1, "superseded": 1, "dryRun": False}
    assert store.get("allow#aaaa", "entries") is None and store.get("allow#bbbb", "entries") is None
    assert store.get("schema", "allowlist-v2") is not None
    listed = {a.user_id: (a.entries, a.email, a.version) for a in AllowlistStore(store).all()}
    assert listed == {
        "aaaa": (("203.0.113.10",), "a@example.com", 3),
        "bbbb": (("192.0.2.1",), None, 1),  # registered since: kept
    }

    assert main(["allowlist", "migrate-keys"]) == 0
    assert _out(capsys) == {"found": 0, "moved": 0, "superseded": 0, "dryRun": False}


def test_a_new_table_needs_no_migration_and_is_scanned_once(aws: LocalAws) -> None:
    store = StateStore(aws.table_name, client=aws.dynamodb)
    calls: list[str] = []
    real = store.call
    store.call = lambda operation, **kw: calls.append(operation) or real(operation, **kw)  # type: ignore[method-assign]
    assert AllowlistStore(store).all() == []
    assert AllowlistStore(store).all() == []
    assert calls == ["get_item", "scan", "put_item", "query", "get_item", "query"]


def test_allowlists_written_by_a_rolled_back_stack_are_found_again(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The marker lapses after a week: old-layout items a rolled-back stack wrote after it are
    then found (the run fails naming the command), and ``migrate-keys`` moves them although the
    marker exists."""
    from docspace_sentinel.workflows.ip_allowlist.errors import LegacyAllowlists
    from docspace_sentinel.workflows.ip_allowlist.migration import MARKER_VALID_FOR

    monkeypatch.setenv("STATE_TABLE", aws.table_name)
    clock = [datetime.now(UTC)]
    store = StateStore(aws.table_name, client=aws.dynamodb, clock=lambda: clock[0])
    assert AllowlistStore(store).all() == []  # the upgraded stack's first use: marker written
    store.put({"pk": "allow#aaaa", "sk": "entries", "entries": ["203.0.113.0/24"], "version": 1})
    clock[0] += MARKER_VALID_FOR + timedelta(minutes=1)
    with pytest.raises(LegacyAllowlists, match="migrate-keys"):
        AllowlistStore(store).all()
    assert main(["allowlist", "migrate-keys"]) == 0
    assert _out(capsys) == {"found": 1, "moved": 1, "superseded": 0, "dryRun": False}
    assert [a.user_id for a in AllowlistStore(store).all()] == ["aaaa"]
