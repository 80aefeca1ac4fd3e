"""Allowlist entries: parsing, the one normal form, and how wide a list may be.

An entry is a single address (``203.0.113.10``), a network (``198.51.100.0/24``) or an ``a-b``
range (``198.51.100.0-198.51.100.255``), IPv4 or IPv6, parsed with ``ipaddress`` and kept in one
normal form: IPv6 compressed, an IPv4-mapped address (``::ffff:203.0.113.10``, as dual-stack logs
write it) as the IPv4 address it denotes, a ``/32`` or ``/128`` network and a one-address range
written as the address. Matching is on integers, so a list is parsed once per run and every check
is a few comparisons.

An allowlist must restrict something: a new entry wider than a ``/8`` of IPv4 or a ``/16`` of
IPv6 (``0.0.0.0/0``, ``::/0``, ``0.0.0.0-255.255.255.255``, ``0.0.0.0/1`` …) is refused, and so is
a list whose entries together cover more than sixteen of those. A ``/8`` is the largest block one
organisation holds in IPv4; single allocations in IPv6 are ``/19`` to ``/48``. Anything wider
all but switches the check off for the user, which is what removing their allowlist is for.

The store (``store.py``) keeps the entries in this normal form; the login check (``rules.py``)
matches addresses against them; the portal sync (``sync_plan.py``) expands them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

from .errors import InvalidAllowlist

#: More entries than this in one allowlist is almost certainly a mistake in the feeding system.
MAX_ENTRIES = 1000
MAX_ENTRY_CHARS = 100
#: The widest entry accepted, per IP version: a /8 of IPv4, a /16 of IPv6.
MAX_ENTRY_ADDRESSES = {4: 2**24, 6: 2**112}
#: All of one allowlist's entries together, per IP version: sixteen of those.
MAX_LIST_ADDRESSES = {4: 2**28, 6: 2**116}
_ALL = {4: 2**32, 6: 2**128}

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
EntryKind = Literal["address", "network", "range"]


class AllowEntry(NamedTuple):
    """One parsed entry: the inclusive integer span ``first..last`` of one IP version."""

    text: str  # the normal form, as stored
    kind: EntryKind
    version: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def contains(self, address: IpAddress) -> bool:
        if address.version != self.version:
            mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:a.b.c.d is a.b.c.d
            if mapped is None or self.version != 4:
                return False
            address = mapped
        return self.first <= int(address) <= self.last

    def addresses(self) -> Iterator[str]:
        """Every address of the entry (callers check ``size`` first)."""
        make = ipaddress.IPv4Address if self.version == 4 else ipaddress.IPv6Address
        for number in range(self.first, self.last + 1):
            yield str(make(number))


def parse_entry(value: Any) -> AllowEntry:
    """Parse one entry, or raise ``ValueError`` saying why it is not one."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError("is empty")
    if len(text) > MAX_ENTRY_CHARS:
        raise ValueError(f"is longer than {MAX_ENTRY_CHARS} characters")
    if "%" in text:
        raise ValueError("has a zone index (%…); use the address alone")
    if "-" in text:
        return _parse_range(text)
    if "/" in text:
        return _parse_network(text)
    address = _address(text)
    return _single(address)


def unmapped(address: IpAddress) -> IpAddress:
    """The IPv4 address an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) denotes, else itself."""
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def address_order(text: str) -> tuple[int, int]:
    """Sort key of an address string: IPv4 before IPv6, then numerically."""
    address = ipaddress.ip_address(text)
    return (address.version, int(address))


def _address(text: str) -> IpAddress:
    try:
        return unmapped(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError("is not an IPv4 or IPv6 address") from None


def _single(address: IpAddress) -> AllowEntry:
    return AllowEntry(str(address), "address", address.version, int(address), int(address))


def _parse_network(text: str) -> AllowEntry:
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"has host bits set (did you mean {loose}?)") from None
        raise ValueError("is not a valid CIDR block") from None
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is not None and network.prefixlen >= 96:
        # ::ffff:a.b.c.d/(96+n) is the IPv4 block a.b.c.d/n
        network = ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    if network.num_addresses == 1:
        return _single(network.network_address)
    first, last = int(network.network_address), int(network.broadcast_address)
    return AllowEntry(str(network), "network", network.version, first, last)


