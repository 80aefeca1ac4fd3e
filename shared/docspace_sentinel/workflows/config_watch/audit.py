"""The pure audit classifier: audit events in, configuration changes out.

An event is this workflow's business when its ``actionId`` is in the catalogue, or when it
belongs to the Settings product and this version does not know its code at all (a newer
server's action): that one is reported LOW with the portal's own text, never dropped. Known
codes outside the catalogue (file, room and login events, and the settings the catalogue
chose not to watch, ``catalogue.NOT_WATCHED``) are counted as ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ...docspace.message_actions import KNOWN
from ...docspace.models import AuditEvent
from ...findings.finding import Severity
from .catalogue import CATALOGUE, Subject, Watched, is_settings_event


class AuditChange(NamedTuple):
    event: AuditEvent
    watched: Watched
    severity: Severity
    known: bool  # False: a settings-product action this version does not know


class Classified(NamedTuple):
    changes: list[AuditChange]
    scanned: int
    ignored: int  # not this workflow's business
    unknown: int  # settings-product codes this version does not know (also in changes)
    malformed: int  # not an AuditEvent, or an action id that cannot be one


def unknown_action(action_id: int) -> Watched:
    """The catalogue entry standing in for a settings action this version does not know."""
    return Watched(
        action_id=action_id,
        name=f"action {action_id}",
        severity=Severity.LOW,
        subject=Subject.OTHER,
        meaning="a settings action this version does not know",
        target="",
    )


def classify(events: Iterable[AuditEvent], overrides: Mapping[int, Severity] = {}) -> Classified:
    """Sort audit events into configuration changes, ignored, unknown and malformed counts.

    ``overrides`` maps an action id to the severity to report instead of the default
    (unknown settings codes included). Never raises on odd events: they are counted.
    """
    changes: list[AuditChange] = []
    scanned = ignored = unknown = malformed = 0
    for event in events:
        scanned += 1
        code = event.action_id if isinstance(event, AuditEvent) else None
        if not isinstance(code, int) or isinstance(code, bool) or code <= 0:
            malformed += 1  # MessageAction codes are positive (the server's None, -1, is unsent)
            continue
        watched = CATALOGUE.get(code)
        known = True
        if watched is None:
            if code in KNOWN or not _is_settings(event):
                ignored += 1
                continue
            watched, known = unknown_action(code), False
        # An event without a userId is still a change: reported with its actor unknown, never
        # dropped (a portal that hides who did it must not hide what was done).
        if not known:
            unknown += 1
        severity = _severity(overrides.get(code), watched.severity)
        changes.append(AuditChange(event, watched, severity, known))
    return Classified(changes, scanned, ignored, unknown, malformed)


def _is_settings(event: AuditEvent) -> bool:
    try:
        return is_settings_event(event)
    except Exception:  # noqa: BLE001 (a hand-built record with odd fields: not settings)
        return False


def _severity(override: object, default: Severity) -> Severity:
    if isinstance(override, Severity):
        return override
    try:
        return Severity(str(override)) if override is not None else default
    except ValueError:
        return default
