"""The configuration document: every tuning value of a deployed stack in one JSON SSM parameter.

The template declares the parameter with working defaults and passes its name to each function
in ``SENTINEL_CONFIG_PARAMETER``. The document is one JSON object of sections: ``shared`` (read
by every workflow) and one per workflow (``vdr_activity``, ``bulk_change_guard``, ...), each
mapping setting names, the environment variables' names, to JSON values::

    {"shared": {"SCAN_LAG_MINUTES": 15, "PROTECTED_USER_IDS": []},
     "bulk_change_guard": {"MODE": "dry-run", "FILE_CHANGE_THRESHOLD": 20}}

A workflow reads ``shared``, then its own section over it (which may also override a shared
setting for that workflow alone), then the process environment over both: an environment
variable that is set and not blank wins (local runs, tests, ``sam local invoke --env-vars`` and
operators' emergency overrides). The result is an ``Env`` the settings classes read unchanged,
so a bad value fails with the same ``ConfigError`` as a bad variable. A section or a key the
code does not know (a typo) and a value that is not a string, number, true/false, null (unset)
or a list of those fail too, naming it. Secrets never go in the document.

The document is cached ``CACHE_SECONDS`` in a warm container: a change takes effect on the next
run after that, without a redeploy. With ``SENTINEL_CONFIG_PARAMETER`` unset (local runs,
tests) only the environment is read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from .env import Env
from .errors import ConfigError

#: The environment variable naming the SSM parameter that holds the document.
CONFIG_PARAMETER = "SENTINEL_CONFIG_PARAMETER"
#: How long a warm container reuses the document before reading it again.
CACHE_SECONDS = 60
SHARED = "shared"

_RESPONSE = {
    "MODE",
    "MAX_RESTRICTIONS_PER_RUN",
    "RESTRICTION_MINUTES",
    "PROTECTED_USER_IDS",
    "PROTECT_LDAP_USERS",
    "PROTECT_SSO_USERS",
}

#: The settings each section may hold (tests tie them to the settings classes and to the
#: template's document). Every workflow section may also override a shared setting.
DOCUMENT_KEYS: Mapping[str, frozenset[str]] = {
    SHARED: frozenset(
        {
            "DOCSPACE_REQUESTS_PER_SECOND",
            "DOCSPACE_TIMEOUT_SECONDS",
            "DOCSPACE_MAX_ATTEMPTS",
            "DOCSPACE_RETRY_BASE_SECONDS",
            "DOCSPACE_RETRY_BUDGET_SECONDS",
            "DOCSPACE_API_KEY_CACHE_SECONDS",
            "SCAN_LAG_MINUTES",
            "INITIAL_LOOKBACK_HOURS",
            "SUPPRESSION_HOURS",
            "SCAN_CONCURRENCY",
            "MAX_SCAN_HOURS",
            "SCAN_SLICE_MINUTES",
            "SCAN_SLICE_EVENTS",
            "TIME_RESERVE_SECONDS",
            "SECURITY_HUB_EXPORT",
            "EVENT_BUS_NAME",
            *(_RESPONSE - {"MODE"}),
        }
    ),
    "vdr_activity": frozenset(
        {
            "ROOM_IDS",
            "MAX_EVENTS_PER_USER",
            "BASELINE_DAYS",
            "BASELINE_MIN_DAYS",
            "BASELINE_Z",
            "BASELINE_MIN_EVENTS",
        }
    ),
    "login_audit": frozenset(
        {"BRUTE_FORCE_FAILURES", "BRUTE_FORCE_WINDOW_MINUTES", "DIGEST_ENABLED", "DIGEST_TOP_USERS"}
    ),
    "config_watch": frozenset(
        {"SEVERITY_OVERRIDES", "SETTINGS_SNAPSHOTS", "OWN_ACTION_TOLERANCE_MINUTES"}
    ),
    "bulk_change_guard": frozenset({"FILE_CHANGE_THRESHOLD", "WINDOW_MINUTES", *_RESPONSE}),
    "realtime_guard": frozenset(
        {
            "FILE_CHANGE_THRESHOLD",
            "WINDOW_MINUTES",
            "DOWNLOAD_THRESHOLD",
            "ACT_ON_DOWNLOADS",
            *_RESPONSE,
        }
    ),
    "restriction_release": frozenset({"WEBHOOK_RECEIVER_URL"}),
    "inactive_members": frozenset(
        {
            "ROOM_TYPES",
            "ROOM_IDS",
            "PERIOD_DAYS",
            "MIN_ACTIVITY",
            "ACTIVITY_ACTIONS",
            "REMINDER_COOLDOWN_DAYS",
            "EXPAND_GROUPS",
            "SKIP_OWNER",
            "MANAGER_EMAIL",
        }
    ),
    "ip_allowlist": frozenset(
        {
            "PORTAL_SYNC",
            "PORTAL_SYNC_ENABLE",
            "MAX_EXPANDED_RANGE",
            "ALWAYS_ALLOWED_IPS",
            "PORTAL_SYNC_CONFIRM_REMOVE",
            "ON_VIOLATION",
            *_RESPONSE,
        }
    ),
}


def config_parameter(environ: Env | None = None) -> str | None:
    """The document's SSM parameter name, or ``None`` when unset (environment only)."""
    value = (os.environ if environ is None else environ).get(CONFIG_PARAMETER, "")
    return value.strip() or None


