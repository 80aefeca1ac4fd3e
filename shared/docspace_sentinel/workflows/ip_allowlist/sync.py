"""Keeping the portal's IP restriction list in step with the registered allowlists.

The portal (API notes, section 5) stores *single addresses only*, *replaces the whole list* on
every PUT and applies it to *everyone*. So the sync:

* writes every registered single address, small ranges and networks expanded to their addresses
  (at most ``MAX_EXPANDED_RANGE`` each), and ``ALWAYS_ALLOWED_IPS``, all as ``forAdmin: false``;
  larger ranges cannot be stored and are reported as monitored only;
* never removes an entry it did not add: what it added is recorded (below), and only those
  addresses are ever taken off again, once no allowlist needs them;
* always sends ``enable`` (an omitted ``enable`` means "on when the list is not empty", which
  would switch restrictions on); never switches them on unless ``PORTAL_SYNC_ENABLE`` is set,
  never writes an empty list, and never writes at all while restrictions are (or would be) on
  without ``ALWAYS_ALLOWED_IPS`` (``forAdmin: false`` entries admit everyone, admins included, so
  an admin outside the list is locked out, and a rewrite could drop their address);
* while restrictions are (or would be) on, never drops an address it put on the list as always
  allowed (its record says which) unless ``PORTAL_SYNC_CONFIRM_REMOVE`` names it: a later deploy
  with another ``ALWAYS_ALLOWED_IPS`` must not lock out the administrators (or, with a key that
  is not the owner's, Sentinel itself);
* re-reads the list right before the PUT and aborts if it changed since the plan (the PUT has no
  precondition, so a plan made on a stale list would drop someone else's edit);
* writes at most ``MAX_PORTAL_ENTRIES`` entries: beyond that the sync is refused (the portal
  matches every request against the whole list, and the record below must stay one DynamoDB
  item); one allowlist may put at most ``MAX_ALLOWLIST_EXPANDED`` addresses there.

================ ========= ===================================================================
pk               sk        attributes
================ ========= ===================================================================
``ipsync``       ``added`` ``addresses`` (what this project added to the portal),
                           ``alwaysAllowed`` (the addresses it keeps there as always allowed;
                           absent in records written before it was kept: then every address
                           it added counts as possibly always allowed), ``updatedAt``,
                           ``version`` (``StateStore.put_versioned``)
================ ========= ===================================================================
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ...docspace.client import DocSpaceClient
from ...docspace.errors import DocSpaceError
from ...docspace.models import IpRestriction
from ...findings.finding import ActionTaken, Finding, Severity
from ...runtime.env import Env, env_bool, env_choice, env_int, env_list
from ...runtime.errors import ConfigError
from ...state import keys as state_keys
from ...state.errors import ConditionFailed
from ...state.store import StateStore, to_iso
from .allowlist import Allowlist, parse_entry, unmapped

log = logging.getLogger(__name__)

SYNC_MODES = ("off", "dry-run", "enforce")
SAMPLE = 50
ACTION = "ip_sync"
#: The longest list the sync writes. The record keeps at most what was on the list plus what a
#: sync adds, each address at most 39 characters: 2 x 2,000 x ~43 bytes is well under the 400 KB
#: item limit, and the portal checks every request against the whole list.
MAX_PORTAL_ENTRIES = 2000
#: What one allowlist may put on the portal's list (four /24s), checked at registration.
MAX_ALLOWLIST_EXPANDED = 1024


class _SyncValues(NamedTuple):
    mode: str = "dry-run"
    enable: bool = False
    max_expanded: int = 256
    always_allowed: tuple[str, ...] = ()
    #: Always-allowed addresses the operator agrees to see dropped while restrictions apply.
    confirm_remove: tuple[str, ...] = ()


class SyncSettings(_SyncValues):
    """The portal sync's settings (a NamedTuple; the environment variable names live here)."""

    __slots__ = ()
    PORTAL_SYNC = "PORTAL_SYNC"
    PORTAL_SYNC_ENABLE = "PORTAL_SYNC_ENABLE"
    MAX_EXPANDED_RANGE = "MAX_EXPANDED_RANGE"
    ALWAYS_ALLOWED_IPS = "ALWAYS_ALLOWED_IPS"
    PORTAL_SYNC_CONFIRM_REMOVE = "PORTAL_SYNC_CONFIRM_REMOVE"

    @classmethod
    def from_env(cls, env: Env | None = None) -> SyncSettings:
        return cls(
            mode=env_choice(cls.PORTAL_SYNC, "dry-run", SYNC_MODES, env=env),
            enable=env_bool(cls.PORTAL_SYNC_ENABLE, False, env=env),
            max_expanded=env_int(cls.MAX_EXPANDED_RANGE, 256, minimum=1, maximum=65_536, env=env),
            always_allowed=_addresses(cls.ALWAYS_ALLOWED_IPS, env, routable=True),
            confirm_remove=_addresses(cls.PORTAL_SYNC_CONFIRM_REMOVE, env),
        )


