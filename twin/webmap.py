"""The interactive map of a run: one self-contained HTML page (folium, i.e. Leaflet, with the
Leaflet.TimeDimension time slider) that ``twin report`` writes as ``report/map.html``.

The slider steps over the run's epochs (at most :data:`MAX_FRAMES` frames: every k-th epoch,
k = ceil(n_epochs / MAX_FRAMES), so a 2-hour run at 10 s shows every 4th epoch). Each frame draws

- the sub-satellite points (geodetic, WGS84) of every entity's serving-group members, one point
  per satellite shared by the entities it serves, the central satellites larger; the members are
  re-propagated from the run's resolved scenario (:func:`twin.rebuild.member_points`), and when that is not
  possible (a TLE file that moved) only the central satellites of the ``groups`` table are drawn;
- the group's links: a line from the entity to each member (thick: the central satellite);
- each entity's true position (``visibility``) and each ISAC target's estimate (``isac``);
- the handovers of the epochs since the previous frame as rings round the entity, one ring per
  kind in the colour of the static figures (:func:`twin.plots.kind_styles`);
- hover tooltips with the values (central satellite, elevation, visible satellites, RCRB and
  error of a target, √CRLB, GDOP and fix error of a PNT cluster's centre cell).

Static layers: the entities' whole tracks and the ISAC estimates' tracks, Natural Earth
1:110m coastlines shipped with the package (the base map offline), OpenStreetMap tiles (only
online; no access token). folium's CDN links are replaced by the vendored files of
``twin/assets/webmap`` (see its README), so the page needs no network.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path

import folium
import numpy as np
import pandas as pd
from branca.element import Element
from folium.plugins import TimestampedGeoJson
from folium.template import Template
from matplotlib.colors import to_hex

from twin.plots import kind_styles
from twin.rebuild import member_points

#: At most this many time-slider frames (epochs are subsampled evenly above it).
MAX_FRAMES = 240
#: At most this many entities on the map (the first ones of the ``groups`` table).
MAX_ENTITIES = 12
ASSETS = Path(__file__).parent / "assets" / "webmap"

#: folium's CDN assets -> vendored file (None: dropped, the map does not use it).
_ASSET_FOR = {
    "leaflet.js": "leaflet.js",
    "leaflet.css": "leaflet.css",
    "leaflet.timedimension.min.js": "leaflet.timedimension.min.js",
    "leaflet.timedimension.control.css": "leaflet.timedimension.control.css",
    "iso8601.min.js": "iso8601.js",
    "moment.min.js": "moment.min.js",
}
#: Unicode symbols for the player buttons (the timedimension CSS wants a CDN icon font).
_BUTTON_CSS = """
.leaflet-bar-timecontrol .leaflet-control-timecontrol:before { font-family: inherit; }
.timecontrol-play:before { content: "\\25B6"; }
.timecontrol-play.pause:before { content: "\\275A\\275A"; }
.timecontrol-forward:before { content: "\\25B6\\007C"; }
.timecontrol-backward:before { content: "\\007C\\25C0"; }
.timecontrol-loop:before { content: "\\21BB"; }
.timecontrol-speed:before { content: "\\00BB"; }
a.timecontrol-play.loading:before, .timecontrol-date.loading:before { content: "\\2026"; }
.twin-legend { background: white; padding: 6px 8px; font: 12px/1.4 sans-serif;
               border: 1px solid #bbb; border-radius: 4px; max-width: 260px; }
.twin-legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
                 margin-right: 4px; vertical-align: middle; }
