"""Sweeps: grammar and its located problems, run_sweep on a dask LocalCluster, load_sweep,
determinism against serial runs, failures, re-invocation/resume and a killed worker."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import twin.results as results
from twin.config.sweep_grammar import DEFAULT_MAX_RUNS, expand_sweep
from twin.errors import InputError
from twin.results import SWEEP_INFO, load_sweep
from twin.runner import run_scenario
from twin.sweep import SweepFailed, run_sweep, sweep_status

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "default.toml"
#: Wall-clock columns: measured time, not results (differ between any two runs).
WALL_CLOCK_COLUMNS = ("solve_time_s",)

SWEEP = f"""\
base = "{DEFAULT.as_posix()}"
seeds = [1, 2]

[set]
"run.duration" = "1m"

[grid]
"serving.group_size" = [3, 5]

[zip.pso]
"isac.pso_particles" = [20, 30]
"isac.pso_iterations" = [10, 20]

[output]
dir = "out"
"""


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def serial_scenario(
    tmp_path: Path, *, group_size: int, particles: int, iterations: int, seed: int, out: Path
) -> Path:
    """default.toml edited as text (independently of the sweep code) into one run of the sweep."""
    text = DEFAULT.read_text(encoding="utf-8")
    for key, value in (
        ("duration", '"1m"'),
        ("group_size", group_size),
        ("pso_particles", particles),
        ("pso_iterations", iterations),
        ("seed", seed),
        ("dir", f'"{out.as_posix()}"'),
    ):
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, key
    path = tmp_path / f"serial-{group_size}-{particles}-{seed}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_tables_equal(
    a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame], *, drop_wall_clock: bool
) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        left, right = a[name], b[name]
        if drop_wall_clock:
            left = left.drop(columns=[c for c in WALL_CLOCK_COLUMNS if c in left.columns])
            right = right.drop(columns=[c for c in WALL_CLOCK_COLUMNS if c in right.columns])
        assert len(left) > 0, name
        pd.testing.assert_frame_equal(left, right, obj=f"table {name}")


def run_rows(tables: dict[str, pd.DataFrame], params: dict, seed: int) -> dict[str, pd.DataFrame]:
    """One run's rows of load_sweep's tables, without the parameter columns."""
    out = {}
    for name, frame in tables.items():
        mask = frame["seed"] == seed
        for key, value in params.items():
            mask &= frame[key] == value
        out[name] = frame[mask.to_numpy()].drop(columns=[*params, "seed"])
    return out


# ---------------------------------------------------------------------------
# grammar


def test_expansion_order_dirs_and_overrides(tmp_path):
    sweep = expand_sweep(write(tmp_path, SWEEP))
    assert sweep.parameters == ["serving.group_size", "isac.pso_particles", "isac.pso_iterations"]
    assert len(sweep.runs) == 2 * 2 * 2
    run = sweep.runs[5]  # group 5, second zip pair, seed 2? -> order: group, zip, seed innermost
    assert [
        (r.params["serving.group_size"], r.params["isac.pso_particles"], r.seed) for r in sweep.runs
    ] == [
        (3, 20, 1),
        (3, 20, 2),
        (3, 30, 1),
        (3, 30, 2),
        (5, 20, 1),
        (5, 20, 2),
        (5, 30, 1),
        (5, 30, 2),
    ]
    assert (
        run.rel_dir
        == "runs/serving.group_size=5/isac.pso_particles=20/isac.pso_iterations=10/seed=2"
    )
    assert run.scenario["serving"]["group_size"] == 5
    assert (
        run.scenario["isac"]["pso_particles"] == 20 and run.scenario["isac"]["pso_iterations"] == 10
    )
    assert run.scenario["run"]["seed"] == 2 and run.scenario["run"]["duration"] == 60.0
    assert sweep.output_dir == (tmp_path / "out").absolute()


def test_seeds_forms_list_items_and_bare_dotted_keys(tmp_path):
    text = f"""base = "{DEFAULT.as_posix()}"
