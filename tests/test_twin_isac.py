"""The ISAC process on the clock: no error added by the clock, tracking across handovers."""

import tomllib

import numpy as np
import pytest
from scenario_text import scenario_toml

from twin.clock import Twin
from twin.config.loader import scenario_from_dict
from twin.constellation import orbits
from twin.epoch import entity_rng
from twin.geometry import geodetic_to_ecef
from twin.isac.estimation.locate import draw_prior_centre
from twin.isac.physics import crb
from twin.isac.physics.channel import comm_channels, sinr_rate
from twin.isac.physics.model import isac_array_frames, reflection_coefficients
from twin.isac.physics.transmit import matched_filter_isotropic
from twin.processes import attach
from twin.processes.isac import isac_params, ue_offsets_enu, ue_positions_around
from twin.results import load
from twin.units import dbm_to_w


def _paper(
    *, duration="20s", total=1584, planes=72, motion=None, track=False, particles=10, iterations=5
) -> str:
    """The ISAC test scenario; motion: extra fields of the target (e.g. its velocity)."""
    return scenario_toml(
        run={"name": "isac-test", "duration": duration, "step": "10s", "seed": 11},
        shell={"total": total, "planes": planes},
        serving={"group_size": 5, "collaboration": "II"},
        targets=[{"name": "t", "lat_deg": 40.0, "lon_deg": 116.0, **(motion or {})}],
        isac={
            "enabled": True,
            "design": "stand_in",
            "track_prior": track,
            "pso_particles": particles,
            "pso_iterations": iterations,
        },
        output={"dir": "unused"},
    )


def _run(tmp_path, **kw):
    scenario = scenario_from_dict(tomllib.loads(_paper(**kw)), base_dir=tmp_path)
    twin = Twin(scenario, tmp_path / "run")
    attach(twin)
    twin.run()
    return scenario, twin, load(tmp_path / "run")


def test_the_clock_adds_no_error_to_the_paper_rcrb(tmp_path):
    """Seed 000 settings (72 x 22 Walker, 550 km, 53°, K = 5 type II, 4 x 4 arrays, 30 dBm,
    σ²_n = -110 dBm, M = 10): the recorded RCRB and rates equal the standalone functions
    evaluated on an independent propagation of the satellites the table names."""
    scenario, twin, tables = _run(tmp_path)
    isac = tables["isac"]
    assert (isac.status == "ok").all() and len(isac) == 3
    names = list(twin.constellation.names)
    times = twin.times.to_numpy()
    pos_all, vel_all, err = orbits.propagate_itrs(twin.constellation, times)
    assert not err.any()
    target = geodetic_to_ecef(np.radians(40.0), np.radians(116.0), 0.0)
    params = isac_params(scenario.isac, 5)
    offsets = ue_offsets_enu(scenario.run.seed, 0, 10, 15e3)
    ues = ue_positions_around(target, offsets)
    assert np.all(np.linalg.norm(ues - target, axis=1) <= 15e3 * (1 + 1e-6))
    for e, row in enumerate(isac.itertuples()):
        members = [names.index(n) for n in row.members.split(";")]
        assert members[0] == names.index(row.central) and len(members) == 5
        q, v = pos_all[e, members], vel_all[e, members]
        rng = entity_rng(scenario.run.seed, e, 0)
        prior = draw_prior_centre(target, rng, spread_m=250.0)
        frames = isac_array_frames(q, v)
        H = comm_channels(q, ues, frames=frames, params=params, rng=rng, center_ecef=target)
        beta = reflection_coefficients("paper", q, prior, rng=rng)
        W, R = matched_filter_isotropic(H, 5, 16, float(dbm_to_w(30.0)), comm_fraction=0.5)
        expected = crb.rcrb(
            q,
            target,
            W @ W.conj().T + R,
            beta,
            noise_power=float(dbm_to_w(-110.0)),
            nx=4,
            nz=4,
            frames=frames,
        )
        assert row.rcrb_m == pytest.approx(expected, rel=1e-9)
        _, rates = sinr_rate(H, W, R)
        np.testing.assert_allclose(row.rates_bps_hz, rates, rtol=1e-9)
        assert row.prior_offset_m == pytest.approx(np.linalg.norm(prior - target), rel=1e-9)
        assert 0 < row.rcrb_m < 1.0  # the paper's regime: centimetres


def test_moving_target_error_stays_bounded_across_central_handovers(tmp_path):
    """A car at 20 m/s tracked with the previous estimate as the next prior: across every
    central-satellite handover the estimate stays close (never re-acquired from scratch)."""
    scenario, _, tables = _run(
        tmp_path,
        duration="6m",
        total=792,
        planes=36,
        track=True,
        motion={"velocity_enu_mps": [20.0, 5.0, 0.0]},
        particles=30,
        iterations=20,
    )
    isac, handovers = tables["isac"], tables["handovers"]
    central = handovers[(handovers.entity == "t") & (handovers.kind == "central")]
    assert len(central) >= 1, "no central-satellite handover in the window: lengthen it"
    assert (isac.status == "ok").all()
    assert (isac.prior_source.iloc[1:] == "track").all()  # never lost
    errors = isac.set_index("epoch").error_m
    for e in central.epoch:
        window = errors.loc[max(e - 2, 0) : e + 3]
        assert window.max() < 60.0, window
    assert errors.max() < 60.0 and errors.median() < 15.0
    # the truth moved 20.6 m/s x 360 s; the estimates followed it
    ends = geodetic_to_ecef(
        np.radians(isac.target_lat_deg.iloc[[0, -1]].to_numpy()),
        np.radians(isac.target_lon_deg.iloc[[0, -1]].to_numpy()),
        0.0,
    )
    assert np.linalg.norm(ends[1] - ends[0]) == pytest.approx(20.6 * 360, rel=0.01)
    print(
        f"{len(central)} central handovers; error median {errors.median():.2f} m, max {errors.max():.2f} m; "
        f"RCRB median {isac.rcrb_m.median():.3f} m"
    )


@pytest.mark.slow
def test_paper_design_path_on_the_clock(tmp_path):
    """design = "paper" runs cvxpy Algorithm 2 per re-plan (small instance: K = 3, 2 x 2 arrays,
    M = 2): the recorded design meets the rate target and its RCRB is that of its own beams."""
    text = _paper(duration="10s")
    data = tomllib.loads(text)
    data["isac"].update(design="paper", nx=2, nz=2, n_ue=2)
    data["serving"].update(group_size=3, collaboration="I")
    twin = Twin(scenario_from_dict(data, base_dir=tmp_path), tmp_path / "run")
    attach(twin)
    twin.run()
    isac = load(tmp_path / "run")["isac"]
    assert (isac.design == "paper").all() and (isac.status == "ok").all()
    assert (isac.design_status == "optimal").all(), isac.design_status
    assert (isac.rate_min_bps_hz >= 2.0 - 1e-3).all()
    assert np.all(isac.solve_time_s > 0) and np.all(np.isfinite(isac.rcrb_m))
