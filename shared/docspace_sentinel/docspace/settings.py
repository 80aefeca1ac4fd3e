"""The DocSpace connection settings: portal URL, API key, timeouts and retries.

Constructor arguments win over the environment; ``ClientSettings.from_env()`` reads:

=============================== =====================================================
``DOCSPACE_URL``                 portal root, ``https://`` (``http://`` only for
                                 127.0.0.1 / localhost, i.e. the bundled simulator)
``DOCSPACE_API_KEY_SECRET``      Secrets Manager name or ARN holding the API key
                                 (a plain string, or JSON with ``apiKey``)
``DOCSPACE_API_KEY``             the key itself, for local runs only (refused in Lambda)
``DOCSPACE_API_KEY_CACHE_SECONDS`` how long a warm Lambda reuses the fetched key (300)
``DOCSPACE_TIMEOUT_SECONDS``     per-request timeout (15)
``DOCSPACE_MAX_ATTEMPTS``        attempts per request, first one included (5)
``DOCSPACE_RETRY_BUDGET_SECONDS`` most time one request may spend retrying (60)
``DOCSPACE_RETRY_BASE_SECONDS``  first backoff step, doubled per attempt, jittered (0.5)
``DOCSPACE_REQUESTS_PER_SECOND`` request-rate budget across threads, 0 for none (20)
=============================== =====================================================
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar, NamedTuple
from urllib.parse import urlsplit

from ..runtime.env import Env, env_float, env_int, env_str
from ..runtime.errors import ConfigError
from .secret import Secret, redact

_LOCAL_HOSTS = {"localhost"}
# botocore loggers that write request and response bodies (and signed headers) at DEBUG: a
# Secrets Manager answer is the API key in the clear. A DEBUG root logger (Lambda's
# ApplicationLogLevel) reaches them unless they carry a level of their own.
AWS_WIRE_LOGGERS = ("botocore.parsers", "botocore.endpoint", "botocore.awsrequest")


class RetryPolicy(NamedTuple):
    """How the client retries 429, 5xx, connection errors and timeouts."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    #: A ``Retry-After`` longer than this is not waited for: the error is raised instead
    #: (the daily POST/PUT limit answers with up to 86400 s).
    max_retry_after: float = 60.0
    #: The most time one request may spend in attempts and sleeps together.
    total_budget: float = 60.0


@dataclass(frozen=True)
class ClientSettings:
    # The environment variables ``from_env`` reads.
    URL: ClassVar[str] = "DOCSPACE_URL"
    API_KEY_SECRET: ClassVar[str] = "DOCSPACE_API_KEY_SECRET"  # noqa: S105 - a name, not a secret
    API_KEY: ClassVar[str] = "DOCSPACE_API_KEY"
    API_KEY_CACHE_SECONDS: ClassVar[str] = "DOCSPACE_API_KEY_CACHE_SECONDS"
    TIMEOUT_SECONDS: ClassVar[str] = "DOCSPACE_TIMEOUT_SECONDS"
    MAX_ATTEMPTS: ClassVar[str] = "DOCSPACE_MAX_ATTEMPTS"
    RETRY_BUDGET_SECONDS: ClassVar[str] = "DOCSPACE_RETRY_BUDGET_SECONDS"
    RETRY_BASE_SECONDS: ClassVar[str] = "DOCSPACE_RETRY_BASE_SECONDS"
    REQUESTS_PER_SECOND: ClassVar[str] = "DOCSPACE_REQUESTS_PER_SECOND"

    url: str
    api_key: Secret = field(repr=False)
    timeout: float = 15.0
    retry: RetryPolicy = RetryPolicy()  # noqa: RUF009 - an immutable NamedTuple
    #: Request-rate budget shared by the client's threads; 0 means no budget.
    requests_per_second: float = 20.0
    #: Reads the key again, bypassing any cache (set when it comes from Secrets Manager): the
    #: transport calls it once on a 401, as the key may have been rotated since it was cached.
    reload_api_key: Callable[[], Secret] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", validate_portal_url(self.url))
        if not self.api_key:
            raise ConfigError(ClientSettings.API_KEY, "the API key is empty")

    @classmethod
    def from_env(cls, env: Env | None = None) -> ClientSettings:
        return cls.prepare(env)()

    @classmethod
    def prepare(cls, env: Env | None = None) -> Callable[[], ClientSettings]:
        """Validate every client setting without an AWS call; the function returned reads the
        API key (from Secrets Manager in Lambda: an AWS call, so a handler calls it only once
        all its settings are known to be good) and builds the settings."""
        url = env_str(cls.URL, env=env)
        if url is None:
            raise ConfigError(
                cls.URL, "is required: the portal root, e.g. https://example.onlyoffice.com"
            )
        url = validate_portal_url(url)
        key_source = api_key_source(env)
        secret_name = env_str(cls.API_KEY_SECRET, env=env)
        reload_api_key = None
        if secret_name is not None:
            reload_api_key = partial(
                _key_from_secrets_manager, secret_name, _cache_seconds(env), force=True
            )
        timeout = env_float(cls.TIMEOUT_SECONDS, 15.0, minimum=0.1, maximum=300.0, env=env)
        requests_per_second = env_float(
            cls.REQUESTS_PER_SECOND, 20.0, minimum=0.0, maximum=1000.0, env=env
        )
        retry = RetryPolicy(
            max_attempts=env_int(cls.MAX_ATTEMPTS, 5, minimum=1, maximum=20, env=env),
            base_delay=env_float(cls.RETRY_BASE_SECONDS, 0.5, minimum=0.0, maximum=60.0, env=env),
            total_budget=env_float(
                cls.RETRY_BUDGET_SECONDS, 60.0, minimum=0.0, maximum=900.0, env=env
            ),
        )

        def build() -> ClientSettings:
            return cls(
                url=url,
                api_key=key_source(),
                reload_api_key=reload_api_key,
                timeout=timeout,
                requests_per_second=requests_per_second,
                retry=retry,
            )

        return build