seeds = {{count = 3, first = 7}}
[grid]
constellation.shells.0.planes = [36, 72]
"""
    sweep = expand_sweep(write(tmp_path, text))
    assert sweep.seeds == [7, 8, 9]
    assert [r.scenario["constellation"]["shells"][0]["planes"] for r in sweep.runs] == [36] * 3 + [
        72
    ] * 3
    # no seeds: the base scenario's seed (1 in default.toml), one run per grid point
    sweep = expand_sweep(
        write(
            tmp_path,
            f'base = "{DEFAULT.as_posix()}"\n[grid]\n"serving.collaboration" = ["I", "III"]\n',
        )
    )
    assert [(r.seed, r.params["serving.collaboration"]) for r in sweep.runs] == [
        (1, "I"),
        (1, "III"),
    ]
    assert sweep.runs[1].rel_dir == "runs/serving.collaboration=III/seed=1"


def test_dir_names_are_safe_and_round_trip(tmp_path):
    text = f'base = "{DEFAULT.as_posix()}"\n[grid]\n"isac.targets" = [["t1"], ["t1", "t2"]]\n"run.name" = ["a/b c", "x"]\n'
    sweep = expand_sweep(write(tmp_path, text))
    for run in sweep.runs:
        for segment in run.rel_dir.split("/"):
            assert re.fullmatch(r"[A-Za-z0-9_.~%=-]+", segment), segment
    assert sweep.runs[0].rel_dir.startswith("runs/isac.targets=%5B%22t1%22%5D/run.name=a%2Fb%20c/")


BAD_CASES = [
    # (extra sweep text, expected "where" (regex), expected words in the reason)
    (
        '[grid]\n"serving.group_sise" = [3, 5]\n',
        r":4 grid\.serving\.group_sise$",
        "did you mean 'serving.group_size'",
    ),
    (
        '[grid]\n"serving.group_size" = [3, "5"]\n',
        r":4 grid\.serving\.group_size\[1\]$",
        "valid integer",
    ),
    ('[grid]\n"serving.group_size" = 3\n', r":4 grid\.serving\.group_size$", "list of values"),
    (
        '[grid]\n"constellation.shells.0.planes" = [36, 7]\n',
        r":4 grid\.constellation\.shells\.0\.planes\[1\]$",
        "not divisible by planes = 7",
    ),
    (
        '[grid]\n"constellation.shells.2.planes" = [36]\n',
        r":4 grid\.constellation\.shells\.2\.planes$",
        "out of range",
    ),
    (
        '[grid]\n"serving.collaboration" = ["I", "IV"]\n',
        r":4 grid\.serving\.collaboration\[1\]$",
        "'I', 'II' or 'III'",
    ),
    ('[grid]\n"serving.group_size" = []\n', r":4 grid\.serving\.group_size$", "empty list"),
    ("[grid]\n", r":3 grid$", "empty grid"),
    (
        '[grid]\n"serving.group_size" = [3, 3]\n',
        r":4 grid\.serving\.group_size\[1\]$",
        "listed twice",
    ),
    (
        '[grid]\n"visibility.mask_elevation_deg" = [10, 10.0]\n',
        r":4 grid\.visibility\.mask_elevation_deg\[1\]$",
        "duplicate run",
    ),
    ('[grid]\n"run.seed" = [1, 2]\n', r":4 grid\.run\.seed$", "seeds"),
    ('max_runs = 3\n[grid]\n"serving.group_size" = [3, 4]\n', r":3 max_runs$", "set max_runs = 4"),
    (
        '[grid]\n"isac.n_ue" = [1, 2]\n[zip.z]\n"isac.nx" = [1, 2]\n"isac.nz" = [1]\n',
        r":5 zip\.z$",
        "same length",
    ),
    (
        '[zip.z]\n"isac.nx" = [1, 2]\n"serving.collaboration" = ["II", "V"]\n',
        r":5 zip\.z\.serving\.collaboration\[1\]$",
        "'I', 'II' or 'III'",
    ),
    ('[set]\n"run.duration" = "-3m"\n', r":4 set\.run\.duration$", "duration"),
    ("colour = 1\n", r":3 colour$", "unknown key"),
    ('[grid]\n"serving" = [1]\n', r":4 grid\.serving\[0\]$", "refused by the scenario schema"),
]


@pytest.mark.parametrize("extra, where, words", BAD_CASES)
def test_problems_name_file_line_and_field(tmp_path, extra, where, words):
    path = write(tmp_path, f'base = "{DEFAULT.as_posix()}"\nseeds = [1, 2]\n' + extra)
    with pytest.raises(InputError) as info:
        expand_sweep(path)
    problems = info.value.problems
    assert any(
        p.where.startswith(str(path)) and re.search(where, p.where) and words in p.reason
        for p in problems
    ), "\n".join(map(str, problems))


def test_duplicate_run_message_names_both_runs(tmp_path):
    text = (
        f'base = "{DEFAULT.as_posix()}"\nseeds = [1, 2]\n[grid]\n"isac.n_ue" = [10, 20]\n'
        f'"visibility.mask_elevation_deg" = [10, 10.0]\n'
    )
    with pytest.raises(InputError) as info:
        expand_sweep(write(tmp_path, text))
    (problem,) = info.value.problems
    assert problem.where.endswith(":5 grid.visibility.mask_elevation_deg[1]")
    assert (
        "run 2 (isac.n_ue=10, visibility.mask_elevation_deg=10.0, seed=1) is the same scenario and seed as "
        "run 0 (isac.n_ue=10, visibility.mask_elevation_deg=10, seed=1) (and 3 more duplicate run(s))"
    ) in problem.reason


def test_default_cap_and_raising_it(tmp_path):
    values = list(range(1, DEFAULT_MAX_RUNS // 2 + 2))  # x 2 seeds > cap
    grid = f'base = "{DEFAULT.as_posix()}"\nseeds = [1, 2]\n[grid]\n"isac.n_ue" = {values}\n'
    with pytest.raises(InputError, match=f"more than the cap of {DEFAULT_MAX_RUNS}"):
        expand_sweep(write(tmp_path, grid))
    n = 2 * len(values)
    assert len(expand_sweep(write(tmp_path, f"max_runs = {n}\n" + grid)).runs) == n


def test_file_level_problems(tmp_path):
    with pytest.raises(InputError, match="sweep file not found"):
        expand_sweep(tmp_path / "absent.toml")
    with pytest.raises(InputError) as info:
        expand_sweep(write(tmp_path, 'base = "x.toml"\n[grid\n'))
    assert re.match(rf"{re.escape(str(tmp_path))}.*:2$", info.value.problems[0].where)
    with pytest.raises(InputError) as info:
        expand_sweep(write(tmp_path, 'base = "nothere.toml"\n'))
    assert "base" in info.value.problems[0].where and any(
        "scenario file not found" in p.reason for p in info.value.problems
    )


# ---------------------------------------------------------------------------
# running on dask


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import Client, LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(local, set_as_default=False)
    yield client
    client.close()
    local.close()


@pytest.fixture(scope="module")
def swept(tmp_path_factory, cluster):
    """The 8-run SWEEP run once on the module's 2-worker LocalCluster."""
    tmp = tmp_path_factory.mktemp("sweep")
    path = write(tmp, SWEEP)
    sweep_dir = run_sweep(path, client=cluster, quiet=True)
    return path, sweep_dir


