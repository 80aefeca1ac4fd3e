"""``python -m local.cli webhooks install|status|remove``: the portal's webhook for the real-time
guard, and its secret in Secrets Manager.

``install`` is idempotent: our webhook is the one named ``WEBHOOK_NAME`` whose ``uri`` is the
receiver's URL. A second run updates it when its triggers, ``enabled`` or ``ssl`` differ and
keeps the secret, unless ``--rotate-secret`` (or the stored secret is gone: the portal never
returns it, so a new one is the only way to know it). A new secret is stored in Secrets Manager
*before* the portal is told, so the receiver verifies deliveries from the first one; the old one
stays in the document as ``previous`` until ``previousUntil`` (``OVERLAP`` from now), because
DocSpace's sender may sign with its cached config for up to an hour. When the portal clearly
refuses the change (a 4xx), the old document is written back; after an answer of unknown outcome
(a timeout, a 5xx) both secrets stay accepted and the operator is told to check ``webhooks
status``. No secret is ever printed or logged.
"""

from __future__ import annotations

import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.errors import DocSpaceError
from docspace_sentinel.docspace.models import SENTINEL_TRIGGERS, WebhookConfig
from docspace_sentinel.docspace.secret import Secret
from docspace_sentinel.runtime.errors import SentinelError
from docspace_sentinel.workflows.webhook_health import problem, same_uri

WEBHOOK_NAME = "DocSpace Sentinel"
DEFAULT_SECRET_NAME = "docspace-sentinel/webhook-secret"  # noqa: S105 (a name, not a value)
#: DocSpace checks a webhook secret against the portal's password policy, capped at 30.
SECRET_LENGTH = 30
#: How long the receiver still accepts the previous secret after a rotation (DocSpace's sender
#: caches a webhook's config, secret included, for up to an hour).
OVERLAP = timedelta(hours=2)
#: The special characters every DocSpace password policy accepts.
SPECIALS = "!#$%&()*+,.:;<>?@^_{}~"
_CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits, SPECIALS)
_ALPHABET = "".join(_CLASSES)


class SetupError(SentinelError):
    """A setup step failed; the message says which and never holds a secret."""


