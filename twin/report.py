"""`twin report RUN_DIR`: figures and an HTML page with a summary table for a run.

:func:`write_report` reads a run directory (:func:`twin.results.load`), draws the
figures of :mod:`twin.plots` as PNG files, computes :func:`summary_table` (one
row per ground entity) and writes, in ``RUN_DIR/report/`` by default::

    index.html     self-contained page (inline CSS, relative image links)
    map.html       interactive map with a time slider (:mod:`twin.webmap`), embedded in index.html
    summary.csv    the summary table
    *.png          the figures

Optional tables (``isac``, ``pnt``, ``isl``) are used when present and
non-empty; their metric columns are found by name (:func:`metric_columns`), so
new columns appear without code changes and missing ones are skipped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin import plots, rebuild, webmap
from twin.results import AREA_METRICS, area_summary, load
from twin.rundir import RESOLVED_SCENARIO, RUN_INFO, read_json

#: Handover kinds always given a column in the summary (others are added when they occur).
BASE_KINDS = ("central", "group", "interruption", "restored")
#: Handover kinds written by a process (docs/twin.md): given a column when that table is present,
#: NaN for entities the process does not serve.
PROCESS_KINDS = {
    "isac": ("isac_beams",),
    "pnt": ("pnt_reference", "pnt_positioning", "pnt_beams", "pnt_interruption", "pnt_restored"),
}
#: A numeric column whose name contains one of these is an accuracy or rate metric.
METRIC_WORDS = (
    "rcrb",
    "crb",
    "crlb",
    "error",
    "accuracy",
    "rmse",
    "gdop",
    "rate",
    "sinr",
    "snr",
    "throughput",
    "capacity",
)
#: Columns naming the scheme (design, baseline, scheduler, beamformer...) a row was computed with.
SCHEME_COLUMNS = ("scheme", "design", "method", "algorithm", "baseline", "scheduler", "beamformer")
#: Columns that may name the entity when a table has no ``entity`` column.
ENTITY_COLUMNS = ("entity", "target", "cluster", "terminal", "name")
#: Tables whose metric columns go into the figures and the summary, in page order.
METRIC_TABLES = ("isac", "pnt")
#: At most this many metrics per CDF figure and unit panels per time-series figure.
MAX_PANELS = 9
MAX_TIME_PANELS = 4
#: At most this many entities (rows) per time-series figure and on the map.
MAX_TIME_ENTITIES = 8
MAX_MAP_ENTITIES = 12
#: Area maps and CDFs are drawn for a table with at least this many targets / clusters.
MIN_AREA_ENTITIES = 3


def _cap_note(n: int, cap: int) -> str:
    return f" (first {cap} of {n} entities shown; all are in the summary)" if n > cap else ""


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """Accuracy/rate columns of a table: numeric (not boolean) columns whose name
    contains one of :data:`METRIC_WORDS`, in table order."""
    out = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        name = str(column).lower()
        if any(word in name for word in METRIC_WORDS):
            out.append(column)
    return out


def _prepare_metric_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The table with an ``entity`` column and, if it has scheme columns, a ``scheme``
    column joining them ("scheduler / beamformer"); returns (table, scheme column or None)."""
    frame = frame.copy()
    if "entity" not in frame:
        for candidate in ENTITY_COLUMNS[1:]:
            if candidate in frame:
                frame["entity"] = frame[candidate].astype(str)
                break
        else:
            frame["entity"] = "all"
    present = [
        c
        for c in SCHEME_COLUMNS
        if c in frame and not pd.api.types.is_numeric_dtype(frame[c]) and frame[c].nunique() > 1
    ]
    if not present:
        return frame, None
    if present == ["scheme"]:
        frame["scheme"] = frame["scheme"].astype(str)
    else:
        frame["scheme"] = frame[present].astype(str).agg(" / ".join, axis=1)
    return frame, "scheme"