def test_sweep_completes_and_load_sweep_equals_per_run_load(swept):
    path, sweep_dir = swept
    info = json.loads((sweep_dir / SWEEP_INFO).read_text())
    assert info["state"] == "complete" and len(info["runs"]) == 8
    assert all(r["status"] == "complete" and r["error"] is None for r in info["runs"])
    tables = load_sweep(sweep_dir)
    assert set(tables) == {"epochs", "visibility", "isl", "groups", "handovers", "isac", "pnt"}
    keys = ["serving.group_size", "isac.pso_particles", "isac.pso_iterations", "seed"]
    for frame in tables.values():
        assert list(frame.columns[:4]) == keys
        assert str(frame.index.tz) == "UTC" and frame.index.name == "time"
        assert frame["serving.group_size"].dtype == "int64" and frame["seed"].dtype == "int64"
    # every run's slice equals twin.results.load of its directory, all columns, row for row
    for run in info["runs"]:
        own = results.load(sweep_dir / run["dir"])
        assert_tables_equal(
            run_rows(tables, run["params"], run["seed"]), own, drop_wall_clock=False
        )
    assert len(tables["epochs"]) == 8 * 3  # 3 epochs (1 min at 30 s) per run
    # twin.results.load of a sweep directory gives the same combined tables
    assert_tables_equal(results.load(sweep_dir), tables, drop_wall_clock=False)


def test_sweep_tables_equal_serial_run(swept, tmp_path):
    """Run 2 of the grid (group 3, 30 particles/20 iterations, seed 1) serially with run_scenario."""
    _, sweep_dir = swept
    tables = load_sweep(sweep_dir)
    serial_dir = tmp_path / "serial"
    run_scenario(
        serial_scenario(
            tmp_path, group_size=3, particles=30, iterations=20, seed=1, out=serial_dir
        ),
        quiet=True,
    )
    serial = results.load(serial_dir)
    params = {"serving.group_size": 3, "isac.pso_particles": 30, "isac.pso_iterations": 20}
    assert_tables_equal(run_rows(tables, params, 1), serial, drop_wall_clock=True)
    # and the grid really varied the runs: another seed gives other ISAC errors
    other = run_rows(tables, params, 2)["isac"]["error_m"].to_numpy()
    assert not (other == serial["isac"]["error_m"].to_numpy()).all()


