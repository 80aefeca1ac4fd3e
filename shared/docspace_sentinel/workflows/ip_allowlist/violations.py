"""What the login check does about a violation (``ON_VIOLATION``): nothing, a log-out or a
restriction, through the enforcement gate."""

from __future__ import annotations

from ...enforcement.gate import DISABLE, LOGOUT, ActionRequest, Gate, stale
from ...findings.finding import ActionTaken
from ...findings.suppression import Subject
from ...runtime.runner import RunContext
from ...state.restrictions import RestrictionStore
from .findings import WORKFLOW
from .rules import Sighting
from .settings import AllowlistSettings


class ViolationResponse:
    """``ON_VIOLATION``: nothing (alert), log the user out, or restrict them, once per user per
    run, through the enforcement gate (``MODE`` dry-run/enforce, protections, cap, recency)."""

    def __init__(self, context: RunContext, settings: AllowlistSettings) -> None:
        self.mode = settings.on_violation
        self.gate = Gate(
            context.client,
            RestrictionStore(context.store),
            settings.response,
            source=WORKFLOW,
            owner=context.invocation.run_key,
            rules=context.rules,
        )
        self.clock = context.store.now
        self.settings = settings.response
        self.taken: dict[str, ActionTaken] = {}

    def respond(
        self, offence: Sighting, finding_id: str, subject: Subject | None = None
    ) -> ActionTaken | None:
        """Act on a user's newest offending login (``offence``, see ``newest_offences``); the
        login's id is the evidence the gate keeps a log-out's once-record under."""
        if self.mode == "alert":
            return None
        user_id, evidence_at = offence.user_id, offence.latest.date
        if user_id not in self.taken:
            request = ActionRequest(
                DISABLE if self.mode == "restrict" else LOGOUT,
                user_id,
                evidence_at,
                finding_id,
                f"signed in from {offence.ip}, outside their IP allowlist",
                evidence_id=str(offence.latest.id),
                subject=subject,
            )
            action = self.gate.act(request)
            if action.status == "skipped" and stale(evidence_at, self.clock(), self.settings):
                return action  # not kept: it says nothing about a newer login of the same user
            self.taken[user_id] = action
        return self.taken[user_id]
