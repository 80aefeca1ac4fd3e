"""Configuration and privilege watch: changes to who may do what and how the portal is
protected, from the audit trail and from settings snapshots."""

from docspace_sentinel.runtime.handler import workflow_handler
from docspace_sentinel.workflows import config_watch

handler = workflow_handler(config_watch.WORKFLOW, config_watch.run, config_watch.Settings)
