"""Re-planning policy, held beams and the exact resume of a run with the processes enabled."""

import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scenario_text import scenario_toml

from twin.clock import Twin
from twin.config.loader import scenario_from_dict
from twin.processes import attach
from twin.processes.replan import (
    decide,
    decode_array,
    direction_drift_rad,
    encode_array,
    unit_directions,
)
from twin.results import load, run_info
from twin.rundir import read_checkpoint


def _base(*, duration, checkpoint_every, policy, beamformer) -> str:
    """The re-planning test scenario: a moving target (ISAC) and a terminal cluster (PNT)."""
    return scenario_toml(
        run={
            "name": "replan-test",
            "duration": duration,
            "step": "10s",
            "seed": 5,
            "checkpoint_every": checkpoint_every,
        },
        serving={"group_size": 5, "collaboration": "II"},
        targets=[
            {"name": "car", "lat_deg": 40.0, "lon_deg": 116.0, "velocity_enu_mps": [20.0, 5.0, 0.0]}
        ],
        terminals=[{"name": "cluster", "lat_deg": 40.2, "lon_deg": 116.3}],
        isac={"enabled": True, "pso_particles": 12, "pso_iterations": 8},
        pnt={"enabled": True, "cluster_rings": 1, "max_sats": 8, "beamformer": beamformer},
        replan={"policy": policy, "every_n": 3},
        output={"dir": "unused"},
    )


def _config(**kw):
    base = {
        "policy": "every_epoch",
        "every_n": 3,
        "on": ["handover", "group_change", "drift"],
        "drift_rad": np.radians(1.0),
        "max_age": 0,
    }
    return SimpleNamespace(**{**base, **kw})


def _decide(config, **kw):
    args = {
        "epoch": 10,
        "plan_epoch": 8,
        "forced": False,
        "handover": False,
        "group_change": False,
        "drift_rad": 0.0,
        **kw,
    }
    return decide(config, **args)


# --------------------------------------------------------------------------- the policy


def test_decide_every_policy_and_the_overrides():
    assert _decide(_config(), plan_epoch=None) == (True, "initial")
    assert _decide(_config(policy="every_n"), forced=True) == (True, "forced")
    assert _decide(_config(policy="on_event", max_age=2)) == (True, "max_age")
    assert _decide(_config()) == (True, "every_epoch")
    assert _decide(_config(policy="every_n"), epoch=10, plan_epoch=8) == (False, "")
    assert _decide(_config(policy="every_n"), epoch=11, plan_epoch=8) == (True, "every_n")
    on = _config(policy="on_event")
    assert _decide(on) == (False, "")
    assert _decide(on, handover=True) == (True, "handover")
    assert _decide(on, group_change=True) == (True, "group_change")
    assert _decide(on, drift_rad=np.radians(1.01)) == (True, "drift")
    assert _decide(on, drift_rad=np.radians(0.99)) == (False, "")
    only_drift = _config(policy="on_event", on=["drift"])
    assert _decide(only_drift, handover=True, group_change=True) == (False, "")


def test_drift_is_the_largest_angle_between_directions():
    origin = np.zeros(3)
    sats = np.array([[7e6, 0.0, 0.0], [0.0, 7e6, 0.0]])
    turned = np.array(
        [[7e6, 7e6 * np.tan(np.radians(3.0)), 0.0], [0.0, 7e6, 7e6 * np.tan(np.radians(0.5))]]
    )
    drift = direction_drift_rad(unit_directions(origin, sats), unit_directions(origin, turned))
    assert np.degrees(drift) == pytest.approx(3.0, rel=1e-9)


def test_arrays_survive_the_checkpoint_text_exactly():
    rng = np.random.default_rng(3)
    for array in (
        rng.normal(size=(80, 10)) + 1j * rng.normal(size=(80, 10)),
        rng.random((4, 7)) > 0.5,
        np.array([np.inf, -0.0, 1e-300]),
    ):
        again = decode_array(encode_array(array))
        assert again.dtype == array.dtype and again.shape == array.shape
        np.testing.assert_array_equal(again, array)
    assert decode_array(encode_array(None)) is None


# --------------------------------------------------------------------------- held beams on the clock


def _scenario(tmp_path, **kw):
    import tomllib

    text = _base(
        **{"duration": "3m", "checkpoint_every": 60, "policy": "every_n", "beamformer": "mf", **kw}
    )
    data = tomllib.loads(text)
    return scenario_from_dict(data, base_dir=tmp_path)


