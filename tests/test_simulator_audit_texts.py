"""The simulator's configuration audit events: the server's mapper data and texts, in English
and on a Russian portal, with the targets and description parts the server's controllers write."""

from __future__ import annotations

from typing import Any

import requests

from docspace_sentinel.docspace.models import AuditEvent
from docspace_sentinel.findings.finding import Severity
from docspace_sentinel.workflows.config_watch.audit import classify
from docspace_sentinel.workflows.config_watch.catalogue import CATALOGUE
from local.simulator import Scenario, SimulatorServer
from local.simulator.actions import AUDIT_ACTIONS, audit_text
from local.simulator.render import audit_event
from local.simulator.texts_ru import RU_AUDIT_TEXTS

EVENTS = "/api/2.0/security/audit/events/filter"


def _render(scenario: Scenario, code: int, **kwargs: Any) -> dict[str, Any]:
    event_id = scenario.add_audit_event(code, **kwargs)
    return audit_event(scenario, scenario.audit.by_id(event_id))


def _get(sim: SimulatorServer, **params: Any) -> list[dict[str, Any]]:
    response = requests.get(
        sim.url + EVENTS,
        params=params,
        headers={"Authorization": f"Bearer {sim.api_key}"},
        timeout=10,
    )
    response.raise_for_status()
    events: list[dict[str, Any]] = response.json()["response"]
    return events


def test_every_catalogue_code_has_mapper_data_an_english_and_a_russian_text() -> None:
    for code, watched in CATALOGUE.items():
        info = AUDIT_ACTIONS[code]
        assert info.name == watched.name
        assert info.text and RU_AUDIT_TEXTS[code]
        # Same placeholders in both languages, so the same parts fit.
        for n in range(3):
            assert (f"{{{n}}}" in info.text) == (f"{{{n}}}" in RU_AUDIT_TEXTS[code]), code


def test_a_webhook_created_as_the_server_writes_it(simulator: SimulatorServer) -> None:
    s = simulator.scenario
    s.add_audit_event(6055, user_id=s.key_user.id, target=[12], parts=["exfil"])
    (event,) = _get(simulator, action=6055)
    assert event["action"] == "Webhook created: exfil"
    assert (event["actionType"], event["product"], event["location"]) == (1, 7, 29)
    assert event["entries"] == [] and event["target"] == ["12"]
    assert event["context"] == "Settings" and event["userId"] == s.key_user.id
    # The layer reads it as the catalogue's change.
    (change,) = classify([AuditEvent.from_wire(event)]).changes
    assert change.watched is CATALOGUE[6055] and change.severity is Severity.MEDIUM


def test_settings_events_with_the_servers_parts(scenario: Scenario) -> None:
    admin = scenario.key_user
    added = _render(scenario, 6010, target=[admin.id], parts=[admin.name])
    assert added["action"] == f"Administrators [{admin.name}]. Full Access Opened"
    assert (added["actionType"], added["target"]) == (11, [admin.id])
    product = _render(scenario, 6016, target=[admin.id], parts=["Documents", admin.name])
    assert product["action"] == f"Products [Documents]. Administrator Added: {admin.name}"
    owner = _render(scenario, 6022, parts=["Nina Owner"])
    assert (
        owner["action"] == "Owner Changed: Nina Owner" and owner["target"] is None
    )  # dropped by the envelope
    tfa = _render(scenario, 6036)
    assert (
        tfa["action"] == "Two-factor Authentication Settings Updated: Two-factor auth was disabled"
    )
    key = _render(
        scenario, 6058, target=["2f0c1d8e-0000-4000-8000-000000000001"], parts=["sk-***9f3a"]
    )
    assert key["action"] == "User Api Key Created: sk-***9f3a" and key["actionType"] == 1


def test_a_user_type_change_shows_the_name_only(scenario: Scenario) -> None:
    user = scenario.users[5]
    description = f'{{"UserIds":["{user.id}"],"UserRole":3}}'
    event = _render(scenario, 4019, target=[user.id], parts=[user.name, description])
    assert event["action"] == f"Users [{user.name}]. Updated Type"
    assert (event["product"], event["location"], event["entries"]) == (8, 30, [23])
    assert event["context"] == "Contacts"


def test_documents_settings_and_room_exports_keep_their_mappers(scenario: Scenario) -> None:
    sharing = _render(scenario, 5069)
    assert (sharing["product"], sharing["location"], sharing["context"]) == (2, 3, "Settings")
    room = scenario.rooms[0]
    export = _render(scenario, 5106, target=[room.id])
    assert (export["actionType"], export["location"], export["entries"]) == (10, 27, [25])
    assert export["context"] == f"Rooms: {room.title}"


def test_an_oauth_text_is_formatted_with_its_target(scenario: Scenario) -> None:
    event = _render(scenario, 9909, target=["client-7"], parts=[])
    assert event["action"] == "Generated personal access token for client client-7"


def test_an_unknown_settings_range_code_is_a_newer_servers_settings_action(
    scenario: Scenario,
) -> None:
    event = _render(scenario, 6150)
    assert (event["product"], event["location"]) == (7, 29)
    (change,) = classify([AuditEvent.from_wire(event)]).changes
    assert not change.known and change.severity is Severity.LOW


def test_a_russian_portal_serves_russian_texts_and_module_names(
    simulator_factory: Any,
) -> None:
    sim = simulator_factory(culture="ru-RU")
    s = sim.scenario
    s.add_audit_event(6036)
    s.add_audit_event(6055, target=[3], parts=["exfil"])
    (tfa,) = _get(sim, action=6036)
    assert tfa["action"] == (
        "Обновлены настройки двухфакторной аутентификации: двухфакторная аутентификация отключена"
    )
    assert tfa["context"] == "Настройки"
    (hook,) = _get(sim, action=6055)
    assert hook["action"] == "Вебхук создан: exfil"


def test_russian_falls_back_to_english_and_localizes_the_rooms_prefix(
    scenario: Scenario,
) -> None:
    scenario.culture = "ru-RU"
    room = scenario.rooms[0]
    no_russian = _render(scenario, 5070, target=[room.id])  # no Russian text in the simulator
    assert no_russian["action"] == audit_text(5070).format(room.title)
    assert no_russian["context"] == f"Комнаты: {room.title}"
    assert _render(scenario, 4022, target=["a"], parts=["Anna, Bob"])["action"] == (
        "Удалены пользователи: Anna, Bob"
    )
