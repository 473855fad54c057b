"""Entity shards of windowed runs (twin/windows.py): (window x shard) tasks, tables equal the
serial run's row for row, resume per (window, shard)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scenario_text import scenario_toml
from test_windows import assert_tables_equal

from twin.config import load_scenario
from twin.errors import InputError
from twin.results import load, run_info
from twin.rundir import PART_RE, part_key, read_checkpoint, read_json, window_checkpoint_path
from twin.runner import run_scenario
from twin.windows import auto_shards, entity_shards, window_spans

N_EPOCHS, WINDOW = 13, 6  # 120 s at 10 s: windows [0,6) [6,12) [12,13)
# [isac] targets in an order that is not the scenario's: rows follow this order
ISAC_ORDER = ["area-t003", "car", "area-t000", "area-t004", "area-t001", "area-t002"]

AREAS = """
[[areas]]
name = "area"
box = {lat_min = 39.6, lat_max = 40.4, lon_min = 115.6, lon_max = 116.4}
fill = "random"
count = 5
seed = 2
entities = ["targets"]

[[areas]]
name = "cl"
box = {lat_min = 39.6, lat_max = 40.4, lon_min = 115.6, lon_max = 116.4}
fill = "random"
count = 3
seed = 3
entities = ["terminals"]
"""


def _scenario(tmp_path: Path, *, isac_targets=ISAC_ORDER) -> Path:
    """6 ISAC targets (a moving car and 5 area points) and 4 PNT clusters on the test Walker."""
    isac = {"enabled": True, "design": "stand_in", "pso_particles": 12, "pso_iterations": 8}
    if isac_targets is not None:
        isac["targets"] = isac_targets
    text = scenario_toml(
        run={
            "name": "shards-test",
            "duration": "120s",
            "step": "10s",
            "seed": 7,
            "checkpoint_every": 4,
            "window": WINDOW,
        },
        serving={"group_size": 5, "collaboration": "II", "hysteresis_deg": 2.0},
        targets=[
            {"name": "car", "lat_deg": 40.0, "lon_deg": 116.0, "velocity_enu_mps": [20.0, 5.0, 0.0]}
        ],
        terminals=[{"name": "cluster", "lat_deg": 40.2, "lon_deg": 116.3}],
        isac=isac,
        pnt={"enabled": True, "cluster_rings": 1, "max_sats": 8, "beamformer": "zf"},
        replan={"policy": "on_event"},
        output={"dir": "unused"},
    )
    path = tmp_path / "scenario.toml"
    path.write_text(text + AREAS)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cluster):
    """(scenario, serial run, run with 4 entity shards per window on 2 workers)."""
    tmp = tmp_path_factory.mktemp("shards")
    scenario = _scenario(tmp)
    serial = run_scenario(scenario, out=tmp / "serial", quiet=True)
    sharded = run_scenario(
        scenario,
        out=tmp / "sharded",
        quiet=True,
        scheduler_address=cluster.scheduler_address,
        shards=4,
    )
    return scenario, serial, sharded


# --------------------------------------------------------------------------- pure pieces
def test_entity_shards_cut_each_process_list_in_order(tmp_path):
    scenario = load_scenario(_scenario(tmp_path))
    terminals = ["cluster", "cl-u000", "cl-u001", "cl-u002"]
    assert entity_shards(scenario, 1) == [{"targets": ISAC_ORDER, "terminals": terminals}]
    assert entity_shards(scenario, 4) == [
        {"targets": ISAC_ORDER[:3], "terminals": []},
        {"targets": ISAC_ORDER[3:], "terminals": []},
        {"targets": [], "terminals": terminals[:2]},
        {"targets": [], "terminals": terminals[2:]},
    ]
    # 2 shards: one per process, even though ISAC has more entities
    assert [len(s["targets"]) + len(s["terminals"]) for s in entity_shards(scenario, 2)] == [6, 4]
    # more shards than entities: one entity each, every entity exactly once, in order
    ten = entity_shards(scenario, 50)
    assert len(ten) == 10
    assert [n for s in ten for n in s["targets"]] == ISAC_ORDER
    assert [n for s in ten for n in s["terminals"]] == terminals
    with pytest.raises(ValueError, match="n_shards must be >= 1"):
        entity_shards(scenario, 0)


def test_auto_shards_only_for_many_entities(tmp_path):
    scenario = load_scenario(_scenario(tmp_path))  # 10 entities: below 2 x 8
    assert auto_shards(scenario, 2) == 1
    # 100 targets + 20 clusters (the regional scenario's counts): 2 shards per worker
    target, terminal = scenario.targets[0], scenario.terminals[0]
    many = scenario.model_copy(
        update={
            "targets": [target.model_copy(update={"name": f"x{i}"}) for i in range(100)],
            "terminals": [terminal.model_copy(update={"name": f"y{i}"}) for i in range(20)],
            "isac": scenario.isac.model_copy(update={"targets": None}),
        }
    )
    assert auto_shards(many, 2) == 4
    assert auto_shards(many, 1) == 2
    assert auto_shards(many, 64) == 15  # at least 8 entities a shard
    assert [len(s["targets"]) + len(s["terminals"]) for s in entity_shards(many, 4)] == [
        34,
        33,
        33,
        20,
    ]


def test_load_interleaves_shard_parts_by_epoch(tmp_path):
    """Parts of shards 0, 1, 2 over two checkpoint chunks: load gives per epoch shard 0's rows,
    then shard 1's, then shard 2's (each in its own order), whatever the file-name order."""
    import pandas as pd

    from twin.rundir import write_parquet_atomic

    table = tmp_path / "tables" / "isac"
    rows = {  # (first epoch, shard) -> (epochs, targets)
        (0, 0): ([0, 0, 1, 1], ["b", "a", "b", "a"]),
        (0, 1): ([0, 1], ["d", "d"]),
        (0, 2): ([0, 0, 1, 1], ["c", "e", "c", "e"]),
        (2, 0): ([2, 2], ["b", "a"]),
        (2, 1): ([2], ["d"]),
        (2, 2): ([2, 2], ["c", "e"]),
    }
    for (first, shard), (epochs, targets) in rows.items():
        frame = pd.DataFrame(
            {"epoch": epochs, "time": pd.to_datetime(epochs, unit="s", utc=True), "target": targets}
        )
        suffix = f"-s{shard:03d}" if shard else ""
        write_parquet_atomic(frame, table / f"part-{first:08d}{suffix}.parquet")
    loaded = load(tmp_path)["isac"]
    assert list(loaded["epoch"]) == [0] * 5 + [1] * 5 + [2] * 5
    assert "".join(loaded["target"]) == "badce" * 3


def test_part_names_carry_the_shard():
    assert part_key("part-00000012.parquet") == (12, 0)
    assert part_key("part-00000012-s003.parquet") == (12, 3)
    assert part_key(".part-00000012-s003.parquet.tmp") is None
    assert PART_RE.match("part-00000012-s3.parquet") is None


# --------------------------------------------------------------------------- runs
@pytest.mark.slow
def test_sharded_run_equals_serial_row_for_row(runs):
    """Every table (every column but the wall-clock solve_time_s) equal to the serial run's,
    including the row order of isac (in [isac] targets order), pnt and handovers."""
    _, serial, sharded = runs
    tables = assert_tables_equal(serial, sharded)
    assert list(tables["isac"]["target"].iloc[:6]) == ISAC_ORDER
    # an epoch whose handovers come from all three writers: serving groups (shard 0), ISAC
    # (shards 0-1) and PNT (shards 2-3), in the serial run's order
    kinds = tables["handovers"].groupby("epoch")["kind"].agg(lambda k: {s.split("_")[0] for s in k})
    assert any(k >= {"central", "isac", "pnt"} for k in kinds)
    info = run_info(sharded)
    assert info["n_shards"] == 4 and info["n_windows"] == 3
    # the foundation's counts come from shard 0 only; summed, they are the serial run's
    assert info["summary"] == read_checkpoint(serial)["state"]["summary"]


@pytest.mark.slow
def test_sharded_run_directory_layout(runs):
    """Shard 0 writes the foundation tables and its entity rows under the plain names; shards
    1..3 only their entities' tables, with -s<k> parts and checkpoints."""
    _, _, sharded = runs
    for table in ("epochs", "visibility", "groups", "isl"):
        keys = {part_key(p.name) for p in (sharded / "tables" / table).iterdir()}
        assert {shard for _, shard in keys} == {0}, table
    isac_shards = {part_key(p.name)[1] for p in (sharded / "tables" / "isac").iterdir()}
    pnt_shards = {part_key(p.name)[1] for p in (sharded / "tables" / "pnt").iterdir()}
    assert isac_shards == {0, 1} and pnt_shards == {2, 3}
    for first, stop in window_spans(N_EPOCHS, WINDOW):
        for shard in range(4):
            state = read_json(window_checkpoint_path(sharded, first, shard))
            assert state["next_epoch"] == stop
            processes = state["state"]["processes"]
            if shard < 2:  # an ISAC shard holds only its targets' state
                assert set(processes) == {"isac"}
                assert set(processes["isac"]["plans"]) <= set(ISAC_ORDER[3 * shard : 3 * shard + 3])
            else:
                assert set(processes) == {"pnt"}
    samples = run_info(sharded)["memory"]
    assert {s.get("shard", 0) for s in samples if s.get("window") != "driver"} == {0, 1, 2, 3}