def _parse_range(text: str) -> AllowEntry:
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError("is not an IP address, a CIDR block or a first-last range")
    try:
        start, end = _address(parts[0]), _address(parts[1])
    except ValueError:
        raise ValueError("is not a range of two IP addresses (first-last)") from None
    if start.version != end.version:
        raise ValueError("mixes IPv4 and IPv6 in one range")
    if int(start) > int(end):
        raise ValueError(f"starts after it ends ({start} > {end})")
    if start == end:
        return _single(start)
    return AllowEntry(f"{start}-{end}", "range", start.version, int(start), int(end))


def parse_entries(
    values: Any, *, field: str = "allowedIps", bounded: bool = True
) -> tuple[AllowEntry, ...]:
    """Parse a whole list, or raise ``InvalidAllowlist`` naming *every* bad entry and why.

    Duplicates (after normalisation) are dropped; order is kept. ``bounded``: refuse entries
    (and a list) too wide to restrict anything; off for entries to remove.
    """
    if not isinstance(values, list | tuple):
        raise InvalidAllowlist([f"{field} must be a list of addresses, CIDR blocks or ranges"])
    problems: list[str] = []
    parsed: dict[str, AllowEntry] = {}
    for index, value in enumerate(values):
        try:
            entry = parse_entry(value)
        except ValueError as exc:
            problems.append(f"{field}[{index}] {value!r} {exc}")
            continue
        wide = _too_wide(entry) if bounded else None
        if wide:
            problems.append(f"{field}[{index}] {value!r} {wide}")
            continue
        parsed.setdefault(entry.text, entry)
    if len(parsed) > MAX_ENTRIES:
        problems.append(f"{field} has {len(parsed)} entries; at most {MAX_ENTRIES} are allowed")
    if bounded and not problems:
        problems += coverage_problems(parsed.values(), field=field)
    if problems:
        raise InvalidAllowlist(problems)
    return tuple(parsed.values())


def _too_wide(entry: AllowEntry) -> str | None:
    """Why an entry is too wide to be an allowlist entry, or ``None``."""
    if entry.size >= _ALL[entry.version]:
        return (
            f"allows every IPv{entry.version} address, which switches the check off for this "
            "user; to stop checking a user, remove their allowlist"
        )
    if entry.size > MAX_ENTRY_ADDRESSES[entry.version]:
        widest = "/8" if entry.version == 4 else "/16"
        return (
            f"spans {entry.size:,} addresses, wider than a {widest}: it would all but switch the "
            "check off for this user; list the networks the user really comes from"
        )
    return None


def coverage_problems(entries: Iterable[AllowEntry], *, field: str = "allowedIps") -> list[str]:
    """Why a whole list covers too much (its entries merged, per IP version), if it does."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for entry in entries:
        spans.setdefault(entry.version, []).append((entry.first, entry.last))
    problems: list[str] = []
    for version, pairs in sorted(spans.items()):
        covered, end = 0, -1
        for first, last in sorted(pairs):
            if last > end:
                covered += last - max(first, end + 1) + 1
                end = last
        if covered > MAX_LIST_ADDRESSES[version]:
            problems.append(
                f"{field} together cover {covered:,} IPv{version} addresses, more than "
                f"{MAX_LIST_ADDRESSES[version]:,}: that all but switches the check off for this "
                "user; list the networks the user really comes from"
            )
    return problems


def breadth_problems(texts: Iterable[str], *, field: str = "entries") -> list[str]:
    """Why a stored list (after a change) is too wide, if it is; entries that no longer parse
    are left to the matcher, which skips them."""
    parsed: list[AllowEntry] = []
    problems: list[str] = []
    for text in texts:
        try:
            entry = parse_entry(text)
        except ValueError:
            continue
        wide = _too_wide(entry)
        if wide:
            problems.append(f"{field}: {text!r} {wide}")
        parsed.append(entry)
    return problems or coverage_problems(parsed, field=field)


# -- changes ------------------------------------------------------------------------------------

OPERATIONS = ("replace", "add", "remove")


def apply_operation(
    current: Sequence[str], operation: str, entries: Sequence[AllowEntry]
) -> tuple[str, ...]:
    """The entries after ``operation``; ``remove`` matches normalised text, not coverage."""
    texts = [e.text for e in entries]
    current = [normal_entry(e) for e in current]  # stored before a normal form changed
    if operation == "replace":
        return tuple(dict.fromkeys(texts))
    if operation == "add":
        return tuple(dict.fromkeys([*current, *texts]))
    if operation == "remove":
        gone = set(texts)
        return tuple(e for e in current if e not in gone)
    raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, got {operation!r}")


def normal_entry(text: str) -> str:
    """A stored entry in today's normal form (it is kept as it is if it no longer parses)."""
    try:
        return parse_entry(text).text
    except ValueError:
        return text
