"""The real-time guard: the consumer of the webhook queue (``functions/realtime_guard``).

Modules: ``settings`` (the polling guard's names plus the download rule's), ``rules`` (pure:
triggers and the sliding window), ``window`` (the per-user window and the cap in DynamoDB),
``dedup`` (one processing per delivery), ``findings`` (the findings and their enrichment),
``consumer`` (one SQS batch). ``entry`` (the Lambda wiring: ``entry.handler``).
"""

from __future__ import annotations

from .findings import WORKFLOW
from .settings import RealtimeSettings, Settings

__all__ = ["WORKFLOW", "RealtimeSettings", "Settings"]
