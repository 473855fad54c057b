"""Windowed runs on dask.distributed (twin/windows.py): equal to the serial run, row for row."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenario_text import scenario_toml

from twin.constellation import serving
from twin.results import load, run_info
from twin.rundir import drop_parts_from, read_checkpoint, window_checkpoint_path
from twin.runner import run_scenario
from twin.windows import central_chain, run_window, window_spans


def _scenario(*, duration, checkpoint_every, window) -> str:
    """The windowed-run test scenario: a moving target (ISAC), a PNT cluster and a walker."""
    return scenario_toml(
        run={
            "name": "windows-test",
            "duration": duration,
            "step": "10s",
            "seed": 5,
            "checkpoint_every": checkpoint_every,
            "window": window,
        },
        serving={"group_size": 5, "collaboration": "II", "hysteresis_deg": 2.0},
        targets=[
            {"name": "car", "lat_deg": 40.0, "lon_deg": 116.0, "velocity_enu_mps": [20.0, 5.0, 0.0]}
        ],
        terminals=[
            {"name": "cluster", "lat_deg": 40.2, "lon_deg": 116.3},
            {
                "name": "walker",
                "lat_deg": 48.1,
                "lon_deg": 11.6,
                "velocity_enu_mps": [1.5, 0.0, 0.0],
            },
        ],
        isac={"enabled": True, "design": "stand_in", "pso_particles": 12, "pso_iterations": 8},
        pnt={
            "enabled": True,
            "terminals": ["cluster"],
            "cluster_rings": 1,
            "max_sats": 8,
            "beamformer": "zf",
        },
        replan={"policy": "on_event"},
        output={"dir": "unused"},
    )


WALL_CLOCK_COLUMNS = ["solve_time_s"]  # wall seconds of a solve: differ between any two runs


def write_scenario(
    tmp_path: Path, *, duration="190s", checkpoint_every=4, window=6, name="scenario.toml"
) -> Path:
    path = tmp_path / name
    path.write_text(_scenario(duration=duration, checkpoint_every=checkpoint_every, window=window))
    return path


def assert_tables_equal(a_dir, b_dir) -> dict:
    a, b = load(a_dir), load(b_dir)
    assert sorted(a) == sorted(b)
    for name in a:
        left = a[name].drop(columns=WALL_CLOCK_COLUMNS, errors="ignore")
        right = b[name].drop(columns=WALL_CLOCK_COLUMNS, errors="ignore")
        pd.testing.assert_frame_equal(left, right, check_exact=True, obj=f"table {name}")
    return a


@pytest.fixture(scope="module")
def serial_and_windowed(tmp_path_factory, cluster):
    tmp = tmp_path_factory.mktemp("windows")
    scenario = write_scenario(tmp)
    serial = run_scenario(scenario, out=tmp / "serial", quiet=True)
    windowed = run_scenario(
        scenario, out=tmp / "windowed", quiet=True, scheduler_address=cluster.scheduler_address
    )
    return scenario, serial, windowed


# --------------------------------------------------------------------------- pure pieces
def test_window_spans_cover_the_run_at_multiples_of_the_window():
    assert window_spans(20, 6) == [(0, 6), (6, 12), (12, 18), (18, 20)]
    assert window_spans(5, 60) == [(0, 5)]
    with pytest.raises(ValueError, match="window >= 1"):
        window_spans(5, 0)


def test_central_chain_equals_select_central_brute_force():
    """The pre-pass's candidate sets + chain reproduce serving._select_central's hysteresis
    epoch by epoch (random elevations with ties and satellites dipping below the mask)."""
    rng = np.random.default_rng(3)
    from twin.windows import central_candidates

    class FakeTwin:  # central_candidates needs scenario masks, ground names and look()
        pass

    T, G, S = 300, 3, 12
    mask, hysteresis = np.radians(10.0), np.radians(2.0)
    # slowly varying elevations, quantised so exact ties and exact hysteresis margins happen
    el = np.cumsum(rng.normal(0, np.radians(1.5), size=(T, G, S)), axis=0) + np.radians(20.0)
    el = np.round(el / np.radians(0.5)) * np.radians(0.5)
    el[rng.uniform(size=el.shape) < 0.03] = -np.pi / 2  # invalid satellites
    el[rng.uniform(size=(T, G)) < 0.05] -= np.radians(
        90.0
    )  # epochs with every satellite below the mask
    fake = FakeTwin()
    fake.scenario = type("S", (), {})()
    fake.scenario.visibility = type("V", (), {"mask_elevation_rad": mask})()
    fake.scenario.serving = type("G", (), {"hysteresis_rad": hysteresis})()
    fake.ground = type("E", (), {"names": [f"e{g}" for g in range(G)]})()
    fake.look = lambda index: (None, None, None, None, el[index], None, None)
    parts = [central_candidates(fake, a, b) for a, b in window_spans(T, 70)]
    chain = central_chain(parts, T, G)
    prev = np.full(G, -1)
    changes = 0
    for t in range(T):
        want = np.array(
            [
                serving._select_central(el[t, g][None, :], mask, [prev[g]], hysteresis)[0]
                for g in range(G)
            ]
        )
        np.testing.assert_array_equal(chain[t], want, err_msg=f"epoch {t}")
        changes += int(np.sum((want != prev) & (prev >= 0)))
        prev = want
    assert changes > 20, "the brute-force sequence should exercise many hysteresis decisions"
    assert (chain == -1).any(), "and epochs with no satellite above the mask"


def test_drop_parts_in_a_window_leaves_other_windows_alone(tmp_path):
    table = tmp_path / "tables" / "epochs"
    table.mkdir(parents=True)
    names = [
        "part-00000000.parquet",
        "part-00000006.parquet",
        ".part-00000008.parquet.tmp",
        "part-00000012.parquet",
        ".part-00000014.parquet.tmp",
    ]
    for n in names:
        (table / n).write_bytes(b"x")
    removed = drop_parts_from(tmp_path, 6, 12)
    assert sorted(p.name for p in removed) == [
        ".part-00000008.parquet.tmp",
        "part-00000006.parquet",
    ]
    assert sorted(p.name for p in table.iterdir()) == sorted(
        set(names) - {n for n in names if "0006" in n or "0008" in n}
    )


# --------------------------------------------------------------------------- whole runs
def test_windowed_equals_serial_every_table(serial_and_windowed):
    scenario, serial, windowed = serial_and_windowed
    tables = assert_tables_equal(serial, windowed)
    info = run_info(windowed)
    assert info["status"] == "complete" and info["mode"] == "windowed" and info["n_windows"] == 4
    # the run exercised what window independence is about
    isac, pnt = tables["isac"], tables["pnt"]
    assert set(isac.loc[isac.epoch.isin([6, 12, 18]), "replan_reason"]) == {"window"}
    assert (isac.loc[isac.epoch.isin([6, 12, 18]), "prior_source"] == "fresh").all()
    assert (isac.prior_source == "track").sum() >= 10, (
        "the moving target's prior is tracked inside windows"
    )
    assert (isac.replan_reason == "").sum() > 0 and (pnt.replan_reason == "").sum() > 0, (
        "plans are held"
    )
    assert set(pnt.loc[pnt.epoch.isin([6, 12, 18]), "replan_reason"]) == {"window"}
    foundation = tables["handovers"][tables["handovers"].kind.isin(["central", "group"])]
    assert len(foundation) > 0 and (foundation.epoch % 6 == 0).any(), (
        "handovers at window boundaries"
    )
    # summary counts are summed over windows: equal to the serial run's
    assert info["summary"] == read_checkpoint(serial)["state"]["summary"]
    # every window finished; no temporary part left anywhere
    for first, stop in window_spans(20, 6):
        assert json.loads(window_checkpoint_path(windowed, first).read_text())["next_epoch"] == stop
    assert not [p for p in (Path(windowed) / "tables").rglob("*") if p.name.endswith(".tmp")]
    # memory samples: one per window checkpoint (4 windows: 2 + 2 + 2 + 1 checkpoints) + the driver's
    memory = info["memory"]
    assert len(memory) == 8 and all(m["rss_mb"] > 10 for m in memory)
    assert {m["window"] for m in memory} == {0, 6, 12, 18, "driver"}


def test_windowed_equals_serial_when_a_window_starts_the_last_propagation_block(tmp_path, cluster):
    """61 epochs, windows of 30: the serial run's last propagation block starts at epoch 60
    alone, the last window's at 59 (it builds epoch 59 to seed itself). Positions must not
    depend on that (a one-epoch propagation once differed in the last bits)."""
    text = _scenario(duration="600s", checkpoint_every=10, window=30)
    text = text.replace("enabled = true", "enabled = false")  # geometry and handovers only
    path = tmp_path / "geometry.toml"
    path.write_text(text)
    serial = run_scenario(path, out=tmp_path / "serial", quiet=True)
    windowed = run_scenario(
        path, out=tmp_path / "windowed", quiet=True, scheduler_address=cluster.scheduler_address
    )
    tables = assert_tables_equal(serial, windowed)
    assert len(tables["epochs"]) == 61 and run_info(windowed)["n_windows"] == 3


def test_resume_of_a_complete_windowed_run_is_a_no_op(serial_and_windowed):
    scenario, serial, windowed = serial_and_windowed
    parts = {p: p.stat().st_mtime_ns for p in (Path(windowed) / "tables").rglob("*.parquet")}
    before = run_info(windowed)
    run_scenario(None, resume=windowed, quiet=True, workers=2)  # starts no cluster: nothing to do
    assert {
        p: p.stat().st_mtime_ns for p in (Path(windowed) / "tables").rglob("*.parquet")
    } == parts
    after = run_info(windowed)
    assert after["status"] == "complete" and after["summary"] == before["summary"]
    assert_tables_equal(serial, windowed)


def test_window_rule_changes_only_rows_from_the_first_boundary_on(tmp_path):
    """Serial runs with and without boundaries: the foundation's tables (geometry, groups,
    serving-group handovers) are identical; the processes' rows are identical before the
    first boundary and differ from it on (cold re-plan, fresh prior)."""
    with_windows = run_scenario(
        write_scenario(tmp_path, window=6, name="a.toml"), out=tmp_path / "a", quiet=True
    )
    without = run_scenario(
        write_scenario(tmp_path, window=1000, name="b.toml"), out=tmp_path / "b", quiet=True
    )
    a, b = load(with_windows), load(without)
    for name in ("epochs", "visibility", "isl", "groups"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    process_kinds = {"isac_beams", "pnt_reference", "pnt_positioning", "pnt_beams"}
    ha, hb = a["handovers"], b["handovers"]
    pd.testing.assert_frame_equal(
        ha[~ha.kind.isin(process_kinds)], hb[~hb.kind.isin(process_kinds)], check_exact=True
    )
    for name in ("isac", "pnt"):
        left = a[name].drop(columns=WALL_CLOCK_COLUMNS)
        right = b[name].drop(columns=WALL_CLOCK_COLUMNS)
        pd.testing.assert_frame_equal(
            left[left.epoch < 6], right[right.epoch < 6], check_exact=True
        )
        assert (left.loc[left.epoch == 6, "replan_reason"] == "window").all()
        assert not (right.replan_reason == "window").any()
    assert not a["isac"].loc[a["isac"].epoch == 6, "prior_source"].eq("track").any()
    assert b["isac"].loc[b["isac"].epoch == 6, "prior_source"].eq("track").all()


def test_a_window_refuses_a_wrong_pre_pass(tmp_path):
    """A window whose centrals disagree with the pre-pass chain stops instead of writing rows."""
    from twin.config.loader import load_scenario

    scenario = load_scenario(write_scenario(tmp_path))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    chain = np.full(
        (scenario.run.n_epochs, 3), 5, dtype=np.int64
    )  # satellite 5 is no one's central
    with pytest.raises(RuntimeError, match="differ from the windowed pre-pass"):
        run_window(scenario, run_dir, 6, 12, chain=chain)
    assert not list(run_dir.rglob("*.parquet"))


def test_serial_run_json_records_memory_at_every_checkpoint(serial_and_windowed):
    scenario, serial, windowed = serial_and_windowed
    memory = run_info(serial)["memory"]
    assert [m["epoch"] for m in memory] == [4, 8, 12, 16, 20]
    assert all(m["rss_mb"] > 10 for m in memory)
    assert all(b["wall_s"] >= a["wall_s"] for a, b in zip(memory, memory[1:]))
    assert "memory" not in load(serial)["epochs"].columns
