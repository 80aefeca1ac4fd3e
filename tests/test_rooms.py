"""Attributing audit events to rooms, against the simulator's traps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from docspace_sentinel.docspace.client import DocSpaceClient
from docspace_sentinel.docspace.models import AuditEvent
from docspace_sentinel.docspace.rooms import RoomResolver, context_title
from docspace_sentinel.docspace.secret import Secret
from docspace_sentinel.docspace.settings import ClientSettings
from local.simulator.server import SimulatorServer


def _client(sim: SimulatorServer) -> DocSpaceClient:
    return DocSpaceClient(ClientSettings(url=sim.url, api_key=Secret(sim.api_key)))


def _event(**fields: object) -> AuditEvent:
    base: dict[str, object] = {
        "id": 1,
        "date": datetime.now(UTC),
        "action_id": 5002,
        "entries": (1,),
        "location": 1,
    }
    base.update(fields)
    return AuditEvent(**base)  # type: ignore[arg-type]


def test_context_title_ignores_the_localized_prefix() -> None:
    assert context_title("Rooms: Project X") == "Project X"
    assert context_title("Комнаты: Проект: X") == "Проект: X"
    assert context_title("My documents") is None
    assert context_title(None) is None


def test_every_event_of_the_history_lands_in_its_real_room(simulator: SimulatorServer) -> None:
    scenario = simulator.scenario
    layout = scenario.layout
    with _client(simulator) as client:
        resolver = RoomResolver(client, client.rooms())
        now = datetime.now(UTC)
        events = list(client.audit_events(now - timedelta(days=30), now))
        attributed = {e.id: resolver.room_id(e) for e in events}
        # the files API is asked once per file or folder at most, never per event
        assert resolver.lookups < len(events) / 3
    # renamed room: older events carry the old title, and still land in the room
    renamed = [e for e in events if e.context == f"Rooms: {layout.renamed_room_old_title}"]
    assert renamed and {attributed[e.id] for e in renamed} == {layout.renamed_room_id}
    # two rooms share a title: each event lands in one of them, resolved through the files API
    shared = [e for e in events if e.context == f"Rooms: {layout.duplicate_title}" and e.target]
    assert shared and {attributed[e.id] for e in shared} <= set(layout.duplicate_title_room_ids)
    # personal files are in no room
    personal = [e for e in events if e.context == "My documents"]
    assert all(attributed[e.id] is None for e in personal)


def test_lookups_for_deleted_foreign_and_overlapping_ids(simulator: SimulatorServer) -> None:
    layout = simulator.scenario.layout
    with _client(simulator) as client:
        resolver = RoomResolver(client, client.rooms())
        # no context: the files API decides
        assert resolver.room_id(_event(target=(str(layout.deleted_file_id),), context=None)) is None
        assert (
            resolver.room_id(_event(target=(str(layout.foreign_personal_file_id),), context=None))
            is None
        )
        # the same number is a room and a file: a file event resolves the *file*
        overlap = layout.overlapping_id
        file_room = resolver.room_id(_event(target=(str(overlap),), context=None))
        folder = simulator.scenario.files[overlap].folder_id
        assert file_room is not None and file_room == _room_of(simulator, folder)
        # a room event carries the room id itself
        assert (
            resolver.room_id(
                _event(action_id=5085, location=27, entries=(25,), target=(str(overlap),))
            )
            == overlap
        )


def _room_of(sim: SimulatorServer, folder_id: int) -> int | None:
    folder = sim.scenario.folders.get(folder_id)
    while folder is not None and not folder.is_room:
        folder = sim.scenario.folders.get(folder.parent_id)
    return folder.id if folder is not None else None
