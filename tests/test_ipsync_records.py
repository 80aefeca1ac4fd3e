"""The IP-sync record over a fake portal: what it keeps when a PUT's fate is unknown."""

from __future__ import annotations

from typing import Any

from docspace_sentinel.docspace.errors import TransportError
from docspace_sentinel.docspace.models import IpRestriction, IpRestrictionSettings, User
from docspace_sentinel.state.store import StateStore
from docspace_sentinel.workflows.ip_allowlist.settings import SyncSettings
from docspace_sentinel.workflows.ip_allowlist.store import Allowlist
from docspace_sentinel.workflows.ip_allowlist.sync import sync_portal
from docspace_sentinel.workflows.ip_allowlist.sync_records import AddedStore
from local.aws import LocalAws

ADMIN_IP = "192.0.2.1"
USER = "9f2c8c6e-5a1d-4c5b-9a8e-2f1e0b7d3a11"


class FakePortal:
    portal_url = "https://portal.example"

    def __init__(self, entries: list[IpRestriction], enable: bool = True) -> None:
        self.entries = list(entries)
        self.enable = enable
        self.times_out = False

    def ip_restriction_settings(self) -> IpRestrictionSettings:
        return IpRestrictionSettings(self.enable, "t")

    def ip_restrictions(self) -> list[IpRestriction]:
        return list(self.entries)

    def me(self) -> User:
        return User(id=USER, display_name="Owner", status=1, is_owner=True)

    def put_ip_restrictions(self, entries: Any, enable: bool | None = None) -> list[IpRestriction]:
        if self.times_out:
            raise TransportError("timed out: ReadTimeout")  # and the portal never applied it
        self.entries, self.enable = list(entries), bool(enable)
        return list(entries)


def test_a_timed_out_put_never_makes_a_hand_added_address_ours(aws: LocalAws) -> None:
    store = StateStore(aws.table_name, client=aws.dynamodb)
    settings = SyncSettings(mode="enforce", always_allowed=(ADMIN_IP,))
    portal: Any = FakePortal([IpRestriction(ADMIN_IP, False)])
    portal.times_out = True
    first = sync_portal(portal, store, [Allowlist(USER, ("203.0.113.77",))], settings, workflow="w")
    assert first.status == "failed"
    portal.times_out = False
    # Nothing to write, yet the record forgets what the portal's list does not hold.
    assert sync_portal(portal, store, [], settings, workflow="w").status == "unchanged"
    assert "203.0.113.77" not in AddedStore(store).get().addresses
    # An administrator types the same address in by hand; a later sync writes for someone else.
    portal.entries.append(IpRestriction("203.0.113.77", False))
    later = sync_portal(portal, store, [Allowlist(USER, ("198.51.100.5",))], settings, workflow="w")
    assert later.status == "applied"
    assert "203.0.113.77" in [e.ip for e in portal.entries]
