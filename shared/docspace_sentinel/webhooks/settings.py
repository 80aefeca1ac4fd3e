"""The webhook receiver's settings, read and validated at the handler's entry, before any AWS
call (``ReceiverSettings.from_env``):

================================ ======================================================
``DOCSPACE_WEBHOOK_SECRET_ARN``   Secrets Manager name or ARN of the webhook secret (a
                                  plain string, or JSON ``{"secret": "..."}``, during a
                                  rotation ``{"secret": new, "previous": old,
                                  "previousUntil": ISO time}``); wins when
                                  ``DOCSPACE_WEBHOOK_SECRET`` is also set
``DOCSPACE_WEBHOOK_SECRET``       the secret itself, for local runs only (refused in Lambda)
``REALTIME_QUEUE_URL``            the SQS queue verified deliveries go to
``MAX_BODY_BYTES``                larger bodies are refused with 413 (262144; at most
                                  900000, below SQS's 1 MiB message limit with attributes)
================================ ======================================================

The secret is read the way the API key is (``docspace.settings``): Powertools ``get_secret``
with an explicit ``max_age``, botocore's body-logging loggers quieted first, the value held
in a ``Secret`` (redacted repr).

Rotation overlap: DocSpace's sender caches webhook configs for up to an hour, so after
``webhooks install --rotate-secret`` deliveries may still be signed with the old secret. The
document then names it as ``previous``, accepted until ``previousUntil`` (an ISO time with a
zone; a naive one is UTC); without a readable ``previousUntil``, or with one more than
``MAX_OVERLAP`` ahead (a clock or format slip would keep the old secret valid for good), it is
never accepted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import ClassVar, NamedTuple
from urllib.parse import urlsplit

from ..docspace.secret import Secret
from ..runtime.env import Env, env_int, env_str
from ..runtime.errors import ConfigError

#: How long a warm Lambda reuses the fetched secret (a rotation is picked up sooner: a failed
#: check refetches it, at most once per ``REFRESH_SECONDS``).
CACHE_SECONDS = 300
REFRESH_SECONDS = 60
#: DocSpace's password policy caps a webhook secret at 30 printable ASCII characters.
DOCSPACE_SECRET_MAX = 30
#: The furthest ahead a ``previousUntil`` may be (``webhooks install --rotate-secret`` writes
#: two hours from now).
MAX_OVERLAP = timedelta(days=1)


class WebhookSecrets(NamedTuple):
    """The secret deliveries are signed with, and during a rotation the one before it."""

    secret: Secret
    previous: Secret | None = None
    previous_until: datetime | None = None

    def accepted(self, now: datetime | None = None) -> tuple[Secret, ...]:
        """The secrets a signature may be made with at ``now``: the previous one only while
        its ``previousUntil`` is in the future, and not more than ``MAX_OVERLAP`` ahead."""
        if self.previous is None or self.previous_until is None:
            return (self.secret,)
        now = now or datetime.now(UTC)
        if not now < self.previous_until <= now + MAX_OVERLAP:
            return (self.secret,)
        return (self.secret, self.previous)

    def same_as(self, other: WebhookSecrets) -> bool:
        def values(keys: WebhookSecrets) -> tuple[object, ...]:
            old = keys.previous.reveal() if keys.previous is not None else None
            return (keys.secret.reveal(), old, keys.previous_until)

        return values(self) == values(other)


@dataclass(frozen=True)
class ReceiverSettings:
    SECRET_ARN: ClassVar[str] = "DOCSPACE_WEBHOOK_SECRET_ARN"  # noqa: S105 - a name
    SECRET: ClassVar[str] = "DOCSPACE_WEBHOOK_SECRET"  # noqa: S105 - a name
    QUEUE_URL: ClassVar[str] = "REALTIME_QUEUE_URL"
    MAX_BODY_BYTES: ClassVar[str] = "MAX_BODY_BYTES"

    queue_url: str
    max_body_bytes: int
    #: Reads the secret(s) (Secrets Manager in Lambda: an AWS call); ``force=True`` skips the
    #: cache.
    secrets: Callable[..., WebhookSecrets] = field(repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Env | None = None) -> ReceiverSettings:
        queue_url = env_str(cls.QUEUE_URL, env=env)
        if queue_url is None:
            raise ConfigError(cls.QUEUE_URL, "is required: the URL of the real-time SQS queue")
        parts = urlsplit(queue_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ConfigError(cls.QUEUE_URL, "must be an SQS queue URL (https://sqs...)")
        max_body = env_int(cls.MAX_BODY_BYTES, 262144, minimum=1024, maximum=900_000, env=env)
        return cls(queue_url, max_body, secret_source(env))


def secret_source(env: Env | None = None) -> Callable[..., WebhookSecrets]:
    """Check where the webhook secret comes from (no AWS call); the function returned reads it."""
    source = os.environ if env is None else env
    name = env_str(ReceiverSettings.SECRET_ARN, env=env)
    if name is not None:
        return partial(_from_secrets_manager, name)
    plain = env_str(ReceiverSettings.SECRET, env=env)
    if plain is None:
        raise ConfigError(
            ReceiverSettings.SECRET_ARN,
            "is required: the Secrets Manager name or ARN of the webhook secret "
            f"({ReceiverSettings.SECRET} for local runs)",
        )
    if source.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise ConfigError(
            ReceiverSettings.SECRET,
            "is for local runs only; in Lambda store the secret in Secrets Manager "
            f"({ReceiverSettings.SECRET_ARN})",
        )
    secrets = WebhookSecrets(Secret(plain))
    return lambda force=False: secrets


def docspace_would_refuse(secret: Secret) -> bool:
    """Whether DocSpace's password policy could never accept this secret (too long, spaces or
    non-printable characters): deliveries signed with it cannot come from DocSpace."""
    value = secret.reveal()
    return len(value) > DOCSPACE_SECRET_MAX or not all("!" <= c <= "~" for c in value)


def _from_secrets_manager(name: str, force: bool = False) -> WebhookSecrets:
    from ..docspace.settings import read_secret

    value = read_secret(name, CACHE_SECONDS, setting=ReceiverSettings.SECRET_ARN, force=force)
    return secrets_from_string(value)


def secrets_from_string(text: str) -> WebhookSecrets:
    """A plain string, JSON ``{"secret": "..."}``, or during a rotation JSON ``{"secret": new,
    "previous": old, "previousUntil": ISO time}`` (a bad ``previous`` part is ignored: the
    current secret still works)."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        if not stripped:
            raise ConfigError(ReceiverSettings.SECRET_ARN, "the secret is empty")
        return WebhookSecrets(Secret(stripped))
    try:
        data = json.loads(stripped)
    except ValueError:
        raise ConfigError(
            ReceiverSettings.SECRET_ARN, "the secret looks like JSON but does not parse"
        ) from None
    value = data.get("secret") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(ReceiverSettings.SECRET_ARN, 'the secret JSON has no "secret" string')
    assert isinstance(data, dict)
    previous = data.get("previous")
    until = _instant(data.get("previousUntil"))
    if not isinstance(previous, str) or not previous.strip() or until is None:
        return WebhookSecrets(Secret(value.strip()))
    return WebhookSecrets(Secret(value.strip()), Secret(previous.strip()), until)


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
