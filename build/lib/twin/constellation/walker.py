"""Walker-Delta shells as SGP4 mean elements: one shell i:T/P/F, several shells concatenated,
and the mean-motion calibration that puts a circular orbit at its mean altitude."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
from sgp4.api import SGP4_ERRORS, WGS72, Satrec, SatrecArray

from twin.constellation.checks import MIN_ALTITUDE_M
from twin.constellation.tle import Constellation, satrec_epochs
from twin.geometry import WGS84_EQUATORIAL_RADIUS_M, ecef_to_geodetic

_SGP4_EPOCH = datetime(1949, 12, 31, tzinfo=UTC)  # sgp4init epoch origin
_MU_WGS72_M3S2 = 398600.8e9
WALKER_ECCENTRICITY = 1e-7  # sgp4init accepts it; SGP4 clamps e to >= 1e-6 while propagating
MAX_ALTITUDE_M = 40_000e3
MAX_SATNUM = 339_999  # largest Alpha-5 catalog number sgp4 accepts


def _check_walker(total, planes, phasing, altitude_m, inclination_rad):
    for label, value in (("total", total), ("planes", planes), ("phasing", phasing)):
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"walker {label} must be an integer, got {value!r}")
    if total < 1:
        raise ValueError(f"walker total must be >= 1 satellite, got {total}")
    if planes < 1 or planes > total:
        raise ValueError(f"walker planes must be in 1..total ({total}), got {planes}")
    if total % planes != 0:
        raise ValueError(f"walker total ({total}) must be a multiple of planes ({planes})")
    if not 0 <= phasing <= planes - 1:
        raise ValueError(
            f"walker phasing F must be in 0..planes-1 (0..{planes - 1}), got {phasing}"
        )
    if not (MIN_ALTITUDE_M <= altitude_m <= MAX_ALTITUDE_M):
        raise ValueError(
            f"walker altitude_m must be in {MIN_ALTITUDE_M:.0f}..{MAX_ALTITUDE_M:.0f} m "
            f"(150 km..40,000 km), got {altitude_m!r}"
        )
    if not (0.0 <= inclination_rad <= math.pi):
        raise ValueError(f"walker inclination_rad must be in 0..pi, got {inclination_rad!r}")


def _sgp4_epoch_days(epoch: datetime) -> float:
    if epoch.tzinfo is None:
        epoch = epoch.replace(tzinfo=UTC)
    return (epoch - _SGP4_EPOCH).total_seconds() / 86400.0


def _circular_satrec(
    satnum, epoch_days, no_kozai_rad_min, inclination_rad, raan_rad, mean_anomaly_rad
):
    sat = Satrec()
    sat.sgp4init(
        WGS72, "i", int(satnum), epoch_days, 0.0, 0.0, 0.0, WALKER_ECCENTRICITY,
        0.0, float(inclination_rad), float(mean_anomaly_rad), float(no_kozai_rad_min), float(raan_rad),
    )  # fmt: skip
    if sat.error:
        raise ValueError(
            f"sgp4init refused satellite {satnum}: {SGP4_ERRORS.get(sat.error, sat.error)}"
        )
    return sat


ALTITUDE_REFERENCES = ("geodetic", "equatorial")


def mean_altitude_m(sat: Satrec, reference: str = "geodetic", samples: int = 720) -> float:
    """Mean altitude (m) of one satellite over one orbit after its epoch,
    sampled uniformly in time over 2 pi / no_kozai.

    reference "geodetic": WGS84 geodetic altitude (a rotation about z does not
    change it, so TEME positions are used directly); "equatorial": geocentric
    radius minus the WGS84 equatorial radius 6378137 m.
    """
    period_min = 2.0 * math.pi / sat.no_kozai
    t_min = np.arange(samples) * period_min / samples
    jd = np.full(samples, sat.jdsatepoch)
    err, r_km, _ = sat.sgp4_array(jd, sat.jdsatepochF + t_min / 1440.0)
    if np.any(err):
        raise ValueError(f"sgp4 error {int(err.max())} while calibrating a Walker orbit")
    if reference == "geodetic":
        return float(np.mean(ecef_to_geodetic(r_km * 1e3)[2]))
    if reference == "equatorial":
        return float(np.mean(np.linalg.norm(r_km * 1e3, axis=-1)) - WGS84_EQUATORIAL_RADIUS_M)
    raise ValueError(f"altitude reference must be one of {ALTITUDE_REFERENCES}, got {reference!r}")


def walker_mean_motion(
    altitude_m: float,
    inclination_rad: float,
    epoch: datetime,
    *,
    reference: str = "geodetic",
    tol_m: float = 0.1,
):
    """SGP4 (Kozai) mean motion [rad/min] of a circular orbit whose mean
    altitude over one orbit (see `mean_altitude_m` for `reference`) equals
    `altitude_m`.

    Starts from Kepler's law (WGS72 mu) with a = R_eq(WGS84) + altitude, then
    corrects the semi-major axis by the measured altitude residual
    (d altitude / d a ~ 1) until it is below tol_m (2-4 iterations).
    Returns (no_kozai_rad_min, residual_m) of the calibration satellite.
    """
    if reference not in ALTITUDE_REFERENCES:
        raise ValueError(
            f"altitude reference must be one of {ALTITUDE_REFERENCES}, got {reference!r}"
        )
    epoch_days = _sgp4_epoch_days(epoch)
    a_m = WGS84_EQUATORIAL_RADIUS_M + altitude_m
    residual = math.inf
    for _ in range(12):
        n = math.sqrt(_MU_WGS72_M3S2 / a_m**3) * 60.0
        sat = _circular_satrec(1, epoch_days, n, inclination_rad, 0.0, 0.0)
        residual = mean_altitude_m(sat, reference) - altitude_m
        if abs(residual) < tol_m:
            break
        a_m -= residual
    return n, residual


def walker_delta(
    total: int,
    planes: int,
    phasing: int,
    altitude_m: float,
    inclination_rad: float,
    *,
    epoch: datetime,
    raan_offset_rad: float = 0.0,
    shell_id: int = 0,
    name_prefix: str = "WALKER",
    first_catalog: int = 90000,
    altitude_reference: str = "geodetic",
) -> Constellation:
    """Walker-Delta shell i:T/P/F as SGP4 mean elements (WGS72, 'i' mode, bstar 0).

    Plane p (0..P-1) has RAAN = raan_offset + 2 pi p / P; slot s (0..T/P-1)
    has argument of latitude (argp = 0, so mean anomaly)
    M = 2 pi s / (T/P) + 2 pi F p / T. Orbits are circular (e = 1e-7) with the
    mean motion from `walker_mean_motion`: the mean WGS84 geodetic altitude over
    one orbit equals altitude_m (altitude_reference="geodetic", default), or
    the mean of |r| - 6378137 m does ("equatorial"). Names are f"{name_prefix}-{p:02d}-{s:02d}", catalog
    numbers first_catalog .. first_catalog + T - 1.
    """
    _check_walker(total, planes, phasing, altitude_m, inclination_rad)
    total, planes, phasing = int(total), int(planes), int(phasing)
    if not 1 <= first_catalog <= MAX_SATNUM - total + 1:
        raise ValueError(
            f"first_catalog must leave room for {total} numbers below {MAX_SATNUM}, got {first_catalog}"
        )
    per_plane = total // planes
    plane = np.repeat(np.arange(planes), per_plane)
    slot = np.tile(np.arange(per_plane), planes)
    raan = np.mod(raan_offset_rad + 2.0 * np.pi * plane / planes, 2.0 * np.pi)
    mean_anomaly = np.mod(
        2.0 * np.pi * slot / per_plane + 2.0 * np.pi * phasing * plane / total, 2.0 * np.pi
    )
    n, _ = walker_mean_motion(altitude_m, inclination_rad, epoch, reference=altitude_reference)
    epoch_days = _sgp4_epoch_days(epoch)
    norad = first_catalog + np.arange(total, dtype=np.int64)
    satrecs = [
        _circular_satrec(norad[k], epoch_days, n, inclination_rad, raan[k], mean_anomaly[k])
        for k in range(total)
    ]
    return Constellation(
        names=[f"{name_prefix}-{p:02d}-{s:02d}" for p, s in zip(plane, slot)],
        norad=norad,
        satrecs=satrecs,
        satrec_array=SatrecArray(satrecs),
        source="walker",
        epochs=satrec_epochs(satrecs),
        tle_lines=None,
        shell=np.full(total, int(shell_id), dtype=np.int64),
        plane=plane.astype(np.int64),
        slot=slot.astype(np.int64),
    )


def field_of(shell, key, default=None):
    """Field `key` of a shell or config section given as a dict or as an object (duck-typed),
    `default` when it has none."""
    if isinstance(shell, dict):
        return shell.get(key, default)
    return getattr(shell, key, default)


def concat_constellations(parts: list[Constellation]) -> Constellation:
    """One Constellation from several (e.g. Walker shells); per-satellite arrays concatenated."""
    if not parts:
        raise ValueError("need at least one constellation to concatenate")
    satrecs = [s for c in parts for s in c.satrecs]

    def cat(attr):
        vals = [getattr(c, attr) for c in parts]
        return None if any(v is None for v in vals) else np.concatenate(vals)

    sources = {c.source for c in parts}
    return Constellation(
        names=[n for c in parts for n in c.names],
        norad=np.concatenate([c.norad for c in parts]),
        satrecs=satrecs,
        satrec_array=SatrecArray(satrecs),
        source=sources.pop() if len(sources) == 1 else "+".join(sorted(sources)),
        epochs=np.concatenate([c.epochs for c in parts]),
        tle_lines=None
        if any(c.tle_lines is None for c in parts)
        else [x for c in parts for x in c.tle_lines],
        shell=cat("shell"),
        plane=cat("plane"),
        slot=cat("slot"),
    )


def walker_shells(shells, epoch: datetime, *, first_catalog: int = 90000) -> Constellation:
    """Several Walker shells (dicts or objects with total, planes, phasing,
    altitude_m, inclination_rad, optional raan_offset_rad, name and
    altitude_reference) as one
    Constellation; shell ids 0..len-1, consecutive distinct catalog numbers."""
    parts, next_catalog = [], first_catalog
    for i, shell in enumerate(shells):
        try:
            part = walker_delta(
                field_of(shell, "total"),
                field_of(shell, "planes"),
                field_of(shell, "phasing"),
                field_of(shell, "altitude_m"),
                field_of(shell, "inclination_rad"),
                epoch=epoch,
                raan_offset_rad=field_of(shell, "raan_offset_rad", 0.0) or 0.0,
                shell_id=i,
                name_prefix=field_of(shell, "name", None) or f"SHELL{i}",
                first_catalog=next_catalog,
                altitude_reference=field_of(shell, "altitude_reference", None) or "geodetic",
            )
        except (ValueError, TypeError) as exc:
            raise ValueError(f"shells[{i}]: {exc}") from None
        parts.append(part)
        next_catalog += len(part)
    return concat_constellations(parts)