def test_every_n_holds_beams_and_records_their_degradation(tmp_path):
    twin = Twin(_scenario(tmp_path), tmp_path / "run")
    attach(twin)
    twin.run()
    tables = load(tmp_path / "run")
    isac, pnt = tables["isac"], tables["pnt"]
    ok = isac[isac.status == "ok"]
    assert len(ok) >= 15
    # plans are 0, 1, 2 epochs old in turn (or re-made early when forced)
    assert set(ok.plan_age_epochs) <= {0, 1, 2}
    assert ok.replanned.sum() < len(ok)
    assert set(ok.replan_reason[ok.replanned]) <= {"initial", "every_n", "forced"}
    held = ok[~ok.replanned]
    assert (held.replan_reason == "").all() and held.solve_time_s.isna().all()
    # the held beams are scored on the new geometry: RCRB differs from the one at the plan
    assert np.all(np.isfinite(held.rcrb_m)) and np.all(held.rcrb_m != held.rcrb_at_plan_m)
    fresh = ok[ok.replanned]
    np.testing.assert_array_equal(fresh.rcrb_m, fresh.rcrb_at_plan_m)
    p_ok = pnt[pnt.status == "ok"]
    p_held = p_ok[~p_ok.replanned]
    assert len(p_held) and set(p_ok.plan_age_epochs) <= {0, 1, 2}
    assert np.all(p_held.crlb_m != p_held.crlb_at_plan_m)
    # a held beam keeps its satellites: the membership only changes at re-plans
    for _, rows in ok.groupby((ok.plan_age_epochs == 0).cumsum()):
        assert rows.members.nunique() == 1


def test_every_epoch_plans_are_fresh_and_events_hold_longer(tmp_path):
    every = Twin(_scenario(tmp_path, policy="every_epoch"), tmp_path / "every")
    attach(every)
    every.run()
    isac = load(tmp_path / "every")["isac"]
    ok = isac[isac.status == "ok"]
    assert ok.replanned.all() and (ok.plan_age_epochs == 0).all()
    # LEO satellites turn by ~7° per 10 s seen from the ground: the default 10° drift holds a plan
    events = Twin(_scenario(tmp_path, policy="on_event"), tmp_path / "events")
    attach(events)
    events.run()
    ev = load(tmp_path / "events")["isac"]
    ev = ev[ev.status == "ok"]
    assert ev.replanned.sum() < len(ev)
    assert set(ev.replan_reason[ev.replanned]) <= {
        "initial",
        "forced",
        "handover",
        "group_change",
        "drift",
    }
    assert ev.drift_deg[~ev.replanned].max() <= 10.0 and ev.drift_deg.max() > 1.0


# --------------------------------------------------------------------------- resume with processes


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop wall-clock columns; list cells as tuples."""
    frame = frame.drop(columns=[c for c in ("solve_time_s",) if c in frame.columns])
    if "rates_bps_hz" in frame.columns:
        frame = frame.assign(rates_bps_hz=[tuple(v) for v in frame.rates_bps_hz])
    return frame


def _twin(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "twin.cli", *args, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_with_processes(tmp_path):
    """Held plans (every_n = 3 across checkpoints of 7 epochs) and tracked estimates are
    checkpointed: the resumed run's tables equal an uninterrupted run's."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        _base(duration="4m", checkpoint_every=7, policy="every_n", beamformer="dsta")
    )
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    process = _twin("run", str(scenario), "--out", str(killed))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        checkpoint = read_checkpoint(killed) if killed.exists() else None
        if checkpoint is not None and checkpoint["next_epoch"] >= 8:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert run_info(killed)["status"] == "running", "the run finished before it could be killed"
    state = read_checkpoint(killed)["state"]["processes"]
    assert state["isac"]["plans"] and state["pnt"]["plans"]
    resumed = _twin("run", "--resume", str(killed))
    uninterrupted = _twin("run", str(scenario), "--out", str(whole))
    for p in (resumed, uninterrupted):
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()[-2000:]
    a, b = load(killed), load(whole)
    for table in ("isac", "pnt", "handovers", "groups"):
        assert len(b[table]) > 0
        pd.testing.assert_frame_equal(
            _comparable(a[table]), _comparable(b[table]), check_exact=True
        )
    assert (
        b["isac"].replanned.sum() < (b["isac"].status == "ok").sum()
    )  # beams were held across checkpoints