def _validity(frame: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Per time × entity ``valid`` flags for shading a process table's time series: from its
    ``status`` column (valid when some row of the entity at that time has status ``ok``),
    else the ``groups`` table's."""
    if "status" not in frame:
        return groups
    ok = (frame["status"].astype(str) == "ok").groupby([frame.index, frame["entity"]]).any()
    ok.index.names = ["time", "entity"]
    return ok.rename("valid").reset_index(level="entity")


def _replans(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The rows (time, entity) of a process table's re-plans (``replanned`` true), one per
    time and entity; None when the table has no such column."""
    if "replanned" not in frame:
        return None
    rows = frame.loc[frame["replanned"].fillna(False).astype(bool), ["entity"]]
    return rows.reset_index().drop_duplicates().set_index("time")


def _fixed_schemes(frame: pd.DataFrame) -> str:
    """Scheme columns with one value for the whole table, as text ("design: fast")."""
    return ", ".join(
        f"{c}: {frame[c].iloc[0]}"
        for c in SCHEME_COLUMNS
        if c in frame and not pd.api.types.is_numeric_dtype(frame[c]) and frame[c].nunique() == 1
    )


def _plot_metrics(frame: pd.DataFrame, metrics: list[str]) -> tuple[pd.DataFrame, list[str], str]:
    """Metrics to draw: single columns first; families of indexed columns (``sinr_db_0``,
    ``sinr_db_1``, ...) are drawn as their row mean under the family name. At most
    :data:`MAX_PANELS`. Returns (frame with the family means, metrics, note for the caption)."""
    families: dict[str, list[str]] = {}
    singles = []
    for metric in metrics:
        match = re.match(r"^(.*?)_(\d+)$", metric)
        if match:
            families.setdefault(match.group(1), []).append(metric)
        else:
            singles.append(metric)
    chosen = list(singles)
    notes = []
    frame = frame.copy()
    for family, members in families.items():
        if len(members) == 1:
            chosen.append(members[0])
        elif family not in frame:
            frame[family] = frame[members].mean(axis=1)
            chosen.append(family)
            notes.append(f"{family}: mean of {len(members)} indexed columns")
    if len(chosen) > MAX_PANELS:
        notes.append(
            f"first {MAX_PANELS} of {len(chosen)} metrics shown; all are in the summary table"
        )
        chosen = chosen[:MAX_PANELS]
    return frame, chosen, "; ".join(notes)


def _hours_covered(info: dict, tables: dict[str, pd.DataFrame]) -> float:
    """Time over which handovers can happen: (n_epochs - 1) × step, in hours (the first
    epoch has no predecessor). Falls back to the span of the groups table's times."""
    n_epochs, step_s = info.get("n_epochs"), info.get("step_s")
    if n_epochs and step_s:
        return (int(n_epochs) - 1) * float(step_s) / 3600.0
    groups = tables.get("groups", pd.DataFrame())
    if groups.empty:
        return float("nan")
    times = groups.index
    return (times.max() - times.min()).total_seconds() / 3600.0


def summary_table(tables: dict[str, pd.DataFrame], info: dict) -> pd.DataFrame:
    """One row per ground entity: role, epochs, valid-group fraction, handovers per hour
    by kind, medians of visible satellites and central elevation (°), and the median and
    95th percentile of every metric column (:func:`metric_columns`) of the ``isac`` and
    ``pnt`` tables (per scheme when the table has scheme columns).

    Handovers per hour = events of that kind / ((n_epochs - 1) × step_s / 3600); the kinds
    of a process (:data:`PROCESS_KINDS`) are NaN for entities that process does not serve.
    Percentiles ignore NaN (numpy's linear interpolation); an entity without rows in a
    table gets NaN for its columns.
    """
    groups = tables.get("groups", pd.DataFrame())
    visibility = tables.get("visibility", pd.DataFrame())
    handovers = tables.get("handovers", pd.DataFrame())
    entities: list[str] = []
    for frame in (groups, visibility):
        if not frame.empty and "entity" in frame:
            entities += [e for e in pd.unique(frame["entity"]) if e not in entities]
    summary = pd.DataFrame(index=pd.Index(entities, name="entity"))
    if not groups.empty:
        if "role" in groups:
            summary["role"] = groups.groupby("entity")["role"].first()
        summary["epochs"] = groups.groupby("entity").size()
        if "valid" in groups:
            summary["valid_group_fraction"] = groups.groupby("entity")["valid"].mean()
    hours = _hours_covered(info, tables)
    kinds = list(BASE_KINDS)
    served: dict[str, set] = {}  # kind -> entities the writing process serves
    for table, table_kinds in PROCESS_KINDS.items():
        frame = tables.get(table, pd.DataFrame())
        if not frame.empty:
            entities_of = set(_prepare_metric_table(frame)[0]["entity"].unique())
            for kind in table_kinds:
                kinds.append(kind)
                served[kind] = entities_of
    if not handovers.empty:
        kinds += [k for k in sorted(handovers["kind"].unique()) if k not in kinds]
        counts = handovers.groupby(["entity", "kind"]).size().unstack(fill_value=0)
    else:
        counts = pd.DataFrame()
    for kind in kinds:
        n = (
            counts[kind].reindex(summary.index, fill_value=0)
            if kind in counts
            else pd.Series(0, index=summary.index)
        )
        rate = n / hours if hours > 0 else pd.Series(np.nan, index=summary.index)
        if kind in served:
            rate = rate.where(rate.index.isin(list(served[kind])) | (n > 0))
        summary[f"{kind}_handovers_per_h"] = rate
    if not visibility.empty and "n_visible" in visibility:
        summary["n_visible_median"] = visibility.groupby("entity")["n_visible"].median()
    if not groups.empty and "central_elevation_deg" in groups:
        summary["central_elevation_deg_median"] = groups.groupby("entity")[
            "central_elevation_deg"
        ].median()
    seen: set[str] = set(summary.columns)
    for table in METRIC_TABLES:
        raw = tables.get(table, pd.DataFrame())
        if raw.empty:
            continue
        frame, scheme = _prepare_metric_table(raw)
        keys = ["entity"] + ([scheme] if scheme else [])
        grouped = frame.groupby(keys, sort=False)
        for metric in metric_columns(raw):
            median = grouped[metric].median()
            p95 = grouped[metric].quantile(0.95)
            labels = [()] if not scheme else [(s,) for s in pd.unique(frame[scheme])]
            for label in labels:
                base = metric if not label else f"{metric} [{label[0]}]"
                if f"{base} median" in seen:
                    base = f"{table}.{base}"
                for stat, values in (("median", median), ("p95", p95)):
                    if label:
                        values = values.xs(label[0], level=scheme)
                    summary[f"{base} {stat}"] = values.reindex(summary.index)
                    seen.add(f"{base} {stat}")
    return summary


@dataclass
class FigureSpec:
    """One figure of the page: file name, one-line caption and a function returning the Figure."""

    name: str
    caption: str
    build: Callable


def figure_specs(tables: dict[str, pd.DataFrame], scenario: dict | None = None) -> list[FigureSpec]:
    """The figures this run's tables allow, in page order (absent tables -> no figure).
    scenario: the run's resolved scenario; when given, the ISL figure adds the links of the
    first epoch re-built from it (:func:`twin.rebuild.isl_snapshot`)."""
    groups = tables.get("groups", pd.DataFrame())
    visibility = tables.get("visibility", pd.DataFrame())
    handovers = tables.get("handovers", pd.DataFrame())
    isl = tables.get("isl", pd.DataFrame())
    specs = []
    n_entities = groups["entity"].nunique() if not groups.empty else 0
    geometry = ("central_elevation_deg" in groups) or ("n_visible" in visibility)
    if not groups.empty and not visibility.empty and geometry:
        specs.append(
            FigureSpec(
                "geometry_timeseries.png",
                "Central-satellite elevation and number of visible satellites per entity vs time; markers along "
                "the top mark handovers by kind (faint lines: central handovers), red shading epochs without a "
                f"valid serving group{_cap_note(n_entities, MAX_TIME_ENTITIES)}.",
                lambda: plots.geometry_timeseries(
                    groups, visibility, handovers, max_entities=MAX_TIME_ENTITIES
                ),
            )
        )
    for table in METRIC_TABLES:
        raw = tables.get(table, pd.DataFrame())
        metrics = metric_columns(raw) if not raw.empty else []
        if not metrics:
            continue
        frame, scheme = _prepare_metric_table(raw)
        frame, shown, note = _plot_metrics(frame, metrics)
        fixed = _fixed_schemes(raw)
        note = "; ".join(x for x in (fixed, note) if x)
        note = f" ({note})" if note else ""
        who = "target" if table == "isac" else "terminal"
        panels = plots.panels_by_unit(shown)
        omitted = sum(len(p) for p in panels[MAX_TIME_PANELS:])
        panels = panels[:MAX_TIME_PANELS]
        several = (
            frame.groupby([frame.index, "entity"] + ([scheme] if scheme else [])).size() > 1
        ).any()
        caption = [f"{table.upper()} accuracy and rate per {who} vs time, one panel per unit"]
        if scheme:
            caption.append("one line style per scheme")
        if several:
            caption.append(f"line: median over the {who}'s rows at each epoch, band: min to max")
        shaded = "status other than ok" if "status" in frame else "no valid serving group"
        if "replanned" in frame:
            caption.append("black ticks along the bottom: re-plans")
        caption.append(
            f"handovers of that {who} marked, red shading: {shaded}{note}"
            f"{_cap_note(frame['entity'].nunique(), MAX_TIME_ENTITIES)}"
        )
        if omitted:
            caption.append(f"{omitted} more metrics in the CDFs and the summary")
        specs.append(
            FigureSpec(
                f"{table}_timeseries.png",
                "; ".join(caption) + ".",
                lambda frame=frame, panels=panels, scheme=scheme, table=table: (
                    plots.timeseries_grid(
                        frame,
                        [m for p in panels for m in p],
                        handovers,
                        groups=_validity(frame, groups),
                        scheme=scheme,
                        title=f"{table.upper()} vs time",
                        entities=list(pd.unique(frame["entity"])),
                        panels=panels,
                        max_entities=MAX_TIME_ENTITIES,
                        span_label="status not ok" if "status" in frame else "no valid group",
                        replans=_replans(frame),
                    )
                ),
            )
        )
        by = scheme or "entity"
        specs.append(
            FigureSpec(
                f"{table}_cdf.png",
                f"Empirical CDFs of the {table.upper()} metrics over all rows "
                f"(epochs{', cells' if several else ''}), one line per "
                f"{'scheme (all ' + who + 's pooled)' if scheme else who}{note}.",
                lambda frame=frame, shown=shown, by=by, table=table: plots.cdf_panels(
                    frame, shown, by=by, title=f"{table.upper()}: distributions"
                ),
            )
        )
    if not groups.empty:
        geo = plots.merge_on_time_entity(
            groups, visibility, ["central_elevation_deg"], ["n_visible"]
        )
        metrics = [m for m in ("central_elevation_deg", "n_visible") if m in geo]
    if not groups.empty and metrics:
        specs.append(
            FigureSpec(
                "geometry_cdf.png",
                "Empirical CDFs of the central satellite's elevation and of the number of visible satellites, per entity.",
                lambda geo=geo, metrics=metrics: plots.cdf_panels(
                    geo,
                    metrics,
                    by="entity",
                    order=list(pd.unique(groups["entity"])),
                    title="Serving geometry: distributions",
                ),
            )
        )
    if not groups.empty:
        specs.append(
            FigureSpec(
                "ground_track.png",
                "Sub-satellite points of each entity's central (serving) satellite over the run "
                "(one line per serving satellite) and the entities' own tracks (star: start); "
                "grey: Natural Earth 1:110m coastlines"
                f"{_cap_note(n_entities, MAX_MAP_ENTITIES)}.",
                lambda: plots.ground_track(groups, visibility, max_entities=MAX_MAP_ENTITIES),
            )
        )
        specs.append(
            FigureSpec(
                "serving_timeline.png",
                "Who served when: each entity's central satellite over time, one colour per "
                "satellite (shared by the entities it serves at once), names in the wider bars; "
                f"hatched: no valid serving group{_cap_note(n_entities, MAX_MAP_ENTITIES)}.",
                lambda: plots.serving_timeline(groups, max_entities=MAX_MAP_ENTITIES),
            )
        )
        specs.append(
            FigureSpec(
                "handover_timeline.png",
                "Handovers: the rate per kind in equal bins (events per hour, all entities), "
                "every event by entity and kind, and, for runs of 20 min or more, a zoom on "
                f"the busiest {plots.ZOOM_WINDOW.total_seconds() / 60:g} minutes; red spans: "
                "epochs without a valid serving group.",
                lambda: plots.handover_timeline(handovers, groups),
            )
        )
    specs.extend(error_budget_specs(tables))
    if not isl.empty:
        specs.append(
            FigureSpec(
                "isl_topology.png",
                "Inter-satellite links over time: counts by kind, connected components, link "
                "lengths (series that do not change are named with their value); with the "
                "run's scenario at hand, the links of the first epoch re-built from it: length "
                "vs latitude of the link's midpoint and a map of the links.",
                lambda: plots.isl_topology(
                    isl, rebuild.isl_snapshot(scenario, isl.index[0]) if scenario else None
                ),
            )
        )
    specs += fault_specs(tables)
    return specs


def area_figure_specs(tables: dict[str, pd.DataFrame]) -> list[FigureSpec]:
    """Area maps and CDFs over area x time for runs with at least MIN_AREA_ENTITIES ISAC targets or
    PNT clusters (:func:`twin.results.area_summary`); none for smaller runs."""
    specs = []
    for table, summary in area_summary(tables).items():
        if len(summary) < MIN_AREA_ENTITIES:
            continue
        metrics = AREA_METRICS[table][3]
        who = "target" if table == "isac" else "cluster"
        columns = [f"{m}_{s}" for m in metrics for s in ("median", "p95")]
        columns += ["availability", "handovers_per_hour"]
        specs.append(
            FigureSpec(
                f"area_{table}_maps.png",
                f"{table.upper()} per {who} ({len(summary)} locations): median and 95th percentile of "
                f"{' and '.join(metrics)} over its rows, availability (share of rows with a valid group "
                "and an estimate) and handovers per hour; filled contours interpolate between locations.",
                lambda s=summary, c=columns, t=table: plots.area_maps(s, c, title=t.upper()),
            )
        )
        frame = tables[table]
        specs.append(
            FigureSpec(
                f"area_{table}_cdfs.png",
                f"{table.upper()}: CDFs of {' and '.join(metrics)} over every {who} x epoch"
                f"{' x UT' if table == 'pnt' else ''} row of the run (the share of rows without a "
                "finite value is the gap below 1).",
                lambda f=frame, m=metrics, t=table: plots.area_cdfs(f, list(m), title=t.upper()),
            )
        )
    return specs


def error_budget_specs(tables: dict[str, pd.DataFrame]) -> list[FigureSpec]:
    """The error-budget figures (docs/error-budget.md) of a run with ``[errors]`` on: PNT
    (parts per source, ideal ``fix_error_m``, total, CRLB) and ISAC (ideal ``error_m``,
    total with the believed satellites, RCRB). None when the tables carry no budget."""
    specs = []
    pnt = tables.get("pnt", pd.DataFrame())
    if "fix_error_total_m" in pnt:
        parts = {
            k: f"err_{k}_m" for k in ("ephemeris", "clock", "flight", "troposphere", "ionosphere")
        }
        parts["noise"] = "fix_error_m"
        specs.append(
            FigureSpec(
                "pnt_error_budget.png",
                "PNT error budget: left, RMS over the UTs of each source's part per epoch (each "
                "source alone on the same draws; noise = the ideal fix), stacked, and the total's "
                "RMS; right, CDFs of the ideal and total fix errors, each part and the CRLB.",
                lambda: plots.error_budget(
                    pnt,
                    parts,
                    ideal="fix_error_m",
                    total="fix_error_total_m",
                    bound="crlb_m",
                    title="PNT: where the positioning error comes from",
                ),
            )
        )
    isac = tables.get("isac", pd.DataFrame())
    if "error_total_m" in isac:
        specs.append(
            FigureSpec(
                "isac_error_budget.png",
                "ISAC error budget: left, the ideal estimate's error (noise) stacked per epoch and "
                "the total with the believed satellites; right, CDFs of both and of the RCRB.",
                lambda: plots.error_budget(
                    isac,
                    {"noise": "error_m"},
                    ideal="error_m",
                    total="error_total_m",
                    bound="rcrb_m",
                    title="ISAC: sensing error with the believed ephemeris",
                ),
            )
        )
    return specs


def _check_run_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"{run_dir}: no such directory (expected a run directory written by `twin run`)"
        )
    missing = [name for name in (RUN_INFO, "tables") if not (run_dir / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{run_dir}: not a run directory ({' and '.join(missing)} missing; "
            f"expected the output of `twin run`)"
        )


def _describe_constellation(scenario: dict) -> str:
    constellation = scenario.get("constellation", {})
    kind = constellation.get("kind", "?")
    if kind == "walker":
        shells = []
        for shell in constellation.get("shells", []):
            planes, total = int(shell.get("planes") or 1), int(shell.get("total") or 0)
            shells.append(
                f"{shell.get('name', 'shell')}: {planes} planes × {total // max(planes, 1)} ({total} "
                f"satellites), {float(shell.get('altitude_km', float('nan'))):g} km, "
                f"{float(shell.get('inclination_deg', float('nan'))):g}°"
            )
        return "Walker Delta; " + "; ".join(shells)
    files = constellation.get("tle_files") or constellation.get("tle_file") or ""
    if isinstance(files, list):
        files = ", ".join(str(f) for f in files)
    return f"{kind}: {files}" if files else str(kind)


def _info_rows(
    info: dict, scenario: dict, tables: dict[str, pd.DataFrame]
) -> list[tuple[str, str]]:
    sessions = info.get("sessions", [])
    stages: dict[str, float] = {}
    for session in sessions:
        for stage, seconds in session.get("stage_s", {}).items():
            stages[stage] = stages.get(stage, 0.0) + float(seconds)
    n_epochs, step_s = info.get("n_epochs"), info.get("step_s")
    targets = [t.get("name") for t in scenario.get("targets", [])]
    terminals = [t.get("name") for t in scenario.get("terminals", [])]
    rows = [
        ("run", str(info.get("name", ""))),
        ("status", str(info.get("status", ""))),
        ("scenario file", str(info.get("scenario", ""))),
        ("constellation", _describe_constellation(scenario)),
        ("satellites", str(info.get("n_satellites", ""))),
        (
            "targets / terminals",
            f"{', '.join(map(str, targets)) or '—'} / {', '.join(map(str, terminals)) or '—'}",
        ),
        ("start (UTC)", str(info.get("start", ""))),
        ("epochs", f"{n_epochs} × {float(step_s):g} s" if n_epochs and step_s else str(n_epochs)),
        (
            "simulated span",
            f"{(int(n_epochs) - 1) * float(step_s) / 3600.0:.3g} h" if n_epochs and step_s else "—",
        ),
        ("seed", str(info.get("seed", ""))),
        (
            "wall time",
            f"{float(info.get('wall_s_total', float('nan'))):.1f} s in {len(sessions)} session(s)",
        ),
        (
            "time by stage",
            ", ".join(f"{k} {v:.1f} s" for k, v in sorted(stages.items(), key=lambda kv: -kv[1]))
            or "—",
        ),
        ("tables", ", ".join(f"{name} ({len(frame)} rows)" for name, frame in tables.items())),
        ("versions", ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items())),
    ]
    return rows


_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td.key, th.key { text-align: left; }
table.info td { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.95em; }
.scroll { overflow-x: auto; }
"""


def describe_column(column: str) -> str:
    """A readable description of a summary column ("rcrb_m [alg2] p95" -> "RCRB (m), 95th
    percentile [alg2]")."""
    fixed = {
        "role": "role",
        "epochs": "epochs recorded",
        "valid_group_fraction": "fraction of epochs with a valid serving group",
    }
    if column in fixed:
        return fixed[column]
    if column.endswith("_handovers_per_h"):
        return f"{column[: -len('_handovers_per_h')]} handovers per hour"
    match = re.match(r"^(?:(\w+)\.)?(\w+?)(?: \[(.*)\])?[ _](median|p95)$", column)
    if not match:
        return column
    table, metric, scheme, stat = match.groups()
    text = f"{plots.axis_label(metric)}, {'median' if stat == 'median' else '95th percentile'}"
    if scheme:
        text += f" [{scheme}]"
    return f"{table}: {text}" if table else text


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "—"
        return f"{value:.3g}" if abs(value) < 1e5 else f"{value:.3e}"
    return html.escape(str(value))


def _summary_html(summary: pd.DataFrame, max_transposed: int = 12) -> str:
    """The summary as an HTML table: one column per entity (one row per quantity, with its
    description) when there are at most `max_transposed` entities, else one row per entity."""
    if len(summary) <= max_transposed:
        header = "".join(f"<th>{html.escape(str(e))}</th>" for e in summary.index)
        body = []
        for column in summary.columns:
            cells = "".join(f"<td>{_fmt(v)}</td>" for v in summary[column].to_numpy())
            body.append(
                f"<tr><td class=key>{html.escape(describe_column(column))}</td>"
                f"<td class=key><code>{html.escape(column)}</code></td>{cells}</tr>"
            )
        return (
            f"<div class=scroll><table class=summary><thead><tr><th class=key>quantity</th>"
            f"<th class=key>summary.csv column</th>{header}</tr></thead><tbody>{''.join(body)}</tbody>"
            f"</table></div>"
        )
    header = "".join(
        f'<th title="{html.escape(describe_column(str(c)))}">{html.escape(str(c))}</th>'
        for c in summary.columns
    )
    body = []
    for entity, row in summary.iterrows():
        cells = "".join(f"<td>{_fmt(v)}</td>" for v in row.to_numpy())
        body.append(f"<tr><th class=key>{html.escape(str(entity))}</th>{cells}</tr>")
    return (
        f"<div class=scroll><table class=summary><thead><tr><th class=key>entity</th>{header}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _map_html(facts: dict | None) -> str:
    if not facts:
        return ""
    every = f"every {facts['every']}th epoch" if facts["every"] > 1 else "every epoch"
    members = (
        "group members re-propagated from the run's scenario"
        if facts["members_propagated"]
        else "central satellites only (the constellation could not be rebuilt)"
    )
    return (
        '<h2>Interactive map</h2><iframe src="map.html" title="interactive map" '
        'style="width:100%;height:640px;border:1px solid #ddd"></iframe>'
        f'<p><a href="map.html">map.html</a> (self-contained, works offline; OpenStreetMap tiles '
        f"need a network): time slider over {facts['frames']} frames ({every} of "
        f"{facts['epochs']}), {facts['entities']} entities, {facts['features']} features, "
        f"{members}. Hover for values.</p>"
    )


def render_html(
    info: dict,
    scenario: dict,
    tables: dict[str, pd.DataFrame],
    summary: pd.DataFrame,
    figures: list[tuple[str, str]],
    map_facts: dict | None = None,
) -> str:
    """The page: run facts, the summary table, the interactive map (when `map_facts`, from
    :func:`twin.webmap.write_map`), then each (png name, caption) figure."""
    title = f"leo-twin run {info.get('name', '')}"
    rows = "".join(
        f"<tr><td class=key><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
        for k, v in _info_rows(info, scenario, tables)
    )
    figs = "".join(
        f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
        f"<figcaption><b>Figure {i}.</b> {html.escape(caption)}</figcaption></figure>"
        for i, (name, caption) in enumerate(figures, start=1)
    )
    note = (
        "Handovers per hour: events of that kind divided by (epochs − 1) × step; a process's own kinds "
        "(isac_beams, pnt_…) show — for entities that process does not serve. Medians and 95th "
        "percentiles are over the entity's rows (epochs, and cells for a PNT cluster), missing values "
        'left out; [name] marks a scheme. One row per entity in <a href="summary.csv">summary.csv</a>.'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<h2>Run</h2>
<table class=info>{rows}</table>
<h2>Summary per entity</h2>
{_summary_html(summary)}
<p>{note}</p>
{_map_html(map_facts)}
{fault_html(tables)}
<h2>Figures</h2>
{figs}
</body></html>
"""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the figures, ``summary.csv`` and ``index.html`` of a run; returns the page's path.

    run_dir: a run directory written by ``twin run`` (``run.json`` and ``tables/``),
    else FileNotFoundError saying so. out: folder for the report (default
    ``RUN_DIR/report``), created if needed; existing files of the same names are replaced.
    """
    run_dir = Path(run_dir)
    _check_run_dir(run_dir)
    out = Path(out) if out is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    info = read_json(run_dir / RUN_INFO)
    scenario_path = run_dir / RESOLVED_SCENARIO
    scenario = read_json(scenario_path) if scenario_path.exists() else {}
    tables = load(run_dir)
    summary = summary_table(tables, info)
    summary.to_csv(out / "summary.csv")
    written = []
    for spec in figure_specs(tables, scenario) + area_figure_specs(tables):
        fig = spec.build()
        if "faults" in tables:  # [[faults]]: outages on every time axis
            plots.mark_faults(fig, plots.fault_intervals(tables["faults"], summary_end(tables)))
        fig.savefig(out / spec.name, dpi=100)
        written.append((spec.name, spec.caption))
    map_facts = None
    if not tables.get("groups", pd.DataFrame()).empty:
        map_facts = webmap.write_map(tables, scenario, out / "map.html")
    page = out / "index.html"
    page.write_text(
        render_html(info, scenario, tables, summary, written, map_facts), encoding="utf-8"
    )
    return page


# ------------------------------------------------------------------ faults ([[faults]])
#: Accuracy columns compared with and without faults, per process table.
FAULT_METRICS = {"isac": ("rcrb_m", "error_m", "rate_min_bps_hz"), "pnt": ("crlb_m", "fix_error_m")}


def _available(frame: pd.DataFrame, table: str) -> pd.Series:
    """Per row: a valid group (status ok) and an estimate (a finite error / CRLB)."""
    metric = "error_m" if table == "isac" else "crlb_m"
    return frame["status"].eq("ok") & np.isfinite(frame[metric].astype(float))


def fault_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Availability and accuracy per process, over all rows and split by ``fault_affected``
    (a fault touched the entity at that epoch). Availability: share of rows (epoch × target,
    epoch × cluster UT) with a valid group and an estimate; accuracy: median and 95th
    percentile over the rows with an estimate."""
    rows = []
    for table, metrics in FAULT_METRICS.items():
        frame = tables.get(table, pd.DataFrame())
        if frame.empty or "fault_affected" not in frame:
            continue
        ok = _available(frame, table)
        for subset, pick in (
            ("all rows", np.ones(len(frame), dtype=bool)),
            ("touched by a fault", frame["fault_affected"].to_numpy(dtype=bool)),
            ("not touched", ~frame["fault_affected"].to_numpy(dtype=bool)),
        ):
            row = {"process": table, "rows": subset, "n": int(pick.sum())}
            row["availability"] = float(ok[pick].mean()) if pick.any() else np.nan
            for metric in metrics:
                values = frame.loc[pick & ok.to_numpy(), metric].astype(float)
                values = values[np.isfinite(values)]
                row[f"{metric} median"] = float(values.median()) if len(values) else np.nan
                row[f"{metric} p95"] = float(values.quantile(0.95)) if len(values) else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def summary_end(tables: dict[str, pd.DataFrame]):
    """The run's last epoch time (from the groups or epochs table)."""
    for name in ("groups", "epochs"):
        if not tables.get(name, pd.DataFrame()).empty:
            return tables[name].index.max()
    return tables["faults"].index.max()


def fault_specs(tables: dict[str, pd.DataFrame]) -> list[FigureSpec]:
    """The faults figure when the run has a ``faults`` table."""
    faults = tables.get("faults")
    groups = tables.get("groups", pd.DataFrame())
    if faults is None or groups.empty:
        return []
    intervals = plots.fault_intervals(faults, groups.index.max())
    availability = {
        table: _available(tables[table], table).groupby(level=0).mean()
        for table in FAULT_METRICS
        if not tables.get(table, pd.DataFrame()).empty
    }
    return [
        FigureSpec(
            "faults_timeline.png",
            "Satellites, payloads and ISLs switched off by [[faults]] vs time, and the share of "
            "rows (epoch × target, epoch × cluster UT) with a valid group and an estimate.",
            lambda: plots.fault_timeline(intervals, groups.index, availability),
        )
    ]


def fault_html(tables: dict[str, pd.DataFrame]) -> str:
    """The page's Faults section (empty without a ``faults`` table)."""
    if tables.get("faults") is None:
        return ""
    summary = fault_summary(tables)
    body = summary.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
    return (
        "<h2>Faults</h2>\n"
        f"<p>{len(tables['faults'])} fault events. Availability: share of rows with a valid "
        "group and an estimate; accuracy: median and 95th percentile over those rows; "
        "'touched by a fault': a satellite in view was off for the entity, or a link "
        "of its group (column fault_affected).</p>\n" + body
    )
