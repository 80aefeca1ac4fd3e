"""The DynamoDB state table: one key schema (``keys``), the store and its conditional writes
(runs, locks, cursors, once-per-period claims, versioned items), the restriction records
of the users Sentinel disabled, and the errors a failed write raises.

Nothing is imported here (Lambda cold start).
"""
