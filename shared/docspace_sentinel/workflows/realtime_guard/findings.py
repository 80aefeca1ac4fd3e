"""The real-time findings (pure) and their bounded enrichment.

A bulk change is identified like the polling guard's: the user and the minute its first window
over the threshold started. ``polling_finding_id`` is the fingerprint the polling guard gives
the same burst; the restriction record keeps it, so whichever guard comes second meets the
gate's ``HELD`` (or, once lifted, ``SAME_FINDING``) refusal and reports "observed".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from ...docspace.dates import format_utc
from ...docspace.errors import DocSpaceError
from ...enforcement.gate import ACTED_STAGE
from ...findings.finding import Finding, RoomRef, Severity, UserRef
from .. import bulk_change_guard
from .confirm import Confirmation
from .rules import Burst
from .settings import RealtimeSettings

WORKFLOW = "realtime_guard"
SAMPLE = 25
#: At most this many file look-ups, and this many seconds, for one finding's enrichment.
MAX_LOOKUPS = 10
ENRICH_SECONDS = 5.0


def burst_minute(start: datetime) -> str:
    return start.strftime("%Y-%m-%dT%H:%M")


def polling_finding_id(user_id: str, start: datetime) -> str:
    """The fingerprint of the polling guard's "acted" finding for the burst starting ``start``
    (``bulk_change_guard.bulk_finding``'s workflow, kind and dedup)."""
    return Finding(
        workflow=bulk_change_guard.WORKFLOW,
        kind="bulk_file_change",
        severity=Severity.HIGH,
        title="-",
        summary="-",
        dedup=(user_id.lower(), burst_minute(start), ACTED_STAGE),
        portal_url="-",
    ).fingerprint


class Enrichment(NamedTuple):
    titles: dict[str, str | None]  # entry key -> file title
    rooms: dict[int, str | None]  # room id -> title
    complete: bool


NO_ENRICHMENT = Enrichment({}, {}, False)


def enrich(client: Any, keys: list[str], clock: Callable[[], float] = time.monotonic) -> Enrichment:
    """File titles and rooms of up to ``MAX_LOOKUPS`` files (the room is found from the file's
    folder path: a file's rootId is not its room). Bounded in calls and time; portal errors
    leave it incomplete, never fail the delivery (the action is already taken)."""
    deadline = clock() + ENRICH_SECONDS
    titles: dict[str, str | None] = {}
    rooms: dict[int, str | None] = {}
    folder_rooms: dict[int, tuple[int, str | None] | None] = {}
    complete = len(keys) <= MAX_LOOKUPS
    for key in keys[:MAX_LOOKUPS]:
        if clock() > deadline or not key.isdigit():
            complete = False
            continue
        try:
            entry = client.file(int(key))
            titles[key] = (entry.title or None) and entry.title[:120]
            folder = entry.folder_id
            if folder is not None and folder not in folder_rooms:
                path = client.folder_path(folder)
                in_rooms = [f for f in path if f.room_type is not None]
                folder_rooms[folder] = (in_rooms[-1].id, in_rooms[-1].title) if in_rooms else None
            room = folder_rooms.get(folder) if folder is not None else None
            if room is not None:
                rooms[room[0]] = room[1]
        except (DocSpaceError, ValueError):  # also an id the client refuses, a bad record
            complete = False
    return Enrichment(titles, rooms, complete)


def change_finding(
    user_id: str,
    burst: Burst,
    settings: RealtimeSettings,
    portal_url: str,
    around: Enrichment = NO_ENRICHMENT,
) -> Finding:
    """A bulk change seen on webhooks (built as "acted"; ``staged`` sets the last part)."""
    keys = burst.keys
    minutes = settings.minutes
    return _finding(
        "bulk_file_change",
        user_id,
        burst,
        portal_url,
        around,
        title=f"{user_id} changed {len(keys)} distinct files within {minutes} minutes (real time)",
        summary=(
            f"{user_id} changed more than {settings.threshold} distinct files within {minutes} "
            f"minutes: {len(keys)} between {burst.start:%Y-%m-%d %H:%M:%S} and "
            f"{burst.end:%H:%M:%S} UTC, seen on DocSpace webhooks (mode: "
            f"{settings.response.mode})."
        ),
        evidence={
            "distinctFiles": len(keys),
            "threshold": settings.threshold,
            "windowMinutes": minutes,
            "pollingFindingId": polling_finding_id(user_id, burst.start),
        },
    )


ROTATE = "python -m local.cli webhooks install --rotate-secret"


def forged_finding(
    user_id: str, kind: str, burst: Burst, check: Confirmation, portal_url: str
) -> Finding:
    """Deliveries the portal does not confirm (their files do not exist): the webhook secret
    may have leaked. One per suppression period (its dedup names no user nor burst); the user
    named in them is not touched."""
    return Finding(
        workflow=WORKFLOW,
        kind="forged_delivery",
        severity=Severity.CRITICAL,
        title="Webhook deliveries the portal does not confirm: the webhook secret may have leaked",
        summary=(
            "Validly signed webhook deliveries reported a burst the portal does not confirm: "
            f"{check.detail}. Nothing was done to the user they name. The webhook secret may "
            f"have leaked; rotate it with `{ROTATE}`."
        ),
        dedup=("forged_delivery",),
        portal_url=portal_url,
        period_start=burst.start,
        period_end=burst.end,
        evidence={
            "claimedUserId": user_id.lower(),
            "kind": kind,
            "distinctEntries": len(burst.keys),
            "sampled": check.sampled,
            "confirmed": check.confirmed,
            "notFound": check.missing,
            "sampleEntries": burst.keys[:SAMPLE],
            "source": "webhooks",
        },
    )


def download_finding(
    user_id: str,
    burst: Burst,
    settings: RealtimeSettings,
    portal_url: str,
    around: Enrichment = NO_ENRICHMENT,
) -> Finding:
    keys = burst.keys
    minutes = settings.minutes
    folders = sum(1 for k in keys if k.startswith("folder:"))
    return _finding(
        "bulk_download",
        user_id,
        burst,
        portal_url,
        around,
        title=f"{user_id} downloaded {len(keys)} files or folders within {minutes} minutes",
        summary=(
            f"{user_id} downloaded {len(keys)} distinct files or folders ({folders} folders) "
            f"within {minutes} minutes, between {burst.start:%Y-%m-%d %H:%M:%S} and "
            f"{burst.end:%H:%M:%S} UTC (threshold: more than {settings.download_threshold}; "
            f"{'acted on' if settings.act_on_downloads else 'alert only'})."
        ),
        evidence={
            "distinctEntries": len(keys),
            "folders": folders,
            "threshold": settings.download_threshold,
            "windowMinutes": minutes,
        },
    )


def _finding(
    kind: str,
    user_id: str,
    burst: Burst,
    portal_url: str,
    around: Enrichment,
    *,
    title: str,
    summary: str,
    evidence: dict[str, Any],
) -> Finding:
    keys = burst.keys
    only_room = next(iter(around.rooms.items())) if len(around.rooms) == 1 else None
    return Finding(
        workflow=WORKFLOW,
        kind=kind,
        severity=Severity.HIGH,
        title=title,
        summary=summary,
        dedup=(user_id.lower(), burst_minute(burst.start), ACTED_STAGE),
        portal_url=portal_url,
        user=UserRef(user_id.lower(), None),
        room=RoomRef(only_room[0], only_room[1]) if only_room else None,
        period_start=burst.start,
        period_end=burst.end,
        evidence={
            **evidence,
            "thresholdCrossedAt": format_utc(burst.end),
            "entries": len(burst.entries),
            "sampleFiles": [{"id": k, "title": around.titles.get(k)} for k in keys[:SAMPLE]],
            "rooms": [{"id": r, "title": t} for r, t in sorted(around.rooms.items())],
            "enrichmentComplete": around.complete,
            "source": "webhooks",
        },
    )