def test_shards_are_refused_without_workers(tmp_path):
    with pytest.raises(InputError, match="--shards"):
        run_scenario(_scenario(tmp_path), out=tmp_path / "serial", quiet=True, shards=2)
    assert not (tmp_path / "serial").exists()


@pytest.mark.slow
def test_resume_with_other_shards_is_refused(runs):
    _, _, sharded = runs
    with pytest.raises(InputError, match="started with 4 entity shard"):
        run_scenario(resume=sharded, quiet=True, workers=2, shards=2)


@pytest.mark.slow
def test_sigkill_of_sharded_run_then_resume(tmp_path, runs, cluster):
    """SIGKILL of `twin run --workers 2 --shards 4` after some (window, shard) tasks finished
    and others did not; `--resume` runs only the unfinished ones, each from its checkpoint;
    tables equal the serial run's."""
    scenario, serial, _ = runs
    out = tmp_path / "sharded"
    process = subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "run", str(scenario), "--out", str(out)]
        + ["--workers", "2", "--shards", "4", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    tasks = [(span, shard) for span in window_spans(N_EPOCHS, WINDOW) for shard in range(4)]

    def states():
        found = {}
        for (first, stop), shard in tasks:
            try:
                state = json.loads(window_checkpoint_path(out, first, shard).read_text())
            except (OSError, ValueError):
                continue
            found[(first, shard)] = (state, stop)
        return found

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        now = states()
        done = [k for k, (s, stop) in now.items() if s["next_epoch"] == stop]
        if done and len(done) < len(tasks):
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert run_info(out)["status"] == "running", "the run finished before it could be killed"
    finished = {k: s["memory"] for k, (s, stop) in states().items() if s["next_epoch"] == stop}
    assert 0 < len(finished) < len(tasks)
    run_scenario(resume=out, quiet=True, scheduler_address=cluster.scheduler_address)
    assert run_info(out)["status"] == "complete"
    for (first, shard), memory in finished.items():  # finished tasks were not run again
        assert json.loads(window_checkpoint_path(out, first, shard).read_text())["memory"] == memory
    assert_tables_equal(serial, out)
    assert not [p for p in (out / "tables").rglob("*") if p.is_file() and not PART_RE.match(p.name)]
    assert len(load(out)["isac"]) == N_EPOCHS * len(ISAC_ORDER)
