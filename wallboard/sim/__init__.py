"""The contact-centre simulator: scenario files in, docs/protocol.md events out (docs/simulator.md)."""

from wallboard.sim.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    shipped_scenarios,
    shipped_scenarios_dir,
)
from wallboard.sim.simulator import Simulator

__all__ = ["Scenario", "ScenarioError", "Simulator", "load_scenario", "parse_scenario", "shipped_scenarios",
           "shipped_scenarios_dir"]