def _addresses(name: str, env: Env | None, *, routable: bool = False) -> tuple[str, ...]:
    """Single addresses, normal form (IPv4-mapped ones as IPv4), duplicates dropped.

    ``routable``: refuse addresses no administrator can sign in from (unspecified, loopback,
    multicast, broadcast, link-local, zone-indexed): set only to those, the "always-allowed is
    set" safety gate would pass with no real address on the list. Private ranges are fine.
    """
    found: list[str] = []
    bad: list[str] = []
    meaningless: list[str] = []
    for value in env_list(name, env=env):
        try:
            address = unmapped(ipaddress.ip_address(value))
        except ValueError:
            bad.append(value)
            continue
        if routable and (
            "%" in value
            or address.is_unspecified
            or address.is_loopback
            or address.is_multicast
            or address.is_link_local
            or address == ipaddress.IPv4Address("255.255.255.255")
        ):
            meaningless.append(value)
            continue
        found.append(str(address))
    if bad:
        raise ConfigError(
            name,
            f"must be single IP addresses (the portal stores no ranges), got {', '.join(bad)}",
        )
    if meaningless:
        raise ConfigError(
            name,
            "must be addresses the administrators sign in from; unspecified, loopback, "
            "multicast, broadcast, link-local and zone-indexed addresses admit nobody, got "
            + ", ".join(meaningless),
        )
    return tuple(dict.fromkeys(found))


def normal_ip(text: str) -> str | None:
    """A portal entry's address in normal form, or ``None`` for a legacy range/CIDR row.

    An IPv4-mapped entry stays IPv6 here: it is what the portal holds, and the sync replaces one
    it wrote itself by the IPv4 address.
    """
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _is_ipv4(text: str) -> bool:
    return ipaddress.ip_address(text).version == 4


def _host(text: str) -> str:
    """The host an address denotes (``::ffff:a.b.c.d`` is ``a.b.c.d``)."""
    return str(unmapped(ipaddress.ip_address(text)))


class PortalState(NamedTuple):
    """The portal's list and switch, as read."""

    entries: tuple[IpRestriction, ...]
    enable: bool
    last_modified: str | None = None

    @property
    def applies(self) -> bool:
        """Enforcement needs the switch on *and* a non-empty list (section 5.4)."""
        return self.enable and bool(self.entries)

    def same_as(self, other: PortalState) -> bool:
        def key(state: PortalState) -> tuple[Any, ...]:
            return (sorted((e.ip, e.for_admin) for e in state.entries), state.enable)

        return key(self) == key(other)


def read_portal(client: DocSpaceClient) -> PortalState:
    settings = client.ip_restriction_settings()
    entries = tuple(client.ip_restrictions())
    return PortalState(entries, settings.enable, settings.last_modified)


class MonitoredOnly(NamedTuple):
    """A range too large to put on the portal: login checks still use it."""

    user_id: str
    entry: str
    addresses: int

    def to_dict(self) -> dict[str, Any]:
        return {"userId": self.user_id, "entry": self.entry, "addresses": self.addresses}


class ListTooLong(Exception):
    """Internal: the allowlists would put more than the limit on the portal's list."""


def expanded_size(entries: Iterable[str], max_expanded: int) -> int:
    """How many addresses ``entries`` would put on the portal's list (overlaps counted twice:
    an upper bound, computed without expanding anything)."""
    total = 0
    for text in entries:
        try:
            size = parse_entry(text).size
        except ValueError:
            continue
        if size <= max_expanded:
            total += size
    return total


