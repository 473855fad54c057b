"""``[[areas]]``: populations of ISAC targets and PNT terminal clusters over a region.

An area is a lat/lon ``box`` or a GeoJSON ``polygon`` file (a Polygon or MultiPolygon, the
first feature of a FeatureCollection), filled by one of

- ``fill = "grid"``: points every ``spacing_km`` (rows ``spacing_km`` apart in latitude, each
  row's points ``spacing_km`` apart along the parallel), kept when inside the area;
- ``fill = "random"``: ``count`` points uniform on the sphere inside the area, seeded by
  ``seed`` (rejection sampling in the bounding box: sin(lat) and lon uniform);
- ``fill = "csv"``: the named points of ``points_csv`` (header ``name, lat_deg, lon_deg``
  and optionally ``alt_m``); each point must lie inside the area.

Each point becomes an ordinary static ground entity (height ``alt_m``) appended to the
scenario's ``[[targets]]`` (``entities`` holds ``"targets"``) and/or ``[[terminals]]``
(``"terminals"``): named ``<area>-t<k>`` / ``<area>-u<k>`` (k zero-padded, from 0) for grid and
random points, ``<area>-<name>`` / ``<area>-<name>-u`` for CSV points. Every process, table
and window/resume machinery then treats them like hand-written ones.

The expanded points are kept in the area (``points``), so a resolved scenario (and a resumed
run) does not need the files; the resolved scenario lists the generated entities only there.
Point-in-polygon is :func:`shapely.contains_xy` on (lon, lat) degrees (a planar test: an area
must not cross the antimeridian or contain a pole, refused).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
import shapely.geometry
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from twin.config.csv_rows import csv_rows
from twin.config.located import Located

__all__ = ["AREA_ENTITIES", "Area", "AreaBox", "area_entities", "read_points_csv", "read_polygon"]

#: Which ground-entity lists an area fills.
AREA_ENTITIES = ("targets", "terminals")
#: Most points one area may generate (a larger population is refused before any run).
MAX_AREA_POINTS = 100_000
#: Mean Earth radius (m) used for the grid spacing along the surface.
EARTH_RADIUS_M = 6_371_008.8
#: Columns of a ``points_csv``.
POINTS_CSV_COLUMNS = ("name", "lat_deg", "lon_deg", "alt_m")

_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class AreaBox(BaseModel):
    """A lat/lon box in degrees (``lon_min < lon_max``: the box must not cross ±180°)."""

    model_config = _CONFIG

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    @model_validator(mode="after")
    def _ordered(self) -> AreaBox:
        problems = []
        for key in ("lat_min", "lat_max"):
            if not -90.0 < getattr(self, key) < 90.0:
                problems.append(
                    ((key,), f"{key} = {getattr(self, key):g}° is out of range (-90° .. 90°, open)")
                )
        for key in ("lon_min", "lon_max"):
            if not -180.0 <= getattr(self, key) <= 180.0:
                problems.append(
                    ((key,), f"{key} = {getattr(self, key):g}° is out of range (-180° .. 180°)")
                )
        if not problems and self.lat_min >= self.lat_max:
            problems.append(
                (
                    ("lat_max",),
                    f"lat_max = {self.lat_max:g}° must exceed lat_min = {self.lat_min:g}°",
                )
            )
        if not problems and self.lon_min >= self.lon_max:
            problems.append(
                (
                    ("lon_max",),
                    f"lon_max = {self.lon_max:g}° must exceed lon_min = {self.lon_min:g}° (a box may not cross ±180°)",
                )
            )
        if problems:
            raise Located(problems)
        return self


class AreaPoint(BaseModel):
    """One expanded point: its name suffix and geodetic position (degrees, metres)."""

    model_config = _CONFIG

    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float


class Area(BaseModel):
    """One ``[[areas]]`` entry (see the module docstring)."""

    model_config = _CONFIG

    name: str
    box: AreaBox | None = None
    polygon: Path | None = None
    fill: Literal["grid", "random", "csv"]
    spacing_km: float | None = None
    count: int | None = None
    seed: int = 0
    points_csv: Path | None = None
    alt_m: float = 0.0
    entities: list[Literal[AREA_ENTITIES]] = Field(default_factory=lambda: ["targets"])
    points: list[AreaPoint] | None = None

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: Any, info: ValidationInfo) -> Any:
        """Resolve the file paths and fill ``points`` (unless a resolved scenario gave them)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        problems = []
        for key in ("polygon", "points_csv"):
            if data.get(key) is not None:
                try:
                    data[key] = _resolve(key, data[key], info)
                except ValueError as exc:
                    problems.append(((key,), str(exc)))
        if problems:
            raise Located(problems)
        if data.get("points") is not None:
            return data  # a resolved scenario: the files are not needed again
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            return data  # the field validators report it
        shape = _shape(data)
        fill = data.get("fill")
        if fill == "grid":
            spacing = data.get("spacing_km")
            if (
                not isinstance(spacing, (int, float))
                or isinstance(spacing, bool)
                or not spacing > 0
            ):
                raise Located(
                    [(("spacing_km",), f"fill = 'grid' needs spacing_km > 0, got {spacing!r}")]
                )
            lat, lon = grid_points(shape, float(spacing) * 1e3)
            names = _numbered(len(lat))
        elif fill == "random":
            count = data.get("count")
            if (
                not isinstance(count, int)
                or isinstance(count, bool)
                or not 1 <= count <= MAX_AREA_POINTS
            ):
                raise Located(
                    [
                        (
                            ("count",),
                            f"fill = 'random' needs count in 1 .. {MAX_AREA_POINTS}, got {count!r}",
                        )
                    ]
                )
            seed = data.get("seed", 0)
            if not isinstance(seed, int) or seed < 0:
                return data  # the field validator reports it
            lat, lon = random_points(shape, count, seed)
            names = _numbered(count)
        elif fill == "csv":
            path = data.get("points_csv")
            if path is None:
                raise Located(
                    [
                        (
                            ("points_csv",),
                            "fill = 'csv' needs points_csv (a file name, lat_deg, lon_deg [, alt_m])",
                        )
                    ]
                )
            try:
                rows = read_points_csv(path, shape)
            except (ValueError, OSError) as exc:
                raise Located([(("points_csv",), str(exc))]) from None
            names = [r["name"] for r in rows]
            lat = np.array([r["lat_deg"] for r in rows])
            lon = np.array([r["lon_deg"] for r in rows])
            alts = [r.get("alt_m") for r in rows]
        else:
            return data  # the Literal reports it
        if len(names) == 0:
            raise Located(
                [
                    (
                        ("fill",),
                        f"area '{name}' holds no point of this fill (make spacing_km smaller or the area larger)",
                    )
                ]
            )
        if len(names) > MAX_AREA_POINTS:
            raise Located(
                [
                    (
                        ("spacing_km",),
                        f"the grid gives {len(names):,} points, more than {MAX_AREA_POINTS:,}",
                    )
                ]
            )
        alt = data.get("alt_m", 0.0)
        alt = float(alt) if isinstance(alt, (int, float)) and not isinstance(alt, bool) else 0.0
        if fill != "csv":
            alts = [None] * len(names)
        data["points"] = [
            {
                "name": n,
                "lat_deg": float(la),
                "lon_deg": float(lo),
                "alt_m": alt if a is None else float(a),
            }
            for n, la, lo, a in zip(names, lat, lon, alts)
        ]
        return data

    @model_validator(mode="after")
    def _one_shape(self) -> Area:
        problems = []
        if not self.name.strip() or any(c.isspace() for c in self.name):
            problems.append(
                (("name",), f"area name {self.name!r} must be non-empty without spaces")
            )
        if not self.entities or len(set(self.entities)) != len(self.entities):
            problems.append(
                (
                    ("entities",),
                    f"entities must list 'targets' and/or 'terminals' once each, got {self.entities}",
                )
            )
        if self.seed < 0:
            problems.append((("seed",), f"seed = {self.seed} must be >= 0"))
        if not -1000.0 <= self.alt_m <= 100_000.0:
            problems.append(
                (("alt_m",), f"alt_m = {self.alt_m:g} m is out of range (-1000 .. 100000 m)")
            )
        if problems:
            raise Located(problems)
        return self