def _mtimes(sweep_dir: Path) -> dict[str, int]:
    return {
        str(p.relative_to(sweep_dir)): p.stat().st_mtime_ns
        for p in (sweep_dir / "runs").rglob("run.json")
    }


def test_reinvocation_skips_complete_runs_and_resumes_interrupted(swept, tmp_path, cluster):
    path, sweep_dir = swept
    copy_dir = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy_dir)
    before = load_sweep(copy_dir)
    mtimes = _mtimes(copy_dir)
    run_sweep(path, resume=copy_dir, client=cluster, quiet=True)  # nothing to do
    assert _mtimes(copy_dir) == mtimes
    # interrupt one run: run.json back to "running", no checkpoint, no tables (as if killed early)
    victim = (
        copy_dir / "runs/serving.group_size=5/isac.pso_particles=30/isac.pso_iterations=20/seed=1"
    )
    info = json.loads((victim / "run.json").read_text())
    info["status"] = "running"
    (victim / "run.json").write_text(json.dumps(info))
    (victim / "checkpoint.json").unlink()
    shutil.rmtree(victim / "tables")
    mtimes = _mtimes(copy_dir)
    with pytest.warns(UserWarning, match="not complete"):
        assert len(load_sweep(copy_dir)["epochs"]) == 7 * 3  # the incomplete run is left out
    run_sweep(path, resume=copy_dir, client=cluster, quiet=True)
    after = _mtimes(copy_dir)
    changed = sorted(k for k in after if after[k] != mtimes[k])
    assert changed == [str((victim / "run.json").relative_to(copy_dir))]
    entry = next(
        r
        for r in json.loads((copy_dir / SWEEP_INFO).read_text())["runs"]
        if r["dir"] in str(victim)
    )
    assert entry["action"] == "resumed" and entry["status"] == "complete"
    assert_tables_equal(load_sweep(copy_dir), before, drop_wall_clock=True)


def test_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path, cluster):
    path = write(
        tmp_path,
        SWEEP.replace(
            '"isac.pso_particles" = [20, 30]\n"isac.pso_iterations" = [10, 20]\n',
            '"isac.pso_particles" = [20]\n"isac.pso_iterations" = [10]\n',
        ),
    )
    sweep = expand_sweep(path)
    blocked = sweep.output_dir / sweep.runs[1].rel_dir
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the run directory should go")
    with pytest.raises(SweepFailed) as info:
        run_sweep(path, client=cluster, quiet=True)
    assert info.value.code == 1 and len(info.value.failures) == 1
    assert (
        info.value.failures[0]["dir"] == sweep.runs[1].rel_dir
        and "Error" in info.value.failures[0]["error"]
    )
    recorded = json.loads((sweep.output_dir / SWEEP_INFO).read_text())
    assert recorded["state"] == "failed"
    assert [r["status"] for r in recorded["runs"]] == ["complete", "failed", "complete", "complete"]
    blocked.unlink()
    run_sweep(
        path, scheduler_address=cluster.scheduler.address, quiet=True
    )  # re-invocation: only the failed one
    recorded = json.loads((sweep.output_dir / SWEEP_INFO).read_text())
    assert [r.get("action") for r in recorded["runs"]] == [None, "ran", None, None]
    assert set(sweep_status(sweep.output_dir).values()) == {"complete"}


def test_a_different_sweep_is_refused_in_the_same_directory(swept, tmp_path, cluster):
    path, sweep_dir = swept
    changed = write(tmp_path, SWEEP.replace('"run.duration" = "1m"', '"run.duration" = "90s"'))
    with pytest.raises(InputError, match="holds a different scenario"):
        run_sweep(changed, out=sweep_dir, client=cluster, quiet=True)
    with pytest.raises(InputError, match="not a sweep directory"):
        run_sweep(path, resume=tmp_path, client=cluster, quiet=True)


