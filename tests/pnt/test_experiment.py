"""Tests of the seed 002 drop harness (twin.paper.pnt.experiment)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.paper.pnt.experiment import (
    BEAMFORMERS,
    drop_rngs,
    make_drop,
    params_with,
    parse_scheduler,
    rings_for_cells,
    run_drop,
    run_experiment,
    simulate_drop,
)
from twin.pnt.channel import PntParams

# A small setting: 19 cells, 5 satellites, 3 per UT, 4x4 arrays (the budget 5*12 >= 57 holds).
SMALL = params_with(n_cells=19, n_sats=5, i_tdoa=3, nx=4, ny=4, element_gain_dbi=5.5)


def test_parse_scheduler_and_rings():
    assert parse_scheduler("hbs") == ("hbs", 4)
    assert parse_scheduler("hbs12") == ("hbs", 12)
    assert parse_scheduler("gdop") == ("gdop", 1)
    assert parse_scheduler("parallax") == ("parallax", 1)
    for bad in ("hbs0", "HBS4", "greedy", "hbs-1"):
        with pytest.raises(ValueError):
            parse_scheduler(bad)
    assert [rings_for_cells(n) for n in (1, 7, 19, 37, 61)] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="hexagonal"):
        rings_for_cells(60)
    with pytest.raises(ValueError, match="unknown PntParams"):
        params_with(n_satellites=3)


def test_run_drop_rows_and_physics():
    geo, chan = drop_rngs(1, 0)
    drop = make_drop(SMALL, geo)
    df = run_drop(
        drop,
        scheduler=["hbs4", "gdop"],
        beamformer=list(BEAMFORMERS),
        params=SMALL,
        rng=chan,
        drop_index=7,
    )
    assert len(df) == 19 * 2 * 4
    assert set(df["drop"]) == {7}
    assert {
        "accuracy_m",
        "gdop",
        "sinr_mean_db",
        "sinr_min_db",
        "sinr_db_0",
        "sinr_db_2",
        "status",
        "n_tests",
    } <= set(df.columns)
    assert np.isfinite(df["accuracy_m"]).mean() > 0.9 and (df["accuracy_m"] > 0).all()
    assert (df["sinr_min_db"] <= df["sinr_mean_db"] + 1e-12).all()
    key = ["scheduler", "ut"]
    for sched, g in df.groupby("scheduler"):
        # one schedule shared by the beamformers: identical GDOP columns
        piv = g.pivot(index="ut", columns="beamformer", values="gdop")
        assert (piv.nunique(axis=1) == 1).all()
    # SCBWI (same weights as SCB, interference ignored) is never worse than SCB, per link
    bf = df.set_index(key + ["beamformer"])
    links = [f"sinr_db_{k}" for k in range(3)]
    scb = bf.xs("scb", level="beamformer")[links].to_numpy()
    scbwi = bf.xs("scbwi", level="beamformer")[links].to_numpy()
    assert (scbwi >= scb - 1e-9).all() and (scbwi > scb + 0.1).any()
    # DSTA keeps the per-beam power P, so it cannot beat the interference-free matched filter
    dsta = bf.xs("dsta", level="beamformer")[links].to_numpy()
    assert (dsta <= scbwi + 1e-6).all()
    acc = bf["accuracy_m"].unstack("beamformer")
    assert (acc["scbwi"] <= acc["scb"] * (1 + 1e-9)).all()


def test_experiment_is_independent_of_batching_and_workers():
    kw = dict(
        drops=2, seed=3, schedulers=["hbs4", "parallax"], beamformers=["scb", "zf"], progress=False
    )
    serial = run_experiment(SMALL, workers=1, **kw)
    assert len(serial) == 2 * 2 * 2 * 19
    parallel = run_experiment(SMALL, workers=2, **kw)
    pd.testing.assert_frame_equal(serial, parallel)
    alone = simulate_drop(SMALL, 3, 1, ["hbs4", "parallax"], ["scb", "zf"])
    mine = serial[serial["drop"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        mine.sort_values(["scheduler", "beamformer", "ut"]).reset_index(drop=True),
        alone.sort_values(["scheduler", "beamformer", "ut"]).reset_index(drop=True),
    )
    other = run_experiment(SMALL, workers=1, **{**kw, "seed": 4})
    assert not np.allclose(other["accuracy_m"], serial["accuracy_m"])


def test_experiment_checks_input():
    with pytest.raises(ValueError, match="drops"):
        run_experiment(SMALL, drops=0, progress=False)
    with pytest.raises(ValueError, match="unknown beamformer"):
        run_experiment(SMALL, drops=1, beamformers=["mmse"], progress=False)
    with pytest.raises(ValueError, match="unknown scheduler"):
        run_experiment(SMALL, drops=1, schedulers=["random"], progress=False)


def test_default_params_are_table_ii():
    p = PntParams()
    assert (p.n_sats, p.i_tdoa, p.n_cells, p.n_beams, p.power_dbw) == (21, 4, 61, 12, 26.0)


def test_phase_model_and_sweep_reach_the_channels_and_the_scheduler():
    """PntParams.phase_model and .sweep are used by run_drop: the element-phase channels
    decorrelate the UTs (SCB loses less to interference than with one phase per link, on
    the same geometry) and the per-UT sweep gives another schedule (GDOP column)."""
    geo, chan = drop_rngs(2, 0)
    drop = make_drop(SMALL, geo)

    def rows(**changes):
        p = params_with(SMALL, **changes)
        _, c = drop_rngs(2, 0)
        return run_drop(
            drop, scheduler="gdop", beamformer=["scb", "scbwi"], params=p, rng=c
        ).set_index(["beamformer", "ut"])

    link, elem, per_ut = rows(), rows(phase_model="element"), rows(sweep="per_ut")
    loss = lambda df: (df.loc["scbwi", "sinr_mean_db"] - df.loc["scb", "sinr_mean_db"]).mean()  # noqa: E731
    assert loss(elem) < loss(link)
    np.testing.assert_array_equal(
        link.loc["scb", "gdop"], elem.loc["scb", "gdop"]
    )  # same schedule (GDOP-greedy)
    assert not np.allclose(link.loc["scb", "gdop"], per_ut.loc["scb", "gdop"])
