"""VDR activity monitor: users with unusually high activity in Virtual Data Rooms."""

from docspace_sentinel.runtime.handler import workflow_handler
from docspace_sentinel.workflows import vdr_activity

handler = workflow_handler(vdr_activity.WORKFLOW, vdr_activity.run, vdr_activity.Settings)
