"""Compare every satellite of the full Starlink snapshot with skyfield.

    /work/venv/bin/python tests/bench/full_snapshot_skyfield_check.py [TLE] [--hours 2] [--step 60]

Propagates all satellites with `twin.constellation.orbits.propagate_itrs` over the grid and,
one satellite at a time, with ``EarthSatellite(...).at(t).frame_xyz_and_velocity(itrs)``,
then prints the largest position and velocity differences. Also used by the
slow test `tests/constellation/test_orbits.py::test_full_snapshot_matches_skyfield`.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_NAME = "starlink-2026-05-28.tle"
START = datetime(2026, 5, 28, 12, tzinfo=UTC)


def default_snapshot() -> Path | None:
    for candidate in (
        ROOT / "ephemeris" / SNAPSHOT_NAME,
        ROOT / ".." / "shared" / "data" / "tle" / SNAPSHOT_NAME,
    ):
        if candidate.exists():
            return candidate
    return None


def compare(path: Path, start: datetime = START, hours: float = 2.0, step_s: float = 60.0) -> dict:
    """Max |ITRS position| and |velocity| differences (m, m/s) of every satellite vs skyfield."""
    from skyfield.api import EarthSatellite, load
    from skyfield.framelib import itrs

    from twin.constellation.orbits import propagate_itrs
    from twin.constellation.tle import read_tle

    constellation = read_tle(path)
    dts = [start + timedelta(seconds=step_s * k) for k in range(int(hours * 3600 / step_s) + 1)]
    started = time.perf_counter()
    pos, vel, err = propagate_itrs(constellation, dts)
    ours_s = time.perf_counter() - started
    ts = load.timescale(builtin=True)
    t = ts.from_datetimes(dts)
    dpos = np.zeros(len(constellation))
    dvel = np.zeros(len(constellation))
    started = time.perf_counter()
    for i, sat in enumerate(constellation.satrecs):
        p, v = EarthSatellite.from_satrec(sat, ts).at(t).frame_xyz_and_velocity(itrs)
        dpos[i] = np.nanmax(np.abs(p.m.T - pos[:, i]))
        dvel[i] = np.nanmax(np.abs(v.m_per_s.T - vel[:, i]))
    skyfield_s = time.perf_counter() - started
    worst = int(np.argmax(dpos))
    return {
        "satellites": len(constellation),
        "epochs": len(dts),
        "sgp4_errors": int(np.count_nonzero(err)),
        "max_position_error_m": float(dpos.max()),
        "max_velocity_error_mps": float(dvel.max()),
        "worst": constellation.names[worst],
        "ours_s": ours_s,
        "skyfield_s": skyfield_s,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tle", nargs="?", type=Path, default=default_snapshot())
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--step", type=float, default=60.0, help="seconds")
    args = parser.parse_args(argv)
    if args.tle is None:
        print(f"{SNAPSHOT_NAME} not found in ephemeris/ nor ../shared/data/tle/", file=sys.stderr)
        return 2
    result = compare(args.tle, hours=args.hours, step_s=args.step)
    for key, value in result.items():
        print(f"{key:>24}: {value:.3e}" if isinstance(value, float) else f"{key:>24}: {value}")
    return 0 if result["max_position_error_m"] < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