def desired_addresses(
    allowlists: Iterable[Allowlist], max_expanded: int, *, limit: int | None = None
) -> tuple[dict[str, set[str]], list[MonitoredOnly]]:
    """Address → the users needing it; and the ranges too large to expand. Past ``limit``
    addresses it stops (``ListTooLong``), so the expansion's memory stays bounded."""
    wanted: dict[str, set[str]] = {}
    monitored: list[MonitoredOnly] = []
    for allowlist in allowlists:
        for text in allowlist.entries:
            try:
                entry = parse_entry(text)
            except ValueError:
                continue
            if entry.size > max_expanded:
                monitored.append(MonitoredOnly(allowlist.user_id, entry.text, entry.size))
                continue
            for address in entry.addresses():
                wanted.setdefault(address, set()).add(allowlist.user_id)
                if limit is not None and len(wanted) > limit:
                    raise ListTooLong()
    return wanted, monitored


class SyncPlan(NamedTuple):
    before: PortalState
    entries: tuple[IpRestriction, ...]  # the whole list to write
    enable: bool
    add: tuple[str, ...]
    remove: tuple[str, ...]
    monitored_only: tuple[MonitoredOnly, ...] = ()
    refused: str | None = None
    #: The always-allowed addresses the change would drop (named when it is refused for them).
    dropping: tuple[str, ...] = ()
    #: Always-allowed addresses kept on the list although no allowlist needs them any more
    #: (dropping them could lock the administrators out); ``held_reason`` says why.
    held_back: tuple[str, ...] = ()
    held_reason: str = ""

    @property
    def changes(self) -> bool:
        return bool(self.add or self.remove or self.enable != self.before.enable)

    @property
    def diff_id(self) -> str:
        """Identifies the change itself, so an identical plan is one finding."""
        raw = json.dumps([self.add, self.remove, self.before.enable, self.enable, self.refused])
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def evidence(self, mode: str) -> dict[str, Any]:
        foreign = len(self.before.entries) - sum(
            1 for e in self.before.entries if not e.for_admin and normal_ip(e.ip) in self.remove
        )
        return {
            "mode": mode,
            "add": list(self.add[:SAMPLE]),
            "addCount": len(self.add),
            "remove": list(self.remove[:SAMPLE]),
            "removeCount": len(self.remove),
            "entriesKept": foreign,
            "listSizeBefore": len(self.before.entries),
            "listSizeAfter": len(self.entries),
            "enableBefore": self.before.enable,
            "enableAfter": self.enable,
            "monitoredOnly": [m.to_dict() for m in self.monitored_only],
            "refused": self.refused,
            "alwaysAllowedDropped": list(self.dropping[:SAMPLE]),
            "removalHeldBack": list(self.held_back[:SAMPLE]),
            "portalLastModified": self.before.last_modified,
        }


