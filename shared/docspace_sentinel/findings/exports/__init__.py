"""Exports of published findings beyond SNS: Security Hub (ASFF) and an EventBridge bus.

Both are optional and off by default (``SECURITY_HUB_EXPORT=true``, ``EVENT_BUS_NAME=<bus>``,
read with the run settings at the handler's entry). ``FindingPublisher.publish`` calls
``Exporter.export`` right after SNS took the finding, inside the caller's once-claim
(``sent#<workflow>``): a finding published once is exported once, and a retried run that finds
it already published exports nothing.

An export never loses the SNS message and never fails the run: each target is tried
``ATTEMPTS`` times with a growing pause, then an operations finding (kind ``export_failed``,
MEDIUM) goes to the findings topic (the functions may publish only there; SNS only, never
exported itself) and the run goes on.

The account and region of the default Security Hub product come from the Lambda context's
``invoked_function_arn`` (``bind``); without one (the CLI), from STS once per process.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from ...runtime.env import Env, env_bool, env_str
from ...runtime.errors import ConfigError
from ..errors import ExportError
from ..finding import Finding, Severity
from ..untrusted import one_line
from .asff import Account

log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
EXPORT_FAILED = "export_failed"
#: An event bus name (a custom bus, or ``default``), as EventBridge allows it.
_BUS_NAME = re.compile(r"[A-Za-z0-9._\-/]{1,256}")


@dataclass(frozen=True)
class ExportSettings:
    """Which exports are on (both off by default)."""

    SECURITY_HUB_EXPORT: ClassVar[str] = "SECURITY_HUB_EXPORT"
    EVENT_BUS_NAME: ClassVar[str] = "EVENT_BUS_NAME"

    security_hub: bool = False
    event_bus: str = ""

    @property
    def enabled(self) -> bool:
        return self.security_hub or bool(self.event_bus)

    @classmethod
    def from_env(cls, env: Env | None = None) -> ExportSettings:
        bus = (env_str(cls.EVENT_BUS_NAME, "", env=env) or "").strip()
        if bus and (not _BUS_NAME.fullmatch(bus) or bus.startswith("aws.")):
            raise ConfigError(
                cls.EVENT_BUS_NAME,
                f"expected an event bus name (letters, digits, . _ - /), got {bus[:80]!r}",
            )
        return cls(env_bool(cls.SECURITY_HUB_EXPORT, False, env=env), bus)


class Exporter:
    """Exports findings to the targets ``settings`` switches on.

    The AWS clients are created on first use (boto3 imported lazily); tests pass stubs.
    ``notify`` publishes an operations finding (``FindingPublisher`` sets it: SNS only).
    """

    def __init__(
        self,
        settings: ExportSettings,
        *,
        securityhub_client: Any | None = None,
        events_client: Any | None = None,
        account: Account | None = None,
        notify: Callable[[Finding], object] | None = None,
        attempts: int = ATTEMPTS,
        backoff: float | None = None,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._securityhub_client = securityhub_client
        self._events_client = events_client
        self._account = account
        self.notify = notify
        self.attempts = max(1, attempts)
        self.backoff = BACKOFF_SECONDS if backoff is None else backoff
        self.sleep = time.sleep if sleep is None else sleep
        self.now = now
        #: What this process exported (target -> count) and what failed for good.
        self.exported: dict[str, int] = {}
        self.failed: dict[str, int] = {}

    # -- where -----------------------------------------------------------------------------

    def bind(self, context: Any) -> None:
        """Take the account and region from a Lambda context (no AWS call)."""
        arn = getattr(context, "invoked_function_arn", None)
        account = Account.of_arn(arn) if isinstance(arn, str) else None
        if account is not None:
            self._account = account

    def account(self) -> Account:
        if self._account is None:
            import boto3

            session = boto3.session.Session()
            sts = session.client("sts")
            identity = sts.get_caller_identity()
            region = sts.meta.region_name or session.region_name
            if not region:
                raise ConfigError("AWS_REGION", "no region: set AWS_REGION for Security Hub")
            partition = str(identity["Arn"]).split(":")[1]  # arn:<partition>:sts::…
            self._account = Account(partition, region, str(identity["Account"]))
        return self._account

    def securityhub(self) -> Any:
        from .securityhub import SecurityHub

        if self._securityhub_client is None:
            import boto3

            self._securityhub_client = boto3.client("securityhub", config=_quick())
        return SecurityHub(self._securityhub_client, self.account)

    def eventbus(self) -> Any:
        from .eventbridge import EventBus

        if self._events_client is None:
            import boto3

            self._events_client = boto3.client("events", config=_quick())
        return EventBus(self._events_client, self.settings.event_bus)

    # -- exporting -------------------------------------------------------------------------

    def export(self, finding: Finding) -> dict[str, str]:
        """Export ``finding`` to each target that is on. Never raises: a target that still
        fails after the retries is reported (``export_failed``) and skipped."""
        done: dict[str, str] = {}
        targets: list[tuple[str, Callable[[], str]]] = []
        if self.settings.security_hub:
            targets.append(("Security Hub", lambda: self.securityhub().export(finding, self.now())))
        if self.settings.event_bus:
            targets.append(("EventBridge", lambda: self.eventbus().export(finding)))
        for target, call in targets:
            try:
                done[target] = self._retried(target, finding, call)
            except Exception as exc:  # noqa: BLE001 - an export never fails the run
                self.failed[target] = self.failed.get(target, 0) + 1
                self._report(finding, target, exc)
                continue
            self.exported[target] = self.exported.get(target, 0) + 1
        return done

    def _retried(self, target: str, finding: Finding, call: Callable[[], str]) -> str:
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except (ExportError, ConfigError):
                if attempt == self.attempts:
                    raise
            except Exception as exc:
                if attempt == self.attempts:
                    raise ExportError(target, type(exc).__name__, str(exc)) from exc
            log.warning(
                "exporting finding %s to %s failed (attempt %d of %d): retrying",
                finding.fingerprint,
                target,
                attempt,
                self.attempts,
            )
            self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _report(self, finding: Finding, target: str, exc: BaseException) -> None:
        code = getattr(exc, "code", type(exc).__name__)
        detail = one_line(getattr(exc, "detail", str(exc)))[:500]
        log.error(
            "finding %s (%s/%s) was published to SNS but not exported to %s: %s: %s",
            finding.fingerprint,
            finding.workflow,
            finding.kind,
            target,
            code,
            detail,
        )
        if self.notify is None:
            return
        try:
            self.notify(export_failed(finding, target, str(code), detail, self.attempts))
        except Exception:
            log.exception(
                "the export_failed notice for %s could not be published", finding.fingerprint
            )


def _quick() -> Any:
    """Short timeouts and few SDK retries: an export runs after SNS took the message and before
    its record is confirmed, so a hanging Security Hub must cost seconds, not the Lambda's
    whole timeout (the SDK defaults are 60 s and several retries, times ``ATTEMPTS``)."""
    from botocore.config import Config

    return Config(
        connect_timeout=3, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}
    )


def export_failed(finding: Finding, target: str, code: str, detail: str, attempts: int) -> Finding:
    """The operations finding for an export that failed for good."""
    return Finding(
        workflow=finding.workflow,
        kind=EXPORT_FAILED,
        severity=Severity.MEDIUM,
        title=f"Finding not exported to {target}: {code}",
        summary=(
            f"The {finding.severity.value} finding {finding.fingerprint} ({finding.kind}) was "
            f"published to SNS but {target} did not take it after {attempts} attempts "
            f"({code}: {detail}). Check the function's permissions and that {target} is set up "
            "in this account and region; the finding itself is in this topic."
        ),
        dedup=(target, finding.fingerprint),
        portal_url=finding.portal_url,
        evidence={
            "findingId": finding.fingerprint,
            "findingKind": finding.kind,
            "findingTitle": finding.title,
            "target": target,
            "errorCode": code,
            "error": detail,
            "attempts": attempts,
        },
    )
