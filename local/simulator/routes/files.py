"""`api/2.0/files`: rooms, room members, files and folder paths (section 7, addenda 11)."""

from __future__ import annotations

from local.simulator import render
from local.simulator.enums import (
    ACCESS_ROOM_MANAGER,
    ROOM_FOLDER_TYPES,
    ROOM_TYPES,
    SEARCH_AREAS,
    SHARE_FILTER_TYPES,
    SUBJECT_GROUP,
    SUBJECT_USER,
)
from local.simulator.model import Folder, Share
from local.simulator.routing import Request, Response, Router, ok
from local.simulator.scenario import Scenario
from local.simulator.wire import (
    ValidationError,
    access_denied,
    bind_count,
    bind_enum,
    bind_int,
    not_found,
)


def _int_id(raw: str, message: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise not_found(message) from None


def list_rooms(s: Scenario, r: Request) -> Response:
    types = {bind_enum("type", t, ROOM_TYPES) for t in r.args("type")}
    area = bind_enum("searchArea", r.arg("searchArea"), SEARCH_AREAS) or 0
    count = bind_count(r.arg("count"))
    start_index = max(0, bind_int("startIndex", r.arg("startIndex"), 0))
    text = (r.arg("filterValue") or "").strip().lower()
    # Nothing is archived, so Active and Any list every room and Archive none.
    rooms = s.rooms if area in (0, 2) else []
    rooms = [x for x in rooms if (not types or x.room_type in types) and text in x.title.lower()]
    rooms.sort(key=lambda x: (x.updated, x.id), reverse=True)
    page = rooms[start_index : start_index + count]
    root = s.folders[s.layout.rooms_root_id]
    content = {
        "files": [],
        "folders": [render.folder(s, x) for x in page],
        "current": render.folder(s, root),
        "pathParts": [{"id": root.id, "title": root.title}],
        "startIndex": start_index,
        "count": len(page),
        "total": len(rooms),
        "new": 0,
    }
    # The paging numbers live inside `response`; the envelope itself has count 1, no total.
    return ok(r, content)


def _room(s: Scenario, raw: str) -> Folder:
    room = s.room(_int_id(raw, "Folder not found"))
    if room is None:
        raise not_found("Folder not found")
    return room


def get_room(s: Scenario, r: Request) -> Response:
    return ok(r, render.folder(s, _room(s, r.params["id"])))


def create_room(s: Scenario, r: Request) -> Response:
    body = r.json()
    if not isinstance(body, dict):
        raise ValidationError({"inDto": ["The inDto field is required."]})
    title, room_type = body.get("title"), body.get("roomType")
    errors: dict[str, list[str]] = {}
    if not isinstance(title, str) or not title.strip():
        errors["Title"] = ["The Title field is required."]
    # JsonStringEnumConverter: a number or a case-insensitive name.
    bound = None
    if isinstance(room_type, bool):
        bound = None
    elif isinstance(room_type, int):
        bound = room_type if room_type in ROOM_TYPES.values() else None
    elif isinstance(room_type, str):
        bound = next((v for k, v in ROOM_TYPES.items() if k.lower() == room_type.lower()), None)
    if bound is None:
        errors["$.roomType"] = ["The JSON value could not be converted to RoomType."]
    if errors or not isinstance(title, str) or bound is None:
        raise ValidationError(errors)
    now = s.clock()
    caller = s.key_user
    room = Folder(s.new_folder_id(), title.strip(), s.layout.rooms_root_id,
                  ROOM_FOLDER_TYPES[bound], caller.id, now, now, room_type=bound)  # fmt: skip
    room.room_id = room.id
    s.folders[room.id] = room
    s.shares[room.id] = [Share(SUBJECT_USER, caller.id, ACCESS_ROOM_MANAGER, is_owner=True)]
    # RoomCreated is one of the few audit actions written synchronously.
    s.add_audit_event(5070, target=[room.id], parts=[room.title])
    return ok(r, render.folder(s, room))


def room_shares(s: Scenario, r: Request) -> Response:
    room = _room(s, r.params["id"])
    kind = bind_enum("filterType", r.arg("filterType"), SHARE_FILTER_TYPES) or 0
    count = bind_count(r.arg("count"))
    start_index = bind_int("startIndex", r.arg("startIndex"), 0)
    text = (r.arg("filterValue") or "").strip().lower()
    shares = [x for x in s.shares.get(room.id, []) if _kind_matches(x, kind)]
    if text:
        shares = [x for x in shares if text in _share_name(s, x).lower()]
    total = len(shares)
    page = shares[max(0, start_index) : max(0, start_index) + count]
    # The server reports min(total - startIndex, count): negative past the end.
    return ok(
        r,
        [render.share(s, room, x) for x in page],
        count=min(total - start_index, count),
        total=total,
    )


def _kind_matches(share: Share, kind: int) -> bool:
    subject = share.subject_type
    if kind == 0:
        return subject in (SUBJECT_USER, SUBJECT_GROUP)
    if kind == 16:
        return subject == SUBJECT_USER
    if kind == 32:
        return subject == SUBJECT_GROUP
    links = {1: {3}, 2: {1, 4}, 4: {1}, 8: {4}, 15: {1, 3, 4}}
    return subject in links.get(kind, set())


def _share_name(s: Scenario, share: Share) -> str:
    if share.subject_type == SUBJECT_USER:
        return s.user_by_id(share.subject_id).name
    if share.subject_type == SUBJECT_GROUP:
        return s.groups[share.subject_id].name
    return share.title


def _check_visible(s: Scenario, folder: Folder) -> None:
    """Another user's "My documents" is off limits even to an admin."""
    if folder.personal_owner is not None and folder.personal_owner != s.key_user.id:
        raise access_denied()


def get_file(s: Scenario, r: Request) -> Response:
    found = s.files.get(_int_id(r.params["id"], "File not found"))
    if found is None or found.deleted:
        raise not_found("File not found")
    _check_visible(s, s.folders[found.folder_id])
    return ok(r, render.file(s, found))


def folder_path(s: Scenario, r: Request) -> Response:
    folder = s.folders.get(_int_id(r.params["id"], "Folder not found"))
    if folder is None:
        raise not_found("Folder not found")
    _check_visible(s, folder)
    chain = [folder]
    while chain[-1].parent_id in s.folders:
        chain.append(s.folders[chain[-1].parent_id])
    # An IAsyncEnumerable without SetCount: the envelope count is 1.
    return ok(r, [render.folder(s, f) for f in reversed(chain)], count=1)


def register(router: Router) -> None:
    base = "/api/2.0/files"
    router.add("GET", f"{base}/rooms", list_rooms)
    router.add("POST", f"{base}/rooms", create_room)
    router.add("GET", f"{base}/rooms/{{id}}/share", room_shares)
    router.add("GET", f"{base}/rooms/{{id}}", get_room)
    router.add("GET", f"{base}/file/{{id}}", get_file)
    router.add("GET", f"{base}/folder/{{id}}/path", folder_path)