def _resolve(key: str, value: Any, info: ValidationInfo) -> Path:
    """A path from text; a relative one joined to the context's ``base_dir`` (or the cwd)."""
    if isinstance(value, Path):
        raw = value
    elif isinstance(value, str) and value.strip():
        raw = Path(value)
    else:
        raise ValueError(f"{key} must be a non-empty path string, got {value!r}")
    if raw.is_absolute():
        return raw
    base = (info.context or {}).get("base_dir") or Path.cwd()
    return Path(os.path.normpath(Path(base).absolute() / raw))


def _numbered(n: int) -> list[str]:
    width = max(3, len(str(n - 1)))
    return [f"{k:0{width}d}" for k in range(n)]


def _shape(data: dict):
    """The area's shapely geometry in (lon, lat) degrees from ``box`` xor ``polygon``."""
    box, polygon = data.get("box"), data.get("polygon")
    if (box is None) == (polygon is None):
        raise Located(
            [
                (
                    ("box",),
                    "give exactly one of box = {lat_min, lat_max, lon_min, lon_max} and polygon = 'file.geojson'",
                )
            ]
        )
    if box is not None:
        try:
            parsed = AreaBox.model_validate(box)
        except ValidationError as exc:  # located below ``box``
            raise Located(_box_problems(exc)) from None
        return shapely.box(parsed.lon_min, parsed.lat_min, parsed.lon_max, parsed.lat_max)
    try:
        return read_polygon(polygon)
    except (ValueError, OSError) as exc:
        raise Located([(("polygon",), str(exc))]) from None