def plan_sync(
    state: PortalState,
    allowlists: Iterable[Allowlist],
    added: Iterable[str],
    settings: SyncSettings,
    always: Iterable[str] | None = (),
) -> SyncPlan:
    """Pure rule: the list and switch to write, or why not.

    ``added``: what this project put on the list; ``always``: which of those it put there as
    always allowed, ``None`` when its record does not say (then all of them count).
    """
    allowlists = list(allowlists)
    try:
        wanted, monitored = desired_addresses(
            allowlists, settings.max_expanded, limit=MAX_PORTAL_ENTRIES
        )
    except ListTooLong:
        return _too_long(state, allowlists, settings)
    desired = set(wanted) | set(settings.always_allowed)
    ours = set(added)
    for_everyone = {normal_ip(e.ip) for e in state.entries if not e.for_admin}
    add = sorted(desired - for_everyone, key=_ip_sort)
    remove = sorted(
        {a for a in ours if a in for_everyone and a not in desired},
        key=_ip_sort,
    )
    enable = state.enable or settings.enable
    plan = _with_removed(
        SyncPlan(state, (), enable, tuple(add), (), tuple(monitored)), tuple(remove)
    )
    if not plan.changes:
        return plan
    if len(plan.entries) > MAX_PORTAL_ENTRIES:
        return _too_long(state, allowlists, settings)
    dropping = _dropping(plan, ours if always is None else set(always), settings)
    named = f" ({_listed(dropping)} would be dropped)" if dropping else ""
    refused: str | None = None
    if not plan.entries:
        refused = "the change would leave the portal's list empty"
    elif enable and not any(_is_ipv4(a) for a in settings.always_allowed):
        # forAdmin:false entries admit everyone, and nothing else does: an admin whose address
        # is not listed is locked out while the list applies. DocSpace 3.7 cuts the request's
        # address at its first ':' before comparing strings, so an IPv6 entry admits nobody:
        # an IPv6-only setting is as good as an empty one.
        unset = (
            "is empty"
            if not settings.always_allowed
            else "holds no IPv4 address (an IPv6 entry admits nobody on DocSpace 3.7)"
        )
        if state.applies:
            # An empty setting is most often a deploy with the template's default, not a wish
            # to drop the administrators: write nothing until it is set again.
            refused = (
                f"IP restrictions apply on the portal and ALWAYS_ALLOWED_IPS {unset}: nothing "
                f"is written while they apply{named}, as a rewrite could lock the "
                "administrators out; set ALWAYS_ALLOWED_IPS to their addresses"
            )
        elif not state.enable:
            refused = (
                f"restrictions would newly apply (to admins too) and ALWAYS_ALLOWED_IPS {unset}: "
                "set it to the administrators' IPv4 addresses"
            )
        else:
            refused = (
                "restrictions are on with an empty list (so not enforced); writing any address "
                "would start blocking everyone else, admins included: set ALWAYS_ALLOWED_IPS"
            )
    elif enable and dropping:
        # Keep them on the list and write the rest: refusing everything would also withhold
        # the additions (a new ALWAYS_ALLOWED_IPS among them), locking out whom it should admit.
        why = (
            "Sentinel put them there as always allowed (ALWAYS_ALLOWED_IPS of an earlier deploy)"
            if always is not None
            else "Sentinel added them, and its record predates always-allowed tracking, so it "
            "cannot tell the administrators' addresses from the users'"
        )
        value = ",".join(dropping) if len(dropping) <= 10 else "<those addresses>"
        reason = (
            f"{_listed(dropping)} stay on the portal's list although no allowlist needs them: "
            f"IP restrictions apply and {why}, so whoever signs in from there would be locked "
            f"out. If the removal is intended, confirm it with PORTAL_SYNC_CONFIRM_REMOVE={value} "
            "(or local.cli allowlist sync --confirm-remove ADDRESS)"
        )
        held = set(dropping)
        plan = _with_removed(plan, tuple(a for a in plan.remove if a not in held))
        plan = plan._replace(held_back=dropping, held_reason=reason)
    legacy = [e.ip for e in state.entries if normal_ip(e.ip) is None]
    if refused is None and legacy:
        refused = (
            "the portal list holds entries the portal no longer accepts on a PUT "
            f"({', '.join(legacy[:5])}); rewriting the list would drop them: fix them by hand"
        )
    return plan._replace(refused=refused, dropping=dropping)


def _with_removed(plan: SyncPlan, remove: tuple[str, ...]) -> SyncPlan:
    """The plan writing the portal's list less ``remove``, plus its additions. Kept entries are
    written in normal form: the client refuses a row the portal holds with blanks around it."""
    gone = set(remove)
    kept = [
        e._replace(ip=normal_ip(e.ip) or e.ip)
        for e in plan.before.entries
        if e.for_admin or normal_ip(e.ip) not in gone
    ]
    entries = (*kept, *(IpRestriction(a, False) for a in plan.add))
    return plan._replace(entries=entries, remove=remove)


def _too_long(state: PortalState, allowlists: list[Allowlist], settings: SyncSettings) -> SyncPlan:
    """A refusal writing nothing: the list would be longer than ``MAX_PORTAL_ENTRIES``."""
    sizes = sorted(
        ((expanded_size(a.entries, settings.max_expanded), a.user_id) for a in allowlists),
        reverse=True,
    )
    largest = ", ".join(f"{user} ({size:,})" for size, user in sizes[:5] if size)
    refused = (
        f"the allowlists would put more than {MAX_PORTAL_ENTRIES:,} entries on the portal's "
        f"list (the most addresses: {largest or 'none'}); nothing was written. Narrow those "
        f"allowlists, or list networks larger than MAX_EXPANDED_RANGE={settings.max_expanded} "
        "(checked at login only). The login check is not affected"
    )
    return SyncPlan(state, state.entries, state.enable, (), (), refused=refused)


