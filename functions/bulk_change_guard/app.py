"""Bulk file-change guard: reports, and in enforce mode temporarily disables, bulk changers."""

from docspace_sentinel.runtime.handler import workflow_handler
from docspace_sentinel.workflows import bulk_change_guard

handler = workflow_handler(
    bulk_change_guard.WORKFLOW, bulk_change_guard.run, bulk_change_guard.Settings
)
