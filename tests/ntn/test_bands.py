"""``[channel] band``: "auto" gives each process the tables of its carrier's band (S 1.5-2.5 GHz,
Ka 17.3-30 GHz, else the nearest with a warning in run.json and on stderr); an explicit band
that contradicts an enabled process's carrier is refused before the run with file:line."""

from __future__ import annotations

import io
import math

import pytest
from config.refusals import BASE, assert_at, line_of, one_problem, refused, write_scenario
from rich.console import Console

from twin.config.channel import channel_facts
from twin.config.loader import load_scenario
from twin.ntn.bands import band_warning, nearest_band
from twin.runner import prepare

ISAC = "\n[isac]\nenabled = true\n"
PNT = "\n[pnt]\nenabled = true\n"


def _channel(band: str | None = None, model: str = "tr38811") -> str:
    text = f'\n[channel]\nmodel = "{model}"\nscenario = "rural"\n'
    return text + (f'band = "{band}"\n' if band else "")


@pytest.mark.parametrize(
    ("ghz", "band"),
    [(1.5, "S"), (2.0, "S"), (2.5, "S"), (4.0, "S"), (17.3, "Ka"), (20.0, "Ka"), (30.0, "Ka")]
    + [(35.0, "Ka"), (1.0, "S"), (90.0, "Ka")],
)
def test_nearest_band(ghz, band):
    assert nearest_band(ghz * 1e9) == band


def test_nearest_band_boundary_is_the_geometric_mean_of_the_range_edges():
    edge = math.sqrt(2.5 * 17.3)  # 6.577 GHz: equally far (in log f) from 2.5 and 17.3 GHz
    assert nearest_band((edge - 0.01) * 1e9) == "S"
    assert nearest_band((edge + 0.01) * 1e9) == "Ka"


def test_band_warning_only_outside_the_range():
    assert band_warning(2.0e9, "S") is None and band_warning(20e9, "Ka") is None
    assert band_warning(30e9, "Ka") is None
    assert "4 GHz" in band_warning(4e9, "S") and "1.5-2.5 GHz" in band_warning(4e9, "S")
    assert "35 GHz" in band_warning(35e9, "Ka")


def test_auto_picks_per_process_and_warns_on_stderr_and_in_facts(tmp_path):
    path = write_scenario(tmp_path, BASE + ISAC + PNT + _channel())
    scenario = load_scenario(path)
    assert scenario.channel.band == "auto"
    facts = channel_facts(scenario)
    assert facts["channel_bands"] == {"isac": "Ka", "pnt": "S"}
    assert len(facts["channel_warnings"]) == 2  # 35 GHz ISAC, 4 GHz PNT: both outside the ranges
    assert "(pnt): carrier 4 GHz" in facts["channel_warnings"][1]
    out = io.StringIO()
    prepare(path, console=Console(file=out, width=300))
    assert "channel (pnt): carrier 4 GHz is outside the TR 38.811 S-band range" in out.getvalue()


def test_carrier_in_range_no_warning(tmp_path):
    text = BASE + PNT.replace("true\n", "true\nfreq_ghz = 2.0\n") + _channel("S")
    facts = channel_facts(load_scenario(write_scenario(tmp_path, text)))
    assert facts == {"channel_bands": {"pnt": "S"}}


def test_seed_model_adds_nothing_and_ignores_band(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, BASE + PNT + _channel("Ka", "seed")))
    assert channel_facts(scenario) == {}
    assert channel_facts(load_scenario(write_scenario(tmp_path, BASE, "b.toml"))) == {}


def test_explicit_band_consistent_with_the_carrier_accepted(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, BASE + ISAC + _channel("Ka")))
    assert channel_facts(scenario)["channel_bands"] == {"isac": "Ka"}
    scenario = load_scenario(write_scenario(tmp_path, BASE + PNT + _channel("S"), "p.toml"))
    assert channel_facts(scenario)["channel_bands"] == {"pnt": "S"}


@pytest.mark.parametrize(
    ("sections", "band", "process", "ghz"),
    [(PNT, "Ka", "pnt", "4"), (ISAC, "S", "isac", "35"), (ISAC + PNT, "Ka", "pnt", "4")],
)
def test_contradicting_band_refused_with_line(tmp_path, sections, band, process, ghz):
    text = BASE + sections + _channel(band)
    problem = one_problem(refused(tmp_path, text), "channel.band")
    assert_at(problem, tmp_path / "s.toml", line_of(text, f'band = "{band}"'))
    assert f"{process} carrier {ghz} GHz" in problem.reason


def test_carrier_outside_the_tr_range_refused_with_line(tmp_path):
    text = BASE + PNT.replace("true\n", "true\nfreq_ghz = 0.4\n") + _channel()
    problem = one_problem(refused(tmp_path, text), "pnt.freq_ghz")
    assert_at(problem, tmp_path / "s.toml", line_of(text, "freq_ghz = 0.4"))
    assert "1-100 GHz" in problem.reason
