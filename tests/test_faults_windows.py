"""Random faults are part of what windowed and resumed runs reproduce: both equal the serial
run row for row (the schedule is a function of seed, element and time, twin.constellation.faults)."""

from __future__ import annotations

import pytest
from test_faults import fault_text
from test_windows import _scenario, assert_tables_equal

from twin.clock import Twin
from twin.processes import attach
from twin.report import fault_html, fault_specs
from twin.results import load, run_info
from twin.runner import prepare, run_scenario

pytestmark = pytest.mark.slow

# ~14 % of satellites and ~20 % of links down at any time, both failing and coming back
# within the 20 epochs of the run (792 satellites: ~5 changes per epoch)
RANDOM = fault_text(
    kind="random", satellite_mtbf="1h", satellite_mttr="10m", isl_mtbf="40m", isl_mttr="10m"
)


class Interrupt(Exception):
    pass


def test_windowed_and_resumed_runs_with_random_faults_equal_the_serial_run(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(_scenario(duration="190s", checkpoint_every=4, window=6) + RANDOM)
    serial = run_scenario(path, out=tmp_path / "serial", quiet=True)
    tables = load(serial)
    faults = tables["faults"]
    assert set(faults.kind) == {"satellite", "isl"} and set(faults.change) == {"down", "up"}
    assert (faults.epoch > 0).sum() >= 20, "faults come and go during the run"
    h = tables["handovers"]
    assert (h.reason == "fault").any() or tables["isac"].replan_reason.eq("fault").any()
    assert tables["groups"].fault_affected.any() and tables["pnt"].fault_affected.any()

    windowed = run_scenario(path, out=tmp_path / "windowed", quiet=True, workers=2)
    assert run_info(windowed)["mode"] == "windowed"
    assert_tables_equal(serial, windowed)

    # a run stopped at epoch 11 (last checkpoint before epoch 8), then resumed
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
    resumed = run_scenario(resume=tmp_path / "resumed", quiet=True)
    assert run_info(resumed)["status"] == "complete"
    assert_tables_equal(serial, resumed)

    # the report's Faults section and figure on these tables (write_report draws them with the
    # rest; only the faults' parts here, to keep the test short)
    text = fault_html(tables)
    assert "<h2>Faults</h2>" in text and "touched by a fault" in text
    (spec,) = fault_specs(tables)
    fig = spec.build()
    assert [ax.get_ylabel() for ax in fig.axes] == ["elements off", "share with an estimate"]
    assert {line.get_label() for line in fig.axes[0].get_lines()} == {"satellite", "isl"}
