"""At most one processing of a webhook delivery, across automatic retries (same ``event.id``),
manual retries (new id, same content key), SQS redeliveries and concurrent consumers.

Claim -> process -> confirm: both keys are claimed (``StateStore.claim``: a conditional put with
a lease, kept ``KEEP`` as TTL) before the delivery is processed and confirmed after; a failure
releases them so the queue's retry reprocesses it. The claim's owner is the SQS message id, so
a redelivery of the same message takes over its own crashed claim at once, and anyone takes
over a claim whose lease ran out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...state import keys as state_keys
from ...state.keys import Key
from ...state.store import StateStore
from ...webhooks.delivery import Delivery

#: Manual retries copy a delivery's body days later: keep the keys longer than DocSpace's
#: 3-day trust window.
KEEP = timedelta(days=4)
LEASE = timedelta(minutes=5)


class Claim:
    def __init__(self, store: StateStore, delivery: Delivery, owner: str) -> None:
        self.store = store
        self.owner = owner
        self.keys: tuple[Key, ...] = (
            state_keys.realtime_event(delivery.event_id),
            state_keys.realtime_content(delivery.content_key),
        )
        self._taken: list[Key] = []

    def _until(self) -> datetime:
        return self.store.now() + KEEP

    def take(self) -> bool:
        """True when this consumer is to process the delivery; False: a duplicate (done, or
        being processed by another consumer), which is recorded under every key."""
        until = self._until()
        for key in self.keys:
            if not self.store.claim(*key, self.owner, until=until, lease=LEASE):
                self.release()
                return False
            self._taken.append(key)
        return True

    def confirm(self) -> None:
        until = self._until()
        for key in self._taken:
            self.store.confirm(*key, self.owner, until=until)

    def release(self) -> None:
        for key in self._taken:
            self.store.release(*key, self.owner)
        self._taken = []