def validate_portal_url(url: str) -> str:
    """Return the portal root without a trailing slash, or raise ``ConfigError``."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(
            ClientSettings.URL, f"is not a valid URL: {redact(str(exc), 120)}"
        ) from None
    if parts.scheme not in ("https", "http") or not host:
        shown = _without_credentials(url)
        raise ConfigError(ClientSettings.URL, f"must be an https:// URL with a host, got {shown!r}")
    if parts.username or parts.password:
        raise ConfigError(
            ClientSettings.URL, "must not carry credentials; put the key in the secret"
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            ClientSettings.URL, "must be the portal root, without a query or fragment"
        )
    if parts.scheme == "http" and not _is_local(host):
        raise ConfigError(
            ClientSettings.URL, "must use https; plain http is only allowed for 127.0.0.1/localhost"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/api/2.0"):
        path = path[: -len("/api/2.0")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _without_credentials(url: str) -> str:
    """``url`` fit for an error message: anything before an ``@`` (``user:key@``) hidden,
    even when the scheme is mistyped (``htps://``) or the key holds a ``/``."""
    before, at, after = url.strip().rpartition("@")
    if at:
        scheme, sep, _ = before.partition("://")
        url = f"{scheme}{sep}***@{after}" if sep else f"***@{after}"
    return redact(url, 120)


def _is_local(host: str) -> bool:
    if host.lower() in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_api_key(env: Env | None = None) -> Secret:
    """The API key: from Secrets Manager in Lambda, or ``DOCSPACE_API_KEY`` for local runs."""
    return api_key_source(env)()


def api_key_source(env: Env | None = None) -> Callable[[], Secret]:
    """Check where the API key comes from (no AWS call); the function returned reads it."""
    import os

    source = os.environ if env is None else env
    secret_name = env_str(ClientSettings.API_KEY_SECRET, env=env)
    if secret_name is not None:
        return partial(_key_from_secrets_manager, secret_name, _cache_seconds(env))
    plain = env_str(ClientSettings.API_KEY, env=env)
    if plain is None:
        raise ConfigError(
            ClientSettings.API_KEY_SECRET,
            "is required: the Secrets Manager name or ARN of the API key "
            f"({ClientSettings.API_KEY} for local runs)",
        )
    if source.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise ConfigError(
            ClientSettings.API_KEY,
            "is for local runs only; in Lambda store the key in Secrets Manager "
            f"({ClientSettings.API_KEY_SECRET})",
        )
    return partial(Secret, plain)


def _cache_seconds(env: Env | None) -> int:
    return env_int(ClientSettings.API_KEY_CACHE_SECONDS, 300, minimum=0, maximum=86400, env=env)


def _key_from_secrets_manager(name: str, max_age: int, *, force: bool = False) -> Secret:
    # ``force`` only when set: tests stand in for ``_fetch_secret(name, max_age)``.
    text = _fetch_secret(name, max_age, force=True) if force else _fetch_secret(name, max_age)
    return Secret(_key_from_secret_string(text))


def quiet_aws_wire_logs() -> None:
    """Raise botocore's body-logging loggers to INFO unless they are set higher already.

    Done before every secret read and never undone: another thread's read, or Powertools
    refreshing its cache, can happen at any time, so a restore would open a window."""
    for name in AWS_WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


def _fetch_secret(name: str, max_age: int, *, force: bool = False) -> str:
    return read_secret(name, max_age, setting=ClientSettings.API_KEY_SECRET, force=force)


def read_secret(name: str, max_age: int, *, setting: str, force: bool = False) -> str:
    """A Secrets Manager secret's text (cached ``max_age`` seconds; ``force`` skips the cache).

    Errors name ``setting`` and the secret, never its value; the SDK's wire logs are quieted
    first, since at DEBUG they would log the response and so the secret.
    """
    # Imported here: Powertools parameters costs ~230 ms to import and local runs never need it.
    from aws_lambda_powertools.utilities import parameters

    quiet_aws_wire_logs()
    try:
        value = parameters.get_secret(name, max_age=max_age, force_fetch=force)
    except parameters.exceptions.GetParameterError as exc:
        # The message names the secret and the AWS error code, never the value.
        raise ConfigError(setting, f"could not read secret {name!r}: {exc}") from None
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return str(value)


def _key_from_secret_string(text: str) -> str:
    """A secret holds the key as a plain string or as JSON ``{"apiKey": "..."}``."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise ConfigError(
                ClientSettings.API_KEY_SECRET, "the secret looks like JSON but does not parse"
            ) from None
        for key in ("apiKey", "api_key", "DOCSPACE_API_KEY", "key"):
            value = data.get(key) if isinstance(data, dict) else None
            if isinstance(value, str) and value.strip():
                return value.strip()
        raise ConfigError(ClientSettings.API_KEY_SECRET, 'the secret JSON has no "apiKey" string')
    if not stripped:
        raise ConfigError(ClientSettings.API_KEY_SECRET, "the secret is empty")
    return stripped