"""


class _TimeSlider(TimestampedGeoJson):
    """folium's TimestampedGeoJson showing the slider's time in UTC (``moment.utc``; the
    plugin formats local time) and without its ``console.log`` of every date; only the
    assets it uses (no jQuery, jQuery UI or highlight.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.Control.TimeDimensionCustom = L.Control.TimeDimension.extend({
                _getDisplayDateFormat: function(date){
                    return moment.utc(date).format("{{this.date_options}}");
                }
            });
            {{this._parent.get_name()}}.timeDimension = L.timeDimension(
                {period: {{ this.period|tojson }}}
            );
            var timeDimensionControl = new L.Control.TimeDimensionCustom(
                {{ this.options|tojavascript }}
            );
            {{this._parent.get_name()}}.addControl(timeDimensionControl);
            var geoJsonLayer = L.geoJson({{this.data}}, {
                pointToLayer: function (feature, latLng) {
                    return new L.circleMarker(latLng, feature.properties.style);
                },
                style: function (feature) { return feature.properties.style; },
                onEachFeature: function(feature, layer) {
                    if (feature.properties.tooltip) {
                        layer.bindTooltip(feature.properties.tooltip, {sticky: true});
                    }
                }
            });
            var {{this.get_name()}} = L.timeDimension.layer.geoJson(
                geoJsonLayer,
                {updateTimeDimension: true, addlastPoint: false, duration: {{ this.duration }}}
            ).addTo({{this._parent.get_name()}});
        {% endmacro %}
        """
    )
    default_js = [
        ("iso8601", "https://cdn.jsdelivr.net/npm/iso8601-js-period@0.2.1/iso8601.min.js"),
        (
            "leaflet.timedimension",
            "https://cdn.jsdelivr.net/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.min.js",
        ),
        ("moment", "https://cdnjs.cloudflare.com/ajax/libs/moment.js/2.18.1/moment.min.js"),
    ]
    default_css = [
        (
            "leaflet.timedimension_css",
            "https://cdn.jsdelivr.net/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.control.css",
        )
    ]


def frame_times(times: pd.DatetimeIndex, max_frames: int = MAX_FRAMES) -> pd.DatetimeIndex:
    """Every k-th of the distinct sorted `times`, k = ceil(n / max_frames) (all when n <= max)."""
    times = pd.DatetimeIndex(times.unique()).sort_values()
    step = max(1, math.ceil(len(times) / max_frames))
    return times[::step]


def _fmt(value, unit: str = "", digits: int = 3) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if not math.isfinite(value):
        return "—"
    return f"{value:.{digits}g}{(' ' + unit) if unit else ''}"


def _ms(time: pd.Timestamp) -> int:
    return int(time.value // 1_000_000)


def _point(lon: float, lat: float, t_ms: int, style: dict, tooltip: str) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 4), round(lat, 4)]},
        "properties": {"times": [t_ms], "style": style, "tooltip": tooltip},
    }


def _lines(segments: list, t_ms: int, style: dict, tooltip: str) -> dict:
    """A MultiLineString shown at one time (its ``times`` repeat t once per line: the plugin
    slices a multi-geometry's coordinates by its times)."""
    coords = [[[round(a, 4), round(b, 4)] for a, b in seg] for seg in segments]
    return {
        "type": "Feature",
        "geometry": {"type": "MultiLineString", "coordinates": coords},
        "properties": {"times": [t_ms] * len(coords), "style": style, "tooltip": tooltip},
    }


def _frame_of(times: pd.DatetimeIndex, frames: pd.DatetimeIndex) -> np.ndarray:
    """Index of the first frame at or after each time (events between frames go to the next
    one; past the last frame: the last)."""
    ns = frames.as_unit("ns").asi8
    at = np.searchsorted(ns, pd.DatetimeIndex(times).as_unit("ns").asi8, side="left")
    return np.minimum(at, len(frames) - 1)


def _centre_cells(pnt: pd.DataFrame) -> pd.DataFrame:
    if pnt.empty or "cluster" not in pnt:
        return pd.DataFrame()
    rows = pnt[pnt["ut"] == 0] if "ut" in pnt else pnt
    return rows.set_index("cluster", append=True)


def map_features(
    tables: dict[str, pd.DataFrame],
    frames: pd.DatetimeIndex,
    points: pd.DataFrame,
    colours: dict[str, str],
) -> list[dict]:
    """The time-stamped GeoJSON features of every frame (see the module docstring).

    tables: the run's tables (``groups`` needed; ``visibility``, ``isac``, ``pnt``,
    ``handovers`` used when present); frames: the slider's times; points: member
    sub-satellite points (:func:`twin.rebuild.member_points`, may be empty); colours: entity -> hex.
    """
    groups = tables["groups"]
    groups = groups[groups["entity"].isin(list(colours)) & groups.index.isin(frames)]
    visibility = tables.get("visibility", pd.DataFrame())
    isac = tables.get("isac", pd.DataFrame())
    pnt_centre = _centre_cells(tables.get("pnt", pd.DataFrame()))
    where = (
        visibility.set_index("entity", append=True)
        if not visibility.empty
        else pd.DataFrame(columns=["lat_deg", "lon_deg"])
    )
    isac_by = (
        isac.set_index("target", append=True)
        if not isac.empty and "target" in isac
        else pd.DataFrame()
    )
    # one row per (time, entity) for the look-ups (a run has no duplicates; be safe)
    where = where[~where.index.duplicated()]
    isac_by = isac_by[~isac_by.index.duplicated()]
    pnt_centre = pnt_centre[~pnt_centre.index.duplicated()]
    features: list[dict] = []
    for time, rows in groups.groupby(level=0, sort=True):
        t_ms = _ms(time)
        served: dict[str, list[tuple[str, bool]]] = {}  # sat -> (entity, central?)
        sat_at: dict[str, tuple[float, float]] = {}
        for _, row in rows.iterrows():
            entity = row["entity"]
            if (time, entity) not in where.index:
                continue
            here = where.loc[(time, entity)]
            lat0, lon0 = float(here["lat_deg"]), float(here["lon_deg"])
            colour = colours[entity]
            members = [m for m in str(row.get("members", "") or "").split(";") if m]
            central = str(row.get("central", "") or "")
            if central and np.isfinite(row.get("central_lat_deg", np.nan)):
                sat_at[central] = (float(row["central_lat_deg"]), float(row["central_lon_deg"]))
            for sat in members:
                if (time, sat) in points.index and sat not in sat_at:
                    p = points.loc[(time, sat)]
                    sat_at[sat] = (float(p["lat_deg"]), float(p["lon_deg"]))
            for sat in members or ([central] if central else []):
                served.setdefault(sat, []).append((entity, sat == central))
            # links: entity -> central (thick), entity -> other members (thin, dashed)
            others = [s for s in members if s != central and s in sat_at]
            if others:
                features.append(
                    _lines(
                        [[(lon0, lat0), sat_at[s][::-1]] for s in others],
                        t_ms,
                        {"color": colour, "weight": 1.5, "opacity": 0.7, "dashArray": "4 4"},
                        f"{html.escape(entity)}: links to {len(others)} group member(s)",
                    )
                )
            if central in sat_at:
                features.append(
                    _lines(
                        [[(lon0, lat0), sat_at[central][::-1]]],
                        t_ms,
                        {"color": colour, "weight": 3.5, "opacity": 0.9},
                        f"{html.escape(entity)} → central {html.escape(central)}, elevation "
                        f"{_fmt(row.get('central_elevation_deg'), '°')}",
                    )
                )
            # the entity itself, with its values
            tip = [
                f"<b>{html.escape(entity)}</b> ({html.escape(str(row.get('role', '')))})",
                f"{lat0:.4f}°, {lon0:.4f}°",
                f"visible satellites: {_fmt(here.get('n_visible'))}",
                f"central: {html.escape(central) or '—'}, elevation "
                f"{_fmt(row.get('central_elevation_deg'), '°')}",
                f"group: {len(members)} member(s)"
                + ("" if bool(row.get("valid", True)) else " — <b>no valid group</b>"),
            ]
            if (time, entity) in isac_by.index:
                i = isac_by.loc[(time, entity)]
                tip.append(
                    f"ISAC: RCRB {_fmt(i.get('rcrb_m'), 'm')}, error {_fmt(i.get('error_m'), 'm')},"
                    f" min rate {_fmt(i.get('rate_min_bps_hz'), 'bit/s/Hz')}"
                )
            if (time, entity) in pnt_centre.index:
                c = pnt_centre.loc[(time, entity)]
                tip.append(
                    f"PNT centre cell: √CRLB {_fmt(c.get('crlb_m'), 'm')}, GDOP "
                    f"{_fmt(c.get('gdop'))}, fix error {_fmt(c.get('fix_error_h_m'), 'm')} "
                    f"({html.escape(str(c.get('status', '')))})"
                )
            valid = bool(row.get("valid", True))
            features.append(
                _point(
                    lon0,
                    lat0,
                    t_ms,
                    {
                        "radius": 7,
                        "color": "black" if valid else "#d62728",
                        "weight": 2 if valid else 3,
                        "fillColor": colour,
                        "fillOpacity": 0.9,
                    },
                    "<br>".join(tip),
                )
            )
            if (time, entity) in isac_by.index:
                i = isac_by.loc[(time, entity)]
                if np.isfinite(i.get("est_lat_deg", np.nan)):
                    features.append(
                        _point(
                            float(i["est_lon_deg"]),
                            float(i["est_lat_deg"]),
                            t_ms,
                            {
                                "radius": 4,
                                "color": colour,
                                "weight": 2,
                                "fillColor": "white",
                                "fillOpacity": 1.0,
                            },
                            f"estimate of {html.escape(entity)}: error {_fmt(i.get('error_m'), 'm')}"
                            f" (horizontal {_fmt(i.get('error_h_m'), 'm')})",
                        )
                    )
        for sat, users in served.items():
            if sat not in sat_at:
                continue
            lat, lon = sat_at[sat]
            is_central = any(c for _, c in users)
            entities = sorted({e for e, _ in users})
            colour = colours[entities[0]] if len(entities) == 1 else "#444444"
            roles = ", ".join(
                f"{html.escape(e)} ({'central' if c else 'member'})" for e, c in users
            )
            features.append(
                _point(
                    lon,
                    lat,
                    t_ms,
                    {
                        "radius": 6 if is_central else 4,
                        "color": "#222222",
                        "weight": 1,
                        "fillColor": colour,
                        "fillOpacity": 0.8,
                    },
                    f"<b>{html.escape(sat)}</b><br>sub-satellite point {lat:.2f}°, {lon:.2f}°"
                    f"<br>serves: {roles}",
                )
            )
    features += _handover_features(tables, frames, where, colours)
    return features


def _handover_features(
    tables: dict[str, pd.DataFrame],
    frames: pd.DatetimeIndex,
    where: pd.DataFrame,
    colours: dict[str, str],
) -> list[dict]:
    """One ring per (frame, entity, kind) of the handovers since the previous frame, round the
    entity's position at that frame, in the kind's colour; the tooltip lists the events."""
    handovers = tables.get("handovers", pd.DataFrame())
    if handovers.empty:
        return []
    handovers = handovers[handovers["entity"].isin(list(colours))]
    styles = {k: to_hex(s["color"]) for k, s in kind_styles(handovers["kind"].unique()).items()}
    rank = {k: i for i, k in enumerate(styles)}
    at = frames[_frame_of(handovers.index, frames)]
    features = []
    for (time, entity, kind), events in handovers.groupby(
        [at, handovers["entity"], handovers["kind"]], sort=True
    ):
        if (time, entity) not in where.index:
            continue
        here = where.loc[(time, entity)]
        lines = [
            f"{html.escape(str(e.get('from_sat', '')))} → {html.escape(str(e.get('to_sat', '')))}"
            f" ({html.escape(str(e.get('reason', '')))})"
            for _, e in events.head(5).iterrows()
        ]
        more = f"<br>… and {len(events) - 5} more" if len(events) > 5 else ""
        features.append(
            _point(
                float(here["lon_deg"]),
                float(here["lat_deg"]),
                _ms(time),
                {
                    "radius": 11 + 3 * rank[kind],
                    "color": styles[kind],
                    "weight": 2,
                    "fill": False,
                },
                f"<b>{html.escape(entity)}: {len(events)} {html.escape(kind)} handover(s)</b>"
                f"<br>{'<br>'.join(lines)}{more}",
            )
        )
    return features


def _legend(colours: dict[str, str], kinds: list[str], step_text: str, note: str) -> str:
    styles = {k: to_hex(s["color"]) for k, s in kind_styles(kinds).items()}
    entity_rows = "".join(
        f"<div><i style='background:{c}'></i>{html.escape(e)}</div>" for e, c in colours.items()
    )
    kind_rows = "".join(
        f"<div><i style='border:2px solid {c};background:none'></i>{html.escape(k)} handover</div>"
        for k, c in styles.items()
    )
    return (
        "<details open class='twin-legend'><summary>legend</summary><b>entities</b> (black ring; red ring: no valid group; "
        f"white dot: ISAC estimate){entity_rows}<b>satellites</b>: sub-satellite points of "
        "the group members (larger: central; grey: serves several entities), thick line: "
        f"link to the central, dashed: to the other members{kind_rows and '<br><b>handovers</b> since the previous frame'}"
        f"{kind_rows}<div style='color:#555'>{html.escape(step_text)}{html.escape(note)}</div></details>"
    )


def build_map(
    tables: dict[str, pd.DataFrame], scenario: dict, max_frames: int = MAX_FRAMES
) -> tuple[folium.Map, dict]:
    """The folium Map of a run and facts about it (frames, step, features, member source)."""
    groups = tables["groups"]
    entities = list(pd.unique(groups["entity"]))[:MAX_ENTITIES]
    colours = {e: to_hex(f"C{i % 10}") for i, e in enumerate(entities)}
    frames = frame_times(groups.index, max_frames)
    n_epochs = groups.index.nunique()
    names = sorted(
        {
            m
            for members in groups.loc[groups.index.isin(frames), "members"].dropna()
            for m in str(members).split(";")
            if m
        }
        if "members" in groups
        else set()
    )
    points = member_points(scenario, names, frames)
    features = map_features(tables, frames, points, colours)
    step_s = (frames[1] - frames[0]).total_seconds() if len(frames) > 1 else 0.0
    every = max(1, math.ceil(n_epochs / max_frames))
    step_text = (
        f"{len(frames)} frames of {n_epochs} epochs"
        + (
            f" (every {every}th epoch, {step_s:g} s apart)"
            if every > 1
            else f", {step_s:g} s apart"
        )
        + ". "
    )
    note = (
        ""
        if len(points) or not names
        else "Members' positions unavailable (constellation not rebuilt): central satellites only."
    )
    visibility = tables.get("visibility", pd.DataFrame())
    lats = list(groups["central_lat_deg"].dropna()) if "central_lat_deg" in groups else []
    lons = list(groups["central_lon_deg"].dropna()) if "central_lon_deg" in groups else []
    if not visibility.empty:
        lats += list(visibility["lat_deg"])
        lons += list(visibility["lon_deg"])
    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online only)").add_to(fmap)
    land = json.loads((ASSETS / "land-110m.json").read_text(encoding="utf-8"))
    coast = folium.FeatureGroup(name="coastlines (Natural Earth 1:110m, offline)")
    folium.PolyLine(coastlines(land), color="#777777", weight=1).add_to(coast)
    coast.add_to(fmap)
    tracks = folium.FeatureGroup(name="entity tracks (whole run)")
    for entity, colour in colours.items():
        if not visibility.empty:
            track = visibility[visibility["entity"] == entity]
            track = track[track.index.isin(frames)]
            if len(track) > 1:
                folium.PolyLine(
                    track[["lat_deg", "lon_deg"]].round(5).to_numpy().tolist(),
                    color=colour,
                    weight=2,
                    opacity=0.6,
                    tooltip=f"{entity}: track",
                ).add_to(tracks)
        isac = tables.get("isac", pd.DataFrame())
        if not isac.empty and "target" in isac and "est_lat_deg" in isac:
            est = isac[(isac["target"] == entity) & isac.index.isin(frames)]
            est = est[["est_lat_deg", "est_lon_deg"]].dropna().round(5)
            if len(est) > 1:
                folium.PolyLine(
                    est.to_numpy().tolist(),
                    color=colour,
                    weight=1,
                    opacity=0.6,
                    dash_array="2 4",
                    tooltip=f"{entity}: ISAC estimates",
                ).add_to(tracks)
    tracks.add_to(fmap)
    _TimeSlider(
        {"type": "FeatureCollection", "features": features},
        period=f"PT{max(step_s, 1e-3):g}S",
        duration=f"PT{max(step_s / 2, 1e-3):g}S",
        auto_play=False,
        loop=False,
        add_last_point=False,
        date_options="YYYY-MM-DD HH:mm:ss [UTC]",
        time_slider_drag_update=True,
        transition_time=200,
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    kinds = (
        list(tables["handovers"]["kind"].unique())
        if not tables.get("handovers", pd.DataFrame()).empty
        else []
    )
    legend = _legend(colours, kinds, step_text, note)
    fmap.get_root().html.add_child(
        Element(
            "<div style='position:absolute;bottom:30px;right:10px;z-index:1000'>"
            + legend
            + "</div>"
        )
    )
    if lats:
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))
    facts = {
        "frames": len(frames),
        "epochs": n_epochs,
        "every": every,
        "features": len(features),
        "members_propagated": bool(len(points)),
        "entities": len(entities),
    }
    return fmap, facts


