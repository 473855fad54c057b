"""A run's satellites re-built after the fact from its resolved scenario
(``scenario.resolved.json``), for the report: the tables keep only what each epoch needed
(the central satellite's sub-satellite point, ISL counts), so the map's group members and the
ISL figure's links are re-propagated here along the run's own path (the scenario's
constellation section -> `twin.constellation.build`, SGP4 -> ITRS, the same plane labels and
+Grid rule as `twin.clock`).

Both functions return an empty DataFrame when the constellation cannot be re-built (a TLE
file that moved, an edited scenario): the report then draws what the tables alone allow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.config.loader import scenario_from_dict
from twin.constellation import isl, orbits, planes
from twin.constellation.build import build_constellation
from twin.errors import InputError
from twin.geometry import ecef_to_geodetic

SOURCE = "scenario.resolved.json"


def _rebuild(scenario: dict):
    """(validated scenario, Constellation) or None when they cannot be re-built."""
    if not scenario:
        return None
    try:
        parsed = scenario_from_dict(scenario, source=SOURCE)
        return parsed, build_constellation(parsed.constellation, parsed.run.start)
    except (InputError, OSError, ValueError):
        return None


def _naive_ns(times: pd.DatetimeIndex) -> np.ndarray:
    return times.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")


def member_points(scenario: dict, names: list[str], times: pd.DatetimeIndex) -> pd.DataFrame:
    """Geodetic (WGS84) sub-satellite points of the satellites `names` at `times` (UTC).

    Returns a DataFrame indexed by (time, sat) with ``lat_deg``, ``lon_deg`` (°) and
    ``alt_km``; names the constellation does not have are left out; empty when the
    constellation cannot be re-built.
    """
    empty = pd.DataFrame(columns=["lat_deg", "lon_deg", "alt_km"])
    built = _rebuild(scenario) if names else None
    if built is None:
        return empty
    constellation = built[1]
    index = {name: i for i, name in enumerate(constellation.names)}
    known = [n for n in names if n in index]
    if not known:
        return empty
    subset = constellation.subset([index[n] for n in known])
    pos, _, _ = orbits.propagate_itrs(subset, _naive_ns(times))
    lat, lon, alt = ecef_to_geodetic(pos)
    return pd.DataFrame(
        {
            "lat_deg": np.degrees(lat).ravel(),
            "lon_deg": np.degrees(lon).ravel(),
            "alt_km": alt.ravel() / 1e3,
        },
        index=pd.MultiIndex.from_product([times, known], names=["time", "sat"]),
    )


def isl_snapshot(scenario: dict, time: pd.Timestamp) -> pd.DataFrame:
    """The ISLs of one epoch as the run built them (`twin.constellation.isl.isl_graph` with the
    scenario's ``[isl]`` settings and the plane labels of `twin.clock`: known for Walker
    shells, inferred from the first epoch's orbits for TLE sets).

    Returns one row per link: ``sat_a``, ``sat_b``, ``kind`` (intra / inter), ``length_km``,
    the end points' geodetic ``lat_a_deg``, ``lon_a_deg``, ``lat_b_deg``, ``lon_b_deg`` and
    ``mid_lat_deg`` (latitude of the chord's midpoint). Empty when ISLs are off or the
    constellation cannot be re-built.
    """
    built = _rebuild(scenario)
    if built is None or not built[0].isl.enabled:
        return pd.DataFrame()
    parsed, c = built
    t64 = _naive_ns(pd.DatetimeIndex([time]))
    if c.shell is not None and c.plane is not None and c.slot is not None:
        labels = planes.PlaneLabels.from_arrays(c.shell, c.plane, c.slot)
    else:
        start = _naive_ns(pd.DatetimeIndex([parsed.run.start]))
        r, v, _ = orbits.propagate_teme(c, start)
        labels = planes.infer_planes(r[0], v[0])
    pos, _, err = orbits.propagate_itrs(c, t64)
    pos, err = pos[0], err[0]
    valid = (err == 0) & np.all(np.isfinite(pos), axis=1)
    graph = isl.isl_graph(
        pos,
        labels,
        max_range_m=parsed.isl.max_range_m,
        atmosphere_margin_m=parsed.isl.atmosphere_margin_m,
        inter_plane=parsed.isl.inter_plane,
        valid=valid,
    )
    edges = graph.graph["edges"]
    a, b = edges["a"], edges["b"]
    lat, lon, _ = ecef_to_geodetic(pos)
    mid_lat, _, _ = ecef_to_geodetic(0.5 * (pos[a] + pos[b]))
    names = np.asarray(c.names, dtype=object)
    return pd.DataFrame(
        {
            "sat_a": names[a],
            "sat_b": names[b],
            "kind": np.where(edges["kind_inter"], "inter", "intra"),
            "length_km": edges["length_m"] / 1e3,
            "lat_a_deg": np.degrees(lat[a]),
            "lon_a_deg": np.degrees(lon[a]),
            "lat_b_deg": np.degrees(lat[b]),
            "lon_b_deg": np.degrees(lon[b]),
            "mid_lat_deg": np.degrees(mid_lat),
        }
    )
