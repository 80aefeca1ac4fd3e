"""Keeping the portal's IP restriction list in step with the registered allowlists.

One sync at a time (``sync_locked``: the scheduled run's and every registration's) reads the
portal's list and switch, plans the change (``sync_plan.py``: what to add and remove, and every
guard that refuses or holds back part of it), and in ``enforce`` mode writes it:

* it refuses to switch restrictions on with a key that is not the portal owner's (only the owner
  is exempt, so this project's own calls would be blocked too);
* it re-reads the list right before the PUT and aborts if it changed since the plan (the PUT has
  no precondition, so a plan made on a stale list would drop someone else's edit);
* it records what it adds *before* the PUT (``sync_records.py``), so a crash after it cannot
  leave its addresses looking foreign, forgets them again when the portal definitely refused
  the PUT, and drops what it removed once the PUT succeeded.

Every outcome but ``unchanged``, ``off`` and ``busy`` is a finding (``findings.py``); nothing a
sync does fails the login check or a registration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ...docspace.client import DocSpaceClient
from ...docspace.errors import DocSpaceError
from ...docspace.models.ip_restrictions import list_digest
from ...findings.finding import Finding
from ...state import keys as state_keys
from ...state.journal import IP_SYNC, OwnActions
from ...state.store import StateStore
from .findings import WORKFLOW, held_finding, sync_failure, sync_finding
from .settings import SyncSettings
from .store import Allowlist, AllowlistStore
from .sync_plan import PortalState, SyncPlan, normal_ip, plan_sync
from .sync_records import AddedRecord, AddedStore, SyncConflict

log = logging.getLogger(__name__)

SYNC_LOCK = state_keys.IP_SYNC_LOCK  # one sync at a time, a run's or a registration's
SYNC_LEASE = timedelta(minutes=5)


def read_portal(client: DocSpaceClient) -> PortalState:
    settings = client.ip_restriction_settings()
    entries = tuple(client.ip_restrictions())
    return PortalState(entries, settings.enable, settings.last_modified)


@dataclass
class SyncResult:
    """``status``: off, unchanged, planned (dry run), refused, aborted, applied or failed."""

    status: str
    plan: SyncPlan | None = None
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if self.plan is not None:
            out |= {
                "add": len(self.plan.add),
                "remove": len(self.plan.remove),
                "enable": self.plan.enable,
                "monitoredOnly": len(self.plan.monitored_only),
            }
        return out


def sync_locked(
    client: DocSpaceClient, store: StateStore, settings: SyncSettings, owner: str
) -> SyncResult:
    """One portal sync under the sync lock; ``busy`` when another one holds it."""
    if settings.mode == "off":
        return SyncResult("off")
    if not store.acquire_lock(SYNC_LOCK, owner, SYNC_LEASE):
        return SyncResult("busy", detail="another sync is running; the next run syncs again")
    try:
        allowlists = AllowlistStore(store).all()
        return sync_portal(client, store, allowlists, settings, workflow=WORKFLOW)
    except Exception as exc:  # noqa: BLE001 - nothing from the sync may fail the run for good
        # Reading the list failed (e.g. the key's user is not an admin), or anything else: the
        # login check and a registration must not fail with it, so this is a finding, not an
        # exception. (A record written before a PUT that raised keeps its addresses: the PUT
        # may have happened, and the next applied sync prunes what the list does not hold.)
        log.warning("the portal sync failed: %s: %s", type(exc).__name__, exc)
        return SyncResult("failed", findings=[sync_failure(exc, client, WORKFLOW)], detail=str(exc))
    finally:
        store.release_lock(SYNC_LOCK, owner)


def sync_portal(
    client: DocSpaceClient,
    store: StateStore,
    allowlists: Iterable[Allowlist],
    settings: SyncSettings,
    *,
    workflow: str,
) -> SyncResult:
    """Plan, and in ``enforce`` mode apply, one sync. The caller holds the sync lock."""
    if settings.mode == "off":
        return SyncResult("off")
    records = AddedStore(store)
    added = records.get()
    before = read_portal(client)
    if settings.mode == "enforce":
        added = _forget_unlisted(records, added, before)
    plan = plan_sync(before, list(allowlists), added.addresses, settings, added.always_allowed)
    result = _sync(client, records, added, before, plan, settings, workflow)
    if plan.held_back and result.status in ("unchanged", "planned", "applied", "aborted"):
        result.findings.append(held_finding(plan, client, settings, workflow))
    return result


def _sync(
    client: DocSpaceClient,
    records: AddedStore,
    added: AddedRecord,
    before: PortalState,
    plan: SyncPlan,
    settings: SyncSettings,
    workflow: str,
) -> SyncResult:
    def result(status: str, plan: SyncPlan, detail: str, *dedup: str) -> SyncResult:
        """The outcome, reported as a finding (``dedup``: what else sets it apart)."""
        finding = sync_finding(status, plan, client, settings, workflow, detail, extra=dedup)
        return SyncResult(status, plan, [finding], detail)

    if not plan.changes and plan.refused is None:
        if settings.mode == "enforce":
            _note_always_allowed(records, added, before, settings)
        return SyncResult("unchanged", plan)
    if plan.refused is None and plan.enable and not before.applies and not client.me().is_owner:
        # Only the owner is exempt from IP restrictions: switched on, they would also block this
        # project's own calls from AWS (and so the lifting of every temporary restriction).
        plan = plan._replace(
            refused=(
                "restrictions would newly apply and would block this project's own calls too "
                "(only the portal owner is exempt): switch them on in the portal once the "
                "address Sentinel calls from is in ALWAYS_ALLOWED_IPS"
            ),
        )
    if plan.refused:
        return result("refused", plan, plan.refused)
    if settings.mode != "enforce":
        return result("planned", plan, "dry run: nothing was written")
    now = read_portal(client)
    if not now.same_as(before):
        return result(
            "aborted",
            plan,
            "the portal's list changed between the plan and the write (someone else edited it); "
            "the next run plans again",
            now.last_modified or "?",
        )
    # What the record lists but the portal's list no longer holds needs no tracking: left out,
    # the record stays within what the list holds plus what this sync adds (bounded, one item).
    listed = {normal_ip(e.ip) for e in now.entries}
    previous, previous_always = added.addresses & listed, added.always_allowed
    # From now on the record says which addresses are always allowed (an old record did not).
    always = (previous_always or frozenset()) | set(settings.always_allowed)
    try:
        # Recorded before the PUT: a crash after it must not leave our addresses looking foreign.
        added = records.put(previous | set(plan.add), expected=added.version, always_allowed=always)
    except SyncConflict:
        return result("aborted", plan, "another sync ran meanwhile", "conflict")
    # The state the portal will hold: the configuration watch tells this write from another
    # change of the list by it.
    written = list_digest(plan.enable, ((e.ip, e.for_admin) for e in plan.entries))
    journal = OwnActions(records.store)
    noted = journal.record(IP_SYNC, detail=written)
    try:
        client.put_ip_restrictions(plan.entries, enable=plan.enable)
    except ValueError as exc:
        # The client refused the list before sending anything (an entry it cannot parse).
        log.warning("the IP restriction PUT was not sent: %s", exc)
        journal.forget(noted)
        _roll_back(records, previous, added.version, previous_always)
        return result("failed", plan, f"nothing was sent: {exc}")
    except DocSpaceError as exc:
        log.warning("the IP restriction PUT failed: %s", exc)
        if not exc.retryable:
            # A definite refusal wrote nothing: forget the addresses recorded for it, or a later
            # sync could remove the same address added by hand as if it were ours.
            journal.forget(noted)
            _roll_back(records, previous, added.version, previous_always)
        return result("failed", plan, f"the portal refused: {exc}")
    try:
        records.put(
            added.addresses - set(plan.remove),
            expected=added.version,
            always_allowed=always - set(plan.remove),
        )
    except SyncConflict:
        log.warning("the ipsync record changed during the write; it keeps removed addresses")
    return result("applied", plan, "the portal list was updated")


def _forget_unlisted(records: AddedStore, added: AddedRecord, state: PortalState) -> AddedRecord:
    """The record less what the portal's list does not hold, persisted even with nothing to
    write: a PUT that failed (a timeout: perhaps never applied) leaves addresses recorded that
    the portal never got, and the same address typed in by an administrator later must not be
    taken for this project's and removed."""
    listed = {normal_ip(e.ip) for e in state.entries}
    kept = added.addresses & listed
    if kept == added.addresses:
        return added
    try:
        return records.put(kept, expected=added.version, always_allowed=added.always_allowed)
    except SyncConflict:
        log.warning("the ipsync record changed meanwhile; its unlisted addresses are kept")
        return added._replace(addresses=kept)  # this sync still treats them as foreign


def _roll_back(
    records: AddedStore, previous: frozenset[str], version: int, always: frozenset[str] | None
) -> None:
    """Forget the addresses recorded for a PUT that wrote nothing."""
    try:
        records.put(previous, expected=version, always_allowed=always)
    except SyncConflict:
        log.warning("the ipsync record changed meanwhile; left as it is")


def _note_always_allowed(
    records: AddedStore, added: AddedRecord, state: PortalState, settings: SyncSettings
) -> None:
    """With nothing to write, still record which addresses on the list are always allowed (an
    old record learns it here), so that a later deploy without them cannot drop them."""
    listed = {normal_ip(e.ip) for e in state.entries if not e.for_admin}
    always = set(settings.always_allowed) & listed
    known = added.always_allowed
    if always <= (known or set()):
        return  # nothing to learn (an old record stays one: it guards all it added)
    try:
        records.put(
            added.addresses, expected=added.version, always_allowed=(known or set()) | always
        )
    except SyncConflict:
        log.warning("the ipsync record changed meanwhile; left as it is")
