"""Tidy tables: one `entity` key, categorical names, long tables for list-valued cells, units
in the Arrow field metadata, and the README's column lists checked against real tables."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from twin.config import load_scenario
from twin.results import ENTITY_KEYS, LONG_TABLES, column_units, load
from twin.runner import run_scenario
from twin.units import column_unit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """The default scenario cut to 3 epochs, one target and one terminal, with the links table:
    every table has rows."""
    scenario = load_scenario(ROOT / "scenarios" / "default.toml").to_resolved_dict()
    scenario["run"]["duration"], scenario["run"]["step"] = 600.0, 300.0  # handovers for sure
    scenario["targets"] = scenario["targets"][:1]
    scenario["terminals"] = scenario["terminals"][:1]
    scenario["output"]["links"] = True
    scenario["isac"].update(design="stand_in", pso_particles=10, pso_iterations=5)  # 1 s, not 8
    return run_scenario(scenario, out=tmp_path_factory.mktemp("tidy") / "run", quiet=True)


def test_tidy_adds_columns_and_keeps_the_stored_ones(run_dir):
    plain, tidy = load(run_dir), load(run_dir, tidy=True)
    for name, frame in plain.items():
        assert list(tidy[name].columns[:0]) == []
        assert set(frame.columns) <= set(tidy[name].columns), name
        for column in frame.columns:  # same values (categoricals compare as their strings)
            pd.testing.assert_series_equal(
                tidy[name][column].astype(frame[column].dtype), frame[column], check_names=False
            )
        if name in ENTITY_KEYS:
            assert (tidy[name]["entity"] == frame[ENTITY_KEYS[name]]).all()
        if not frame.empty and "entity" in tidy[name]:
            assert isinstance(tidy[name]["entity"].dtype, pd.CategoricalDtype)
    entities = {"groups", "visibility", "handovers", "isac", "pnt"}
    assert all("entity" in tidy[n].columns for n in entities)


def test_long_tables_hold_every_list_item_in_order(run_dir):
    plain, tidy = load(run_dir), load(run_dir, tidy=True)
    for long_name, (table, column, keys, position, value) in LONG_TABLES.items():
        long, frame = tidy[long_name], plain[table]
        assert len(long) > 0, long_name
        assert list(long.columns) == [*keys, position, value]
        # rebuild each list cell from the long table and compare with the stored cell
        first = long[long[position] == 0]
        if value == "sat":
            joined = long.groupby(list(keys), observed=True, sort=False)[value].agg(
                lambda s: ";".join(s.astype(str))
            )
            stored = frame.assign(entity=frame[ENTITY_KEYS.get(table, "entity")])
            stored = stored[stored[column].astype(str) != ""].set_index(list(keys))[column]
            assert joined.to_dict() == stored.astype(str).to_dict(), long_name
        else:
            sizes = frame[column].map(len)
            assert len(long) == sizes.sum() and len(first) == (sizes > 0).sum()
        assert (long.index.tz is not None) and long.index.name == "time"


def test_units_are_in_the_arrow_field_metadata(run_dir):
    for table in ("visibility", "isac", "pnt", "links", "groups"):
        units = column_units(run_dir, table)
        columns = load(run_dir, [table])[table].columns
        assert units == {c: column_unit(c) for c in columns if column_unit(c)}, table
    assert column_units(run_dir, "isac")["rcrb_m"] == "m"
    assert column_units(run_dir, "pnt")["sinr_min_db"] == "dB"
    assert column_units(run_dir, "isac")["rates_bps_hz"] == "bit/s/Hz"
    assert column_units(run_dir, "links")["delay_ms"] == "ms"


def _readme_columns() -> dict[str, list[str]]:
    """The README's table of tables: table name -> the backticked column names of its row
    (values in parentheses, e.g. the handover kinds, are not columns)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\| `(\w+)`[^|]*\| [^|]+ \| (.+) \|$", line)
        if match and match.group(1) in {
            "epochs",
            "visibility",
            "isl",
            "groups",
            "isac",
            "pnt",
            "handovers",
            "links",
        }:
            cells = re.sub(r"\([^()]*\)", "", match.group(2))
            rows[match.group(1)] = re.findall(r"`(\w+)`", cells)
    return rows


def test_readme_column_lists_match_the_real_tables(run_dir):
    documented = _readme_columns()
    assert sorted(documented) == sorted(
        ["epochs", "visibility", "isl", "groups", "isac", "pnt", "handovers", "links"]
    )
    tables = load(run_dir, tidy=True)
    for name, columns in documented.items():
        missing = [c for c in columns if c not in tables[name].columns]
        assert missing == [], (name, missing)