def coastlines(rings: list[list[list[float]]]) -> list[list[list[float]]]:
    """Rings of ``[lon, lat]`` points as Leaflet polylines of ``[lat, lon]``, cut where two
    consecutive points are more than 180° of longitude apart (a ring crossing the
    antimeridian would otherwise be drawn straight across the map)."""
    lines = []
    for ring in rings:
        line = [[ring[0][1], ring[0][0]]]
        for (lon_a, _), (lon_b, lat_b) in zip(ring[:-1], ring[1:]):
            if abs(lon_b - lon_a) > 180.0:
                lines.append(line)
                line = []
            line.append([lat_b, lon_b])
        lines.append(line)
    return [line for line in lines if len(line) > 1]


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _asset_text(name: str) -> str:
    text = (ASSETS / name).read_text(encoding="utf-8")
    if name == "leaflet.css":
        for image in ("layers-2x.png", "layers.png", "marker-icon.png"):
            text = text.replace(f"url(images/{image})", f"url({_data_uri(ASSETS / image)})")
    if name == "leaflet.timedimension.control.css":
        text = re.sub(r"@font-face\s*\{[^}]*\}", "", text) + _BUTTON_CSS
    return text


def inline_assets(page: str) -> str:
    """The page with folium's CDN ``<script src>`` / ``<link href>`` tags replaced by the
    vendored files' text (:data:`_ASSET_FOR`) and any other external script or stylesheet
    (bootstrap, font-awesome, jQuery, ...: the map does not use them) removed."""

    def script(match: re.Match) -> str:
        name = match.group(1).rsplit("/", 1)[-1]
        asset = _ASSET_FOR.get(name)
        return f"<script>{_asset_text(asset)}</script>" if asset else ""

    def link(match: re.Match) -> str:
        name = match.group(1).rsplit("/", 1)[-1]
        asset = _ASSET_FOR.get(name)
        return f"<style>{_asset_text(asset)}</style>" if asset else ""

    page = re.sub(r'<script src="(https?://[^"]+)"></script>', script, page)
    page = re.sub(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>', link, page)
    return page


def write_map(
    tables: dict[str, pd.DataFrame], scenario: dict, path: str | Path, max_frames: int = MAX_FRAMES
) -> dict:
    """Write the self-contained map page to `path`; returns :func:`build_map`'s facts plus the
    page's size in bytes. Needs a non-empty ``groups`` table."""
    fmap, facts = build_map(tables, scenario, max_frames)
    page = inline_assets(fmap.get_root().render())
    Path(path).write_text(page, encoding="utf-8")
    facts["bytes"] = len(page.encode("utf-8"))
    return facts
