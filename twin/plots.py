"""Matplotlib figures of a run's tables (reusable from notebooks).

Every function takes pandas DataFrames as :func:`twin.results.load` returns them
(a UTC ``DatetimeIndex`` named ``time``, an ``entity`` column for per-entity
tables) and returns a :class:`matplotlib.figure.Figure` built without pyplot
(no global state, no display needed, the user's backend left alone; ``fig.savefig(path)``
renders PNGs with matplotlib's Agg canvas).
In a notebook, ``display(fig)`` shows it.

Units: the tables carry units in their column names (``_deg``, ``_km``, ``_m``,
``_db``, ``_bps``, ``_s``); :func:`axis_label` turns a column name into an axis
label with its unit. Times are plotted as UTC.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

#: Colour and marker per handover kind (the foundation's and the ISAC/PNT processes', see
#: docs/twin.md), the same in every figure and on the map; other kinds get the next free one.
KIND_STYLE: dict[str, dict] = {
    "central": {"color": "tab:blue", "marker": "v"},
    "group": {"color": "tab:green", "marker": "|"},
    "interruption": {"color": "tab:red", "marker": "x"},
    "restored": {"color": "tab:olive", "marker": "^"},
    "isac_beams": {"color": "tab:purple", "marker": "D"},
    "pnt_reference": {"color": "tab:pink", "marker": "*"},
    "pnt_positioning": {"color": "tab:brown", "marker": "P"},
    "pnt_beams": {"color": "tab:orange", "marker": "s"},
    "pnt_interruption": {"color": "darkred", "marker": "X"},
    "pnt_restored": {"color": "tab:cyan", "marker": "^"},
}
_SPARE_COLOURS = ["tab:gray", "black", "gold", "teal", "navy", "magenta"]
_SPARE_MARKERS = ["h", "o", "p", "d", "8", "<"]

#: Unit suffixes of column names -> unit text for axis labels (longest first).
_UNITS = [
    ("_bps_hz", "bit/s/Hz"),
    ("_mbps", "Mbit/s"),
    ("_gbps", "Gbit/s"),
    ("_bps", "bit/s"),
    ("_dbw", "dBW"),
    ("_dbm", "dBm"),
    ("_dbi", "dBi"),
    ("_db", "dB"),
    ("_deg", "°"),
    ("_km", "km"),
    ("_ms", "ms"),
    ("_m", "m"),
    ("_s", "s"),
    ("_hz", "Hz"),
    ("_w", "W"),
]
_WORDS = {
    "rcrb": "RCRB",
    "crlb": "CRLB",
    "crb": "CRB",
    "gdop": "GDOP",
    "sinr": "SINR",
    "snr": "SNR",
    "rmse": "RMSE",
    "ue": "UE",
    "ut": "UT",
    "isl": "ISL",
    "n": "number of",
    "sqrt": "√",
}


#: Labels of the foundation's columns where the generic rule reads badly.
LABELS = {
    "n_visible": "visible satellites (above mask)",
    "central_elevation_deg": "central-satellite elevation (°)",
    "best_elevation_deg": "best elevation (°)",
    "n_members": "group members",
    "crlb_m": "√CRLB (m)",  # the pnt table's crlb_m is the square root (docs/twin.md)
    "crlb_at_plan_m": "√CRLB at plan (m)",
    "error_h_m": "horizontal error (m)",
    "fix_error_h_m": "horizontal fix error (m)",
}


def axis_label(column: str) -> str:
    """A readable axis label with unit from a column name.

    ``"central_elevation_deg"`` -> ``"central elevation (°)"``,
    ``"rcrb_m"`` -> ``"RCRB (m)"``, ``"sinr_db_0"`` -> ``"SINR 0 (dB)"``,
    ``"n_visible"`` -> ``"number of visible"``.
    """
    if column in LABELS:
        return LABELS[column]
    name = column.lower()
    unit = ""
    trailing = ""
    match = re.match(r"^(.*?)(_\d+)$", name)  # per-satellite / per-UE index after the unit
    if match:
        name, trailing = match.group(1), match.group(2)
    for suffix, text in _UNITS:
        if name.endswith(suffix) and len(name) > len(suffix):
            name, unit = name[: -len(suffix)], text
            break
    words = [_WORDS.get(w, w) for w in (name + trailing).split("_") if w]
    label = " ".join(words).replace("√ ", "√")
    return f"{label} ({unit})" if unit else label


def kind_styles(kinds: Iterable[str]) -> dict[str, dict]:
    """Colour and marker for each handover kind, in :data:`KIND_STYLE`'s order (known kinds
    fixed, others after them from a spare cycle)."""
    styles = {}
    spare = 0
    order = {k: i for i, k in enumerate(KIND_STYLE)}
    for kind in sorted(set(kinds), key=lambda k: (order.get(k, len(order)), k)):
        if kind in KIND_STYLE:
            styles[kind] = KIND_STYLE[kind]
        else:
            styles[kind] = {
                "color": _SPARE_COLOURS[spare % len(_SPARE_COLOURS)],
                "marker": _SPARE_MARKERS[spare % len(_SPARE_MARKERS)],
            }
            spare += 1
    return styles


def _naive_utc(index) -> np.ndarray:
    """A UTC DatetimeIndex (or naive, taken as UTC) as naive datetime64[ns] for matplotlib."""
    index = pd.DatetimeIndex(index)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.to_numpy(dtype="datetime64[ns]")


def _time_axis(ax, label: bool = True) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if label:
        ax.set_xlabel("time (UTC)")


def _step_of(index) -> np.timedelta64:
    """The run's step: the median spacing of the distinct times (0 if fewer than two)."""
    times = np.unique(_naive_utc(index))
    if len(times) < 2:
        return np.timedelta64(0, "ns")
    return np.median(np.diff(times)).astype("timedelta64[ns]")


def invalid_spans(groups: pd.DataFrame) -> dict[str, list[tuple[np.datetime64, np.datetime64]]]:
    """Per entity, the time spans without a valid serving group.

    groups: the ``groups`` table (``entity``, ``valid``, UTC index). A span runs
    from the first invalid epoch to the next epoch (first invalid time + n × step),
    so a single invalid epoch is one step wide. Returns naive-UTC datetime64 pairs.
    """
    spans: dict[str, list] = {}
    if groups is None or groups.empty or "valid" not in groups or "entity" not in groups:
        return spans
    step = _step_of(groups.index)
    for entity, frame in groups.groupby("entity", sort=False):
        times = _naive_utc(frame.index)
        bad = ~frame["valid"].to_numpy(dtype=bool)
        if not bad.any():
            continue
        edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        spans[entity] = [(times[a], times[b - 1] + step) for a, b in zip(starts, stops)]
    return spans


#: Above this many central handovers in one panel the faint full-height lines are left out
#: (they would grey the panel); the rug of markers along the top stays.
MAX_HANDOVER_LINES = 60