def _dropping(plan: SyncPlan, guarded: set[str], settings: SyncSettings) -> tuple[str, ...]:
    """The guarded addresses the plan removes whose host nothing else on the list admits and
    that the operator has not confirmed (an IPv4-mapped entry replaced by its IPv4 address is
    no drop).

    A kept entry admits only its own string: the portal compares addresses as strings, so a
    kept ``::ffff:a.b.c.d`` does not admit ``a.b.c.d`` and does not cover its removal."""
    kept = {a for e in plan.entries if not e.for_admin and (a := normal_ip(e.ip))}
    confirmed = {_host(a) for a in settings.confirm_remove}
    return tuple(a for a in plan.remove if a in guarded and _host(a) not in kept | confirmed)


def _listed(addresses: tuple[str, ...], limit: int = 10) -> str:
    more = len(addresses) - limit
    return ", ".join(addresses[:limit]) + (f" and {more} more" if more > 0 else "")


def _ip_sort(text: str) -> tuple[int, int]:
    address = ipaddress.ip_address(text)
    return (address.version, int(address))


# -- what we added ------------------------------------------------------------------------------


class AddedRecord(NamedTuple):
    addresses: frozenset[str] = frozenset()
    version: int = 0
    #: Which of them it keeps as always allowed; ``None``: a record from before this was kept.
    always_allowed: frozenset[str] | None = frozenset()


class SyncConflict(Exception):
    """Internal: another sync wrote the record meanwhile."""


class AddedStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def get(self) -> AddedRecord:
        item = self.store.get(*state_keys.IP_SYNC_ADDED)
        if not item:
            return AddedRecord()
        always = item.get("alwaysAllowed")
        return AddedRecord(
            frozenset(str(a) for a in item.get("addresses") or ()),
            int(item.get("version", 0)),
            None if always is None else frozenset(str(a) for a in always),
        )

    def put(
        self,
        addresses: Iterable[str],
        *,
        expected: int,
        always_allowed: Iterable[str] | None = frozenset(),
    ) -> AddedRecord:
        ordered = sorted(set(addresses), key=_ip_sort)
        item: dict[str, Any] = {
            **state_keys.IP_SYNC_ADDED.item(),
            "addresses": ordered,
            "updatedAt": to_iso(self.store.now()),
        }
        always = None if always_allowed is None else sorted(set(always_allowed), key=_ip_sort)
        if always is not None:
            item["alwaysAllowed"] = always
        try:
            version = self.store.put_versioned(item, expected)
        except ConditionFailed:
            raise SyncConflict() from None
        return AddedRecord(
            frozenset(ordered), version, None if always is None else frozenset(always)
        )


# -- one sync -----------------------------------------------------------------------------------


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


