"""DocSpace webhook receiver: verifies each delivery's signature and queues it for the guard."""

from docspace_sentinel.webhooks.receiver import handler

__all__ = ["handler"]
