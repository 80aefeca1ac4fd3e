"""Settings fuzzed: every reader gives a valid object or a ``ConfigError`` naming the variable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docspace_sentinel.enforcement import ResponseSettings
from docspace_sentinel.errors import ConfigError
from docspace_sentinel.runner import RunSettings
from docspace_sentinel.settings import ClientSettings
from docspace_sentinel.workflows.bulk_change_guard import GuardSettings
from docspace_sentinel.workflows.inactive_members import InactiveSettings
from docspace_sentinel.workflows.login_audit import LoginAuditSettings
from docspace_sentinel.workflows.vdr_activity import VdrSettings

NASTY = [
    "", " ", "0", "-1", "1", "60", "1e3", "1e400", "nan", "inf", "-inf", "true", "FALSE", "maybe",
    "²", "١٢", "1_0", "0x10", "9" * 5000, "http://example.com", "https://portal.example.com",
    "https://user:pw@portal.example.com", "https://portal.example.com/?x=1", "https://[::1",
    "http://127.0.0.1:8765", "https://portal.example.com:99999", "dry-run", "enforce",
    "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11", "../settings", "5002,FileUpdated", "a@b", "x y@z",
    "\x00", "\n",
]  # fmt: skip
# Inputs that once escaped as a bare ValueError (see the regression test below).
BUG_VALUES = {"²", "9" * 5000}

READERS: dict[str, tuple[Callable[[dict[str, str]], Any], list[str]]] = {
    "client": (
        ClientSettings.from_env,
        ["DOCSPACE_URL", "DOCSPACE_API_KEY", "DOCSPACE_TIMEOUT_SECONDS", "DOCSPACE_MAX_ATTEMPTS",
         "DOCSPACE_RETRY_BUDGET_SECONDS", "DOCSPACE_RETRY_BASE_SECONDS",
         "DOCSPACE_REQUESTS_PER_SECOND"],
    ),
    "run": (
        RunSettings.from_env,
        ["STATE_TABLE", "FINDINGS_TOPIC_ARN", "SCAN_LAG_MINUTES", "INITIAL_LOOKBACK_HOURS",
         "MAX_SCAN_HOURS", "SCAN_SLICE_MINUTES", "SCAN_SLICE_EVENTS", "SUPPRESSION_HOURS",
         "TIME_RESERVE_SECONDS"],
    ),
    "response": (
        ResponseSettings.from_env,
        ["MODE", "PROTECTED_USER_IDS", "MAX_RESTRICTIONS_PER_RUN", "RESTRICTION_MINUTES",
         "PROTECT_LDAP_USERS", "PROTECT_SSO_USERS", "SUPPRESSION_HOURS"],
    ),
    "bulk_change_guard": (
        GuardSettings.from_env,
        ["WINDOW_MINUTES", "FILE_CHANGE_THRESHOLD", "MODE", "MAX_RESTRICTIONS_PER_RUN"],
    ),
    "login_audit": (
        LoginAuditSettings.from_env,
        ["BRUTE_FORCE_FAILURES", "BRUTE_FORCE_WINDOW_MINUTES", "DIGEST_ENABLED", "DIGEST_TOP_USERS"],
    ),
    "vdr_activity": (
        VdrSettings.from_env,
        ["MONITORED_ROOM_IDS", "MAX_EVENTS_PER_USER", "BASELINE_DAYS", "BASELINE_MIN_DAYS",
         "BASELINE_Z", "BASELINE_MIN_EVENTS"],
    ),
    "inactive_members": (
        InactiveSettings.from_env,
        ["ACTIVITY_ACTIONS", "ROOM_IDS", "ROOM_TYPES", "PERIOD_DAYS", "MIN_ACTIVITY",
         "REMINDER_COOLDOWN_DAYS", "EXPAND_GROUPS", "SKIP_OWNER", "REMINDER_SENDER",
         "MANAGER_EMAIL"],
    ),
}  # fmt: skip
try:
    from docspace_sentinel.workflows.ip_allowlist import AllowlistSettings

    READERS["ip_allowlist"] = (
        AllowlistSettings.from_env,
        ["ALWAYS_ALLOWED_IPS", "PORTAL_SYNC", "PORTAL_SYNC_ENABLE", "MAX_EXPANDED_RANGE",
         "PORTAL_SYNC_CONFIRM_REMOVE", "ON_VIOLATION", "MODE"],
    )  # fmt: skip
except ImportError:  # being finished elsewhere
    pass

values = st.sampled_from([v for v in NASTY if v not in BUG_VALUES]) | st.text(max_size=12).filter(
    lambda v: v not in BUG_VALUES
)


@pytest.mark.parametrize("reader", sorted(READERS))
@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data())
def test_settings_are_valid_or_a_config_error_naming_the_variable(reader: str, data: Any) -> None:
    read, names = READERS[reader]
    env = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=len(names)))
    try:
        read(env)
    except ConfigError as exc:
        assert exc.setting in names or exc.setting == "DOCSPACE_API_KEY_SECRET", exc
        if exc.setting in env:
            return
        # a missing required variable: it is named and really is absent (or blank)
        assert not env.get(exc.setting, "").strip() or exc.setting == "DOCSPACE_API_KEY"


@pytest.mark.parametrize(
    ("read", "name", "value"),
    [
        (VdrSettings.from_env, "MONITORED_ROOM_IDS", "²"),
        (InactiveSettings.from_env, "ROOM_IDS", "²"),
        (InactiveSettings.from_env, "ROOM_TYPES", "9" * 5000),
    ],
    ids=["vdr-superscript", "inactive-superscript", "inactive-5000-digits"],
)
def test_odd_digit_strings_in_id_lists_are_config_errors(
    read: Callable[[dict[str, str]], Any], name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read({name: value})
    assert caught.value.setting == name
