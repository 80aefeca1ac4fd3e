"""Settings fuzzed: every reader gives a valid object or a ``ConfigError`` naming the variable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docspace_sentinel.docspace.settings import ClientSettings
from docspace_sentinel.enforcement.gate import ResponseSettings
from docspace_sentinel.runtime.errors import ConfigError
from docspace_sentinel.runtime.runner import RunSettings
from docspace_sentinel.workflows.bulk_change_guard import GuardSettings
from docspace_sentinel.workflows.inactive_members import InactiveSettings
from docspace_sentinel.workflows.ip_allowlist import AllowlistSettings
from docspace_sentinel.workflows.login_audit import LoginAuditSettings
from docspace_sentinel.workflows.vdr_activity import VdrSettings
from tests.support import env_constants

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

#: Each settings class and the variables fuzzed: its env-name constants (and its parts'), but
#: for the secret's name (reading it would call Secrets Manager; ``DOCSPACE_API_KEY`` is fuzzed).
CLASSES: dict[str, type] = {
    "client": ClientSettings,
    "run": RunSettings,
    "response": ResponseSettings,
    "bulk_change_guard": GuardSettings,
    "login_audit": LoginAuditSettings,
    "vdr_activity": VdrSettings,
    "inactive_members": InactiveSettings,
    "ip_allowlist": AllowlistSettings,
}
READERS: dict[str, tuple[Callable[[dict[str, str]], Any], list[str]]] = {
    name: (cls.from_env, sorted(env_constants(cls) - {ClientSettings.API_KEY_SECRET}))  # type: ignore[attr-defined]
    for name, cls in CLASSES.items()
}

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
        (VdrSettings.from_env, "ROOM_IDS", "²"),
        (VdrSettings.from_env, "MONITORED_ROOM_IDS", "²"),
        (InactiveSettings.from_env, "ROOM_IDS", "²"),
        (InactiveSettings.from_env, "ROOM_TYPES", "9" * 5000),
    ],
    ids=[
        "vdr-superscript",
        "vdr-old-name-superscript",
        "inactive-superscript",
        "inactive-5000-digits",
    ],
)
def test_odd_digit_strings_in_id_lists_are_config_errors(
    read: Callable[[dict[str, str]], Any], name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read({name: value})
    assert caught.value.setting == name
