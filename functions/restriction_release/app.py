"""Restriction release: lifts expired temporary restrictions and reconciles unfinished ones."""

from docspace_sentinel.runtime.handler import workflow_handler
from docspace_sentinel.workflows import restriction_release

handler = workflow_handler(
    restriction_release.WORKFLOW, restriction_release.run, restriction_release.Settings
)
