"""Real-time guard: consumes the verified DocSpace webhooks the receiver queued (SQS, with
ReportBatchItemFailures), reports bulk changes and downloads, and in enforce mode disables."""

from docspace_sentinel.workflows.realtime_guard.entry import handler

__all__ = ["handler"]
