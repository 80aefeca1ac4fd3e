"""Run a Lambda handler in this process, as the Lambda runtime would, without Docker.

The function's folder and the layer's folder go on ``sys.path`` (as ``/var/task`` and
``/opt/python`` are in Lambda), and the handler module is loaded by file path under a unique
name: every handler is called ``app.py``, and two modules named ``app`` cannot share a process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "shared"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class FakeContext:
    """The parts of the Lambda context the handlers and Powertools read."""

    function_name: str = "docspace-sentinel-local"
    timeout_seconds: float = 900.0
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self.started)
        return max(0, int(left * 1000))


_loaded: dict[str, Handler] = {}


def load_handler(function: str, attribute: str = "handler") -> Handler:
    """``load_handler("vdr_activity")`` → ``functions/vdr_activity/app.py:handler``."""
    key = f"{function}:{attribute}"
    if key in _loaded:
        return _loaded[key]
    folder = ROOT / "functions" / function
    path = folder / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"no handler at {path}")
    use_layer()
    spec = importlib.util.spec_from_file_location(f"functions_{function}_app", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    handler: Handler = getattr(module, attribute)
    _loaded[key] = handler
    return handler


#: How far the local clock runs ahead of the wall clock (see ``fire_at``).
_clock_offset = timedelta(0)


def local_now() -> datetime:
    return datetime.now(UTC) + _clock_offset


def reset_clock() -> None:
    global _clock_offset
    _clock_offset = timedelta(0)


def fire_at(event: Any) -> None:
    """Deliver a schedule at its time, as EventBridge Scheduler does: a scheduled time ahead of
    the local clock moves the clock there instead of sleeping (the functions refuse a scheduled
    time in the future). The clock never goes back, so later runs see the time pass."""
    global _clock_offset
    use_layer()
    import docspace_sentinel.docspace.dates as dates

    dates.utcnow = local_now  # the state store's clock, which every run reads "now" from
    when = event.get("scheduledTime") if isinstance(event, dict) else None
    if not isinstance(when, str):
        return
    try:
        due = dates.parse_user_date(when)
    except ValueError:
        return  # the function says what is wrong with it
    ahead = due - datetime.now(UTC)
    if ahead > _clock_offset:
        _clock_offset = ahead


def use_layer() -> None:
    """Put the layer on ``sys.path``, as ``/opt/python`` is in Lambda."""
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))


@contextlib.contextmanager
def clock_at(when: datetime) -> Iterator[None]:
    """Run as of ``when``, which may be in the past: ``local.invoke`` delivers an example event
    at its own time to a world that lives in this process (the simulator, whose history ends
    there, and moto), as the Scheduler would have delivered it then. The functions refuse a
    scheduled time more than a day old against the real clock. The clock is put back after."""
    global _clock_offset
    use_layer()
    import docspace_sentinel.docspace.dates as dates

    dates.utcnow = local_now
    before = _clock_offset
    _clock_offset = when - datetime.now(UTC)
    try:
        yield
    finally:
        _clock_offset = before


def invoke(
    function: str,
    event: dict[str, Any],
    *,
    timeout_seconds: float = 900.0,
    attribute: str = "handler",
) -> Any:
    handler = load_handler(function, attribute)
    fire_at(event)
    return handler(event, FakeContext(function, timeout_seconds))
