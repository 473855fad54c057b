"""The recorder's tables: the foundation's rows of every epoch (epochs, visibility, isl, groups,
handovers, links).

:func:`recorder_process` is the first subscriber :func:`twin.processes.attach` puts on the
clock; :func:`isl_summary` and :func:`links_frame` build the ``isl`` row and the ``links`` rows
of one epoch from its ISL graph (:func:`edge_arrays`).
"""

from __future__ import annotations

import time as wallclock

import networkx as nx
import numpy as np
import pandas as pd
import simpy
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from twin import geometry
from twin.epoch import Epoch, RunContext
from twin.units import C_LIGHT

__all__ = ["edge_arrays", "isl_summary", "links_frame", "recorder_process"]


def edge_arrays(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ISL edges of one epoch's graph as arrays: endpoints a, b (E,) satellite indices,
    lengths (E,) m, inter (E,) bool (inter-plane). Read from the topology module's edge arrays
    when the graph has them (no networkx materialisation), else from the networkx edges."""
    arrays = graph.graph.get("edges")
    if arrays is None:  # a graph built without the topology module's edge arrays
        data = list(graph.edges(data=True))
        a = np.array([u for u, _, _ in data], dtype=np.int64)
        b = np.array([v for _, v, _ in data], dtype=np.int64)
        lengths = np.array([d["length_m"] for _, _, d in data], dtype=float)
        inter = np.array([d.get("kind") == "inter" for _, _, d in data], dtype=bool)
        return a, b, lengths, inter
    return (
        np.asarray(arrays["a"]),
        np.asarray(arrays["b"]),
        np.asarray(arrays["length_m"], dtype=float),
        np.asarray(arrays["kind_inter"], dtype=bool),
    )


def isl_summary(epoch: Epoch) -> dict:
    """One `isl` row: link counts, lengths and connectivity of the valid satellites."""
    a, b, lengths, inter = edge_arrays(epoch.graph)
    n = len(epoch.sat_valid)
    adjacency = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, component = connected_components(adjacency, directed=False)
    sizes = (
        np.bincount(component[epoch.sat_valid]) if epoch.sat_valid.any() else np.zeros(0, dtype=int)
    )
    sizes = sizes[sizes > 0]
    return {
        "epoch": epoch.index,
        "time": epoch.time,
        "n_links": int(len(a)),
        "n_intra": int((~inter).sum()),
        "n_inter": int(inter.sum()),
        "mean_length_km": float(lengths.mean() / 1e3) if len(lengths) else np.nan,
        "max_length_km": float(lengths.max() / 1e3) if len(lengths) else np.nan,
        "n_components": int(len(sizes)),
        "largest_component": int(sizes.max()) if len(sizes) else 0,
    }


def links_frame(
    epoch: Epoch, time: pd.Timestamp, name_codes: np.ndarray, names: pd.CategoricalDtype
) -> pd.DataFrame:
    """The `links` rows of one epoch (one per ISL), columnar. Satellite names are categoricals
    (``name_codes`` (S,) satellite index -> code in ``names``; 2 bytes a row instead of a
    Python string, written to parquet as plain strings), so a 10k-satellite epoch (~16k links)
    buffers under 1 MB until the next checkpoint instead of one dict per link."""
    a, b, lengths, inter = edge_arrays(epoch.graph)
    return pd.DataFrame(
        {
            "epoch": np.full(len(a), epoch.index, dtype=np.int64),
            "time": pd.DatetimeIndex([time]).repeat(len(a)),
            "sat_a": pd.Categorical.from_codes(name_codes[a], dtype=names),
            "sat_b": pd.Categorical.from_codes(name_codes[b], dtype=names),
            "kind": pd.Categorical.from_codes(inter.astype(np.int8), categories=["intra", "inter"]),
            "length_km": lengths / 1e3,
            "delay_ms": lengths / C_LIGHT * 1e3,
        }
    )


def recorder_process(context: RunContext, inbox: simpy.Store):
    """The foundation's tables: epochs, visibility, isl, groups, handovers (and links)."""
    scenario = context.scenario
    mask = scenario.visibility.mask_elevation_rad
    names = context.sat_names
    while True:
        epoch: Epoch = yield inbox.get()
        started = wallclock.perf_counter()
        time = epoch.time
        visible = epoch.elevation >= mask  # (G, S)
        n_visible = visible.sum(axis=1)
        lat, lon, alt = (
            geometry.ecef_to_geodetic(epoch.ground_pos) if len(epoch.ground_pos) else ([], [], [])
        )
        centrals = np.array([epoch.groups[e].central for e in context.ground.names], dtype=int)
        sub_lat, sub_lon, sub_alt = geometry.ecef_to_geodetic(
            epoch.sat_pos[np.maximum(centrals, 0)]
        )
        visibility_rows, group_rows = [], []
        for g, entity in enumerate(context.ground.names):
            best = int(np.argmax(epoch.elevation[g])) if epoch.elevation.shape[1] else -1
            best_visible = best >= 0 and visible[g, best]
            visibility_rows.append(
                {
                    "epoch": epoch.index,
                    "time": time,
                    "entity": entity,
                    "role": context.ground.roles[g],
                    "lat_deg": float(np.degrees(lat[g])),
                    "lon_deg": float(np.degrees(lon[g])),
                    "alt_m": float(alt[g]),
                    "n_visible": int(n_visible[g]),
                    "best_sat": str(names[best]) if best_visible else "",
                    "best_elevation_deg": float(np.degrees(epoch.elevation[g, best]))
                    if best_visible
                    else np.nan,
                    "best_range_km": float(epoch.range_m[g, best] / 1e3)
                    if best_visible
                    else np.nan,
                }
            )
            group = epoch.groups[entity]
            central = group.central
            group_rows.append(
                {
                    "epoch": epoch.index,
                    "time": time,
                    "entity": entity,
                    "role": context.ground.roles[g],
                    "valid": bool(group.valid),
                    "reason": group.reason,
                    "central": str(names[central]) if central >= 0 else "",
                    "central_elevation_deg": float(np.degrees(epoch.elevation[g, central]))
                    if central >= 0
                    else np.nan,
                    "central_range_km": float(epoch.range_m[g, central] / 1e3)
                    if central >= 0
                    else np.nan,
                    "central_lat_deg": float(np.degrees(sub_lat[g])) if central >= 0 else np.nan,
                    "central_lon_deg": float(np.degrees(sub_lon[g])) if central >= 0 else np.nan,
                    "central_alt_km": float(sub_alt[g] / 1e3) if central >= 0 else np.nan,
                    "n_members": len(group.members),
                    "members": ";".join(str(names[m]) for m in group.members),
                }
            )
            context.count("invalid_groups", int(not group.valid))
        context.record("isl", [isl_summary(epoch)])
        if "links" in context.tables:
            context.record(
                "links", links_frame(epoch, time, context.sat_name_codes, context.sat_name_dtype)
            )
        context.record(
            "epochs",
            [
                {
                    "epoch": epoch.index,
                    "time": time,
                    "n_valid_sats": int(epoch.sat_valid.sum()),
                    "mean_visible": float(n_visible.mean()) if len(n_visible) else np.nan,
                    "n_handovers": len(epoch.handovers),
                }
            ],
        )
        context.record("visibility", visibility_rows)
        context.record("groups", group_rows)
        context.record("handovers", epoch.handovers)
        context.count("handovers", len(epoch.handovers))
        context.count("visible_sum", float(n_visible.sum()))
        context.count("visible_n", int(len(n_visible)))
        context.stage("recording", started)
