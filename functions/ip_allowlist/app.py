"""IP allowlists: registrations (``register_handler``) and the scheduled login check and portal
sync (``handler``)."""

from docspace_sentinel.runtime.handler import workflow_handler
from docspace_sentinel.workflows import ip_allowlist

handler = workflow_handler(ip_allowlist.WORKFLOW, ip_allowlist.run, ip_allowlist.Settings)
register_handler = ip_allowlist.registration_handler()
