"""Every optional feature at once: random ``[[faults]]``, the ``[errors]`` budget (statistical
ephemeris, random-walk satellite clocks, light time + Sagnac, troposphere + ionosphere),
``[channel] model = "tr38811"`` and an ``[[areas]]`` population, on the windowed-run test's
Walker scenario (20 epochs at 10 s). The serial run shows each feature's mark; a windowed run
on 2 workers (also with 4 entity shards) and a run interrupted after a checkpoint then resumed
equal it row for row."""

from __future__ import annotations

import numpy as np
import pytest
from test_faults import fault_text
from test_faults_windows import Interrupt
from test_windows import _scenario, assert_tables_equal

from twin.clock import Twin
from twin.processes import attach
from twin.results import load, run_info
from twin.runner import prepare, run_scenario

pytestmark = pytest.mark.slow

FAULTS = fault_text(
    kind="random", satellite_mtbf="1h", satellite_mttr="10m", isl_mtbf="40m", isl_mttr="10m"
)
ERRORS = """
[errors]
ephemeris = "statistical"
sigma_rtn_m = [2.0, 20.0, 2.0]
clock = "random_walk"
clock_offset_sigma_ns = 3.0
clock_drift_sigma = 1e-11
clock_allan_1s = 1e-10
clock_residual = 0.5
light_time = true
sagnac = true
troposphere = true
ionosphere_tecu = 20.0
"""
CHANNEL = '\n[channel]\nmodel = "tr38811"\nscenario = "urban"\n'  # band "auto": Ka ISAC, S PNT
AREA = """
[[areas]]
name = "ar"
box = {lat_min = 39.8, lat_max = 40.4, lon_min = 115.8, lon_max = 116.6}
fill = "random"
count = 2
seed = 7
entities = ["targets", "terminals"]
"""
AREA_TARGETS, AREA_CLUSTERS = ["ar-t000", "ar-t001"], ["ar-u000", "ar-u001"]
BUDGET = ("fix_error_total_m", "err_ephemeris_m", "err_clock_m", "err_flight_m")
BUDGET += ("err_troposphere_m", "err_ionosphere_m")
NTN = ("ntn_sf_db", "ntn_cl_db", "ntn_los", "ntn_extra_db")


def _text() -> str:
    text = _scenario(duration="190s", checkpoint_every=4, window=6)
    served = 'terminals = ["cluster"]'  # the PNT clusters: the scenario's and the area's
    assert served in text
    text = text.replace(served, f"terminals = {['cluster', *AREA_CLUSTERS]}".replace("'", '"'))
    return text + FAULTS + ERRORS + CHANNEL + AREA


def test_every_feature_together_serial_windowed_and_resumed(tmp_path):
    path = tmp_path / "all.toml"
    path.write_text(_text())
    serial = run_scenario(path, out=tmp_path / "serial", quiet=True)
    tables = load(serial)

    # 1. each feature left its mark on the serial run
    faults = tables["faults"]
    assert set(faults.kind) == {"satellite", "isl"} and (faults.epoch > 0).sum() >= 10
    isac, pnt = tables["isac"], tables["pnt"]
    assert tables["groups"].fault_affected.any() and pnt.fault_affected.any()
    names = [n for n in isac.target.unique()]
    assert set(AREA_TARGETS) <= set(names) and "car" in names
    assert set(AREA_CLUSTERS) <= set(pnt.cluster.unique())
    fixed = pnt[pnt.status == "ok"]
    assert len(fixed) > 0 and fixed.cluster.isin(AREA_CLUSTERS).any()
    for column in BUDGET:  # every source on and sized: finite and > 0 wherever a fix is
        values = fixed[column].to_numpy(dtype=float)
        assert np.isfinite(values).mean() > 0.9, column
        assert np.nanmin(values) > 0.0, column
    assert all(len(v) == len(s.split(";")) + 1 for v, s in zip(fixed.belief_err_3d_m, fixed.sats))
    assert (np.concatenate(fixed.belief_err_3d_m.to_list()) > 0).all()
    estimated = isac[isac.status == "ok"]
    assert len(estimated) > 0 and np.isfinite(estimated.error_total_m.astype(float)).all()
    for column in NTN:
        assert column in pnt.columns and column in isac.columns, column
    assert [len(v) for v in fixed.ntn_los] == [len(s.split(";")) for s in fixed.sats]

    # 2. a windowed run on 2 workers equals it
    windowed = run_scenario(path, out=tmp_path / "windowed", quiet=True, workers=2)
    assert run_info(windowed)["mode"] == "windowed"
    assert_tables_equal(serial, windowed)
    # and with 4 entity shards per window (ISAC: car + ar-t000, ar-t001; PNT: cluster +
    # ar-u000, ar-u001): faults, the error budget and the TR 38.811 channel shard too
    sharded = run_scenario(path, out=tmp_path / "sharded", quiet=True, workers=2, shards=4)
    assert run_info(sharded)["n_shards"] == 4
    assert_tables_equal(serial, sharded)

    # 3. a run stopped at epoch 11 (last checkpoint at epoch 8), then resumed, equals it
    scenario, constellation = prepare(path)
    twin = Twin(scenario, tmp_path / "resumed", constellation=constellation)
    attach(twin)

    def stop(done, n):
        if done == 11:
            raise Interrupt

    twin.progress_callback = stop
    with pytest.raises(Interrupt):
        twin.run()
    assert run_info(tmp_path / "resumed")["status"] == "running"
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "resumed").rglob("part-0000000[04]*")}
    assert len(kept) >= 2, "epochs 0-7 were written before the interrupt"
    resumed = run_scenario(resume=tmp_path / "resumed", quiet=True)
    assert run_info(resumed)["status"] == "complete"
    assert {p: p.stat().st_mtime_ns for p in kept} == kept, "the resume did not redo them"
    assert_tables_equal(serial, resumed)
