"""`twin export czml RUN_DIR`: a run as CZML (czml3) for a 3-D view in Cesium: the serving
satellites' orbits, the ground entities, who served whom when, and the ISLs among the drawn
satellites.

The document holds

- the satellites that were members of some entity's serving group (at most
  :data:`MAX_SATELLITES`, the most often serving first), re-propagated from the run's
  resolved scenario (:func:`twin.rebuild.member_points`) at the report map's frames
  (:func:`twin.webmap.frame_times`), interpolated by Cesium (Lagrange, degree 5), each with a
  point, a label and a trailing orbit path;
- each ground entity (``visibility``: its track over the run);
- the serving links: a line entity -> central satellite, shown while that satellite was the
  central (:func:`twin.plots.serving_segments`);
- the ISLs of the first epoch (:func:`twin.rebuild.isl_snapshot`) whose two ends are drawn
  satellites, shown over the whole run (on a Walker shell the +Grid does not change; on a
  real constellation it is the first epoch's topology).

Cesium needs no access token for this: open the file in a viewer whose imagery is the
Natural Earth II texture shipped with CesiumJS (docs/report.md shows the few lines).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from czml3 import Document, Packet
from czml3.properties import (
    Clock,
    Color,
    Label,
    Point,
    Polyline,
    PolylineMaterial,
    Position,
    PositionList,
    SolidColorMaterial,
)
from czml3.properties import (
    Path as OrbitPath,
)
from czml3.types import IntervalValue, TimeInterval, TimeIntervalCollection
from matplotlib.colors import to_rgba

from twin.plots import serving_segments
from twin.rebuild import isl_snapshot, member_points
from twin.results import load
from twin.rundir import RESOLVED_SCENARIO, read_json
from twin.webmap import MAX_ENTITIES, frame_times

#: At most this many satellites in the document.
MAX_SATELLITES = 300


def _rgba(colour, alpha: float = 1.0) -> Color:
    r, g, b, _ = to_rgba(colour)
    return Color(rgba=[round(255 * r), round(255 * g), round(255 * b), round(255 * alpha)])


def _line(colour, alpha: float, width: float) -> dict:
    return {
        "width": width,
        "material": PolylineMaterial(solidColor=SolidColorMaterial(color=_rgba(colour, alpha))),
    }


def czml_document(run_dir: str | Path) -> tuple[Document, dict]:
    """The CZML document of a run and facts about it (satellites, entities, links, ISLs)."""
    run_dir = Path(run_dir)
    tables = load(run_dir, ["groups", "visibility"])
    scenario = read_json(run_dir / RESOLVED_SCENARIO)
    groups, visibility = tables["groups"], tables["visibility"]
    if groups.empty:
        raise ValueError(f"{run_dir}: the run has no groups table to export")
    start = groups.index.min()
    frames = frame_times(groups.index)
    step = pd.Timedelta(seconds=float(scenario.get("run", {}).get("step", 0.0) or 0.0))
    stop = groups.index.max() + step
    whole = TimeInterval(start=start.to_pydatetime(), end=stop.to_pydatetime())
    counts = (
        groups["members"].dropna().str.split(";").explode().loc[lambda s: s != ""].value_counts()
    )
    names = list(counts.index[:MAX_SATELLITES])
    points = member_points(scenario, names, frames)
    packets = [
        Packet(
            id="document",
            name=f"leo-twin run {run_dir.name}",
            version="1.0",
            clock=IntervalValue(
                start=start.to_pydatetime(),
                end=stop.to_pydatetime(),
                value=Clock(currentTime=start.to_pydatetime(), multiplier=60),
            ),
        )
    ]
    drawn = set()
    period_s = 1500.0
    for sat in names:
        if sat not in points.index.get_level_values("sat"):
            continue
        rows = points.xs(sat, level="sat")
        samples = []
        for time, row in rows.iterrows():
            samples += [
                (time - start).total_seconds(),
                round(float(row["lon_deg"]), 5),
                round(float(row["lat_deg"]), 5),
                round(float(row["alt_km"]) * 1e3, 1),
            ]
        drawn.add(sat)
        packets.append(
            Packet(
                id=f"sat/{sat}",
                name=sat,
                availability=whole,
                position=Position(
                    epoch=start.to_pydatetime(),
                    cartographicDegrees=samples,
                    interpolationAlgorithm="LAGRANGE",
                    interpolationDegree=5,
                ),
                point=Point(pixelSize=5, color=_rgba("white")),
                label=Label(text=sat, scale=0.4, show=True),
                path=OrbitPath(leadTime=0, trailTime=period_s, **_line("white", 0.4, 1)),
            )
        )
    entities = list(pd.unique(groups["entity"]))[:MAX_ENTITIES]
    n_serving = 0
    for i, entity in enumerate(entities):
        colour = f"C{i % 10}"
        track = visibility[visibility["entity"] == entity] if not visibility.empty else None
        if track is None or track.empty:
            continue
        track = track[~track.index.duplicated()]
        samples = []
        for time, row in track.iterrows():
            samples += [
                (time - start).total_seconds(),
                round(float(row["lon_deg"]), 6),
                round(float(row["lat_deg"]), 6),
                round(float(row["alt_m"]), 1),
            ]
        packets.append(
            Packet(
                id=f"entity/{entity}",
                name=str(entity),
                availability=whole,
                position=Position(epoch=start.to_pydatetime(), cartographicDegrees=samples),
                point=Point(pixelSize=10, color=_rgba(colour)),
                label=Label(text=str(entity), scale=0.6),
            )
        )
        for k, seg in enumerate(serving_segments(groups, entity).itertuples()):
            if not seg.valid or seg.central not in drawn:
                continue
            n_serving += 1
            packets.append(
                Packet(
                    id=f"serving/{entity}/{k}",
                    name=f"{entity} served by {seg.central}",
                    availability=TimeIntervalCollection(
                        values=[
                            TimeInterval(
                                start=seg.start.to_pydatetime(), end=seg.stop.to_pydatetime()
                            )
                        ]
                    ),
                    polyline=Polyline(
                        positions=PositionList(
                            references=[f"entity/{entity}#position", f"sat/{seg.central}#position"]
                        ),
                        **_line(colour, 0.9, 2),
                    ),
                )
            )
    links = isl_snapshot(scenario, start)
    n_isl = 0
    if not links.empty:
        links = links[links["sat_a"].isin(drawn) & links["sat_b"].isin(drawn)]
        for row in links.itertuples():
            n_isl += 1
            packets.append(
                Packet(
                    id=f"isl/{row.sat_a}/{row.sat_b}",
                    name=f"{row.kind}-plane ISL {row.sat_a} - {row.sat_b} ({row.length_km:.0f} km)",
                    availability=whole,
                    polyline=Polyline(
                        positions=PositionList(
                            references=[f"sat/{row.sat_a}#position", f"sat/{row.sat_b}#position"]
                        ),
                        **_line("tab:blue" if row.kind == "intra" else "tab:orange", 0.6, 1),
                    ),
                )
            )
    facts = {
        "satellites": len(drawn),
        "entities": len(entities),
        "serving_links": n_serving,
        "isls": n_isl,
        "samples": len(frames),
    }
    return Document(packets=packets), facts


def export_czml(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, dict]:
    """Write the run's CZML (default ``RUN_DIR/report/run.czml``); returns (path, facts)."""
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "report" / "run.czml"
    document, facts = czml_document(run_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document.dumps(), encoding="utf-8")
    facts["bytes"] = out.stat().st_size
    return out, facts