def settings_env(workflow: str, name: str, environ: Env | None = None) -> dict[str, str]:
    """The settings of ``workflow``: the document's (read from SSM, cached) with the process
    environment's set variables over them."""
    document = load_document(name)
    merged = document_env(document, workflow)
    source = os.environ if environ is None else environ
    merged.update({key: value for key, value in source.items() if value.strip()})
    return merged


def load_document(name: str) -> Any:
    """The parsed document (an AWS call at most every ``CACHE_SECONDS``)."""
    # Imported here: ~230 ms, and runs without a document never need it (the API key's read
    # imports it in Lambda anyway).
    from aws_lambda_powertools.utilities import parameters

    try:
        return parameters.get_parameter(name, transform="json", max_age=CACHE_SECONDS)
    except parameters.exceptions.TransformParameterError:
        raise ConfigError(
            CONFIG_PARAMETER, f"the configuration document {name!r} is not valid JSON"
        ) from None
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigError(CONFIG_PARAMETER, f"could not read parameter {name!r}: {exc}") from None


def document_env(document: Any, workflow: str) -> dict[str, str]:
    """The document's settings for ``workflow`` as environment strings (every section is
    checked, so a typo anywhere fails every workflow, not only the one that would read it)."""
    if not isinstance(document, dict):
        raise ConfigError(CONFIG_PARAMETER, "the configuration document must be a JSON object")
    unknown = sorted(str(section) for section in document if section not in DOCUMENT_KEYS)
    if unknown:
        raise ConfigError(
            unknown[0],
            "is not a section of the configuration document; known: "
            + ", ".join(sorted(DOCUMENT_KEYS)),
        )
    sections = {section: _section(section, values) for section, values in document.items()}
    return {**sections.get(SHARED, {}), **sections.get(workflow, {})}


def _section(section: str, values: Any) -> dict[str, str]:
    if not isinstance(values, dict):
        raise ConfigError(
            section, "must be a JSON object of settings in the configuration document"
        )
    known = DOCUMENT_KEYS[section] | DOCUMENT_KEYS[SHARED]
    flat: dict[str, str] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(
                f"{section}.{key}", "is not a setting of this section of the configuration document"
            )
        text = _text(f"{section}.{key}", value)
        if text is not None:
            flat[key] = text
    return flat


def _text(where: str, value: Any) -> str | None:
    """A JSON value as the environment readers expect it (``None``: unset)."""
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(_scalar(where, item) for item in value)
    return _scalar(where, value)


def _scalar(where: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ConfigError(
        where, f"must be a string, a number, true/false or a list of them, got {json.dumps(value)}"
    )
