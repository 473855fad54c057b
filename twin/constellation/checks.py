"""Run-time SGP4 checks: which satellites hit an SGP4 error or fall below a minimum altitude
at a run's epochs (streamed in blocks of epochs), and the constellation without them
(``drop_decayed``: ``twin ephemeris --drop-decayed``, ``constellation.drop_decayed``)."""

from __future__ import annotations

import numpy as np
from sgp4.api import SGP4_ERRORS

from twin.constellation.orbits import propagate_teme, to_datetime64
from twin.constellation.tle import Constellation
from twin.errors import InputError, Problem
from twin.geometry import WGS84_EQUATORIAL_RADIUS_M, ecef_to_geodetic

MIN_ALTITUDE_M = 150e3  # lowest orbit accepted (WGS84 geodetic): below it a satellite is decayed

CHECK_BLOCK_ELEMENTS = 1 << 20  # satellite-epochs per block of `check_at_times` (~50 MB of states)


def check_at_times(
    constellation: Constellation,
    times,
    *,
    min_altitude_m: float = MIN_ALTITUDE_M,
    block_epochs: int | None = None,
) -> list[Problem]:
    """Problems at the run's epochs: sgp4 error codes 1-6 (6 = decayed) and
    orbits below `min_altitude_m` (WGS84 geodetic) at any epoch. One Problem
    per satellite (sorted by satellite index), named by its file:line (or
    walker name): its first sgp4 error if it has one at any epoch, else its
    first epoch below the altitude.

    times: (T,) datetime64 (UTC) or aware datetimes. The epochs are streamed
    in blocks of `block_epochs` (default: about CHECK_BLOCK_ELEMENTS
    satellite-epochs per block), so memory is O(S x block), not O(S x T);
    the result does not depend on the block size.
    """
    problems = problems_by_satellite(
        constellation, times, min_altitude_m=min_altitude_m, block_epochs=block_epochs
    )
    return [problems[s] for s in sorted(problems)]


def problems_by_satellite(
    constellation: Constellation,
    times,
    *,
    min_altitude_m: float = MIN_ALTITUDE_M,
    block_epochs: int | None = None,
) -> dict[int, Problem]:
    """:func:`check_at_times`'s problems keyed by satellite index."""
    t64 = to_datetime64(times)
    n_t, n_s = len(t64), len(constellation)
    if block_epochs is None:
        block_epochs = max(1, CHECK_BLOCK_ELEMENTS // max(n_s, 1))
    if int(block_epochs) != block_epochs or block_epochs < 1:
        raise ValueError(f"block_epochs must be a positive integer, got {block_epochs!r}")
    block_epochs = int(block_epochs)
    err_problems: dict[int, Problem] = {}
    alt_problems: dict[int, Problem] = {}
    for b0 in range(0, n_t, block_epochs):
        tb = t64[b0 : b0 + block_epochs]
        r, _, err = propagate_teme(constellation, tb)
        for s in np.flatnonzero(err.any(axis=0)):
            if s in err_problems:
                continue
            k = int(np.argmax(err[:, s] != 0))
            code = int(err[k, s])
            what = "decayed: " if code == 6 else ""
            err_problems[s] = Problem(
                constellation.where(s),
                f"{constellation.names[s]}: sgp4 error {code} at {_iso(tb[k])}: {what}{SGP4_ERRORS.get(code, 'unknown error')}",
            )
        # Geodetic altitude >= |r| - R_eq, so only low-radius points need the exact test.
        radius = np.linalg.norm(r, axis=-1)
        cand = np.argwhere(
            (err == 0) & (radius - WGS84_EQUATORIAL_RADIUS_M < min_altitude_m)
        )  # time-major order
        if len(cand):
            alt = ecef_to_geodetic(r[cand[:, 0], cand[:, 1]])[2]
            low = alt < min_altitude_m
            for (k, s), h in zip(cand[low], alt[low]):
                if s not in alt_problems:
                    alt_problems[s] = Problem(
                        constellation.where(s),
                        f"{constellation.names[s]}: decayed: altitude {h / 1e3:.1f} km below "
                        f"{min_altitude_m / 1e3:.0f} km at {_iso(tb[k])}",
                    )
        del r, err
    return {**alt_problems, **err_problems}  # an sgp4 error wins over a low altitude


def drop_decayed(constellation: Constellation, times) -> tuple[Constellation, list[Problem]]:
    """The satellites without a problem at `times` (:func:`check_at_times`) and the problems of
    those left out; InputError when none is left."""
    problems = problems_by_satellite(constellation, times)
    if problems and len(problems) == len(constellation):
        raise InputError(
            [
                Problem(
                    constellation.source,
                    f"every one of the {len(constellation)} satellites "
                    "decays or hits an SGP4 error at these times; nothing left to keep",
                )
            ]
            + [problems[s] for s in sorted(problems)]
        )
    keep = np.ones(len(constellation), dtype=bool)
    keep[list(problems)] = False
    return constellation.subset(keep), [problems[s] for s in sorted(problems)]


def _iso(t) -> str:
    return str(np.datetime_as_string(np.datetime64(t, "s"))) + "Z"
