"""Inactive room members: reminders to quiet members and a report for the rooms' managers."""

from docspace_sentinel.runtime.handler import workflow_handler
from docspace_sentinel.workflows import inactive_members

handler = workflow_handler(
    inactive_members.WORKFLOW, inactive_members.run, inactive_members.Settings
)
