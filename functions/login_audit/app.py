"""Login audit: login queries on demand, a scheduled digest and brute-force findings."""

from docspace_sentinel.runtime.handler import workflow_handler
from docspace_sentinel.workflows import login_audit

handler = workflow_handler(
    login_audit.WORKFLOW, login_audit.run, login_audit.Settings, query=login_audit.query
)