def _mark_handovers(ax, events: pd.DataFrame, styles: dict[str, dict], spans=None) -> None:
    """Handover marks on a time axis: a faint full-height line per central handover (when at
    most :data:`MAX_HANDOVER_LINES`), a rug of markers per kind along the top, shaded spans
    without a valid group."""
    for start, stop in spans or []:
        ax.axvspan(start, stop, color=KIND_STYLE["interruption"]["color"], alpha=0.15, lw=0)
    if events is None or events.empty:
        return
    times = _naive_utc(events.index)
    kinds = events["kind"].to_numpy()
    order = list(styles)
    for rank, kind in enumerate(order):
        at = times[kinds == kind]
        if len(at) == 0:
            continue
        style = styles[kind]
        if kind == "central" and len(at) <= MAX_HANDOVER_LINES:
            ax.vlines(
                at,
                0,
                1,
                transform=ax.get_xaxis_transform(),
                colors=style["color"],
                alpha=0.25,
                lw=0.6,
            )
        height = 0.97 - 0.06 * rank
        ax.plot(
            at,
            np.full(len(at), height),
            linestyle="none",
            marker=style["marker"],
            color=style["color"],
            markersize=4,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )


def _handover_legend(
    styles: dict[str, dict], with_span: bool, span_label: str = "no valid group"
) -> list:
    handles = [
        Line2D(
            [], [], linestyle="none", marker=s["marker"], color=s["color"], label=f"{k} handover"
        )
        for k, s in styles.items()
    ]
    if with_span:
        handles.append(
            Patch(color=KIND_STYLE["interruption"]["color"], alpha=0.15, label=span_label)
        )
    return handles


