"""Is the portal's webhook for the real-time guard alive? Checked on every restriction-release
run (every few minutes), the scheduled function that runs most often.

DocSpace deletes a webhook whose receiver answers 410 and disables one that failed for three
days; either way the real-time guard goes quiet without an error of its own. The polling guard
(bulk_change_guard) keeps covering the gap, so this check only tells operators: one
``webhook_unhealthy`` finding (once per suppression period and problem) when the webhook whose
``uri`` is ``WEBHOOK_RECEIVER_URL`` is missing, disabled or failing (its last failure is newer
than its last success, or its last delivery answered 400 or more). An empty setting turns the
check off. The check never fails the run it rides on: a portal error is a finding too.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from ..docspace.client import DocSpaceClient
from ..docspace.errors import DocSpaceError
from ..docspace.models import WebhookConfig
from ..docspace.secret import redact
from ..findings.finding import Finding, FollowRef, Severity
from ..runtime.env import Env, env_str
from ..runtime.errors import ConfigError
from ..state import keys as state_keys
from ..state.store import StateStore

log = logging.getLogger(__name__)

KIND = "webhook_unhealthy"
#: The follow-up when it works again (``follows`` the unhealthy finding).
HEALTHY_KIND = "webhook_healthy"
MISSING, DISABLED, FAILING, UNREADABLE = "missing", "disabled", "failing", "unreadable"
_MAX_URL = 2048


class _Values(NamedTuple):
    receiver_url: str = ""


class WebhookHealthSettings(_Values):
    """The check's one setting (a NamedTuple; the environment variable name lives here)."""

    __slots__ = ()
    WEBHOOK_RECEIVER_URL = "WEBHOOK_RECEIVER_URL"

    @classmethod
    def from_env(cls, env: Env | None = None) -> WebhookHealthSettings:
        url = (env_str(cls.WEBHOOK_RECEIVER_URL, "", env=env) or "").strip()
        if url and (len(url) > _MAX_URL or not url.lower().startswith(("https://", "http://"))):
            raise ConfigError(
                cls.WEBHOOK_RECEIVER_URL, "must be the receiver's http(s) URL or empty"
            )
        return cls(receiver_url=url)


def same_uri(a: str, b: str) -> bool:
    """The receiver's URL as the portal stores it: a trailing slash and the case of the scheme
    and host do not matter; the path does."""

    def key(url: str) -> str:
        scheme, _, rest = url.strip().partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")

    return key(a) == key(b)


def ours(configs: list[WebhookConfig], uri: str) -> list[WebhookConfig]:
    return [c for c in configs if c.uri and same_uri(c.uri, uri)]


def problem(matching: list[WebhookConfig]) -> tuple[str, WebhookConfig | None]:
    """Pure: ``("", config)`` when one of ours is enabled and delivering, else the problem."""
    if not matching:
        return MISSING, None
    healthy = [c for c in matching if c.enabled and not c.failing]
    if healthy:
        return "", healthy[0]
    enabled = [c for c in matching if c.enabled]
    if enabled:
        return FAILING, enabled[0]
    return DISABLED, matching[0]


def check(
    client: DocSpaceClient,
    settings: WebhookHealthSettings,
    workflow: str,
    store: StateStore | None = None,
) -> list[Finding]:
    """The findings of one check (none when healthy or off). Never raises for the portal.

    With ``store``: a healthy webhook after a ``webhook_unhealthy`` finding published within
    its suppression period gives one ``webhook_healthy`` follow-up of that finding."""
    if not settings.receiver_url:
        return []
    try:
        configs = client.webhooks()
    except DocSpaceError as exc:  # the host run goes on: a portal error is reported, not raised
        log.warning("could not read the portal's webhooks: %s", redact(str(exc)))
        return [_finding(client, workflow, settings.receiver_url, UNREADABLE, None, str(exc))]
    found, config = problem(ours(configs, settings.receiver_url))
    if not found:
        back = _recovered(client, workflow, settings.receiver_url, config, store)
        return [back] if back is not None else []
    return [_finding(client, workflow, settings.receiver_url, found, config, None)]


def _recovered(
    client: DocSpaceClient,
    workflow: str,
    url: str,
    config: WebhookConfig | None,
    store: StateStore | None,
) -> Finding | None:
    """The follow-up of the latest ``webhook_unhealthy`` finding still within its suppression
    period (its ``sent#`` record), or None. Only records this workflow may read are looked up."""
    if store is None:
        return None
    now = store.now().timestamp()
    latest: tuple[str, Finding] | None = None
    for found in (MISSING, UNREADABLE, DISABLED, FAILING):
        earlier = _finding(
            client, workflow, url, found, config if found in (DISABLED, FAILING) else None, None
        )
        sent = store.get(*state_keys.sent(workflow, earlier.fingerprint))
        if not sent or sent.get("state") != "done" or float(sent.get("expiresAt", 0)) <= now:
            continue
        stamp = f"{sent.get('doneAt', '')}"
        if latest is None or stamp > latest[0]:
            latest = (stamp, earlier)
    if latest is None:
        return None
    stamp, earlier = latest
    return Finding(
        workflow=workflow,
        kind=HEALTHY_KIND,
        severity=Severity.LOW,
        title="The real-time guard's DocSpace webhook is healthy again",
        summary=(
            f"The portal's webhook for {redact(url, 120)} is enabled and delivering again; "
            "real-time detection has resumed."
        ),
        # one follow-up per incident: the earlier finding and when it was sent
        dedup=(HEALTHY_KIND, earlier.fingerprint, stamp),
        portal_url=client.portal_url,
        evidence={
            "was": earlier.evidence["problem"],
            "receiverUrl": redact(url, 300),
        },
        follows=FollowRef(earlier.fingerprint, f"[{earlier.severity.name}] {earlier.title}"),
    )


_WHAT = {
    MISSING: "is missing (deleted, or never installed)",
    DISABLED: "is disabled (DocSpace disables a webhook after 3 days of failed deliveries)",
    FAILING: "is failing (its last delivery did not succeed)",
    UNREADABLE: "could not be checked (the portal's webhook list could not be read)",
}


def _finding(
    client: DocSpaceClient,
    workflow: str,
    url: str,
    found: str,
    config: WebhookConfig | None,
    error: str | None,
) -> Finding:
    evidence: dict[str, object] = {"problem": found, "receiverUrl": redact(url, 300)}
    if config is not None:
        evidence["webhook"] = config.to_dict()
    if error is not None:
        evidence["error"] = redact(error, 300)
    return Finding(
        workflow=workflow,
        kind=KIND,
        severity=Severity.MEDIUM,
        title=f"The real-time guard's DocSpace webhook {found.replace('unreadable', 'unchecked')}",
        summary=(
            f"The portal's webhook for {redact(url, 120)} {_WHAT[found]}. Real-time detection is "
            "paused; the scheduled polling guard keeps covering bulk changes. Fix it with "
            "`python -m local.cli webhooks status` and `webhooks install` (README, Real-time guard)."
        ),
        dedup=(KIND, found, str(config.id) if config else url),
        portal_url=client.portal_url,
        evidence=evidence,
    )
