"""The base of every error this project raises on purpose, and the run's own errors.

Every error names what failed and, where there is one, what to do about it. Each
concern's errors live in its package (``docspace.errors``, ``state.errors``,
``findings.errors``, ``workflows.ip_allowlist.errors``) and derive from
``SentinelError``.
"""

from __future__ import annotations


class SentinelError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(SentinelError):
    """A setting is missing or malformed. Raised at start, naming the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class InvalidInvocation(SentinelError, ValueError):
    """The invocation event is not one this function understands."""


class RunOutOfTime(SentinelError, TimeoutError):
    """The run's time ran out before it read what it must read to judge (a partial read would
    give wrong answers): it fails without acting, and the next run starts over."""
