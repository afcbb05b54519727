"""Scenario packs: the customer's side of a practice call, with coaching goals per turn (TOML data in packs/)."""

from voicerehearse.scenarios.loader import (
    SCENARIOS_ENV,
    ScenarioError,
    find_scenario,
    load_pack,
    load_scenarios,
    pack_dirs,
)
from voicerehearse.scenarios.model import DIFFICULTIES, Scenario, ScenarioTurn

__all__ = [
    "DIFFICULTIES", "SCENARIOS_ENV", "Scenario", "ScenarioError", "ScenarioTurn", "find_scenario", "load_pack",
    "load_scenarios", "pack_dirs",
]