def new_secret(length: int = SECRET_LENGTH) -> Secret:
    """A random secret any portal password policy accepts: printable ASCII without spaces, at
    most 30 characters, with an upper-case letter, a lower-case letter, a digit and a special."""
    if not 8 <= length <= SECRET_LENGTH:
        raise ValueError(f"a webhook secret has 8 to {SECRET_LENGTH} characters")
    chars = [secrets.choice(c) for c in _CLASSES]
    chars += [secrets.choice(_ALPHABET) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return Secret("".join(chars))


def fits_policy(value: str) -> bool:
    return (
        8 <= len(value) <= SECRET_LENGTH
        and all(ch in _ALPHABET for ch in value)
        and all(any(ch in c for ch in value) for c in _CLASSES)
    )


def check_url(url: str, *, allow_http: bool) -> str:
    url = url.strip()
    lowered = url.lower()
    if not lowered.startswith(("https://", "http://")) or len(url) > 2048 or " " in url:
        raise ValueError("--url must be the receiver's https URL")
    if lowered.startswith("http://") and not allow_http:
        raise ValueError("--url must be https (deliveries carry user data; --allow-http for tests)")
    return url


# -- Secrets Manager ----------------------------------------------------------------------------


class SecretStore:
    """The webhook secret in Secrets Manager, as JSON ``{"secret": "..."}``; during a rotation
    ``{"secret": new, "previous": old, "previousUntil": ISO time}``."""

    def __init__(self, name: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("secretsmanager")
        self.name = name
        self.client = client

    def document(self) -> str | None:
        """The stored text, or None when there is none (gone or being deleted)."""
        from botocore.exceptions import ClientError

        try:
            text = self.client.get_secret_value(SecretId=self.name).get("SecretString")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ResourceNotFoundException", "InvalidRequestException"):
                return None
            raise SetupError(f"could not read secret {self.name!r}: {code}") from None
        return text if isinstance(text, str) else None

    def current(self) -> Secret | None:
        """The stored secret, or None when there is none (gone, being deleted, or empty)."""
        return secret_in(self.document())

    def store(
        self, secret: Secret, *, previous: Secret | None = None, until: datetime | None = None
    ) -> str:
        """Create the secret or add a new version (with ``previous`` accepted until ``until``
        when both are given); returns ``created`` or ``updated``."""
        document: dict[str, str] = {"secret": secret.reveal()}
        if previous is not None and until is not None:
            document["previous"] = previous.reveal()
            document["previousUntil"] = until.astimezone(UTC).isoformat(timespec="seconds")
        return self.write(json.dumps(document))

    def write(self, text: str) -> str:
        from botocore.exceptions import ClientError

        try:
            try:
                self.client.put_secret_value(SecretId=self.name, SecretString=text)
                return "updated"
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
            self.client.create_secret(
                Name=self.name,
                SecretString=text,
                Description="DocSpace Sentinel: the HMAC secret of the portal's webhook",
            )
            return "created"
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SetupError(f"could not store secret {self.name!r}: {code}") from None


def secret_in(text: str | None) -> Secret | None:
    """The current secret of a stored document (plain string or JSON)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = text  # a plain string, as the receiver also accepts
    value = data.get("secret") if isinstance(data, dict) else data
    return Secret(value) if isinstance(value, str) and value else None


def refused(exc: BaseException) -> bool:
    """Whether the portal clearly refused the request (a 4xx: it changed nothing). A timeout,
    a dropped connection, a 5xx or a redirect leave the outcome unknown."""
    status = exc.status_code if isinstance(exc, DocSpaceError) else None
    return status is not None and 400 <= status < 500


# -- the commands -------------------------------------------------------------------------------


def find_ours(configs: list[WebhookConfig], url: str | None) -> list[WebhookConfig]:
    """Ours: named ``WEBHOOK_NAME`` and, when ``url`` is given, pointing at it."""
    return [
        c
        for c in configs
        if c.name == WEBHOOK_NAME and (url is None or (c.uri is not None and same_uri(c.uri, url)))
    ]


def install(
    client: DocSpaceClient,
    store: SecretStore,
    url: str,
    *,
    rotate: bool = False,
    triggers: int = SENTINEL_TRIGGERS,
) -> dict[str, Any]:
    """Create or bring up to date our webhook; returns what was done (never the secret)."""
    ssl = url.lower().startswith("https://")
    found = find_ours(client.webhooks(), url)
    report: dict[str, Any] = {"secretName": store.name, "secret": "unchanged"}
    document = store.document()
    previous = secret_in(document)
    new: Secret | None = None
    until = datetime.now(UTC) + OVERLAP
    if not found or rotate or previous is None:
        new = new_secret()
        # First: the receiver must know the new secret before the portal signs with it, and
        # keep accepting the old one while DocSpace's sender still has it cached.
        report["secret"] = store.store(new, previous=previous, until=until)
        if previous is not None:
            report["previousAcceptedUntil"] = until.isoformat(timespec="seconds")
    try:
        config = _apply(client, found, url, triggers, ssl, new, report)
    except Exception as exc:
        if new is None or previous is None or document is None:
            raise
        if refused(exc):
            # The portal refused the change and kept the old secret: put the old document back.
            store.write(document)
            raise
        raise SetupError(
            f"the portal's answer is unknown ({type(exc).__name__}: {exc}); the receiver accepts "
            f"both the new and the old secret until {until.isoformat(timespec='seconds')}: "
            "check `webhooks status`, and run `webhooks install --rotate-secret` again if the "
            "webhook is failing"
        ) from exc
    if len(found) > 1:
        report["duplicates"] = [c.id for c in found[1:]]
    report["webhook"] = config.to_dict()
    return report


def _apply(
    client: DocSpaceClient,
    found: list[WebhookConfig],
    url: str,
    triggers: int,
    ssl: bool,
    new: Secret | None,
    report: dict[str, Any],
) -> WebhookConfig:
    if not found:
        if new is None:
            raise SetupError("internal: a new webhook needs a new secret")
        report["action"] = "created"
        return client.create_webhook(WEBHOOK_NAME, url, new, triggers, ssl=ssl)
    current = found[0]
    if new is None and (current.triggers, current.enabled, current.ssl) == (triggers, True, ssl):
        report["action"] = "unchanged"
        return current
    report["action"] = "updated"
    return client.update_webhook(
        current.id,
        WEBHOOK_NAME,
        url,
        triggers,
        ssl=ssl,
        enabled=True,
        secret=new,
        target_id=current.target_id,
    )


def status(client: DocSpaceClient, url: str | None) -> tuple[dict[str, Any], bool]:
    """Our webhook's state, and whether it is healthy (found, enabled and delivering)."""
    found = find_ours(client.webhooks(), url)
    issue, config = problem(found)
    report: dict[str, Any] = {
        "found": bool(found),
        "health": issue or "healthy",
        "webhook": config.to_dict() if config is not None else None,
    }
    if len(found) > 1:
        report["others"] = [c.to_dict() for c in found if c is not config]
    return report, not issue


def remove(client: DocSpaceClient, url: str | None) -> dict[str, Any]:
    """Delete our webhook(s); the secret stays in Secrets Manager (delete it there if wanted)."""
    found = find_ours(client.webhooks(), url)
    deleted = [client.delete_webhook(c.id).id for c in found]
    return {"deleted": deleted}