def _box_problems(exc: ValidationError) -> list[tuple[tuple, str]]:
    """(loc, reason) below ``box`` for every error of an :class:`AreaBox` validation."""
    items = []
    for err in exc.errors(include_url=False):
        error = (err.get("ctx") or {}).get("error")
        loc = ("box", *err["loc"])
        if isinstance(error, Located):
            items += [(loc + sub, reason) for sub, reason in error.items]
        else:
            items.append((loc, err["msg"]))
    return items


def read_polygon(path: Path):
    """The (Multi)Polygon of a GeoJSON file as a shapely geometry in (lon, lat) degrees.

    Accepts a Polygon or MultiPolygon geometry, a Feature holding one, or a FeatureCollection
    (its first feature). Raises ValueError naming ``<file>:<line>`` for a JSON syntax error and
    ``<file>`` with the reason for a wrong type, a coordinate out of range, an invalid
    (self-intersecting) ring or an area across ±180°.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    geometry = doc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
        if not features:
            raise ValueError(f"{path}: the FeatureCollection has no features")
        geometry = features[0]
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise ValueError(f"{path}: need a GeoJSON Polygon or MultiPolygon, got {kind}")
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path}: malformed {geometry['type']} coordinates: {exc}") from None
    if shape.is_empty:
        raise ValueError(f"{path}: the {geometry['type']} is empty")
    lon0, lat0, lon1, lat1 = shape.bounds
    if not (-90.0 < lat0 and lat1 < 90.0 and -180.0 <= lon0 and lon1 <= 180.0):
        raise ValueError(
            f"{path}: coordinates out of range (need [lon, lat] with -180 <= lon <= 180, -90 < lat < 90; "
            f"bounds lon {lon0:g} .. {lon1:g}, lat {lat0:g} .. {lat1:g})"
        )
    if lon1 - lon0 > 180.0:
        raise ValueError(
            f"{path}: the area spans {lon1 - lon0:g}° of longitude (an area may not cross ±180°)"
        )
    if not shape.is_valid:
        raise ValueError(f"{path}: invalid {geometry['type']}: {shapely.is_valid_reason(shape)}")
    return shape


def grid_points(shape, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid points (lat, lon) degrees inside ``shape``: rows ``spacing_m`` apart along the meridian
    from the bounding box's south edge, points ``spacing_m`` apart along each row's parallel
    (lon step = spacing / (R cos lat)) from the west edge."""
    lon0, lat0, lon1, lat1 = shape.bounds
    dlat = math.degrees(spacing_m / EARTH_RADIUS_M)
    rows = np.arange(lat0, lat1 + 1e-12, dlat)
    lats, lons = [], []
    for lat in rows:
        dlon = dlat / math.cos(math.radians(lat))
        lon = np.arange(lon0, lon1 + 1e-12, dlon)
        lats.append(np.full(lon.shape, lat))
        lons.append(lon)
        if sum(len(x) for x in lons) > 4 * MAX_AREA_POINTS:
            break  # refused by the caller as too many
    lat, lon = np.concatenate(lats), np.concatenate(lons)
    inside = shapely.contains_xy(shape, lon, lat) | shapely.intersects_xy(shape.boundary, lon, lat)
    return lat[inside], lon[inside]


