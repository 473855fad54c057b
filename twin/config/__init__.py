"""Scenario configuration: load a run's TOML file (or dict) into a validated ``Scenario``.

The façade of ``twin.config``: ``load_scenario(path)``, ``scenario_from_dict(data)``,
``as_scenario(path | dict | Scenario)`` and
the ``Scenario`` model. The pieces: :mod:`twin.config.schema` (the pydantic models),
:mod:`twin.config.loader` (file/dict -> Scenario, problems located as ``<file>:<line>``),
:mod:`twin.config.toml` (TOML reading with line locations), :mod:`twin.config.track_csv`
(track CSV files) and :mod:`twin.config.sweep_grammar` (sweep files).
"""

from twin.config.loader import as_scenario, load_scenario, scenario_from_dict
from twin.config.schema import Scenario

__all__ = ["Scenario", "as_scenario", "load_scenario", "scenario_from_dict"]
