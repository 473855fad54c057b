"""Week-long load run: memory of `twin run` over a week of orbital time.

A script, not a collected test (its name does not match ``test_*.py``)::

    nohup nice -n 5 /work/venv/bin/python tests/bench/week_load.py \
        --scenario scenarios/week-load.toml --out /work/runs/week-load > week-load.log 2>&1 &

It starts ``twin run SCENARIO --quiet --out OUT/run`` as a subprocess and, every
`--interval` seconds, samples the child's resident set size (``VmRSS`` of
``/proc/PID/status``), its CPU seconds (``/proc/PID/stat`` utime + stime), the
machine's 1-minute load average and the run's ``checkpoint.json`` ``next_epoch``.
It writes ``OUT/memory.csv`` (one row per sample, rewritten after each sample so a
partial run still has its data), plots RSS against orbital time and against wall
time to ``OUT/memory.png``, and prints (and writes to ``OUT/summary.json``) the
peak RSS, wall time, CPU time, epochs per wall second and the flatness measure:
the least-squares slope of RSS over the second half of the run's orbital time,
in MB per simulated day.

Orbital time of a sample = next_epoch x step (the epochs already written to disk
by the last checkpoint); samples taken before the first checkpoint have 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FIELDS = ("wall_s", "rss_mb", "cpu_s", "next_epoch", "orbital_days", "load1")


def read_rss_mb(pid: int) -> float | None:
    """VmRSS of `pid` in MB (10^6 bytes), or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def read_cpu_s(pid: int) -> float | None:
    """utime + stime of `pid` in seconds, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_next_epoch(run_dir: Path) -> int:
    """`next_epoch` of the run's checkpoint.json (0 before the first checkpoint)."""
    try:
        return int(json.loads((run_dir / "checkpoint.json").read_text())["next_epoch"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def write_csv(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def slope_mb_per_day(days: np.ndarray, rss_mb: np.ndarray) -> float:
    """Least-squares slope of RSS (MB) against orbital time (days) over the
    samples in the second half of the orbital time covered; NaN if < 3 samples."""
    if len(days) == 0:
        return float("nan")
    half = days.max() / 2.0
    sel = days >= half
    if sel.sum() < 3 or np.ptp(days[sel]) == 0:
        return float("nan")
    return float(np.polyfit(days[sel], rss_mb[sel], 1)[0])


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wall = np.array([r["wall_s"] for r in rows]) / 60.0
    rss = np.array([r["rss_mb"] for r in rows])
    days = np.array([r["orbital_days"] for r in rows])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    ax1.plot(days, rss, ".-", ms=3)
    ax1.set_xlabel("orbital time written to disk (days)")
    ax1.set_ylabel("RSS (MB)")
    ax1.set_title("memory vs orbital time")
    ax2.plot(wall, rss, ".-", ms=3)
    ax2.set_xlabel("wall time (min)")
    ax2.set_ylabel("RSS (MB)")
    ax2.set_title("memory vs wall time")
    for ax in (ax1, ax2):
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/week-load.toml")
    parser.add_argument("--out", required=True, help="output folder (the run goes to OUT/run)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument(
        "--twin", default=str(Path(sys.executable).with_name("twin")), help="twin CLI"
    )
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out / "run"
    if run_dir.exists() and any(run_dir.iterdir()):
        parser.error(f"{run_dir} already holds a run; choose another --out")
    from twin.config.loader import load_scenario

    scenario = load_scenario(args.scenario)
    step_s, n_epochs = scenario.run.step_s, scenario.run.n_epochs
    cmd = [args.twin, "run", str(args.scenario), "--quiet", "--out", str(run_dir)]
    log = (out / "twin-run.log").open("w")
    started = time.monotonic()
    child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    print(f"started {' '.join(cmd)} as PID {child.pid}", flush=True)
    (out / "child.pid").write_text(f"{child.pid}\n")
    rows: list[dict] = []
    cpu_s = 0.0
    while True:
        rss = read_rss_mb(child.pid)
        cpu = read_cpu_s(child.pid)
        done = child.poll() is not None
        if rss is not None and not done:
            cpu_s = cpu if cpu is not None else cpu_s
            nxt = read_next_epoch(run_dir)
            rows.append(
                {
                    "wall_s": round(time.monotonic() - started, 2),
                    "rss_mb": round(rss, 2),
                    "cpu_s": round(cpu_s, 2),
                    "next_epoch": nxt,
                    "orbital_days": round(nxt * step_s / 86400.0, 5),
                    "load1": os.getloadavg()[0],
                }
            )
            write_csv(out / "memory.csv", rows)
        if done:
            break
        time.sleep(args.interval)
    wall_s = time.monotonic() - started
    log.close()
    rc = child.returncode
    if not rows:
        print(f"twin run exited with {rc} before the first sample; see {out / 'twin-run.log'}")
        return 1
    rss = np.array([r["rss_mb"] for r in rows])
    days = np.array([r["orbital_days"] for r in rows])
    load = np.array([r["load1"] for r in rows])
    epochs_done = read_next_epoch(run_dir) if rc == 0 else rows[-1]["next_epoch"]
    summary = {
        "command": " ".join(cmd),
        "returncode": rc,
        "n_epochs": n_epochs,
        "epochs_done": epochs_done,
        "step_s": step_s,
        "samples": len(rows),
        "interval_s": args.interval,
        "peak_rss_mb": float(rss.max()),
        "median_rss_mb": float(np.median(rss)),
        "wall_s": wall_s,
        "cpu_s_last_sample": rows[-1]["cpu_s"],
        "epochs_per_wall_s": epochs_done / wall_s,
        "rss_slope_second_half_mb_per_day": slope_mb_per_day(days, rss),
        "load1_mean": float(load.mean()),
        "load1_max": float(load.max()),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(
        rows,
        out / "memory.png",
        f"twin run {Path(args.scenario).name}: {epochs_done}/{n_epochs} epochs x {step_s:g} s, peak {rss.max():.0f} MB",
    )
    for key, value in summary.items():
        print(f"{key}: {value}")
    print(f"plot: {out / 'memory.png'}")
    return 0 if rc == 0 else rc


if __name__ == "__main__":
    raise SystemExit(main())