def random_points(shape, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points (lat, lon) degrees uniform on the sphere inside ``shape``, from
    ``numpy.random.default_rng(seed)``: batches of bounding-box draws with sin(lat) and lon
    uniform, kept when inside, in draw order."""
    lon0, lat0, lon1, lat1 = shape.bounds
    rng = np.random.default_rng(seed)
    s0, s1 = math.sin(math.radians(lat0)), math.sin(math.radians(lat1))
    lat_out, lon_out, n = [], [], 0
    for _ in range(1000):
        lat = np.degrees(np.arcsin(rng.uniform(s0, s1, size=4 * count)))
        lon = rng.uniform(lon0, lon1, size=4 * count)
        keep = shapely.contains_xy(shape, lon, lat)
        lat_out.append(lat[keep])
        lon_out.append(lon[keep])
        n += int(keep.sum())
        if n >= count:
            break
    else:
        raise ValueError(
            "the area is too thin to draw random points in (fewer than 1 in 4000 draws land inside)"
        )
    return np.concatenate(lat_out)[:count], np.concatenate(lon_out)[:count]


def read_points_csv(path: Path, shape) -> list[dict]:
    """Rows ``{name, lat_deg, lon_deg[, alt_m]}`` of a points CSV, each checked inside ``shape``.

    Raises ValueError naming ``<file>:<line>`` and the column of the first bad value (unknown or
    missing header columns, a non-number, a latitude/longitude out of range, a duplicate or
    empty name, a point outside the area).
    """
    path = Path(path)
    rows, seen = [], {}
    for line_no, cells in csv_rows(path, POINTS_CSV_COLUMNS, 3, "points"):
        row: dict[str, Any] = {}
        for key, cell in cells.items():
            if key == "name":
                if not cell or any(c.isspace() for c in cell):
                    raise ValueError(
                        f"{path}:{line_no}: column name: {cell!r} must be non-empty without spaces"
                    )
                if cell in seen:
                    raise ValueError(
                        f"{path}:{line_no}: column name: '{cell}' is already used on line {seen[cell]}"
                    )
                seen[cell] = line_no
                row[key] = cell
                continue
            try:
                row[key] = float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}:{line_no}: column {key}: {cell!r} is not a number"
                ) from None
            if not math.isfinite(row[key]):
                raise ValueError(f"{path}:{line_no}: column {key}: {cell!r} is not finite")
        if not -90.0 <= row["lat_deg"] <= 90.0:
            raise ValueError(
                f"{path}:{line_no}: column lat_deg: {row['lat_deg']:g} is out of range (-90 .. 90)"
            )
        if not -180.0 <= row["lon_deg"] <= 180.0:
            raise ValueError(
                f"{path}:{line_no}: column lon_deg: {row['lon_deg']:g} is out of range (-180 .. 180)"
            )
        if not shape.covers(shapely.Point(row["lon_deg"], row["lat_deg"])):
            raise ValueError(
                f"{path}:{line_no}: point '{row['name']}' ({row['lat_deg']:g}, {row['lon_deg']:g}) is outside the area"
            )
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: the points CSV has a header but no rows")
    return rows


def area_entities(areas: list[Area]) -> tuple[list[dict], list[dict]]:
    """(targets, terminals): the ground-entity dicts every area generates, in area order."""
    targets, terminals = [], []
    for area in areas:
        for point in area.points or []:
            base = point.name if area.fill == "csv" else f"t{point.name}"
            entity = {"lat_deg": point.lat_deg, "lon_deg": point.lon_deg, "alt_m": point.alt_m}
            if "targets" in area.entities:
                targets.append({"name": f"{area.name}-{base}", **entity})
            if "terminals" in area.entities:
                suffix = f"{point.name}-u" if area.fill == "csv" else f"u{point.name}"
                terminals.append({"name": f"{area.name}-{suffix}", **entity})
    return targets, terminals


def with_area_entities(data: Any, handler):
    """Validate a scenario mapping with every area's points appended to its targets/terminals.

    ``handler`` is pydantic's inner validator of :class:`twin.config.schema.Scenario`. The
    mapping is validated once as written (problems in an area are located at ``areas[i]``), then
    again with the generated entities appended (a name clash with a hand-written entity is
    refused there like any duplicate name).
    """
    if not isinstance(data, dict) or not data.get("areas"):
        return handler(data)
    scenario = handler(data)
    targets, terminals = area_entities(scenario.areas)
    return handler(
        {
            **data,
            "areas": [area.model_dump() for area in scenario.areas],
            "targets": [*data.get("targets", []), *targets],
            "terminals": [*data.get("terminals", []), *terminals],
        }
    )


def without_area_entities(resolved: dict, areas: list[Area]) -> dict:
    """A resolved scenario dict without the entities its areas generate (they are re-made from
    the areas' ``points`` when it is loaded again)."""
    if not areas:
        resolved.pop("areas", None)  # a scenario without areas resolves as before
        return resolved
    targets, terminals = area_entities(areas)
    generated = {e["name"] for e in [*targets, *terminals]}
    for key in ("targets", "terminals"):
        resolved[key] = [e for e in resolved.get(key, []) if e["name"] not in generated]
    return resolved