def test_worker_killed_mid_sweep_loses_nothing(tmp_path, cluster):
    """SIGKILL one worker process of the 2-worker LocalCluster while runs are in flight
    (its nanny starts a new worker; dask reschedules the lost task, which resumes its run)."""
    text = SWEEP.replace('"run.duration" = "1m"', '"run.duration" = "3m"').replace(
        "seeds = [1, 2]", "seeds = [1]"
    )
    path = write(tmp_path, text)
    sweep = expand_sweep(path)
    client = cluster
    killed = {}

    def killer():
        pids = client.run(os.getpid)  # worker address -> pid
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
        ):  # wait for a run to be under way, then kill a busy worker
            running = [
                r
                for r in sweep.runs
                if (sweep.output_dir / r.rel_dir / "run.json").exists()
                and json.loads((sweep.output_dir / r.rel_dir / "run.json").read_text())["status"]
                == "running"
            ]
            for (
                run
            ) in running:  # the worker executing that run's task (keys are twin-run-<index>-...)
                busy = [
                    address
                    for address, keys in client.processing().items()
                    if address in pids
                    and any(str(k).startswith(f"twin-run-{run.index}-") for k in keys)
                ]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed["pid"], killed["run"] = pids[busy[0]], run.rel_dir
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    run_sweep(path, client=client, quiet=True)
    thread.join()
    assert killed, "no run was seen in flight"
    entries = json.loads((sweep.output_dir / SWEEP_INFO).read_text())["runs"]
    print(
        f"killed worker pid {killed['pid']} running {killed['run']}; actions",
        [e["action"] for e in entries],
    )
    assert all(e["status"] == "complete" for e in entries)
    assert {e["dir"]: e["action"] for e in entries}[
        killed["run"]
    ] == "resumed"  # the lost task resumed its run
    assert set(sweep_status(sweep.output_dir).values()) == {"complete"}
    tables = load_sweep(sweep.output_dir)
    for run in sweep.runs[:2]:  # two of the four runs against serial runs
        serial_dir = tmp_path / f"serial-{run.index}"
        scenario = serial_scenario(
            tmp_path,
            group_size=run.params["serving.group_size"],
            particles=run.params["isac.pso_particles"],
            iterations=run.params["isac.pso_iterations"],
            seed=run.seed,
            out=serial_dir,
        )
        scenario.write_text(scenario.read_text().replace('duration = "1m"', 'duration = "3m"'))
        run_scenario(scenario, quiet=True)
        assert_tables_equal(
            run_rows(tables, run.params, run.seed), results.load(serial_dir), drop_wall_clock=True
        )


@pytest.mark.slow
def test_sigkilled_twin_sweep_resumes_only_incomplete_runs(tmp_path, cluster):
    """`twin sweep` killed (SIGKILL, whole process group) with some runs done; resume re-runs only the rest."""
    text = SWEEP.replace('"run.duration" = "1m"', '"run.duration" = "3m"')
    path = write(tmp_path, text)
    sweep = expand_sweep(path)
    twin_cli = Path(sys.executable).parent / "twin"
    proc = subprocess.Popen(
        [str(twin_cli), "sweep", str(path), "--workers", "1", "--quiet"],
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (sweep.output_dir / SWEEP_INFO).exists():
                status = sweep_status(sweep.output_dir)
                if list(status.values()).count("complete") >= 2:
                    break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    status = sweep_status(sweep.output_dir)
    done = sorted(d for d, s in status.items() if s == "complete")
    assert 2 <= len(done) < len(status), status
    mtimes = _mtimes(sweep.output_dir)
    run_sweep(path, resume=sweep.output_dir, client=cluster, quiet=True)
    after = _mtimes(sweep.output_dir)
    assert all(
        after[f"{d}/run.json"] == mtimes[f"{d}/run.json"] for d in done
    )  # complete runs untouched
    assert set(sweep_status(sweep.output_dir).values()) == {"complete"}
    actions = {
        r["dir"]: r.get("action")
        for r in json.loads((sweep.output_dir / SWEEP_INFO).read_text())["runs"]
    }
    assert all(actions[d] is None for d in done) and all(
        actions[d] in ("ran", "resumed") for d in status if d not in done
    )
    tables = load_sweep(sweep.output_dir)
    run = sweep.runs[-1]
    serial_dir = tmp_path / "serial"
    scenario = serial_scenario(
        tmp_path, group_size=5, particles=30, iterations=20, seed=2, out=serial_dir
    )
    scenario.write_text(scenario.read_text().replace('duration = "1m"', 'duration = "3m"'))
    run_scenario(scenario, quiet=True)
    assert_tables_equal(
        run_rows(tables, run.params, run.seed), results.load(serial_dir), drop_wall_clock=True
    )
