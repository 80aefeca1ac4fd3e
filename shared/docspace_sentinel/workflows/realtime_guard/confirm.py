"""Confirm a burst against the portal before acting on it.

Anyone holding the webhook secret can sign deliveries, so a burst seen on webhooks is only
acted on when the portal agrees: up to ``SAMPLES`` of its files (changes other than trash and
delete, picked at random with the system's CSPRNG) are looked up (``GET files/file/{id}``). A sample is confirmed
when the file exists, its ``updated`` time is not before the first delivery's ``createOn``
minus ``SKEW`` nor after the last one's plus ``LATE`` (a forged burst cannot pick an old
``createOn`` and lean on a later real edit of the same file), and the user is its ``updatedBy`` (or ``createdBy``). ``file.updated`` also fires for
a lock, a comment, a custom order or an owner change, which the polling guard does not count;
our reading of the server (unconfirmed) is that none of those moves the file's ``updated``
(content) time, so such a sample is not confirmed. A download does not change the file: a
download sample is confirmed when the file exists.

Whoever forges a burst chooses which files it names and in what order: picks at fixed places
(first, middle, last) would let them put three files the victim really edited there and pad the
rest with made-up ids. The picks are random, and more than ``MISSING_ALLOWED`` sampled files the
portal does not know make the burst unconfirmed: with three real edits among 21 named files a
forger is never confirmed (the two other picks are made up), with four about once in a
thousand; a real burst may still name one file deleted since.

Verdicts: ``CONFIRMED`` (at least ``NEEDED`` samples confirmed and at most
``MISSING_ALLOWED`` missing: act), ``FORGED`` (at least
``NEEDED`` samples and none of the files exists: the deliveries are made up), else
``UNCONFIRMED`` (too few samples, e.g. a burst of deletes, or portal errors, or files changed by
someone else or not at all: report only, the polling guard acts on the audit trail). At most
``SAMPLES`` calls and ``CONFIRM_SECONDS``; portal errors never fail the delivery. A burst of
deletes, folders or third-party files cannot be confirmed: reported only, the polling guard acts
on the audit trail.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ...docspace.errors import DocSpaceError, Forbidden, NotFound
from .rules import Entry

CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"
FORGED = "forged"

SAMPLES = 5
NEEDED = 3
MISSING_ALLOWED = 1
SKEW = timedelta(minutes=2)
#: A sampled file saved again this long after the burst's last delivery naming it is not
#: counted (report only; the polling guard still acts on the audit trail).
LATE = timedelta(minutes=10)
CONFIRM_SECONDS = 4.0


class Confirmation(NamedTuple):
    verdict: str
    sampled: int  # files looked up
    confirmed: int
    missing: int  # 404 or 403: no such file for us

    @property
    def detail(self) -> str:
        return (
            f"{self.confirmed} of {self.sampled} sampled files confirmed by the portal, "
            f"{self.missing} not found"
        )


#: Unpredictable picks (``os.urandom``): a forger must not know which files are looked up.
_PICK = random.SystemRandom()


#: A picked entry the portal cannot be asked about (a delete, a third-party string id, a folder,
#: an id too long to be a file): it counts against the burst, never for it.
UNCHECKABLE = None


def _file_key(key: str) -> str:
    """ "7" and "007" are one file: counted once, picked once."""
    return str(int(key)) if key.isascii() and key.isdigit() and len(key) <= 18 else key


def samples(
    entries: Iterable[Entry], pick: random.Random = _PICK
) -> list[tuple[int, datetime, datetime] | None]:
    """Up to ``SAMPLES`` of the burst's distinct entries, picked at random from all of them
    (every entry counts toward the threshold, so every one may be picked): a file changed other
    than by a delete as (file id, first createOn, last createOn), in file-id order; any other
    entry as ``UNCHECKABLE``. A forger who pads three real edits with entries the portal
    cannot confirm gets those picked too."""
    entries = sorted(set(entries))
    gone = {e.key for e in entries if e.deleted}
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for entry in entries:
        key = _file_key(entry.key)
        first.setdefault(key, entry.at)
        last[key] = max(entry.at, last.get(key, entry.at))
    gone = {_file_key(key) for key in gone}
    keys = sorted(first)
    picked = keys if len(keys) <= SAMPLES else pick.sample(keys, SAMPLES)
    checkable = [
        (int(key), first[key], last[key])
        for key in picked
        if key not in gone and key.isascii() and key.isdigit() and len(key) <= 18
    ]
    return [*sorted(checkable), *[UNCHECKABLE] * (len(picked) - len(checkable))]


def confirm(
    client: Any,
    user_id: str,
    entries: Iterable[Entry],
    *,
    changes: bool = True,
    clock: Callable[[], float] = time.monotonic,
    pick: random.Random = _PICK,
) -> Confirmation:
    picked = samples(entries, pick)
    deadline = clock() + CONFIRM_SECONDS
    user = user_id.lower()
    sampled = confirmed = missing = looked_up = 0
    late = False
    for sample in picked:
        sampled += 1
        late = late or (sample is not UNCHECKABLE and clock() > deadline)
        if sample is UNCHECKABLE or late:
            continue  # not confirmed
        file_id, at, until = sample
        looked_up += 1
        try:
            entry = client.file(file_id)
        except (NotFound, Forbidden):
            missing += 1
            continue
        except (DocSpaceError, ValueError):
            # unknown (a portal error, an id the client refuses such as 0, a record without
            # an id: MalformedRecord is a ValueError): not confirmed, never a failure
            continue
        if not changes:
            confirmed += 1
            continue
        by = {(entry.updated_by or "").lower(), (entry.created_by or "").lower()}
        updated = entry.updated
        if updated is not None and at - SKEW <= updated <= until + LATE and user in by:
            confirmed += 1
    # At most MISSING_ALLOWED picks not confirmed, for whatever reason (a file deleted since,
    # an entry that cannot be checked, a portal error, the time limit).
    if confirmed >= NEEDED and sampled - confirmed <= MISSING_ALLOWED:
        verdict = CONFIRMED
    elif looked_up >= NEEDED and missing == looked_up:
        verdict = FORGED
    else:
        verdict = UNCONFIRMED
    return Confirmation(verdict, looked_up, confirmed, missing)
