"""The portal sync's plan: the list and switch to write, or why not (pure, no I/O).

The portal (API notes, section 5) stores *single addresses only*, *replaces the whole list* on
every PUT and applies it to *everyone*. So the sync:

* writes every registered single address, small ranges and networks expanded to their addresses
  (at most ``MAX_EXPANDED_RANGE`` each), and ``ALWAYS_ALLOWED_IPS``, all as ``forAdmin: false``;
  larger ranges cannot be stored and are reported as monitored only;
* never removes an entry it did not add: what it added is recorded (``sync_records.py``), and
  only those addresses are ever taken off again, once no allowlist needs them;
* always sends ``enable`` (an omitted ``enable`` means "on when the list is not empty", which
  would switch restrictions on); never switches them on unless ``PORTAL_SYNC_ENABLE`` is set,
  never writes an empty list, and never writes at all while restrictions are (or would be) on
  without ``ALWAYS_ALLOWED_IPS`` (``forAdmin: false`` entries admit everyone, admins included, so
  an admin outside the list is locked out, and a rewrite could drop their address);
* while restrictions are (or would be) on, never drops an address it put on the list as always
  allowed (its record says which) unless ``PORTAL_SYNC_CONFIRM_REMOVE`` names it: a later deploy
  with another ``ALWAYS_ALLOWED_IPS`` must not lock out the administrators (or, with a key that
  is not the owner's, Sentinel itself);
* writes at most ``MAX_PORTAL_ENTRIES`` entries: beyond that the sync is refused (the portal
  matches every request against the whole list, and the record of what it added must stay one
  DynamoDB item); one allowlist may put at most ``MAX_ALLOWLIST_EXPANDED`` addresses there.

``sync.py`` reads the portal, applies the plan, and re-reads the list right before the PUT.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from ...docspace.models import IpRestriction
from .entries import address_order, parse_entry, unmapped
from .settings import SyncSettings
from .store import Allowlist

#: How many addresses a plan's evidence lists.
SAMPLE = 50
#: The longest list the sync writes. The record keeps at most what was on the list plus what a
#: sync adds, each address at most 39 characters: 2 x 2,000 x ~43 bytes is well under the 400 KB
#: item limit, and the portal checks every request against the whole list.
MAX_PORTAL_ENTRIES = 2000
#: What one allowlist may put on the portal's list (four /24s), checked at registration.
MAX_ALLOWLIST_EXPANDED = 1024


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
    add = sorted(desired - for_everyone, key=address_order)
    remove = sorted(
        {a for a in ours if a in for_everyone and a not in desired},
        key=address_order,
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
