"""Words for people: evidence labels, action phrases and headlines, in one place.

The canonical JSON keeps its camelCase keys (machines and the schema depend on them); e-mail and
chat show each key through ``label``: the table below, or, for a key not in it, the key split into
words (``distinctIpCount`` -> "Distinct ip count"), so a new evidence key still reads well.
Raw event ids are not evidence a person reads: ``is_appendix`` sends them to the e-mail's
appendix (the chat message leaves them to the JSON).

``action_phrase`` says what Sentinel did (or, in a dry run, would have done): "disabled until
2026-11-29 21:13 UTC", "dry run: would disable". ``headline`` puts it after the title, so the
subject, the e-mail and the chat title all say whether Sentinel acted.
"""

from __future__ import annotations

import re

from .finding import ActionTaken, Finding

#: Evidence and context keys -> labels. Keys not here get ``_words(key)``.
LABELS: dict[str, str] = {
    # counts and thresholds
    "distinctEvents": "Events that day",
    "distinctFiles": "Distinct files changed",
    "distinctFilesWhenCrossed": "Files when the threshold was crossed",
    "distinctEntries": "Distinct files or folders",
    "threshold": "Threshold (more than)",
    "windowMinutes": "Window (minutes)",
    "thresholdCrossedAt": "Threshold crossed at",
    "changes": "Changes in the window",
    "baselineMean": "Usual events a day (mean)",
    "baselineStd": "Usual spread (std. dev.)",
    "zScore": "Standard deviations above usual",
    "usualLevel": "Usual level",
    "activityKinds": "Kind of activity (events read by this run)",
    "downloads": "Downloads",
    "views": "Views",
    "edits": "Edits",
    "other": "Other",
    "reason": "Why",
    "failures": "Failed sign-ins",
    "successes": "Successful sign-ins",
    "users": "Users",
    "distinctIps": "IP addresses",
    "distinctIpCount": "Number of IP addresses",
    "logins": "Logins",
    "loginCount": "Number of logins",
    "successIp": "IP of the successful sign-in",
    "firstEventIp": "IP of the first change",
    "guestFailures": "Failures by unknown callers",
    "guestLogins": "Logins tried by unknown callers",
    "guestFailuresNotShown": "Failures by unknown callers not shown",
    "guestLoginsNotShown": "Logins of unknown callers not shown",
    "perUser": "Per user",
    "perGuestLogin": "Per login tried by unknown callers",
    "recent": "Recent sign-ins",
    "countries": "Countries",
    "actions": "Actions seen",
    "sampleFiles": "Files (sample)",
    "rooms": "Rooms",
    "folders": "Folders",
    "sampleLogins": "Sign-ins (sample)",
    "allowedEntries": "Allowed entries",
    # ip allowlist sync
    "mode": "Mode",
    "add": "To add",
    "addCount": "Number to add",
    "remove": "To remove",
    "removeCount": "Number to remove",
    "entriesKept": "Entries kept",
    "listSizeBefore": "List size before",
    "listSizeAfter": "List size after",
    "enableBefore": "Restrictions on before",
    "enableAfter": "Restrictions on after",
    "monitoredOnly": "Monitored only (not on the portal)",
    "refused": "Refused because",
    "alwaysAllowedDropped": "Always-allowed addresses dropped",
    "removalHeldBack": "Removals held back",
    "heldBack": "Held back",
    "heldBackCount": "Number held back",
    "portalLastModified": "Portal list last changed",
    "detail": "Detail",
    # restrictions
    "restriction": "Restriction",
    "userId": "User id",
    "userName": "User",
    "state": "State",
    "source": "Restricted by",
    "findingId": "Finding id",
    "restrictedAt": "Restricted at",
    "liftAt": "Lift at",
    "permanent": "Permanent",
    "lastError": "Last error",
    "attempts": "Attempts",
    # sign-in records
    "date": "Time",
    "action": "Action",
    "actionId": "Action code",
    "ip": "IP address",
    "country": "Country",
    "city": "City",
    "browser": "Browser",
    "platform": "Platform",
    "user": "User",
    "login": "Login",
    # webhook health, config watch, inactive members
    "problem": "Problem",
    "was": "Problem before",
    "receiverUrl": "Receiver URL",
    "webhook": "Webhook",
    "error": "Error",
    "managers": "Room managers",
    "inactive": "Inactive members",
    "title": "Title",
    "id": "Id",
}

#: Keys whose values are raw ids for the appendix (e-mail) or the JSON only (chat).
APPENDIX_KEYS = frozenset(
    {"id", "actionId", "sampleEventIds", "successEventId", "eventId", "eventIds"}
)

#: Columns left out of a table of records (raw ids and codes the row already says in words).
TABLE_HIDDEN = frozenset({"id", "actionId", "userId"})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(key: str) -> str:
    text = _CAMEL.sub(" ", key).replace("_", " ").strip().lower()
    return text[:1].upper() + text[1:] if text else key


def label(key: str) -> str:
    """The label of an evidence key: from ``LABELS``, else the key as words."""
    return LABELS.get(key) or _words(key)


def is_appendix(key: str) -> bool:
    return key in APPENDIX_KEYS or key.endswith("EventIds")


# action -> status -> phrase; "{detail}" is the action's own detail (the sentinel's text).
_PHRASES: dict[str, dict[str, str]] = {
    "disable_user": {
        "done": "{detail}",  # "disabled until 2026-11-29 21:13 UTC" (enforcement.gate)
        "proposed": "dry run: would disable (not applied)",
        "failed": "disabling FAILED",
        "skipped": "not disabled",
    },
    "logout_user": {
        "done": "signed out everywhere",
        "proposed": "dry run: would sign out (not applied)",
        "failed": "sign-out FAILED",
        "skipped": "not signed out",
    },
    "enable_user": {
        "done": "re-enabled",
        "proposed": "dry run: would re-enable",
        "failed": "re-enabling FAILED",
        "skipped": "restriction closed",
    },
    "extend": {
        "done": "{what}",
        "proposed": "dry run",
        "failed": "change FAILED",
        "skipped": "not changed",
    },
    "ip_sync": {
        "done": "portal list updated",
        "proposed": "dry run: portal list not changed",
        "failed": "portal sync FAILED",
        "skipped": "portal list not changed",
    },
}


def action_phrase(action: ActionTaken) -> str:
    """What Sentinel did about a finding, in a few words (the sentinel's text only)."""
    phrases = _PHRASES.get(action.action, {})
    phrase = phrases.get(action.status)
    if phrase is None:
        status = "dry run, not applied" if action.status == "proposed" else action.status
        return f"{action.action.replace('_', ' ')}: {status}"
    if phrase == "{what}":
        return action.detail or "restriction changed"
    if "{detail}" in phrase:
        detail = action.detail if action.detail.startswith("disabled") else ""
        return detail or "disabled"
    return phrase


def outcome(finding: Finding) -> str:
    """The phrases of the finding's actions, ``; ``-joined ("" when it has none)."""
    return "; ".join(dict.fromkeys(action_phrase(a) for a in finding.actions))


def headline(finding: Finding) -> str:
    """``<title> - <what Sentinel did>``: the title as subjects and chat titles show it."""
    done = outcome(finding)
    return f"{finding.title} - {done}" if done else finding.title