def legend_columns(fig: Figure, n: int, column_in: float = 2.7) -> int:
    """Columns of a figure-wide legend of `n` entries so that it fits the figure's width
    (about `column_in` inches per entry, handover-kind labels included)."""
    return max(1, min(n, int(fig.get_figwidth() // column_in)))


def _headroom(ax, fraction: float) -> None:
    """Raise the top of the y axis so the data stay below 1 - `fraction` of the height
    (room for the handover rug); the ticks stay those of the data range. Call once per
    axis, after the data are drawn."""
    if fraction <= 0:
        return
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    if ax.get_yscale() == "log":
        ax.set_ylim(lo, hi * (hi / lo) ** (fraction / (1 - fraction)))
    else:
        ax.set_ylim(lo, hi + (hi - lo) * fraction / (1 - fraction))
    if len(ticks) >= 2:  # no tick labels in the rug's room (e.g. no elevation above 90°)
        ax.set_yticks(ticks)


def _log_if_wide(ax, values: np.ndarray) -> None:
    values = values[np.isfinite(values)]
    if len(values) and values.min() > 0 and values.max() / values.min() > 100:
        ax.set_yscale("log")


def unit_of(column: str) -> str:
    """The unit text of a column name (``"rcrb_m"`` -> ``"m"``), ``""`` when unitless."""
    label = axis_label(column)
    match = re.search(r"\(([^()]*)\)$", label)
    return match.group(1) if match else ""


def panels_by_unit(metrics: Sequence[str], max_per_panel: int = 4) -> list[list[str]]:
    """Metrics grouped into panels that share a unit (at most `max_per_panel` each, in
    order of first appearance); unitless metrics (GDOP, counts) get a panel each."""
    panels: list[list[str]] = []
    by_unit: dict[str, list[str]] = {}
    for metric in metrics:
        unit = unit_of(metric)
        panel = by_unit.get(unit)
        if unit and panel is not None and len(panel) < max_per_panel:
            panel.append(metric)
            continue
        panel = [metric]
        panels.append(panel)
        if unit:
            by_unit[unit] = panel
    return panels


_SCHEME_STYLES = ["-", "--", ":", "-."]


def timeseries_grid(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    handovers: pd.DataFrame | None = None,
    *,
    groups: pd.DataFrame | None = None,
    scheme: str | None = None,
    title: str = "",
    entities: Sequence[str] | None = None,
    max_entities: int = 8,
    panels: Sequence[Sequence[str]] | None = None,
    span_label: str = "no valid group",
    sharey: bool = False,
    replans: pd.DataFrame | None = None,
) -> Figure:
    """Metrics vs time: one row per entity, one column per panel, handovers marked.

    frame: long table, UTC index, an ``entity`` column and the ``metrics`` columns
    (units in their names); a column of panels is all log or all linear (log when its
    positive values span more than a factor 100), its y axes shared if `sharey`. panels:
    metrics drawn together (default
    :func:`panels_by_unit`: one panel per unit, a colour per metric). scheme:
    optional column whose values are drawn with different line styles (e.g. the
    transmit design). When an entity has several rows at one time per scheme (a
    cluster of cells), the line is their median and a band spans min to max.
    handovers: the ``handovers`` table (``entity``, ``kind``) marked per entity;
    groups: a table with ``entity`` and ``valid`` (the ``groups`` table, or a process
    table's status flags) whose invalid epochs are shaded and named `span_label` in
    the legend. replans: rows (UTC index, ``entity``) of the epochs where a process
    re-planned (its ``replanned`` column): black ticks along the bottom of each panel, so a
    saw-tooth (a held plan degrading, then a re-plan) is read against its re-plans. At most
    `max_entities` rows. Non-finite values are not drawn.
    """
    entities = list(entities if entities is not None else pd.unique(frame["entity"]))[:max_entities]
    panels = [list(p) for p in (panels if panels is not None else panels_by_unit(metrics))]
    if handovers is not None and not handovers.empty:
        handovers = handovers[handovers["entity"].isin(entities)]
    if groups is not None and not groups.empty:
        groups = groups[groups["entity"].isin(entities)]
    n_rows, n_cols = max(len(entities), 1), max(len(panels), 1)
    fig = Figure(figsize=(min(5.0 * n_cols + 1.0, 22.0), 2.4 * n_rows + 1.4), layout="constrained")
    axes = fig.subplots(
        n_rows, n_cols, sharex=True, sharey="col" if sharey else False, squeeze=False
    )
    kinds = handovers["kind"].unique() if handovers is not None and not handovers.empty else []
    styles = kind_styles(kinds)
    spans = invalid_spans(groups) if groups is not None else {}
    schemes = list(pd.unique(frame[scheme])) if scheme else [None]
    banded = False
    column_values: list[list[np.ndarray]] = [[] for _ in panels]
    for row, entity in enumerate(entities):
        rows = frame[frame["entity"] == entity]
        for col, panel in enumerate(panels):
            ax = axes[row, col]
            for k, metric in enumerate(panel):
                if metric not in rows:
                    continue
                colour = f"C{k}" if len(panel) > 1 else "C0"
                for j, label in enumerate(schemes):
                    part = rows if label is None else rows[rows[scheme] == label]
                    values = (
                        part[metric].astype(float).where(np.isfinite(part[metric].astype(float)))
                    )
                    if values.notna().sum() == 0:
                        continue
                    stats = values.groupby(level=0).agg(["median", "min", "max"])
                    t = _naive_utc(stats.index)
                    drawstyle = "steps-post" if metric.startswith("n_") else "default"
                    ax.plot(
                        t,
                        stats["median"].to_numpy(),
                        lw=1.0,
                        drawstyle=drawstyle,
                        color=colour,
                        ls=_SCHEME_STYLES[j % len(_SCHEME_STYLES)],
                        label=re.sub(r" \([^()]*\)$", "", axis_label(metric)) if j == 0 else None,
                    )
                    if (stats["max"] > stats["min"]).any():
                        ax.fill_between(
                            t,
                            stats["min"].to_numpy(),
                            stats["max"].to_numpy(),
                            color=colour,
                            alpha=0.15,
                            lw=0,
                        )
                        banded = True
                    column_values[col].append(values.to_numpy())
    # one scale type (log or linear) per column; headroom once per shared axis, else per axis
    rug = 0.06 * len(styles) + 0.04 if len(styles) else 0.0
    for col, panel in enumerate(panels):
        for ax in axes[:1, col] if sharey else axes[:, col]:
            if column_values[col]:
                _log_if_wide(ax, np.concatenate(column_values[col]))
            if all(m.startswith("n_") for m in panel):
                ax.yaxis.get_major_locator().set_params(integer=True)
            _headroom(ax, rug)
    for row, entity in enumerate(entities):
        events = handovers[handovers["entity"] == entity] if len(kinds) else None
        for col, panel in enumerate(panels):
            ax = axes[row, col]
            _mark_handovers(ax, events, styles, spans.get(entity))
            if replans is not None and not replans.empty:
                at = _naive_utc(replans.index[replans["entity"] == entity])
                ax.plot(
                    at,
                    np.full(len(at), 0.0),
                    linestyle="none",
                    marker=2,  # tick up from the bottom
                    markersize=7,
                    color="black",
                    transform=ax.get_xaxis_transform(),
                    clip_on=False,
                )
            ax.grid(True, alpha=0.3)
            unit = unit_of(panel[0])
            ax.set_ylabel(axis_label(panel[0]) if len(panel) == 1 else f"({unit})")
            if row == 0:
                ax.set_title(", ".join(axis_label(m) for m in panel), fontsize=10)
            if len(panel) > 1 and row == 0:
                ax.legend(fontsize=7, loc="best", framealpha=0.7)
            if col == 0:
                ax.annotate(
                    str(entity),
                    (0, 0.5),
                    xycoords="axes fraction",
                    xytext=(-62, 0),
                    textcoords="offset points",
                    rotation=90,
                    va="center",
                    ha="center",
                    fontweight="bold",
                )
            _time_axis(ax, label=row == n_rows - 1)
    if title:
        fig.suptitle(
            title + (" (line: median over the entity's rows; band: min-max)" if banded else "")
        )
    handles = _handover_legend(styles, with_span=bool(spans), span_label=span_label)
    if replans is not None and not replans.empty:
        handles.append(
            Line2D([], [], linestyle="none", marker=2, markersize=7, color="black", label="re-plan")
        )
    if scheme:
        handles = [
            Line2D([], [], color="black", ls=_SCHEME_STYLES[i % len(_SCHEME_STYLES)], label=str(s))
            for i, s in enumerate(schemes)
        ] + handles
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=legend_columns(fig, len(handles)),
            fontsize=9,
            frameon=False,
        )
    return fig


def merge_on_time_entity(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    left_columns: Sequence[str],
    right_columns: Sequence[str],
) -> pd.DataFrame:
    """Columns of two per-epoch × entity tables side by side (outer join on time and entity),
    UTC index kept; columns missing from a table are left out."""
    keep_left = ["entity"] + [c for c in left_columns if c in left]
    merged = left[keep_left].reset_index()
    if right is not None and not right.empty:
        keep_right = ["entity"] + [c for c in right_columns if c in right]
        merged = merged.merge(right[keep_right].reset_index(), on=["time", "entity"], how="outer")
    return merged.set_index("time")


def geometry_timeseries(
    groups: pd.DataFrame,
    visibility: pd.DataFrame,
    handovers: pd.DataFrame | None = None,
    *,
    max_entities: int = 8,
) -> Figure:
    """Central-satellite elevation (°) and number of visible satellites per entity vs time,
    handovers marked (the ``groups``, ``visibility`` and ``handovers`` tables)."""
    frame = merge_on_time_entity(groups, visibility, ["central_elevation_deg"], ["n_visible"])
    return timeseries_grid(
        frame,
        ["central_elevation_deg", "n_visible"],
        handovers,
        groups=groups,
        title="Serving geometry per entity",
        entities=list(pd.unique(groups["entity"])),
        max_entities=max_entities,
    )


def ecdf(values) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF over the non-NaN values: sorted finite x (n,) and F(x) = fraction of the
    non-NaN values <= x (n,). -inf (e.g. no echo, in dB) counts below every x and +inf above,
    so F starts above 0 / ends below 1 when they occur; NaN (no value) is left out."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[~np.isnan(v)]
    x = np.sort(v[np.isfinite(v)])
    below = int(np.sum(v == -np.inf))
    return x, (below + np.arange(1, len(x) + 1)) / max(len(v), 1)


def cdf_panels(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    *,
    by: str = "entity",
    title: str = "",
    order: Sequence[str] | None = None,
) -> Figure:
    """Empirical CDFs (:func:`ecdf`): one panel per metric, one line per value of column
    `by` (the entity, or a scheme column pooled over entities), in `order` if given.
    Wide positive ranges (max/min > 100) get a log x axis."""
    metrics = list(metrics)
    n_cols = min(len(metrics), 3) or 1
    n_rows = -(-max(len(metrics), 1) // n_cols)
    fig = Figure(figsize=(4.6 * n_cols, 3.4 * n_rows + 0.6), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    labels = list(order if order is not None else pd.unique(frame[by])) if by in frame else [None]
    for i, metric in enumerate(metrics):
        ax = axes.flat[i]
        for label in labels:
            part = frame if label is None else frame[frame[by] == label]
            x, p = ecdf(part[metric])
            if len(x):
                ax.step(
                    x, p, where="post", lw=1.2, label=str(label) if label is not None else metric
                )
        values = frame[metric].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if len(values) and values.min() > 0 and values.max() / values.min() > 100:
            ax.set_xscale("log")
        ax.set_xlabel(axis_label(metric))
        ax.set_ylabel("fraction of samples ≤ x")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(
            fontsize=8, title=by if label is not None else None, title_fontsize=8, loc="lower right"
        )
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


#: Natural Earth 1:110m land outlines shipped with the package (twin/assets/webmap/README.md).
LAND_FILE = Path(__file__).parent / "assets" / "webmap" / "land-110m.json"


@functools.cache
def coastlines() -> tuple[np.ndarray, np.ndarray]:
    """Natural Earth 1:110m coastlines (:data:`LAND_FILE`) as one (lon, lat) pair of arrays
    in degrees, rings separated by NaN and cut at the antimeridian, ready for ``ax.plot``."""
    rings = json.loads(LAND_FILE.read_text(encoding="utf-8"))
    lons, lats = [], []
    for ring in rings:
        lon, lat = _break_at_wrap(*np.asarray(ring, dtype=float).T)
        lons += [lon, [np.nan]]
        lats += [lat, [np.nan]]
    return np.concatenate(lons), np.concatenate(lats)


def _break_at_wrap(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN where consecutive longitudes jump by more than 180° (antimeridian)."""
    if len(lon) < 2:
        return lon, lat
    cut = np.flatnonzero(np.abs(np.diff(lon)) > 180.0) + 1
    return np.insert(lon.astype(float), cut, np.nan), np.insert(lat.astype(float), cut, np.nan)


def _regions(centres: dict[str, tuple[float, float]], size_deg: float) -> list[list[str]]:
    """Group entities whose (lat, lon) centres lie within `size_deg` (both coordinates,
    longitude difference wrapped) of a region's first entity; order kept."""
    regions: list[list[str]] = []
    anchors: list[tuple[float, float]] = []
    for entity, (lat, lon) in centres.items():
        for members, (lat0, lon0) in zip(regions, anchors):
            if (
                abs(lat - lat0) <= size_deg
                and abs((lon - lon0 + 180.0) % 360.0 - 180.0) <= size_deg
            ):
                members.append(entity)
                break
        else:
            regions.append([entity])
            anchors.append((lat, lon))
    return regions


def ground_track(
    groups: pd.DataFrame,
    visibility: pd.DataFrame | None = None,
    *,
    max_entities: int = 12,
    region_size_deg: float = 30.0,
) -> Figure:
    """Maps (longitude/latitude in degrees, Natural Earth 1:110m coastlines in grey,
    :func:`coastlines`) of each entity's serving satellites and of the entities themselves;
    entities more than `region_size_deg` apart get separate panels.

    groups: the ``groups`` table (``central``, ``central_lat_deg``, ``central_lon_deg``);
    each entity's central sub-satellite points are drawn as a line per serving
    satellite (broken at each central handover) in the entity's colour.
    visibility: the ``visibility`` table (``lat_deg``, ``lon_deg``): the entity
    tracks (black), with a star at the start position and a dot at the end.
    """
    entities = list(pd.unique(groups["entity"]))[:max_entities] if not groups.empty else []
    colours = {entity: f"C{i % 10}" for i, entity in enumerate(entities)}
    # runs written before the groups table had the sub-satellite point: entity tracks only
    has_points = {"central", "central_lat_deg", "central_lon_deg"} <= set(groups.columns)
    tracks = {}
    centres = {}
    for entity in entities:
        track = None
        if visibility is not None and not visibility.empty:
            track = visibility[visibility["entity"] == entity]
        if track is not None and not track.empty:
            tracks[entity] = track
            centres[entity] = (float(track["lat_deg"].iloc[0]), float(track["lon_deg"].iloc[0]))
        elif has_points:
            rows = groups[groups["entity"] == entity]
            centres[entity] = (
                float(rows["central_lat_deg"].median()),
                float(rows["central_lon_deg"].median()),
            )
        else:
            centres[entity] = (0.0, 0.0)
    regions = _regions(centres, region_size_deg) or [[]]
    n = len(regions)
    n_cols = min(n, 3)
    n_rows = -(-n // n_cols)
    fig = Figure(
        figsize=(min(max(6.0 * n_cols, 9.0), 18.0), 5.5 * n_rows + 1.0), layout="constrained"
    )
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    handles = []
    coast_lon, coast_lat = coastlines()
    for ax, region in zip(axes.flat, regions):
        ax.plot(coast_lon, coast_lat, color="0.55", lw=0.7, zorder=0)
        lon_all, lat_all = [], []
        for k, entity in enumerate(region):
            colour = colours[entity]
            rows = (
                groups[(groups["entity"] == entity) & groups["central_lat_deg"].notna()]
                if has_points
                else []
            )
            if len(rows):
                lon = rows["central_lon_deg"].to_numpy(dtype=float)
                lat = rows["central_lat_deg"].to_numpy(dtype=float)
                central = rows["central"].to_numpy()
                segment = np.concatenate([[0], np.cumsum(central[1:] != central[:-1])])
                for seg in np.unique(segment):
                    pick = segment == seg
                    x, y = _break_at_wrap(lon[pick], lat[pick])
                    ax.plot(x, y, color=colour, lw=1.0, alpha=0.6)
                ax.plot(
                    lon, lat, linestyle="none", marker=".", markersize=2.5, color=colour, alpha=0.6
                )
                lon_all.append(lon)
                lat_all.append(lat)
            if has_points:
                handles.append(
                    Line2D(
                        [],
                        [],
                        color=colour,
                        lw=1.0,
                        marker=".",
                        label=f"{entity}: serving satellites",
                    )
                )
            if entity in tracks:
                track = tracks[entity]
                x, y = _break_at_wrap(
                    track["lon_deg"].to_numpy(dtype=float), track["lat_deg"].to_numpy(dtype=float)
                )
                ax.plot(x, y, color="black", lw=2.0)
                ax.plot(
                    x[0],
                    y[0],
                    marker="*",
                    markersize=14,
                    color=colour,
                    markeredgecolor="black",
                    linestyle="none",
                    zorder=5,
                )
                ax.plot(
                    x[-1],
                    y[-1],
                    marker="o",
                    markersize=5,
                    color=colour,
                    markeredgecolor="black",
                    linestyle="none",
                    zorder=5,
                )
                # several entities in a panel: names stacked in the top-left corner with dotted
                # leader lines, so that close entities stay readable; one: the name beside it
                stacked = len(region) > 1
                ax.annotate(
                    str(entity),
                    (x[0], y[0]),
                    xytext=(0.03, 0.96 - 0.065 * k) if stacked else (10, 8),
                    textcoords="axes fraction" if stacked else "offset points",
                    fontsize=9,
                    fontweight="bold",
                    va="top" if stacked else "bottom",
                    color=colour,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.85, "lw": 0},
                    arrowprops={"arrowstyle": "-", "lw": 0.6, "ls": ":", "color": colour}
                    if stacked
                    else None,
                )
                lon_all.append(x)
                lat_all.append(y)
        if lon_all:
            lon_cat, lat_cat = np.concatenate(lon_all), np.concatenate(lat_all)
            lon_lo, lon_hi = np.nanmin(lon_cat), np.nanmax(lon_cat)
            lat_lo, lat_hi = np.nanmin(lat_cat), np.nanmax(lat_cat)
            pad = max(1.0, 0.05 * max(lon_hi - lon_lo, lat_hi - lat_lo))
            ax.set_xlim(max(lon_lo - pad, -180.0), min(lon_hi + pad, 180.0))
            ax.set_ylim(max(lat_lo - pad, -90.0), min(lat_hi + pad, 90.0))
            mid = np.deg2rad(0.5 * (lat_lo + lat_hi))
            ax.set_aspect(1.0 / max(np.cos(mid), 0.2), adjustable="box")
        ax.set_xlabel("longitude (°, east positive)")
        ax.set_ylabel("latitude (°)")
        ax.grid(True, alpha=0.4)
        ax.set_title(", ".join(map(str, region)), fontsize=10)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles += [
        Line2D(
            [],
            [],
            marker="*",
            markersize=11,
            color="white",
            markeredgecolor="black",
            linestyle="none",
            label="entity start (dot: end)",
        ),
        Line2D([], [], color="black", lw=2.0, label="entity track"),
        Line2D([], [], color="0.55", lw=0.7, label="coastline (Natural Earth 1:110m)"),
    ]
    fig.suptitle(
        "Sub-satellite points of the central (serving) satellites, and the ground entities"
    )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(len(handles), 3 if n_cols == 1 else 4),
        fontsize=8,
        frameon=False,
    )
    return fig


def serving_segments(groups: pd.DataFrame, entity: str) -> pd.DataFrame:
    """Who served `entity` when: one row per run of consecutive epochs with the same central
    satellite (``central``, ``start``, ``stop`` = the next run's start or the last epoch +
    one step, ``valid``: the group was valid throughout), from the ``groups`` table."""
    rows = groups[groups["entity"] == entity].sort_index()
    if rows.empty:
        return pd.DataFrame(columns=["central", "start", "stop", "valid"])
    times = rows.index
    step = pd.Timedelta(_step_of(groups.index))
    central = rows["central"].fillna("").astype(str).to_numpy()
    valid = rows["valid"].to_numpy(dtype=bool) if "valid" in rows else np.ones(len(rows), bool)
    key = np.char.add(central.astype(str), np.where(valid, "", "\x00"))
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    stops = np.append(starts[1:], len(rows))
    return pd.DataFrame(
        {
            "central": central[starts],
            "start": times[starts],
            "stop": [times[b] if b < len(rows) else times[-1] + step for b in stops],
            "valid": valid[starts],
        }
    )


def serving_timeline(groups: pd.DataFrame, *, max_entities: int = 12) -> Figure:
    """Who served when: per entity (rows), a bar per run of the same central satellite
    (:func:`serving_segments`), one colour per satellite (the same satellite in the same
    colour for every entity, so shared service lines up), its name written in bars wide
    enough; hatched red: no valid serving group."""
    entities = list(pd.unique(groups["entity"]))[:max_entities]
    fig = Figure(figsize=(11.0, 1.6 + 0.8 * max(len(entities), 1)), layout="constrained")
    ax = fig.subplots()
    names = [str(n) for n in pd.unique(groups["central"].dropna()) if n]
    prefix = os.path.commonprefix(names) if len(names) > 1 else ""
    prefix = prefix[: prefix.rfind("-") + 1] if "-" in prefix else ""
    palette = [f"C{i}" for i in range(10)] + [
        "lightsteelblue",
        "wheat",
        "palegreen",
        "lightcoral",
        "plum",
        "tan",
        "lightpink",
        "silver",
        "khaki",
        "paleturquoise",
    ]
    colour_of: dict[str, str] = {}
    times = _naive_utc(groups.index)
    span = (times.max() - times.min()) if len(times) else np.timedelta64(0, "ns")
    for row, entity in enumerate(entities):
        for seg in serving_segments(groups, entity).itertuples():
            start, stop = _naive_utc([seg.start, seg.stop])
            width = stop - start
            if not seg.valid or not seg.central:
                ax.broken_barh(
                    [(start, width)],
                    (row - 0.4, 0.8),
                    facecolor="white",
                    edgecolor=KIND_STYLE["interruption"]["color"],
                    hatch="///",
                    lw=0.5,
                )
                continue
            colour = colour_of.setdefault(seg.central, palette[len(colour_of) % len(palette)])
            ax.broken_barh(
                [(start, width)], (row - 0.4, 0.8), facecolor=colour, edgecolor="white", lw=0.5
            )
            if span and width / span >= 0.012:
                ax.text(
                    start + width / 2,
                    row,
                    seg.central[len(prefix) :],
                    ha="center",
                    va="center",
                    fontsize=6,
                    rotation=0 if width / span >= 0.08 else 90,
                    clip_on=True,
                )
    ax.set_yticks(range(len(entities)), [str(e) for e in entities])
    ax.set_ylim(-0.6, len(entities) - 0.4)
    ax.invert_yaxis()
    if len(times):
        ax.set_xlim(times.min(), times.max() + _step_of(groups.index))
    ax.grid(True, axis="x", alpha=0.3)
    _time_axis(ax)
    ax.set_title(
        f"Who served when: central satellite per entity ({len(colour_of)} satellites, one "
        f"colour each; names{' without ' + repr(prefix) if prefix else ''} in the wider bars)",
        fontsize=10,
    )
    fig.legend(
        handles=[
            Patch(
                facecolor="white",
                edgecolor=KIND_STYLE["interruption"]["color"],
                hatch="///",
                label="no valid serving group",
            )
        ],
        loc="outside lower center",
        fontsize=8,
        frameon=False,
    )
    return fig


#: Width of the handover timeline's zoomed panel (drawn when the run is at least twice as long).
ZOOM_WINDOW = pd.Timedelta(minutes=10)
#: Candidate bin widths (s) of the handover-rate panel: the smallest giving at most 40 bins.
_RATE_BINS_S = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)


def _draw_events(ax, handovers, rows: dict, styles: dict, spans: dict, legend: bool) -> None:
    """Handover markers on `ax`: entity rows on y (kinds offset in y), spans shaded."""
    offsets = np.linspace(-0.3, 0.3, len(styles)) if len(styles) > 1 else [0.0]
    for entity, entity_spans in spans.items():
        if entity in rows:
            for start, stop in entity_spans:
                ax.fill_between(
                    [start, stop],
                    rows[entity] - 0.4,
                    rows[entity] + 0.4,
                    color=KIND_STYLE["interruption"]["color"],
                    alpha=0.2,
                    lw=0,
                )
    for offset, (kind, style) in zip(offsets, styles.items()):
        events = handovers[(handovers["kind"] == kind) & handovers["entity"].isin(rows)]
        y = events["entity"].map(rows).to_numpy(dtype=float) + offset
        ax.plot(
            _naive_utc(events.index),
            y,
            linestyle="none",
            marker=style["marker"],
            color=style["color"],
            markersize=5,
            label=f"{kind} ({len(events)})" if legend else None,
        )
    ax.set_yticks(range(len(rows)), [str(e) for e in rows])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3)


def busiest_window(times, width: pd.Timedelta) -> tuple[pd.Timestamp, int]:
    """Start (one of `times`) of the `width`-long window [start, start + width) holding the
    most of `times`, and that count (the earliest such start on ties)."""
    t = np.sort(pd.DatetimeIndex(times).as_unit("ns").asi8)
    if len(t) == 0:
        raise ValueError("no times")
    counts = np.searchsorted(t, t + width.value, side="left") - np.arange(len(t))
    best = int(np.argmax(counts))
    return pd.Timestamp(t[best], tz="UTC"), int(counts[best])


def handover_rate(handovers: pd.DataFrame, start, stop, max_bins: int = 40):
    """Handovers per hour by kind in equal bins (all entities together): the smallest width
    of :data:`_RATE_BINS_S` giving at most `max_bins` bins over [start, stop) (the last bin
    cut at `stop`: its rate is over its real duration).
    Returns (bin width in s, DataFrame indexed by bin start with one column per kind)."""
    span_s = (pd.Timestamp(stop) - pd.Timestamp(start)).total_seconds()
    width = next((w for w in _RATE_BINS_S if span_s / w <= max_bins), _RATE_BINS_S[-1])
    start, stop = pd.Timestamp(start), pd.Timestamp(stop)
    n = max(1, math.ceil(span_s / width - 1e-9))
    edges = pd.DatetimeIndex([start + pd.Timedelta(seconds=width * k) for k in range(n + 1)])
    bins = pd.cut(handovers.index, edges, right=False)
    counts = (
        handovers.groupby([bins, handovers["kind"]], observed=False).size().unstack(fill_value=0)
    )
    counts.index = edges[:-1]
    # the last bin may be cut short by the end of the run: rate over its real duration
    ends = edges[1:].where(edges[1:] <= stop, stop)
    duration_s = (ends - edges[:-1]).total_seconds().to_numpy()
    return width, counts.mul(3600.0 / duration_s, axis=0)


def handover_timeline(
    handovers: pd.DataFrame,
    groups: pd.DataFrame | None = None,
    *,
    entities: Sequence[str] | None = None,
) -> Figure:
    """Handover events, readable at tens per hour: (top) the rate per kind in equal bins,
    events per hour summed over the entities (:func:`handover_rate`); (middle) every event:
    entities on y, time (UTC) on x, one marker per event coloured by kind (kinds offset
    slightly in y), spans without a valid group shaded; (bottom, when the run lasts at least
    twice :data:`ZOOM_WINDOW`) the same over the busiest :data:`ZOOM_WINDOW`
    (:func:`busiest_window`), which is shaded in the middle panel.

    handovers: the ``handovers`` table; groups: the ``groups`` table (for the
    entity list, time range and invalid spans).
    """
    if entities is None:
        source = groups if groups is not None and not groups.empty else handovers
        entities = (
            list(pd.unique(source["entity"])) if source is not None and not source.empty else []
        )
    entities = list(entities)
    rows = {e: i for i, e in enumerate(entities)}
    has_events = handovers is not None and not handovers.empty
    kinds = list(handovers["kind"].unique()) if has_events else []
    styles = kind_styles(kinds)
    spans = invalid_spans(groups) if groups is not None else {}
    if groups is not None and not groups.empty:
        start = groups.index.min()
        stop = groups.index.max() + pd.Timedelta(_step_of(groups.index))
    elif has_events:
        start, stop = handovers.index.min(), handovers.index.max()
    else:
        start = stop = None
    zoom = None
    if has_events and start is not None and stop - start >= 2 * ZOOM_WINDOW:
        zoom, n_zoom = busiest_window(handovers.index, ZOOM_WINDOW)
    row_h = 0.55 * max(len(entities), 1) + 0.8
    heights = [1.8, row_h] + ([row_h] if zoom is not None else [])
    fig = Figure(figsize=(11.0, sum(heights) + 1.2), layout="constrained")
    axes = fig.subplots(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
    ax_rate, ax = axes[0], axes[1]
    if has_events and start is not None:
        width, rate = handover_rate(handovers[handovers["entity"].isin(rows)], start, stop)
        centres = _naive_utc(rate.index) + np.timedelta64(int(width * 5e8), "ns")
        for kind, style in styles.items():
            if kind in rate:
                ax_rate.plot(
                    centres, rate[kind].to_numpy(), color=style["color"], lw=1.4, marker=".", ms=3
                )
        ax_rate.set_title(
            f"Handover rate by kind (events per hour, all {len(entities)} entities, "
            f"{width / 60:g}-min bins)",
            fontsize=10,
        )
    ax_rate.set_ylabel("events / h")
    ax_rate.grid(True, alpha=0.3)
    _draw_events(
        ax,
        handovers if has_events else pd.DataFrame(columns=["kind", "entity"]),
        rows,
        styles,
        spans,
        True,
    )
    if start is not None:
        for a in (ax_rate, ax):
            a.set_xlim(_naive_utc([start])[0], _naive_utc([stop])[0])
    ax.set_ylabel("entity")
    ax.set_title("Every handover (count in legend); red: no valid serving group", fontsize=10)
    if zoom is not None:
        end = zoom + ZOOM_WINDOW
        ax.axvspan(*_naive_utc([zoom, end]), color="gray", alpha=0.15, lw=0)
        ax_zoom = axes[2]
        _draw_events(ax_zoom, handovers, rows, styles, spans, False)
        ax_zoom.set_xlim(*_naive_utc([zoom, end]))
        ax_zoom.set_ylabel("entity")
        ax_zoom.set_title(
            f"Zoom: the busiest {ZOOM_WINDOW.total_seconds() / 60:g} minutes "
            f"({n_zoom} events; grey band above)",
            fontsize=10,
        )
    for a in axes:
        _time_axis(a, label=a is axes[-1])
    handles, _ = ax.get_legend_handles_labels()
    if spans:
        handles.append(
            Patch(color=KIND_STYLE["interruption"]["color"], alpha=0.2, label="no valid group")
        )
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=legend_columns(fig, len(handles)),
            fontsize=8,
            frameon=False,
        )
    return fig


def _constant_note(ax, series: dict[str, pd.Series]) -> None:
    """Plain numbers on the y axis (no offset), and a note naming the series that do not
    change over the run (e.g. every count of a Walker shell's +Grid)."""
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    flat = [
        f"{label} {values.iloc[0]:.6g}"
        for label, values in series.items()
        if len(values) and values.max() - values.min() <= 1e-6 * max(abs(values.max()), 1.0)
    ]
    if flat:
        ax.text(
            0.01,
            0.97,
            "constant over the run: " + ", ".join(flat),
            transform=ax.transAxes,
            fontsize=8,
            va="top",
            bbox={"fc": "white", "alpha": 0.8, "lw": 0},
        )


def isl_topology(isl: pd.DataFrame, snapshot: pd.DataFrame | None = None) -> Figure:
    """ISL topology from the ``isl`` table: link counts (total, intra-, inter-plane),
    connected components and the largest one's size, mean and max link length (km) vs time;
    series that do not change (a Walker shell's +Grid) are named with their value.

    snapshot: the links of one epoch (:func:`twin.rebuild.isl_snapshot`: ``kind``,
    ``length_km``, end points' ``lat_a_deg`` ... ``lon_b_deg``, ``mid_lat_deg``), optional:
    adds the link length against the latitude of the link's midpoint (inter-plane links
    shorten towards the turning latitudes as the planes converge) and a map of the links."""
    has_snapshot = snapshot is not None and not snapshot.empty
    fig = Figure(figsize=(11.0, 12.0 if has_snapshot else 8.0), layout="constrained")
    if has_snapshot:
        grid = fig.add_gridspec(3, 2, height_ratios=[1.0, 1.0, 1.7])
        ax_n = fig.add_subplot(grid[0, 0])
        ax_c = fig.add_subplot(grid[0, 1], sharex=ax_n)
        ax_len = fig.add_subplot(grid[1, 0], sharex=ax_n)
        time_axes = [ax_n, ax_c, ax_len]
    else:
        ax_n, ax_c, ax_len = time_axes = list(fig.subplots(3, 1, sharex=True))
    t = _naive_utc(isl.index)
    counts = {}
    for column, label, style in (
        ("n_links", "all", "-"),
        ("n_intra", "intra-plane", "--"),
        ("n_inter", "inter-plane", ":"),
    ):
        if column in isl:
            ax_n.plot(t, isl[column], drawstyle="steps-post", label=label, ls=style, lw=1.6)
            counts[label] = isl[column]
    ax_n.set_ylabel("number of ISLs")
    ax_n.set_title("Inter-satellite links")
    _constant_note(ax_n, counts)
    connectivity = {}
    if "n_components" in isl:
        ax_c.plot(
            t, isl["n_components"], drawstyle="steps-post", color="tab:purple", label="components"
        )
        connectivity["components"] = isl["n_components"]
    ax_c.set_ylabel("connected components")
    ax_c.yaxis.get_major_locator().set_params(integer=True)
    ax_l = ax_c.twinx()
    if "largest_component" in isl:
        ax_l.plot(
            t,
            isl["largest_component"],
            drawstyle="steps-post",
            color="tab:gray",
            ls="--",
            label="largest component",
        )
        connectivity["largest"] = isl["largest_component"]
    ax_l.set_ylabel("satellites in largest component")
    ax_l.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax_c.set_title("Connectivity (over valid satellites)")
    _constant_note(ax_c, connectivity)
    h1, l1 = ax_c.get_legend_handles_labels()
    h2, l2 = ax_l.get_legend_handles_labels()
    ax_c.legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
    lengths = {}
    for column, label in (("mean_length_km", "mean"), ("max_length_km", "max")):
        if column in isl:
            ax_len.plot(t, isl[column], label=label)
            lengths[label] = isl[column]
    ax_len.set_ylabel("ISL length (km)")
    ax_len.set_title("Link lengths")
    _constant_note(ax_len, lengths)
    for ax in time_axes:
        ax.grid(True, alpha=0.3)
        _time_axis(ax, label=ax is time_axes[-1] or has_snapshot)
    for ax in (ax_n, ax_len):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    if has_snapshot:
        colours = {"intra": "tab:blue", "inter": "tab:orange"}
        ax_lat = fig.add_subplot(grid[1, 1])
        for kind, part in snapshot.groupby("kind"):
            ax_lat.scatter(
                part["mid_lat_deg"],
                part["length_km"],
                s=3,
                alpha=0.4,
                color=colours.get(kind, "gray"),
                label=f"{kind}-plane ({len(part)})",
                rasterized=True,
            )
        ax_lat.set_xlabel("latitude of the link's midpoint (°)")
        ax_lat.set_ylabel("ISL length (km)")
        ax_lat.set_title("Link length vs latitude, first epoch")
        ax_lat.grid(True, alpha=0.3)
        ax_lat.legend(fontsize=8, loc="best", markerscale=3)
        ax_map = fig.add_subplot(grid[2, :])
        coast_lon, coast_lat = coastlines()
        ax_map.plot(coast_lon, coast_lat, color="0.6", lw=0.6, zorder=0)
        for kind, part in snapshot.groupby("kind"):
            lon_a, lon_b = part["lon_a_deg"].to_numpy(), part["lon_b_deg"].to_numpy()
            keep = np.abs(lon_b - lon_a) <= 180.0  # links across the antimeridian left out
            segments = np.stack(
                [
                    np.column_stack([lon_a, part["lat_a_deg"].to_numpy()]),
                    np.column_stack([lon_b, part["lat_b_deg"].to_numpy()]),
                ],
                axis=1,
            )[keep]
            ax_map.add_collection(
                LineCollection(
                    segments, colors=colours.get(kind, "gray"), linewidths=0.4, alpha=0.7
                )
            )
        ax_map.set_xlim(-180, 180)
        ax_map.set_ylim(-90, 90)
        ax_map.set_aspect("equal")
        ax_map.set_xlabel("longitude (°)")
        ax_map.set_ylabel("latitude (°)")
        ax_map.set_title(
            "The links at the first epoch (blue: intra-plane, orange: inter-plane; links "
            "across the antimeridian not drawn)"
        )
        ax_map.grid(True, alpha=0.3)
    return fig


# ------------------------------------------------------------------ faults ([[faults]])
def fault_intervals(faults: pd.DataFrame, end) -> pd.DataFrame:
    """The outages of the ``faults`` table: one row per element and kind switched off, with
    ``element``, ``kind``, ``cause``, ``start`` and ``end`` (naive UTC datetime64; an outage
    still on at the run's end ends at `end`). A "down" row opens an outage, the next "up" row
    of that element and kind closes it."""
    columns = ["element", "kind", "cause", "start", "end"]
    if faults is None or faults.empty:
        return pd.DataFrame(columns=columns)
    end = _naive_utc([end])[0]
    times = _naive_utc(faults.index)
    rows, open_ = [], {}
    order = np.argsort(faults["epoch"].to_numpy(), kind="stable")
    for i in order:
        row = faults.iloc[i]
        key = (row["element"], row["kind"])
        if row["change"] == "down":
            open_[key] = (times[i], row["cause"])
        elif key in open_:
            start, cause = open_.pop(key)
            rows.append((*key, cause, start, times[i]))
    rows += [(*key, cause, start, end) for key, (start, cause) in open_.items()]
    return pd.DataFrame(rows, columns=columns).sort_values("start", kind="stable")


#: At most this many outages are shaded on a time-series figure (the scheduled ones first).
MAX_FAULT_SPANS = 30


def mark_faults(fig: Figure, intervals: pd.DataFrame) -> None:
    """Shade the scheduled outages (cause ``faults[i]``) on every time axis of `fig` (grey,
    hatched) and say so under the figure; random outages are counted in the note only (they
    would cover the axes) and drawn by :func:`fault_timeline`."""
    if intervals.empty:
        return
    scheduled = intervals[intervals["cause"].str.startswith("faults[")].head(MAX_FAULT_SPANS)
    for ax in fig.axes:
        if not isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter):
            continue
        for start, end in zip(scheduled["start"], scheduled["end"]):
            ax.axvspan(start, end, facecolor="0.6", edgecolor="0.75", alpha=0.2, hatch="//", lw=0)
    n_random = int((intervals["cause"] == "random").sum())
    note = f"grey hatched: {len(scheduled)} scheduled outages"
    if n_random:
        note += f"; {n_random} random outages (see the faults figure)"
    fig.text(0.01, 0.001, note, fontsize=7, color="0.3", ha="left", va="bottom")


def fault_timeline(intervals: pd.DataFrame, times, availability: dict) -> Figure:
    """Elements off vs time, one line per kind (satellite, payloads, ISL), and the share of
    rows with an estimate per process (`availability`: name -> Series indexed by time)."""
    fig = Figure(figsize=(11.0, 6.0), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    t = np.unique(_naive_utc(times))
    for kind in pd.unique(intervals["kind"]):
        spans = intervals[intervals["kind"] == kind]
        start, end = spans["start"].to_numpy(), spans["end"].to_numpy()
        n = ((start[None, :] <= t[:, None]) & (t[:, None] < end[None, :])).sum(axis=1)
        axes[0].plot(t, n, drawstyle="steps-post", label=kind)
    axes[0].set_ylabel("elements off")
    axes[0].set_title("Faults")
    for name, series in availability.items():
        axes[1].plot(
            _naive_utc(series.index), series.to_numpy(), drawstyle="steps-post", label=name
        )
    axes[1].set_ylabel("share with an estimate")
    axes[1].set_ylim(-0.05, 1.05)
    axes[1].set_title("Availability per epoch")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        _time_axis(ax, label=ax is axes[-1])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    return fig


def area_maps(summary: pd.DataFrame, columns: Sequence[str], title: str = "") -> Figure:
    """Maps over lat/lon of per-location values (one panel per column of ``summary``, a frame of
    :func:`twin.results.area_summary`): filled contours of a Delaunay triangulation
    (``tricontourf``) when at least 3 locations are not collinear, the locations as coloured
    points on top; a colour bar per panel with the column's unit."""
    from matplotlib.tri import Triangulation

    columns = [c for c in columns if c in summary]
    n_cols = min(len(columns), 3) or 1
    n_rows = -(-len(columns) // n_cols) or 1
    fig = Figure(figsize=(4.8 * n_cols, 3.8 * n_rows + 0.4), layout="constrained")
    lon = summary["lon_deg"].to_numpy(dtype=float)
    lat = summary["lat_deg"].to_numpy(dtype=float)
    for k, column in enumerate(columns):
        ax = fig.add_subplot(n_rows, n_cols, k + 1)
        values = summary[column].to_numpy(dtype=float)
        ok = np.isfinite(values)
        if ok.sum() >= 3 and np.ptp(values[ok]) > 0:
            try:
                tri = Triangulation(lon[ok], lat[ok])
                ax.tricontourf(tri, values[ok], levels=12, cmap="viridis", alpha=0.75)
            except (ValueError, RuntimeError):  # collinear locations: points only
                pass
        points = ax.scatter(
            lon, lat, c=values, cmap="viridis", s=18, edgecolors="k", linewidths=0.3
        )
        fig.colorbar(points, ax=ax, label=axis_label(column))
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.set_title(column, fontsize=9)
        ax.set_aspect(1.0 / max(np.cos(np.radians(np.nanmean(lat))), 0.1))
    if title:
        fig.suptitle(title)
    return fig


def area_cdfs(frame: pd.DataFrame, columns: Sequence[str], title: str = "") -> Figure:
    """Empirical CDFs of metric columns over every row of ``frame`` (all locations x epochs, and
    UTs of a cluster), one panel per column; NaN and infinite values left out (their share is
    given in the legend)."""
    columns = [c for c in columns if c in frame]
    fig = Figure(figsize=(4.6 * max(len(columns), 1), 3.4), layout="constrained")
    for k, column in enumerate(columns):
        ax = fig.add_subplot(1, max(len(columns), 1), k + 1)
        values = frame[column].to_numpy(dtype=float)
        finite = np.sort(values[np.isfinite(values)])
        if finite.size:
            ax.step(
                finite,
                np.arange(1, finite.size + 1) / values.size,
                where="post",
                label=f"{finite.size} of {values.size} rows finite",
            )
            if finite[0] > 0 and finite[-1] / finite[0] > 100:
                ax.set_xscale("log")
            ax.legend(fontsize=8, loc="lower right")
        ax.set_xlabel(axis_label(column))
        ax.set_ylabel("share of rows")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def ephemeris_error_figure(frame: pd.DataFrame, title: str = "") -> Figure:
    """`twin ephemeris-error`'s table (``norad, age_days, err_3d_m, err_radial_m, err_along_m,
    err_cross_m``): |error| per axis against element-set age (log y), one panel per axis."""
    columns = ["err_3d_m", "err_radial_m", "err_along_m", "err_cross_m"]
    fig = Figure(figsize=(11, 6.4), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    for ax, column in zip(axes.flat, columns):
        values = np.abs(frame[column].to_numpy(dtype=float))
        ax.scatter(frame["age_days"], np.maximum(values, 1e-3), s=2, alpha=0.3)
        ax.set_yscale("log")
        ax.set_ylabel(f"|{column}| (m)")
        ax.grid(True, alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("element-set age (days)")
    if title:
        fig.suptitle(title)
    return fig


def error_budget(
    frame: pd.DataFrame,
    parts: dict[str, str],
    *,
    ideal: str,
    total: str,
    bound: str,
    title: str = "",
) -> Figure:
    """Error budget of a positioning/sensing table (UTC ``DatetimeIndex``): left, the per-epoch
    RMS over the rows of each source's part (columns `parts`, label -> column, each source
    alone on the same draws), stacked, with the total's RMS as a line (the stack exceeds it
    where parts cancel); right, the CDFs of the ideal error, the total error, each part and
    the bound (CRLB/RCRB)."""
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    times = _naive_utc(frame.index)
    squares = pd.DataFrame({k: frame[c].to_numpy(float) ** 2 for k, c in parts.items()})
    squares["total"] = frame[total].to_numpy(float) ** 2
    rms = np.sqrt(squares.groupby(times).mean())
    left.stackplot(rms.index, *[rms[k].fillna(0).to_numpy() for k in parts], labels=list(parts))
    left.plot(rms.index, rms["total"], color="k", lw=1.2, label="total")
    left.set_ylabel("RMS error over the rows (m)")
    left.legend(fontsize=8, loc="upper left")
    left.grid(True, alpha=0.3)
    _time_axis(left)
    curves = {"ideal": ideal, "total": total}
    curves.update({k: c for k, c in parts.items() if c not in (ideal, total)})
    styles = {"ideal": {"color": "0.5", "lw": 2.0}, "total": {"color": "k", "lw": 2.0}}
    colours = dict(zip(parts, ["C0", "C1", "C2", "C3", "C4", "C5", "C6"]))
    for label, column in [("bound", bound), *curves.items()]:
        x, p = ecdf(frame[column])
        keep = x > 0
        style = styles.get(label, {"color": colours.get(label), "lw": 1.2})
        if label == "bound":
            style = {"color": "k", "ls": "--", "lw": 1.2}
        if keep.any():
            right.step(x[keep], p[keep], where="post", label=f"{label} ({column})", **style)
    right.set_xscale("log")
    right.set_xlabel("error (m)")
    right.set_ylabel("fraction of rows ≤ x")
    right.set_ylim(0, 1.02)
    right.grid(True, alpha=0.3)
    right.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    return fig
