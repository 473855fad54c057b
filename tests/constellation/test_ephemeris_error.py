"""`twin ephemeris-error`: OLD propagated to NEW's epochs, checked against skyfield."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from skyfield.api import EarthSatellite, load
from typer.testing import CliRunner

from twin.cli import app
from twin.constellation.ephemeris_error import (
    COLUMNS,
    ephemeris_error,
    fit_sigma_per_day,
)
from twin.constellation.tle import read_tle
from twin.signal.ephemeris import rtn_basis

DATA = Path(__file__).parent / "data"
OLD = DATA / "starlink-2026-05-24-sample.tle"  # 25 records of the shared snapshots
NEW = DATA / "starlink-2026-05-26-sample.tle"


def _records(path):
    lines = path.read_text().splitlines()
    return {int(a[2:7]): (a, b) for a, b in zip(lines[1::3], lines[2::3])}


def test_errors_agree_with_skyfield_to_a_metre():
    frame = ephemeris_error(read_tle(OLD), read_tle(NEW))
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 25
    ts = load.timescale(builtin=True)
    old, new = _records(OLD), _records(NEW)
    for row in frame.itertuples():
        sat_new = EarthSatellite(*new[row.norad], ts=ts)
        sat_old = EarthSatellite(*old[row.norad], ts=ts)
        t = sat_new.epoch
        p_new = sat_new.at(t)  # GCRS, independent of the twin's TEME path
        p_old = sat_old.at(t)
        diff = p_old.position.m - p_new.position.m
        basis = rtn_basis(p_new.position.m, p_new.velocity.m_per_s)
        rtn = basis @ diff
        assert abs(np.linalg.norm(diff) - row.err_3d_m) < 1.0
        assert np.allclose(rtn, [row.err_radial_m, row.err_along_m, row.err_cross_m], atol=1.0)
        assert abs((t - sat_old.epoch) - row.age_days) < 1e-6
    assert frame["err_3d_m"].median() > 1000.0  # 2-day-old sets are kilometres off


def test_fit_recovers_a_known_sigma_growth():
    rng = np.random.default_rng(3)
    age = rng.uniform(0.5, 4.0, 20000)
    sig = np.array([100.0, 5000.0, 50.0])
    err = rng.normal(size=(20000, 3)) * sig * age[:, None]
    frame = pd.DataFrame(
        {
            "age_days": age,
            "err_radial_m": err[:, 0],
            "err_along_m": err[:, 1],
            "err_cross_m": err[:, 2],
        }
    )
    assert np.allclose(fit_sigma_per_day([frame]), sig, rtol=0.03)


def test_cli_writes_table_and_figure_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "err.parquet"
    runner = CliRunner()
    result = runner.invoke(app, ["ephemeris-error", str(OLD), str(NEW), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "all" in result.output
    table = pd.read_parquet(out)
    assert list(table.columns) == list(COLUMNS) and len(table) == 25
    assert out.with_suffix(".png").stat().st_size > 1000
    again = runner.invoke(app, ["ephemeris-error", str(OLD), str(NEW), "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    forced = runner.invoke(app, ["ephemeris-error", str(OLD), str(NEW), "-o", str(out), "--force"])
    assert forced.exit_code == 0 and forced.stdout.strip() == str(out)  # the file alone on stdout
