"""Step 1: the LOS probability of TR 38.811 Table 6.6.1-1 and the LOS state drawn from it."""

from __future__ import annotations

import numpy as np

from twin.ntn.elevation import at_elevation
from twin.ntn.tables import LOS_PROBABILITY, SCENARIOS

__all__ = ["los_probability", "check_scenario"]


def check_scenario(scenario: str) -> str:
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    return scenario


def los_probability(scenario: str, elevation_deg):
    """LOS probability (Table 6.6.1-1) of ``scenario`` at ``elevation_deg`` (scalar or (...)).

    Between the tabulated 10°-steps the nearest row is used (:mod:`twin.ntn.elevation`).
    Returns a float for a scalar elevation, else an array of the elevation's shape.
    """
    p = at_elevation(LOS_PROBABILITY[check_scenario(scenario)], elevation_deg)
    return float(p) if np.ndim(elevation_deg) == 0 else p
