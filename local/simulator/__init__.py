"""A local ONLYOFFICE DocSpace simulator: the real REST wire contract over real HTTP.

Pure standard library and independent of the client package, so it can act as an
oracle: a client that passes against it should pass against a real portal.
"""

from local.simulator.faults import Faults, Stats
from local.simulator.generate import generate_scenario
from local.simulator.planted_cases import (
    BruteForce,
    BulkChange,
    InactiveMember,
    Planted,
    PlantedLogin,
    RepeatedEdit,
    VdrHeavy,
)
from local.simulator.scenario import Layout, Scenario
from local.simulator.server import DEFAULT_API_KEY, SimulatorServer

__all__ = [
    "DEFAULT_API_KEY",
    "BruteForce",
    "BulkChange",
    "Faults",
    "InactiveMember",
    "Layout",
    "Planted",
    "PlantedLogin",
    "RepeatedEdit",
    "Scenario",
    "SimulatorServer",
    "Stats",
    "VdrHeavy",
    "generate_scenario",
]
