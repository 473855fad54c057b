"""TR 38.811 large-scale channel throughput: every visible satellite-ground link of one epoch
of the Starlink snapshot (ground points on a global grid, 25° mask as in the replay) in one
vectorised ``twin.ntn.link_losses`` call, against a per-link loop over the same function
(L = 1 per call, the way ns-3 and packet simulators evaluate links), in this process.

    /work/venv/bin/pytest tests/bench/test_bench_ntn.py -s

Printed, not asserted (wall-clock on a shared machine): links per second of both and their
ratio. The loop runs on the first LOOP links; asserted: the two give the same numbers.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from data_files import starlink_snapshot_path as _snapshot

import twin.ntn as ntn
from twin.constellation.orbits import propagate_itrs
from twin.constellation.tle import read_tle
from twin.geometry import geodetic_to_ecef, look_angles

pytestmark = pytest.mark.bench

T0 = np.datetime64("2026-05-28T18:00:00", "ns")
N_GROUND = 400  # Fibonacci-lattice points between 60° S and 60° N
LOOP = 300


def _ground(n):
    i = np.arange(n) + 0.5
    lat = np.arcsin(np.sin(np.radians(60.0)) * (1 - 2 * i / n))
    lon = np.mod(np.pi * (1 + 5**0.5) * i, 2 * np.pi) - np.pi
    return geodetic_to_ecef(lat, lon, np.zeros(n))


def test_bench_ntn_links_per_second():
    pos, _, err = propagate_itrs(read_tle(_snapshot()), np.array([T0]))
    sats = pos[0][err[0] == 0]
    ground = _ground(N_GROUND)
    el, _, _ = look_angles(ground, sats)
    g, s = np.nonzero(el >= np.radians(25.0))
    n = len(g)
    channel = ntn.NtnChannel(scenario="urban", band="Ka", freq_hz=20e9, seed=1)
    args = (ground[g], sats[s], g, s)

    started = time.perf_counter()
    vec = ntn.link_losses(channel, *args)
    vec_s = time.perf_counter() - started

    started = time.perf_counter()
    loop = [ntn.link_losses(channel, *(a[i : i + 1] for a in args)) for i in range(LOOP)]
    loop_s = time.perf_counter() - started

    for name in ("sf_db", "cl_db", "gas_db", "scint_db", "fspl_db"):
        one = np.concatenate([getattr(r, name) for r in loop])
        np.testing.assert_allclose(one, getattr(vec, name)[:LOOP], rtol=1e-12, atol=1e-12)
    assert np.array_equal(np.concatenate([r.los for r in loop]), vec.los[:LOOP])
    vec_rate, loop_rate = n / vec_s, LOOP / loop_s
    print(
        f"\n{n} visible links ({N_GROUND} ground points x {len(sats)} satellites, 25 deg mask): "
        f"vectorised {vec_s:.2f} s = {vec_rate:,.0f} links/s; per-link loop "
        f"{loop_rate:,.0f} links/s; ratio {vec_rate / loop_rate:.0f}x; "
        f"LOS share {vec.los.mean():.3f}"
    )
