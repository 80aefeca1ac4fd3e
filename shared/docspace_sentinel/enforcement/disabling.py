"""Disabling users and lifting it: the portal calls that move a restriction record through its
states (``restrictions``), each move a guarded transition, so two runs never both disable or both
re-enable a user and a crashed run is finished by the next one instead of repeated.

    claim      (none) -> restricting               RestrictionStore.begin, by the gate
    disable    restricting -> active               the portal confirmed the user disabled
               restricting -> failed               the portal refused (403): nothing changed
               restricting (kept)                  outcome unknown (5xx, timeout, unconfirmed)
    finish     restricting -> active               a crashed run's disable the portal shows
    lift       active -> lifting -> lifted         re-enabled by us
               lifting -> closed                   deleted, re-enabled or re-disabled meanwhile
               lifting (kept)                      the call failed: retried next run
    reconcile  restricting -> active/failed/closed an unknown outcome, against the real status

Only ``enforcement.Gate`` calls ``disable`` (after its checks); ``restriction_release`` and the
admin CLI call ``lift`` and ``reconcile``.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from ..docspace.client import DocSpaceClient
from ..docspace.errors import DocSpaceError, Forbidden, NotFound
from ..docspace.models import STATUS_ACTIVE, STATUS_PENDING, STATUS_TERMINATED, User
from ..state.journal import DISABLE, ENABLE, OwnActions
from ..state.restrictions import (
    ACTIVE,
    CLOSED,
    FAILED,
    LIFTED,
    LIFTING,
    RESTRICTING,
    Restriction,
    RestrictionStore,
)
from ..state.store import to_iso

log = logging.getLogger(__name__)


def disable(client: DocSpaceClient, records: RestrictionStore, target: str) -> tuple[str, str]:
    """Call and confirm one disable, once its record is claimed (``RestrictionStore.begin``:
    none -> restricting): the action's status and detail (``done`` is left for the caller to
    word)."""
    journal = OwnActions(records.store)
    noted = journal.record(DISABLE, target)
    try:
        updated = client.set_user_status([target], STATUS_TERMINATED)
    except Forbidden as exc:
        # A definite refusal: nothing changed on the portal.
        journal.forget(noted)
        records.transition(target, RESTRICTING, FAILED, lastError=str(exc)[:500])
        return "failed", f"the portal refused: {exc.message}"
    except DocSpaceError as exc:
        # Outcome unknown (5xx, timeout): the record stays "restricting" and the release
        # function reconciles it against the user's real status on its next run.
        records.note_failure(target, RESTRICTING, str(exc))
        return "failed", f"{type(exc).__name__}: {exc.message}; will be reconciled"
    if not any(u.id.lower() == target and u.status == STATUS_TERMINATED for u in updated):
        # The answer did not confirm it: leave the record "restricting" so the release
        # reconciles it against the user's real status instead of guessing here.
        records.note_failure(target, RESTRICTING, "the answer did not show the user disabled")
        return "failed", "the portal did not confirm the user disabled; will be reconciled"
    disabled_at = next(
        (u.terminated for u in updated if u.id.lower() == target and u.terminated), None
    )
    # When the portal stamped the disable, keep the stamp: the release lifts only a
    # disable that is still ours, not one an administrator made after re-enabling the user.
    stamp = {"terminatedAt": to_iso(disabled_at)} if disabled_at else {}
    if not records.transition(target, RESTRICTING, ACTIVE, **stamp):
        # The release reconciled the record as failed while this call was in flight: the
        # user is disabled, so the record must say so, or nothing would ever lift it.
        records.transition(target, FAILED, ACTIVE, **stamp)
    return "done", "disabled"


def finish_crashed(records: RestrictionStore, record: Restriction, user: User) -> None:
    """A record still "restricting" of a user the portal shows disabled: a crashed run's work,
    finished."""
    if record.state == RESTRICTING and user.status == STATUS_TERMINATED:
        records.transition(record.user_id, RESTRICTING, ACTIVE)


class Settled(NamedTuple):
    """What ``lift`` or ``reconcile`` did: the outcome, and the notice due (its kind, what
    happened, and the action's status), if any."""

    outcome: str
    notice: str | None = None
    what: str = ""
    status: str = ""


def lift(client: DocSpaceClient, records: RestrictionStore, record: Restriction) -> Settled:
    """Lift one held restriction now: active -> lifting -> lifted, or closed when the disable
    is no longer ours; a failed call stays lifting and is retried. Outcomes: ``lifted``,
    ``closed``, ``failed`` or ``skipped``."""
    user_id = record.user_id
    if record.state == ACTIVE and not records.transition(user_id, ACTIVE, LIFTING):
        return Settled("skipped")  # another run took it
    if record.state not in (ACTIVE, LIFTING):
        return Settled("skipped")
    try:
        user = client.user(user_id)
    except NotFound:
        records.transition(user_id, LIFTING, CLOSED, closedReason="the user was deleted")
        return Settled("closed", "restriction_closed", "the user was deleted meanwhile", "skipped")
    if user.status != STATUS_TERMINATED:
        records.transition(user_id, LIFTING, CLOSED, closedReason="re-enabled by an administrator")
        what = "an administrator re-enabled the user meanwhile"
        return Settled("closed", "restriction_closed", what, "skipped")
    if record.terminated_at and user.terminated and user.terminated != record.terminated_at:
        # Re-enabled and disabled again by someone else meanwhile: that disable is not ours.
        records.transition(
            user_id, LIFTING, CLOSED, closedReason="disabled again by an administrator"
        )
        what = "an administrator disabled the user again meanwhile; left disabled"
        return Settled("closed", "restriction_closed", what, "skipped")
    OwnActions(records.store).record(ENABLE, user_id)
    try:
        updated = client.set_user_status([user_id], STATUS_ACTIVE)
    except DocSpaceError as exc:
        records.note_failure(user_id, LIFTING, str(exc))
        log.warning("could not lift the restriction of %s: %s (retried next run)", user_id, exc)
        return Settled("failed")
    status = next((u.status for u in updated if u.id.lower() == user_id), None)
    if status not in (STATUS_ACTIVE, STATUS_PENDING):
        records.note_failure(user_id, LIFTING, f"status after the call: {status}")
        return Settled("failed")
    lifted_at = to_iso(records.store.now())
    records.transition(user_id, LIFTING, LIFTED, liftedAt=lifted_at)
    return Settled("lifted", "restriction_lifted", "the restriction was lifted", "done")


def reconcile(client: DocSpaceClient, records: RestrictionStore, record: Restriction) -> Settled:
    """Settle a disable whose outcome was unknown against the user's real status: restricting
    -> active (disabled), failed (not disabled: reported), or closed (the user is gone)."""
    try:
        user = client.user(record.user_id)
    except NotFound:
        records.transition(record.user_id, RESTRICTING, CLOSED, closedReason="the user was deleted")
        return Settled("closed")
    if user.status == STATUS_TERMINATED:
        records.transition(record.user_id, RESTRICTING, ACTIVE)
        return Settled("active")
    records.transition(
        record.user_id,
        RESTRICTING,
        FAILED,
        lastError=record.last_error or "the disable did not happen",
    )
    what = "the disable call did not take effect; the user stays enabled"
    return Settled("failed", "restriction_failed", what, "failed")
