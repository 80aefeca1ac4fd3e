"""The canonical finding record: identity, round trip, renderings and trimming."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from docspace_sentinel.docspace.errors import MalformedRecord
from docspace_sentinel.findings.finding import ActionTaken, Finding, RoomRef, Severity, UserRef
from docspace_sentinel.findings.normalize import FIELD_MAX_CHARS
from docspace_sentinel.findings.render import CHATBOT_DESCRIPTION_LIMIT

PORTAL = "https://portal.example.com"
USER_ID = "6b1e1f5a-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
START = datetime(2026, 11, 4, tzinfo=UTC)
END = datetime(2026, 11, 5, tzinfo=UTC)


def make_finding(**overrides: object) -> Finding:
    fields: dict[str, object] = {
        "workflow": "vdr_activity",
        "kind": "vdr_high_activity",
        "severity": Severity.HIGH,
        "title": "Unusually high activity in Deal Room",
        "summary": "Jane Doe opened 152 files in a VDR, 9.4 standard deviations above her baseline.",
        "dedup": (USER_ID, "4512", "2026-11-04"),
        "portal_url": PORTAL,
        "user": UserRef(USER_ID, "Jane Doe", "jane@example.com"),
        "room": RoomRef(4512, "Deal Room"),
        "period_start": START,
        "period_end": END,
        "evidence": {
            "events": 152,
            "distinctFiles": 97,
            "zScore": 9.4,
            "sampleEventIds": list(range(1000, 1152)),
            "firstSeen": datetime(2026, 11, 4, 9, 30, tzinfo=timezone(timedelta(hours=3))),
        },
        "context": {"logins": {"count": 3, "ips": ("203.0.113.9", "198.51.100.7")}},
        "actions": (ActionTaken("disable_user", USER_ID, "proposed", "dry run"),),
        "created_at": datetime(2026, 11, 5, 0, 5, 12, 345678, tzinfo=UTC),
    }
    fields.update(overrides)
    return Finding(**fields)  # type: ignore[arg-type]


class TestFingerprint:
    def test_is_32_hex_chars(self) -> None:
        fp = make_finding().fingerprint
        assert len(fp) == 32
        int(fp, 16)

    def test_ignores_times_evidence_context_and_actions(self) -> None:
        base = make_finding()
        other = make_finding(
            severity=Severity.CRITICAL,
            summary="changed",
            period_start=START - timedelta(days=1),
            period_end=END + timedelta(hours=1),
            evidence={"events": 999},
            context={},
            actions=(),
            created_at=datetime(2027, 1, 1, tzinfo=UTC),
        )
        assert other.fingerprint == base.fingerprint

    @pytest.mark.parametrize(
        "overrides",
        [
            {"dedup": (USER_ID, "4512", "2026-11-05")},
            {"dedup": ("someone-else", "4512", "2026-11-04")},
            {"kind": "brute_force"},
            {"workflow": "login_audit"},
            # Parts are kept apart: joining them must not collide.
            {"dedup": (f"{USER_ID}|4512", "2026-11-04")},
        ],
    )
    def test_differs_across_identity(self, overrides: dict[str, object]) -> None:
        assert make_finding(**overrides).fingerprint != make_finding().fingerprint

    def test_dedup_parts_become_strings(self) -> None:
        assert make_finding(dedup=(USER_ID, 4512, "2026-11-04")).dedup == (
            USER_ID,
            "4512",
            "2026-11-04",
        )
        assert make_finding(dedup=(USER_ID, 4512, "2026-11-04")) == make_finding()

    def test_is_the_hash(self) -> None:
        assert len({make_finding(), make_finding()}) == 1


class TestValidation:
    def test_empty_dedup_is_refused(self) -> None:
        with pytest.raises(ValueError, match="dedup"):
            make_finding(dedup=())

    def test_naive_datetime_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            make_finding(period_start=datetime(2026, 11, 4))

    def test_severity_from_string(self) -> None:
        assert make_finding(severity="medium").severity is Severity.MEDIUM

    def test_severity_rank_orders(self) -> None:
        ranks = [s.rank for s in (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)]
        assert ranks == sorted(ranks)

    def test_times_are_converted_to_utc(self) -> None:
        moscow = timezone(timedelta(hours=3))
        finding = make_finding(period_start=datetime(2026, 11, 4, 3, 0, tzinfo=moscow))
        assert finding.period_start == datetime(2026, 11, 4, 0, 0, tzinfo=UTC)
        assert finding.period_start is not None and finding.period_start.tzinfo is UTC


class TestCanonicalDict:
    def test_shape(self) -> None:
        d = make_finding().to_dict()
        assert d["schemaVersion"] == 1
        assert d["id"] == make_finding().fingerprint
        assert d["severity"] == "high"
        assert d["user"] == {"id": USER_ID, "name": "Jane Doe", "email": "jane@example.com"}
        assert d["room"] == {"id": 4512, "title": "Deal Room"}
        assert d["period"] == {"start": "2026-11-04T00:00:00Z", "end": "2026-11-05T00:00:00Z"}
        assert d["createdAt"] == "2026-11-05T00:05:12.345678Z"
        assert d["portalUrl"] == PORTAL
        assert d["actions"] == [
            {"action": "disable_user", "target": USER_ID, "status": "proposed", "detail": "dry run"}
        ]

    def test_evidence_and_context_are_json_safe(self) -> None:
        d = make_finding(
            evidence={"when": datetime(2026, 11, 4, 12, tzinfo=UTC), "ids": {3, 1, 2}, 7: "x"},
        ).to_dict()
        assert d["evidence"] == {"when": "2026-11-04T12:00:00Z", "ids": [1, 2, 3], "7": "x"}
        assert d["context"]["logins"]["ips"] == ["203.0.113.9", "198.51.100.7"]
        assert d["evidence"]["when"].endswith("Z")
        json.dumps(d, allow_nan=False)

    def test_a_record_in_evidence_becomes_an_object(self) -> None:
        d = make_finding(evidence={"who": UserRef(USER_ID, "Jo", None)}).to_dict()
        assert d["evidence"]["who"] == {"id": USER_ID, "name": "Jo", "email": None}

    def test_evidence_keeps_local_offset_as_utc(self) -> None:
        assert make_finding().evidence["firstSeen"] == "2026-11-04T06:30:00Z"

    def test_caller_mutation_does_not_leak_in(self) -> None:
        evidence: dict[str, object] = {"events": 1, "ids": [1]}
        finding = make_finding(evidence=evidence)
        evidence["events"] = 2
        assert finding.evidence["events"] == 1

    def test_missing_parts_are_null(self) -> None:
        d = make_finding(user=None, room=None, period_start=None, period_end=None).to_dict()
        assert d["user"] is None
        assert d["room"] is None
        assert d["period"] == {"start": None, "end": None}


class TestRoundTrip:
    @pytest.mark.parametrize(
        "overrides",
        [
            {},
            {"user": None, "room": None, "period_start": None, "period_end": None},
            {"room": RoomRef(None, "Unknown room"), "actions": ()},
            {"title": "Активность в комнате «Сделка» — 北京"},
        ],
    )
    def test_to_dict_from_dict(self, overrides: dict[str, object]) -> None:
        finding = make_finding(**overrides)
        assert Finding.from_dict(finding.to_dict()) == finding

    def test_through_json_text(self) -> None:
        finding = make_finding()
        again = Finding.from_json(finding.to_json())
        assert again == finding
        assert again.fingerprint == finding.fingerprint

    def test_unknown_schema_version_is_refused(self) -> None:
        d = make_finding().to_dict() | {"schemaVersion": 2}
        with pytest.raises(MalformedRecord, match="schemaVersion"):
            Finding.from_dict(d)

    def test_missing_field_is_malformed(self) -> None:
        d = make_finding().to_dict()
        del d["kind"]
        with pytest.raises(MalformedRecord, match="kind"):
            Finding.from_dict(d)

    def test_with_actions_appends(self) -> None:
        finding = make_finding()
        done = ActionTaken("disable_user", USER_ID, "done")
        updated = finding.with_actions(done)
        assert updated.actions == (*finding.actions, done)
        assert updated.fingerprint == finding.fingerprint
        assert finding.actions == make_finding().actions


class TestRenderText:
    def test_contains_the_key_facts(self) -> None:
        text = make_finding().render_text()
        for fact in (
            "Unusually high activity in Deal Room",
            "HIGH",
            "152 files",
            "Jane Doe <jane@example.com> (" + USER_ID + ")",
            "Deal Room (#4512)",
            "2026-11-04T00:00:00Z to 2026-11-05T00:00:00Z",
            "Events:",
            "disable_user",
            "proposed (dry run, not applied)",
            PORTAL,
            make_finding().fingerprint,
            "203.0.113.9, 198.51.100.7",
        ):
            assert fact in text, fact

    def test_long_lists_are_cut(self) -> None:
        text = make_finding().render_text()
        assert "1000, 1001," in text
        assert "… and 142 more" in text
        assert "1151" not in text

    def test_evidence_is_aligned(self) -> None:
        lines = make_finding().render_text().splitlines()
        start = lines.index("Evidence") + 1
        evidence = lines[start : start + 4]  # the event ids are in the appendix
        colons = {line.index(":") for line in evidence}
        values = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in evidence}
        assert len(values) == 1, evidence
        assert colons  # every line is key: value

    def test_no_none_for_missing_parts(self) -> None:
        text = make_finding(
            user=UserRef(USER_ID),
            room=RoomRef(None),
            period_start=None,
            period_end=None,
            evidence={"note": None, "events": 3},
            context={},
            actions=(),
        ).render_text()
        assert "None" not in text
        assert "Period" not in text
        assert "Context" not in text

    def test_trimmed_lists_show_what_was_dropped(self) -> None:
        text = make_finding().trimmed(5).render_text()
        assert "… and 147 more" in text
        assert "sampleEventIdsTruncated" not in text

    def test_lists_of_records(self) -> None:
        logins = [{"ip": f"10.0.0.{i}", "ok": i % 2 == 0} for i in range(12)]
        text = make_finding(context={"logins": logins}).render_text()
        # a short table with human labels (one row per record)
        assert "    IP address | Ok" in text
        assert "    10.0.0.0   | yes" in text
        assert "… and 2 more" in text


class TestRenderChatbot:
    def test_schema_shape(self) -> None:
        finding = make_finding()
        note = finding.render_chatbot()
        assert note["version"] == "1.0"
        assert note["source"] == "custom"
        assert note["id"] == finding.fingerprint
        content = note["content"]
        assert content["textType"] == "client-markdown"
        assert "Unusually high activity in Deal Room" in content["title"]
        assert "152 files" in content["description"]
        assert all(isinstance(step, str) for step in content["nextSteps"])
        assert any(PORTAL in step for step in content["nextSteps"])
        meta = note["metadata"]
        assert meta["threadId"] == finding.fingerprint
        assert meta["summary"] == finding.title
        assert meta["eventType"] == "vdr_high_activity"
        assert meta["relatedResources"] == [
            PORTAL,
            f"{PORTAL}/accounts/people/filter?search=jane@example.com",
            f"{PORTAL}/rooms/shared/4512/filter?folder=4512",
        ]
        assert meta["additionalContext"]["workflow"] == "vdr_activity"
        assert meta["additionalContext"]["severity"] == "high"
        assert meta["additionalContext"]["userId"] == USER_ID
        assert all(isinstance(v, str) for v in meta["additionalContext"].values())
        json.dumps(note)

    def test_description_fits_a_slack_section(self) -> None:
        evidence = {f"counter{i:03}": i for i in range(400)} | {"ids": list(range(10_000))}
        note = make_finding(summary="x" * 5000, evidence=evidence).render_chatbot()
        assert len(note["content"]["description"]) <= CHATBOT_DESCRIPTION_LIMIT

    def test_no_user_no_user_id(self) -> None:
        note = make_finding(user=None).render_chatbot()
        assert "userId" not in note["metadata"]["additionalContext"]
        assert "None" not in note["content"]["description"]

    def test_untrusted_names_cannot_mention_the_channel(self) -> None:
        user = UserRef(USER_ID, "<!channel> Mallory", "m@example.com")
        description = make_finding(user=user).render_chatbot()["content"]["description"]
        assert "<!channel>" not in description
        assert "&lt;!channel&gt; Mallory" in description


class TestTrimmed:
    def test_cuts_samples_and_keeps_counts(self) -> None:
        finding = make_finding()
        cut = finding.trimmed(20)
        assert cut.evidence["events"] == 152
        assert cut.evidence["distinctFiles"] == 97
        assert cut.evidence["sampleEventIds"] == list(range(1000, 1020))
        assert cut.evidence["sampleEventIdsTruncated"] == 132
        # Short lists are untouched and get no marker.
        assert cut.context["logins"]["ips"] == ["203.0.113.9", "198.51.100.7"]
        assert "ipsTruncated" not in cut.context["logins"]
        assert cut.fingerprint == finding.fingerprint
        assert finding.evidence["sampleEventIds"] == list(range(1000, 1152))

    def test_nested_lists_and_records_in_lists(self) -> None:
        context = {
            "logins": {
                "count": 40,
                "events": [{"id": i, "ips": ["a", "b", "c"]} for i in range(40)],
            }
        }
        cut = make_finding(context=context).trimmed(2)
        logins = cut.context["logins"]
        assert logins["count"] == 40
        assert len(logins["events"]) == 2
        assert logins["eventsTruncated"] == 38
        assert logins["events"][0] == {"id": 0, "ips": ["a", "b"], "ipsTruncated": 1}

    def test_repeated_trims_add_up(self) -> None:
        cut = make_finding().trimmed(100).trimmed(5)
        assert cut.evidence["sampleEventIds"] == list(range(1000, 1005))
        assert cut.evidence["sampleEventIdsTruncated"] == 147

    def test_to_zero(self) -> None:
        cut = make_finding().trimmed(0)
        assert cut.evidence["sampleEventIds"] == []
        assert cut.evidence["sampleEventIdsTruncated"] == 152

    def test_max_chars_shortens_strings(self) -> None:
        cut = make_finding(evidence={"events": 1, "note": "y" * 500}).trimmed(0, max_chars=50)
        assert len(cut.evidence["note"]) == 50
        assert cut.evidence["events"] == 1


def test_huge_portal_values_are_bounded_so_the_finding_is_published_trimmed() -> None:
    # Before, a huge name, e-mail, room title or dedup part (portal text) was never cut, so
    # the request stayed over the SNS limit and only the degraded message went out.
    from docspace_sentinel.findings.publisher import FindingPublisher
    from docspace_sentinel.findings.sns_request import SNS_MAX_BYTES, request_size

    huge = "x" * 300_000
    finding = make_finding(
        user=UserRef(USER_ID, "Mallory " + huge, huge + "@evil.example"),
        room=RoomRef(4512, "Deal " + huge),
        dedup=(USER_ID, "typed login " + huge),
    )
    assert len(finding.user.name) == len(finding.user.email) == FIELD_MAX_CHARS
    assert finding.user.name.startswith("Mallory x") and finding.user.name.endswith("…")
    assert len(finding.room.title) == FIELD_MAX_CHARS
    assert all(len(p) <= FIELD_MAX_CHARS for p in finding.dedup)
    assert Finding.from_json(finding.to_json()) == finding  # bounded once, stable after

    publisher = FindingPublisher("arn:aws:sns:eu-west-1:123456789012:t", sns_client=object())
    request = publisher.build_request(finding)
    assert request_size(request) <= SNS_MAX_BYTES
    assert "degraded" not in request["MessageAttributes"]


def test_bounding_keeps_normal_fingerprints_and_tells_long_parts_apart() -> None:
    normal = make_finding()
    material = json.dumps(["vdr_activity", "vdr_high_activity", USER_ID, "4512", "2026-11-04"])
    assert normal.fingerprint == hashlib.sha256(material.encode()).hexdigest()[:32]
    at_limit = "y" * FIELD_MAX_CHARS
    assert make_finding(dedup=(at_limit,)).dedup == (at_limit,)
    # parts equal up to the cut but different after it stay different findings
    first = make_finding(dedup=("z" * 1000 + "a",))
    second = make_finding(dedup=("z" * 1000 + "b",))
    assert first.fingerprint != second.fingerprint


def test_a_follow_up_names_the_finding_it_follows_and_round_trips() -> None:
    from docspace_sentinel.findings.finding import FollowRef

    original = Finding(
        workflow="bulk_change_guard", kind="bulk_file_change", severity=Severity.HIGH,
        title="t", summary="s", dedup=("u", "d"), portal_url="https://p.example",
    )  # fmt: skip
    follow = Finding(
        workflow="restriction_release", kind="restriction_lifted", severity=Severity.LOW,
        title="lifted", summary="s", dedup=("u",), portal_url="https://p.example",
        follows=FollowRef(original.fingerprint, original.title),
    )  # fmt: skip
    record = follow.to_dict()
    assert record["follows"] == {"id": original.fingerprint, "title": "t"}
    assert Finding.from_dict(record) == follow
    assert (
        original.to_dict()["follows"] is None and Finding.from_dict(original.to_dict()) == original
    )