_KINDS: Mapping[str, tuple[str, Severity, str]] = {
    # status → (kind, severity, action status)
    "planned": ("ip_sync_planned", Severity.LOW, "proposed"),
    "applied": ("ip_sync_applied", Severity.MEDIUM, "done"),
    "refused": ("ip_sync_refused", Severity.MEDIUM, "skipped"),
    "aborted": ("ip_sync_aborted", Severity.MEDIUM, "skipped"),
    "failed": ("ip_sync_failed", Severity.HIGH, "failed"),
}


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
        result.findings.append(_held_finding(plan, client, settings, workflow))
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
        return _result("refused", plan, client, settings, workflow, plan.refused)
    if settings.mode != "enforce":
        return _result("planned", plan, client, settings, workflow, "dry run: nothing was written")
    now = read_portal(client)
    if not now.same_as(before):
        return _result(
            "aborted",
            plan,
            client,
            settings,
            workflow,
            "the portal's list changed between the plan and the write (someone else edited it); "
            "the next run plans again",
            extra=(now.last_modified or "?",),
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
        return _result(
            "aborted",
            plan,
            client,
            settings,
            workflow,
            "another sync ran meanwhile",
            extra=("conflict",),
        )
    try:
        client.put_ip_restrictions(plan.entries, enable=plan.enable)
    except ValueError as exc:
        # The client refused the list before sending anything (an entry it cannot parse).
        log.warning("the IP restriction PUT was not sent: %s", exc)
        _roll_back(records, previous, added.version, previous_always)
        return _result("failed", plan, client, settings, workflow, f"nothing was sent: {exc}")
    except DocSpaceError as exc:
        log.warning("the IP restriction PUT failed: %s", exc)
        if not exc.retryable:
            # A definite refusal wrote nothing: forget the addresses recorded for it, or a later
            # sync could remove the same address added by hand as if it were ours.
            _roll_back(records, previous, added.version, previous_always)
        return _result("failed", plan, client, settings, workflow, f"the portal refused: {exc}")
    try:
        records.put(
            added.addresses - set(plan.remove),
            expected=added.version,
            always_allowed=always - set(plan.remove),
        )
    except SyncConflict:
        log.warning("the ipsync record changed during the write; it keeps removed addresses")
    return _result("applied", plan, client, settings, workflow, "the portal list was updated")


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


def _held_finding(
    plan: SyncPlan, client: DocSpaceClient, settings: SyncSettings, workflow: str
) -> Finding:
    """The always-allowed addresses kept on the list instead of removed, and how to confirm."""
    held = plan.held_back
    return Finding(
        workflow=workflow,
        kind="ip_sync_removal_held",
        severity=Severity.MEDIUM,
        title=f"IP restriction sync kept {len(held)} always-allowed address(es) on the list",
        summary=f"Portal IP restrictions: {plan.held_reason}.",
        dedup=("held", hashlib.sha256(json.dumps(sorted(held)).encode()).hexdigest()[:16]),
        portal_url=client.portal_url,
        evidence={
            "mode": settings.mode,
            "heldBack": list(held[:SAMPLE]),
            "heldBackCount": len(held),
            "detail": plan.held_reason,
        },
        actions=(ActionTaken(ACTION, "portal", "skipped", plan.held_reason[:500]),),
    )


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


def _result(
    status: str,
    plan: SyncPlan,
    client: DocSpaceClient,
    settings: SyncSettings,
    workflow: str,
    detail: str,
    *,
    extra: tuple[str, ...] = (),
) -> SyncResult:
    kind, severity, action_status = _KINDS[status]
    what = f"add {len(plan.add)}, remove {len(plan.remove)}"
    if plan.enable != plan.before.enable:
        what += ", switch restrictions " + ("on" if plan.enable else "off")
    titles = {
        "planned": f"IP restriction sync planned ({what})",
        "applied": f"IP restrictions updated ({what})",
        "refused": f"IP restriction sync refused ({what})",
        "aborted": f"IP restriction sync aborted ({what})",
        "failed": f"IP restriction sync failed ({what})",
    }
    dedup: tuple[str, ...] = (status, plan.diff_id, *extra)
    if status == "applied":
        dedup = (*dedup, plan.before.last_modified or "")
    finding = Finding(
        workflow=workflow,
        kind=kind,
        severity=severity,
        title=titles[status],
        summary=f"Portal IP restrictions: {what}. {detail}.",
        dedup=dedup,
        portal_url=client.portal_url,
        evidence={**plan.evidence(settings.mode), "detail": detail},
        actions=(ActionTaken(ACTION, "portal", action_status, detail),),
    )
    return SyncResult(status, plan, [finding], detail)


def sync_failure(exc: Exception, client: DocSpaceClient, workflow: str) -> Finding:
    """A sync that could not even read the portal's list, or that failed unexpectedly."""
    if not isinstance(exc, DocSpaceError):
        return Finding(
            workflow=workflow,
            kind="ip_sync_failed",
            severity=Severity.HIGH,
            title=f"IP restriction sync failed ({type(exc).__name__})",
            summary=(
                f"The portal sync failed: {type(exc).__name__}: {str(exc)[:300]}. The login "
                "check ran; the next run syncs again."
            ),
            dedup=("error", type(exc).__name__),
            portal_url=client.portal_url,
            evidence={"error": f"{type(exc).__name__}: {str(exc)[:500]}"},
            actions=(ActionTaken(ACTION, "portal", "failed", type(exc).__name__),),
        )
    return Finding(
        workflow=workflow,
        kind="ip_sync_failed",
        severity=Severity.HIGH,
        title="IP restriction sync failed: the portal's list could not be read",
        summary=f"The portal sync could not read the IP restrictions: {exc}.",
        dedup=("read", type(exc).__name__, str(exc.status_code or "")),
        portal_url=client.portal_url,
        evidence={"error": str(exc)[:500]},
        actions=(ActionTaken(ACTION, "portal", "failed", type(exc).__name__),),
    )
