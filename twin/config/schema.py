"""Scenario schema: the pydantic models of one leo-twin run (no file I/O of its own).

A run is described by ONE TOML file (see ``docs/scenario.md``); :mod:`twin.config.loader`
reads it and validates it into an immutable :class:`Scenario` of these models.
``Scenario.to_resolved_dict()`` gives the JSON/TOML-serialisable form with every default
filled in; it round-trips through ``scenario_from_dict``.

Human units live in the file and in the field names that say so
(``altitude_km``, ``mask_elevation_deg``); the SI values the rest of the
package uses are properties (``altitude_m``, ``mask_elevation_rad``). The defaults of
``[isac]`` and ``[pnt]`` are read from the seeds' parameter dataclasses
(:class:`twin.isac.physics.channel.IsacParams`, :class:`twin.pnt.channel.PntParams`),
converted to the file's units: one place for each number. Ground-entity motion is
:mod:`twin.motion`; a ``track_csv`` is read by :mod:`twin.config.track_csv` while
validating.
"""

from __future__ import annotations

import math
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from twin.config.areas import Area, with_area_entities, without_area_entities
from twin.config.channel import ChannelConfig, band_problems
from twin.config.faults import Fault
from twin.config.located import Located
from twin.config.track_csv import read_track_csv
from twin.isac.estimation.locate import METHODS as LOCATE_METHODS
from twin.isac.physics.channel import IsacParams
from twin.motion import angle_between_rad, geodetic_track, position_ecef
from twin.pnt.channel import BORESIGHTS, THRESHOLD_RULES, PntParams
from twin.units import parse_duration, parse_utc

__all__ = [
    "TABLE_NAMES",
    "COLLABORATION_TYPES",
    "Located",
    "RunConfig",
    "Shell",
    "Constellation",
    "Visibility",
    "IslConfig",
    "Serving",
    "Waypoint",
    "GroundEntity",
    "Output",
    "IsacConfig",
    "PntConfig",
    "ReplanConfig",
    "ErrorsConfig",
    "Scenario",
]

#: Names of the tables a run can record (``[output] tables``).
TABLE_NAMES = ("epochs", "visibility", "isl", "groups", "handovers", "isac", "pnt")
#: Localisation estimators of ``twin.isac.estimation.locate.estimate``.
ISAC_ESTIMATORS = LOCATE_METHODS
#: Transmit designs the ISAC process can use (``docs/twin.md``).
ISAC_DESIGNS = ("stand_in", "fast", "paper")
#: Beam schedulers and beamformers of ``twin.pnt`` (seed 002).
PNT_SCHEDULERS = ("hbs", "gdop", "comm", "parallax")
PNT_BEAMFORMERS = ("dsta", "zf", "scb", "scbwi", "mf")
#: Re-planning triggers of ``policy = "on_event"``.
REPLAN_EVENTS = ("handover", "group_change", "drift")
#: Seed 000 collaboration types (Fig. 5): I = in-plane neighbours, II = plus
#: nearest in each adjacent plane, III = more adjacent-plane satellites.
COLLABORATION_TYPES = ("I", "II", "III")

#: Most epochs one run may have (a year at 3.2 s): more is refused at load time,
#: before anything allocates per-epoch arrays (split the run instead).
MAX_EPOCHS = 10_000_000
#: Altitude range accepted for ground entities and waypoints, metres.
GROUND_ALT_RANGE_M = (-1000.0, 100_000.0)


# ---------------------------------------------------------------------------
# validation helpers


def _check_range(
    name: str,
    value: float,
    lo: float | None,
    hi: float | None,
    unit: str = "",
    *,
    lo_open: bool = False,
) -> float:
    """Return ``value`` or raise ValueError naming ``name``, the value and the allowed range."""
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and value > hi
    if too_low or too_high:
        if lo is not None and hi is not None:
            allowed = f"{lo:g}{unit} .. {hi:g}{unit}"
        elif lo is not None:
            allowed = f"{'>' if lo_open else '>='} {lo:g}{unit}"
        else:
            allowed = f"<= {hi:g}{unit}"
        raise ValueError(f"{name} = {value:g}{unit} is out of range (allowed: {allowed})")
    return value


def _normalise_lon_deg(name: str, value: float) -> float:
    """Check a longitude in -180..360 degrees and map it to [-180, 180)."""
    _check_range(name, value, -180.0, 360.0, "°")
    if value < 180.0:
        return value  # already in range: keep the exact value
    return value - 360.0


def _resolve_path(name: str, value: Any, info: ValidationInfo) -> Any:
    """A ``Path`` from text, relative paths joined to the context's ``base_dir`` (or the cwd)."""
    if value is None or isinstance(value, Path):
        raw = value
    elif isinstance(value, str):
        if not value.strip():
            raise ValueError(f"{name} must not be empty")
        raw = Path(value)
    else:
        raise ValueError(f"{name} must be a path string, got {value!r}")
    if raw is None or raw.is_absolute():
        return raw
    base = (info.context or {}).get("base_dir") or Path.cwd()
    return Path(os.path.normpath(Path(base).absolute() / raw))


def _as_tuple(value: Any) -> Any:
    """TOML arrays arrive as lists; the strict schema wants tuples."""
    return tuple(value) if isinstance(value, list) else value


_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class _Section(BaseModel):
    model_config = _CONFIG


# ---------------------------------------------------------------------------
# [run]


class RunConfig(_Section):
    """``[run]``: name, time span and seeding of a run.

    Epochs are ``start + i*step`` for ``i = 0 .. n_epochs-1`` with
    ``n_epochs = floor(duration/step) + 1``.
    """

    name: str
    start: datetime
    duration: float
    step: float
    seed: int = 0
    checkpoint_every: int = 60
    window: int = 60  # epochs per window: processes re-plan cold at every multiple (docs/twin.md, Windowed runs)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("run.name must not be empty")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> datetime:
        if isinstance(value, datetime) or isinstance(value, str):
            try:
                return parse_utc(value)
            except ValueError as exc:
                raise ValueError(f"start: {exc}") from None
        if isinstance(value, date):
            raise ValueError(
                f"start = {value} is a date without a time; give a UTC time, e.g. {value}T00:00:00Z"
            )
        raise ValueError(
            f"start must be a TOML datetime or ISO 8601 text (e.g. 2026-05-28T12:00:00Z), got {value!r}"
        )

    @field_validator("duration", mode="before")
    @classmethod
    def _duration_text(cls, value: Any) -> float:
        return parse_duration(value)  # ValueError names the text and the grammar

    @field_validator("duration")
    @classmethod
    def _duration_positive(cls, value: float) -> float:
        return _check_range("duration", value, 0.0, None, " s", lo_open=True)

    @field_validator("step", mode="before")
    @classmethod
    def _step_text(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("step")
    @classmethod
    def _step_range(cls, value: float, info: ValidationInfo) -> float:
        _check_range("step", value, 0.0, None, " s", lo_open=True)
        duration = info.data.get("duration")
        if duration is not None and value > duration:
            raise ValueError(
                f"step = {value:g} s is longer than duration = {duration:g} s (need 0 < step <= duration)"
            )
        if duration is not None and duration / value >= MAX_EPOCHS:
            raise ValueError(
                f"duration / step = {duration:g} s / {value:g} s gives more than {MAX_EPOCHS:,} epochs "
                f"(allowed: at most {MAX_EPOCHS:,}; use a longer step or split the run)"
            )
        return value

    @field_validator("seed")
    @classmethod
    def _seed(cls, value: int) -> int:
        return int(_check_range("seed", value, 0, None))

    @field_validator("checkpoint_every")
    @classmethod
    def _checkpoint(cls, value: int) -> int:
        return int(_check_range("checkpoint_every", value, 1, None, " epochs"))

    @field_validator("window")
    @classmethod
    def _window(cls, value: int) -> int:
        return int(_check_range("window", value, 1, None, " epochs"))

    @field_serializer("start")
    def _start_iso(self, value: datetime) -> str:
        return value.isoformat().replace("+00:00", "Z")

    @property
    def duration_s(self) -> float:
        """Run length, seconds."""
        return self.duration

    @property
    def step_s(self) -> float:
        """Epoch spacing, seconds."""
        return self.step

    @property
    def n_epochs(self) -> int:
        """Number of epochs: floor(duration/step) + 1 (both ends included when step divides duration)."""
        return math.floor(self.duration / self.step + 1e-9) + 1

    def epoch_offsets_s(self) -> np.ndarray:
        """Seconds from ``start`` of every epoch, shape (n_epochs,): ``i * step``."""
        return np.arange(self.n_epochs, dtype=float) * self.step

    def epoch_times(self) -> list[datetime]:
        """UTC time of every epoch as timezone-aware datetimes (microsecond resolution), length n_epochs."""
        offsets_us = np.round(self.epoch_offsets_s() * 1e6).astype(np.int64)
        return [self.start + timedelta(microseconds=int(us)) for us in offsets_us]

    def epoch_times64(self) -> np.ndarray:
        """UTC time of every epoch as ``datetime64[ns]`` (naive, meaning UTC), shape (n_epochs,)."""
        start = np.datetime64(self.start.replace(tzinfo=None), "ns")
        offsets_ns = np.round(self.epoch_offsets_s() * 1e9).astype(np.int64)
        return start + offsets_ns.astype("timedelta64[ns]")


# ---------------------------------------------------------------------------
# [constellation]


class Shell(_Section):
    """One Walker-Delta shell ``inclination: total/planes/phasing`` at one altitude."""

    name: str | None = None
    total: int
    planes: int
    phasing: int
    altitude_km: float
    inclination_deg: float
    raan_offset_deg: float = 0.0

    @field_validator("total")
    @classmethod
    def _total(cls, value: int) -> int:
        return int(_check_range("total", value, 1, None, " satellites"))

    @field_validator("planes")
    @classmethod
    def _planes(cls, value: int, info: ValidationInfo) -> int:
        _check_range("planes", value, 1, None)
        total = info.data.get("total")
        if total is not None and total % value != 0:
            raise ValueError(
                f"total = {total} is not divisible by planes = {value} (a Walker-Delta shell has total/planes satellites per plane)"
            )
        return value

    @field_validator("phasing")
    @classmethod
    def _phasing(cls, value: int, info: ValidationInfo) -> int:
        planes = info.data.get("planes")
        if planes is not None:
            if not 0 <= value <= planes - 1:
                raise ValueError(
                    f"phasing = {value} is out of range (allowed: 0 .. planes-1 = 0 .. {planes - 1})"
                )
        elif value < 0:
            raise ValueError(f"phasing = {value} must be >= 0")
        return value

    @field_validator("altitude_km")
    @classmethod
    def _altitude(cls, value: float) -> float:
        return _check_range("altitude_km", value, 150.0, 40000.0, " km")

    @field_validator("inclination_deg")
    @classmethod
    def _inclination(cls, value: float) -> float:
        return _check_range("inclination_deg", value, 0.0, 180.0, "°")

    @field_validator("raan_offset_deg")
    @classmethod
    def _raan(cls, value: float) -> float:
        return _check_range("raan_offset_deg", value, -360.0, 360.0, "°")

    @property
    def per_plane(self) -> int:
        """Satellites per orbital plane, total/planes."""
        return self.total // self.planes

    @property
    def altitude_m(self) -> float:
        """Orbit altitude in metres: the mean geodetic (WGS84) altitude over one orbit (see docs/orbits.md)."""
        return self.altitude_km * 1e3

    @property
    def inclination_rad(self) -> float:
        return math.radians(self.inclination_deg)

    @property
    def raan_offset_rad(self) -> float:
        """RAAN of the first plane, radians."""
        return math.radians(self.raan_offset_deg)


class Constellation(_Section):
    """``[constellation]``: a Walker-Delta set of shells or a TLE file."""

    kind: Literal["walker", "tle"]
    shells: list[Shell] = Field(default_factory=list, validate_default=True)
    tle_file: Path | None = Field(default=None, validate_default=True)
    max_epoch_age_days: float = 3.0
    max_satellites: int = 0
    # true: satellites that decay or hit an SGP4 error during the run are left out (and listed)
    # instead of refusing the run; None (unset) = false, left out of the resolved scenario
    drop_decayed: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_shell_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("shells"), list):
            shells = [
                {**shell, "name": f"shell-{i + 1}"}
                if isinstance(shell, dict) and "name" not in shell
                else shell
                for i, shell in enumerate(data["shells"])
            ]
            data = {**data, "shells": shells}
        return data

    @field_validator("shells")
    @classmethod
    def _shells(cls, value: list[Shell], info: ValidationInfo) -> list[Shell]:
        kind = info.data.get("kind")
        if kind == "walker" and not value:
            raise ValueError("kind = 'walker' needs at least one [[constellation.shells]] table")
        if kind == "tle" and value:
            raise ValueError(
                "shells are only used with kind = 'walker' (this constellation has kind = 'tle')"
            )
        seen: dict[str, int] = {}
        problems = []
        for i, shell in enumerate(value):
            if shell.name in seen:
                problems.append(
                    (
                        (i, "name"),
                        f"shell name '{shell.name}' is already used by shells[{seen[shell.name]}]",
                    )
                )
            seen.setdefault(shell.name, i)
        if problems:
            raise Located(problems)
        return value

    @field_validator("tle_file", mode="before")
    @classmethod
    def _tle_path(cls, value: Any, info: ValidationInfo) -> Any:
        return _resolve_path("tle_file", value, info)

    @field_validator("tle_file")
    @classmethod
    def _tle_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        kind = info.data.get("kind")
        if kind == "tle" and value is None:
            raise ValueError(
                "kind = 'tle' needs tle_file = \"<path to a TLE file>\" (relative to the scenario file's folder)"
            )
        if kind == "walker" and value is not None:
            raise ValueError(
                "tle_file is only used with kind = 'tle' (this constellation has kind = 'walker')"
            )
        if value is not None and not value.is_file():
            raise ValueError(f"tle_file not found: {value}")
        return value

    @field_validator("max_epoch_age_days")
    @classmethod
    def _age(cls, value: float) -> float:
        return _check_range("max_epoch_age_days", value, 0.0, None, " d", lo_open=True)

    @field_validator("max_satellites")
    @classmethod
    def _max_sats(cls, value: int) -> int:
        return int(_check_range("max_satellites", value, 0, None))

    @property
    def max_epoch_age_s(self) -> float:
        """TLE epoch age beyond which the reader warns, seconds."""
        return self.max_epoch_age_days * 86400.0


# ---------------------------------------------------------------------------
# [visibility], [isl], [serving]


class Visibility(_Section):
    """``[visibility]``: elevation mask for ground-satellite links."""

    mask_elevation_deg: float = 10.0

    @field_validator("mask_elevation_deg")
    @classmethod
    def _mask(cls, value: float) -> float:
        return _check_range("mask_elevation_deg", value, -90.0, 90.0, "°")

    @property
    def mask_elevation_rad(self) -> float:
        return math.radians(self.mask_elevation_deg)


class IslConfig(_Section):
    """``[isl]``: inter-satellite links (intra-plane always, +Grid inter-plane optionally)."""

    enabled: bool = True
    max_range_km: float = 5000.0
    atmosphere_margin_km: float = 80.0
    inter_plane: bool = True

    @field_validator("max_range_km")
    @classmethod
    def _range(cls, value: float) -> float:
        return _check_range("max_range_km", value, 0.0, None, " km", lo_open=True)

    @field_validator("atmosphere_margin_km")
    @classmethod
    def _margin(cls, value: float) -> float:
        return _check_range("atmosphere_margin_km", value, 0.0, None, " km")

    @property
    def max_range_m(self) -> float:
        return self.max_range_km * 1e3

    @property
    def atmosphere_margin_m(self) -> float:
        """A link must clear Earth radius + this margin, metres."""
        return self.atmosphere_margin_km * 1e3


class Serving(_Section):
    """``[serving]``: the cooperative serving group of seed 000 (Fig. 5).

    ``group_size`` (K) is how many satellites the topology picks; it is not
    forced to the type's nominal size (I: 3, II: 5, III: 7, seed-math B.1).
    """

    group_size: int = 5
    collaboration: Literal[COLLABORATION_TYPES] = "II"
    hysteresis_deg: float = 2.0
    group_mask_elevation_deg: float = 0.0

    @field_validator("group_size")
    @classmethod
    def _k(cls, value: int) -> int:
        return int(_check_range("group_size", value, 1, None))

    @field_validator("hysteresis_deg")
    @classmethod
    def _hyst(cls, value: float) -> float:
        return _check_range("hysteresis_deg", value, 0.0, 90.0, "°")

    @field_validator("group_mask_elevation_deg")
    @classmethod
    def _gmask(cls, value: float) -> float:
        return _check_range("group_mask_elevation_deg", value, -90.0, 90.0, "°")

    @property
    def hysteresis_rad(self) -> float:
        return math.radians(self.hysteresis_deg)

    @property
    def group_mask_elevation_rad(self) -> float:
        return math.radians(self.group_mask_elevation_deg)


# ---------------------------------------------------------------------------
# [[targets]], [[terminals]]


class Waypoint(_Section):
    """One waypoint of a ground entity: where it is ``time`` after the run start."""

    time: float
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0

    @field_validator("time", mode="before")
    @classmethod
    def _time_text(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("lat_deg")
    @classmethod
    def _lat(cls, value: float) -> float:
        return _check_range("lat_deg", value, -90.0, 90.0, "°")

    @field_validator("lon_deg")
    @classmethod
    def _lon(cls, value: float) -> float:
        return _normalise_lon_deg("lon_deg", value)

    @field_validator("alt_m")
    @classmethod
    def _alt(cls, value: float) -> float:
        return _check_range("alt_m", value, *GROUND_ALT_RANGE_M, " m")

    @property
    def time_s(self) -> float:
        """Seconds after the run start."""
        return self.time

    @property
    def lat_rad(self) -> float:
        return math.radians(self.lat_deg)

    @property
    def lon_rad(self) -> float:
        return math.radians(self.lon_deg)


class GroundEntity(_Section):
    """An ISAC target or a PNT user terminal: static, constant ENU velocity, or waypoints.

    With ``waypoints``, ``lat_deg``/``lon_deg``/``alt_m`` may be omitted (they
    are taken from the first waypoint); if given they must equal it.
    """

    name: str
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_m: float | None = None
    velocity_enu_mps: tuple[float, float, float] | None = None
    waypoints: list[Waypoint] | None = None
    track_csv: Path | None = None

    @staticmethod
    def _track_rows(data: dict, info: ValidationInfo) -> dict:
        """``track_csv`` rows become ``waypoints`` (great-circle interpolation between rows).

        The resolved scenario keeps both the path and the rows, so a resumed run does not
        need the file; when both are given and the file exists, they must agree.
        """
        if not isinstance(data, dict) or data.get("track_csv") is None:
            return data
        raw = data["track_csv"]
        if not isinstance(raw, (str, Path)) or not str(raw).strip():
            raise Located([(("track_csv",), f"track_csv must be a path string, got {raw!r}")])
        path = _resolve_path("track_csv", raw, info)
        data = {**data, "track_csv": path}
        if not path.is_file():
            if data.get("waypoints") is not None:
                return data  # a resolved scenario: its rows are the waypoints
            raise Located([(("track_csv",), f"track_csv not found: {path}")])
        if "velocity_enu_mps" in data:
            raise Located(
                [
                    (
                        ("track_csv",),
                        "track_csv and velocity_enu_mps are mutually exclusive: give one or the other",
                    )
                ]
            )
        try:
            rows = read_track_csv(path)
        except (ValueError, OSError) as exc:
            raise Located([(("track_csv",), str(exc))]) from None
        if data.get("waypoints") is not None and data["waypoints"] != rows:
            raise Located(
                [
                    (
                        ("track_csv",),
                        "track_csv and waypoints are mutually exclusive: give one or the other",
                    )
                ]
            )
        return {**data, "waypoints": rows}

    @model_validator(mode="before")
    @classmethod
    def _fill_from_first_waypoint(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(cls._track_rows(data, info))
        waypoints = data.get("waypoints")
        first = (
            waypoints[0]
            if isinstance(waypoints, list) and waypoints and isinstance(waypoints[0], dict)
            else None
        )
        if first is not None:
            for key, default in (("lat_deg", None), ("lon_deg", None), ("alt_m", 0.0)):
                value = first.get(key, default)
                if (
                    key not in data
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                ):
                    data[key] = float(value)
        elif "alt_m" not in data:
            data["alt_m"] = 0.0
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be empty")
        return value

    @field_validator("lat_deg")
    @classmethod
    def _lat(cls, value: float | None) -> float | None:
        return None if value is None else _check_range("lat_deg", value, -90.0, 90.0, "°")

    @field_validator("lon_deg")
    @classmethod
    def _lon(cls, value: float | None) -> float | None:
        return None if value is None else _normalise_lon_deg("lon_deg", value)

    @field_validator("alt_m")
    @classmethod
    def _alt(cls, value: float | None) -> float | None:
        return None if value is None else _check_range("alt_m", value, *GROUND_ALT_RANGE_M, " m")

    @field_validator("velocity_enu_mps", mode="before")
    @classmethod
    def _velocity_tuple(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and len(value) != 3:
            raise ValueError(
                f"velocity_enu_mps must be 3 numbers [east, north, up] in m/s, got {len(value)}"
            )
        return _as_tuple(value)

    @field_validator("waypoints")
    @classmethod
    def _waypoints(cls, value: list[Waypoint] | None) -> list[Waypoint] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("waypoints must hold at least one waypoint (or be left out)")
        problems = []
        for i in range(1, len(value)):
            before, after = value[i - 1], value[i]
            if not after.time > before.time:
                problems.append(
                    (
                        (i, "time"),
                        f"waypoints[{i}].time = {after.time:g} s is not after waypoints[{i - 1}].time = {before.time:g} s (times must increase)",
                    )
                )
            elif angle_between_rad(before, after) > math.pi - 1e-9:
                problems.append(
                    (
                        (i,),
                        f"waypoints[{i - 1}] and waypoints[{i}] are antipodal: the great circle between them is undefined",
                    )
                )
        if problems:
            raise Located(problems)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GroundEntity:
        problems = []
        if self.waypoints is None:
            for key in ("lat_deg", "lon_deg"):
                if getattr(self, key) is None:
                    problems.append(((key,), f"{key} is required (or give waypoints)"))
        else:
            if self.velocity_enu_mps is not None:
                problems.append(
                    (
                        ("velocity_enu_mps",),
                        "velocity_enu_mps and waypoints are mutually exclusive: give one or the other",
                    )
                )
            first = self.waypoints[0]
            for key in ("lat_deg", "lon_deg", "alt_m"):
                mine, theirs = getattr(self, key), getattr(first, key)
                if mine is not None and abs(mine - theirs) > 1e-9:
                    problems.append(
                        (
                            (key,),
                            f"{key} = {mine:g} differs from waypoints[0].{key} = {theirs:g}; omit it or make them equal",
                        )
                    )
        if problems:
            raise Located(problems)
        return self

    @property
    def lat_rad(self) -> float:
        """Geodetic latitude at the run start (first waypoint if any), radians."""
        return math.radians(self.lat_deg)

    @property
    def lon_rad(self) -> float:
        """Longitude at the run start, radians in [-π, π)."""
        return math.radians(self.lon_deg)

    def geodetic_track(self, times_s_from_start) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """WGS84 geodetic position over time: (lat_rad, lon_rad, alt_m), each the shape of the input.

        times_s_from_start: (...,) seconds after the run start. Static, constant ENU
        velocity or waypoints: the motion model is :func:`twin.motion.geodetic_track`
        (raises ValueError if a constant-velocity track would pass |lat| = 89°).
        """
        return geodetic_track(self, times_s_from_start)

    def position_ecef(self, times_s_from_start) -> np.ndarray:
        """Earth-fixed (ITRS) position over time, metres, shape (..., 3) for times of shape (...,).

        times_s_from_start: seconds after the run start. See ``geodetic_track``
        for the motion model.
        """
        return position_ecef(self, times_s_from_start)


# ---------------------------------------------------------------------------
# [output] and the whole scenario


class IsacConfig(_Section):
    """``[isac]``: the sensing process, one per target (seed 000; ``docs/twin.md``).

    M = ``n_ue`` UEs are drawn once per target uniformly in the disk of ``ue_radius_km``
    around it (seed-math B.9's 15 km service area) and follow it. ``design``: ``"fast"``
    (the default: ``twin.isac.design.fast_design``, seed 000's problem (33) certified within 0.2 % of
    its SDR bound, about 0.2 s of CPU at N = 4x4, K = 5, M = 10; docs/isac-fast-design.md),
    ``"paper"`` (cvxpy Algorithm 2, minutes per design) or ``"stand_in"`` (matched filter +
    isotropic sensing, ignores the rate target; for quick geometry studies). ``estimator``: one of
    ``twin.isac.estimation.locate.METHODS``; the default ``"pso_refined"`` is seed 000's PSO (Algorithm 1) then a
    Nelder-Mead polish of the same fit, which reaches the 1 mm grid's ML accuracy (``"pso"`` alone
    stops metres from it with few particles; docs/isac-localisation.md). ``track_prior``: the
    previous estimate is the next search centre (else a fresh prior p + U(±prior_spread_m)³).
    ``engine``: ``"numpy"`` (the default, target by target) or ``"compiled"`` (the fast design of
    every target of an epoch in one call of the numba engine ``twin.isac.design.fast_many``, each
    design certified as the numpy one; docs/twin.md, "Areas").
    """

    enabled: bool = False
    targets: list[str] | None = None
    n_ue: int = IsacParams.M
    ue_radius_km: float = IsacParams.service_radius_m / 1e3
    nx: int = IsacParams.nx
    nz: int = IsacParams.nz
    p_max_dbm: float = IsacParams.p_max_dbm
    rate_target_bps_hz: float = IsacParams.rate_target_bps_hz
    sensing_noise_dbm: float = IsacParams.sensing_noise_dbm
    comm_fraction: float = 0.5
    snapshots: int = 1
    beta_model: Literal["paper", "radar"] = "paper"
    design: Literal[ISAC_DESIGNS] = "fast"
    estimator: Literal[ISAC_ESTIMATORS] = "pso_refined"
    pso_particles: int = 50
    pso_iterations: int = 40
    prior_spread_m: float = 250.0
    search_half_width_m: float = 500.0
    track_prior: bool = True
    engine: Literal["numpy", "compiled"] = "numpy"

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    @field_validator("n_ue", "nx", "nz", "snapshots", "pso_particles", "pso_iterations")
    @classmethod
    def _positive_int(cls, value: int, info: ValidationInfo) -> int:
        return int(_check_range(info.field_name, value, 1, None))

    @field_validator("ue_radius_km")
    @classmethod
    def _radius(cls, value: float) -> float:
        return _check_range("ue_radius_km", value, 0.0, 1000.0, " km")

    @field_validator("p_max_dbm")
    @classmethod
    def _power(cls, value: float) -> float:
        return _check_range("p_max_dbm", value, -30.0, 90.0, " dBm")

    @field_validator("rate_target_bps_hz")
    @classmethod
    def _rate(cls, value: float) -> float:
        return _check_range("rate_target_bps_hz", value, 0.0, 30.0, " bit/s/Hz")

    @field_validator("sensing_noise_dbm")
    @classmethod
    def _noise(cls, value: float) -> float:
        return _check_range("sensing_noise_dbm", value, -250.0, 50.0, " dBm")

    @field_validator("comm_fraction")
    @classmethod
    def _fraction(cls, value: float) -> float:
        return _check_range("comm_fraction", value, 0.0, 1.0)

    @field_validator("prior_spread_m", "search_half_width_m")
    @classmethod
    def _metres(cls, value: float, info: ValidationInfo) -> float:
        return _check_range(info.field_name, value, 0.0, 1e6, " m", lo_open=True)

    @model_validator(mode="after")
    def _spread_inside_cube(self) -> IsacConfig:
        if self.prior_spread_m > self.search_half_width_m:
            raise Located(
                [
                    (
                        ("search_half_width_m",),
                        f"prior_spread_m = {self.prior_spread_m:g} m must be <= search_half_width_m = {self.search_half_width_m:g} m (the target must lie inside the search cube)",
                    )
                ]
            )
        return self

    @property
    def ue_radius_m(self) -> float:
        return self.ue_radius_km * 1e3


class PntConfig(_Section):
    """``[pnt]``: the positioning process, one per terminal cluster (seed 002; ``docs/twin.md``).

    Each ``[[terminals]]`` entry is a cluster centre; the cluster is ``1 + 3 r (r + 1)``
    hexagonal cells (r = ``cluster_rings``, 61 cells for 4) of circumradius
    ``cell_radius_km``, one UT at each cell centre, moving with the centre. Visible
    satellites: above ``[visibility] mask_elevation_deg`` from the centre; the reference is
    the highest of them; at most ``max_sats`` others (highest first) are schedulable.
    Defaults are seed 002's Table II (seed-math A.11).
    """

    enabled: bool = False
    terminals: list[str] | None = None
    cluster_rings: int = 4
    cell_radius_km: float = PntParams.cell_radius_m / 1e3
    nx: int = PntParams.nx
    ny: int = PntParams.ny
    n_beams: int = PntParams.n_beams
    power_dbw: float = PntParams.power_dbw
    freq_ghz: float = PntParams.freq_hz / 1e9
    bandwidth_mhz: float = PntParams.bandwidth_hz / 1e6
    ref_toa_var_s2: float = PntParams.ref_toa_var_s2
    i_tdoa: int = PntParams.i_tdoa
    max_sats: int = PntParams.n_sats  # I, the satellites besides the reference (Table II)
    element_gain_dbi: float = PntParams.element_gain_dbi
    scheduler: Literal[PNT_SCHEDULERS] = "hbs"
    hbs_m: int = 4
    beamformer: Literal[PNT_BEAMFORMERS] = "dsta"
    threshold_rule: Literal[THRESHOLD_RULES] = "common"  # DSTA; "grid" in paper-pnt.toml
    boresight: Literal[BORESIGHTS] = "nadir"  # UPA boresight; "cluster" in paper-pnt.toml

    @field_validator("terminals", mode="before")
    @classmethod
    def _terminals(cls, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    @field_validator("cluster_rings")
    @classmethod
    def _rings(cls, value: int) -> int:
        return int(_check_range("cluster_rings", value, 0, 20))

    @field_validator("nx", "ny", "n_beams", "hbs_m", "max_sats")
    @classmethod
    def _positive_int(cls, value: int, info: ValidationInfo) -> int:
        return int(_check_range(info.field_name, value, 1, None))

    @field_validator("i_tdoa")
    @classmethod
    def _i_tdoa(cls, value: int) -> int:
        return int(_check_range("i_tdoa", value, 3, None, " satellites"))

    @field_validator("cell_radius_km")
    @classmethod
    def _cell(cls, value: float) -> float:
        return _check_range("cell_radius_km", value, 0.0, 1000.0, " km", lo_open=True)

    @field_validator("freq_ghz", "bandwidth_mhz", "ref_toa_var_s2")
    @classmethod
    def _positive(cls, value: float, info: ValidationInfo) -> float:
        return _check_range(info.field_name, value, 0.0, None, lo_open=True)

    @field_validator("power_dbw")
    @classmethod
    def _power(cls, value: float) -> float:
        return _check_range("power_dbw", value, -60.0, 60.0, " dBW")

    @model_validator(mode="after")
    def _enough_sats(self) -> PntConfig:
        if self.max_sats < self.i_tdoa:
            raise Located(
                [(("max_sats",), f"max_sats = {self.max_sats} must be >= i_tdoa = {self.i_tdoa}")]
            )
        return self

    @property
    def n_cells(self) -> int:
        return 1 + 3 * self.cluster_rings * (self.cluster_rings + 1)

    @property
    def cell_radius_m(self) -> float:
        return self.cell_radius_km * 1e3


class ReplanConfig(_Section):
    """``[replan]``: when the ISAC and PNT processes re-plan their beams.

    ``policy``: ``"every_epoch"``, ``"every_n"`` (every ``every_n`` epochs) or ``"on_event"``
    (when one of ``on`` happens: ``handover`` = the central satellite (ISAC) or the reference
    satellite (PNT) changed, ``group_change`` = the serving group (ISAC) or the visible set
    (PNT) changed, ``drift`` = some planned satellite's direction seen from the target or
    cluster centre turned by more than ``drift_deg`` since the plan). Between re-plans the
    beams are held and evaluated on the new geometry. A plan whose satellite left the
    group/visibility is always replaced (reason ``forced``); ``max_age`` > 0 also forces a
    re-plan after that many epochs.
    """

    policy: Literal["every_epoch", "every_n", "on_event"] = "every_epoch"
    every_n: int = 1
    on: list[Literal[REPLAN_EVENTS]] = Field(default_factory=lambda: list(REPLAN_EVENTS))
    drift_deg: float = 10.0
    max_age: int = 0

    @field_validator("every_n")
    @classmethod
    def _n(cls, value: int) -> int:
        return int(_check_range("every_n", value, 1, None, " epochs"))

    @field_validator("max_age")
    @classmethod
    def _age(cls, value: int) -> int:
        return int(_check_range("max_age", value, 0, None, " epochs"))

    @field_validator("drift_deg")
    @classmethod
    def _drift(cls, value: float) -> float:
        return _check_range("drift_deg", value, 0.0, 180.0, "°", lo_open=True)

    @property
    def drift_rad(self) -> float:
        return math.radians(self.drift_deg)


class Output(_Section):
    """``[output]``: where the run directory goes and what it records."""

    dir: Path
    tables: list[Literal[TABLE_NAMES]] = Field(default_factory=lambda: list(TABLE_NAMES))
    links: bool = False

    @field_validator("dir", mode="before")
    @classmethod
    def _dir(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError("dir must be a path string")
        return _resolve_path("dir", value, info)

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: list[str]) -> list[str]:
        seen: dict[str, int] = {}
        problems = []
        for i, name in enumerate(value):
            if name in seen:
                problems.append(
                    ((i,), f"table '{name}' is listed twice (first at tables[{seen[name]}])")
                )
            seen.setdefault(name, i)
        if problems:
            raise Located(problems)
        return value


class ErrorsConfig(_Section):
    """``[errors]``: what the receivers believe versus the truth that makes the signals
    (``docs/error-budget.md``). Every source is off by default (today's ideal twin).

    - ``ephemeris``: ``"exact"`` (the belief is the truth), ``"tle_age"`` (the same satellites
      from older element sets: ``tle_files``, matched by catalogue number, the newest record
      at least ``min_age_days`` before the run start; satellites without one keep the truth),
      ``"statistical"`` (per-satellite RTN offsets, eq. E1 of ``twin.signal.ephemeris``, of
      standard deviation ``sigma_rtn_m`` (m), or the fitted Starlink growth times
      ``age_days`` + the time since the start);
    - satellite clocks (eq. K1 of ``twin.signal.clocks``): ``clock`` ``"none"``,
      ``"constant"`` (offset ``clock_offset_sigma_ns`` + drift ``clock_drift_sigma`` s/s) or
      ``"random_walk"`` (plus white-FM noise of Allan deviation ``clock_allan_1s`` at 1 s);
      ``clock_residual``: the fraction of each offset the receivers do not know after the
      common correction (1 = uncorrected);
    - signal flight (``twin.signal.flight``): ``light_time``, ``sagnac`` in the truth;
      ``flight_corrected``: the receivers model them (with their believed satellites);
    - atmosphere (``twin.signal.atmosphere``): ``troposphere`` (Saastamoinen + DO-229),
      ``ionosphere_tecu`` (vertical TEC, TECU; 0 = off) at the process's carrier;
      ``atmosphere_residual``: the fraction the receivers' models leave (1 = uncorrected).
    """

    ephemeris: Literal["exact", "tle_age", "statistical"] = "exact"
    tle_files: list[Path] = Field(default_factory=list)
    min_age_days: float = 0.0
    sigma_rtn_m: tuple[float, float, float] | None = None
    age_days: float | None = None
    clock: Literal["none", "constant", "random_walk"] = "none"
    clock_offset_sigma_ns: float = 0.0
    clock_drift_sigma: float = 0.0
    clock_allan_1s: float = 0.0
    clock_residual: float = 1.0
    light_time: bool = False
    sagnac: bool = False
    flight_corrected: bool = False
    troposphere: bool = False
    ionosphere_tecu: float = 0.0
    atmosphere_residual: float = 1.0

    @field_validator("sigma_rtn_m", mode="before")
    @classmethod
    def _sigma_tuple(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("tle_files", mode="before")
    @classmethod
    def _tle_paths(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, (list, tuple)):
            return value
        return [_resolve_path("tle_files", v, info) for v in value]

    @field_validator("tle_files")
    @classmethod
    def _tle_exist(cls, value: list[Path]) -> list[Path]:
        missing = [
            ((i,), f"tle_files[{i}] not found: {p}") for i, p in enumerate(value) if not p.is_file()
        ]
        if missing:
            raise Located(missing)
        return value

    @field_validator("sigma_rtn_m")
    @classmethod
    def _sigmas(cls, value: tuple | None) -> tuple | None:
        if value is not None:
            for v in value:
                _check_range("sigma_rtn_m", v, 0.0, None, " m")
        return value

    @field_validator(
        "min_age_days",
        "age_days",
        "clock_offset_sigma_ns",
        "clock_drift_sigma",
        "clock_allan_1s",
        "ionosphere_tecu",
    )
    @classmethod
    def _non_negative(cls, value: float | None, info: ValidationInfo) -> float | None:
        return value if value is None else _check_range(info.field_name, value, 0.0, None)

    @field_validator("clock_residual", "atmosphere_residual")
    @classmethod
    def _fraction(cls, value: float, info: ValidationInfo) -> float:
        return _check_range(info.field_name, value, 0.0, 1.0)

    @model_validator(mode="after")
    def _belief_needs(self) -> ErrorsConfig:
        problems = []
        if self.ephemeris == "tle_age" and not self.tle_files:
            problems.append(
                (
                    ("tle_files",),
                    'ephemeris = "tle_age" needs tle_files = ["<older TLE file>", ...]',
                )
            )
        if self.ephemeris != "tle_age" and self.tle_files:
            problems.append(
                (
                    ("tle_files",),
                    f'tle_files is only used with ephemeris = "tle_age" (got "{self.ephemeris}")',
                )
            )
        if self.ephemeris == "statistical" and (self.sigma_rtn_m is None) == (
            self.age_days is None
        ):
            problems.append(
                (
                    ("sigma_rtn_m",),
                    'ephemeris = "statistical" needs exactly one of sigma_rtn_m = [R, T, N] (m) or age_days',
                )
            )
        if self.ephemeris != "statistical" and (
            self.sigma_rtn_m is not None or self.age_days is not None
        ):
            problems.append(
                (
                    ("ephemeris",),
                    'sigma_rtn_m and age_days are only used with ephemeris = "statistical"',
                )
            )
        if self.clock == "none" and (
            self.clock_offset_sigma_ns or self.clock_drift_sigma or self.clock_allan_1s
        ):
            problems.append(
                (
                    ("clock",),
                    'clock_* sigmas are set but clock = "none" (use "constant" or "random_walk")',
                )
            )
        if self.clock == "constant" and self.clock_allan_1s:
            problems.append((("clock_allan_1s",), 'clock_allan_1s needs clock = "random_walk"'))
        if problems:
            raise Located(problems)
        return self

    @property
    def active(self) -> bool:
        """True when some source of error is on (the processes then record the budget)."""
        return bool(
            self.ephemeris != "exact"
            or self.clock != "none"
            or self.light_time
            or self.sagnac
            or self.troposphere
            or self.ionosphere_tecu > 0
        )


class Scenario(_Section):
    """One leo-twin run, validated. Build it with ``load_scenario`` or ``scenario_from_dict``.

    ``source_path`` (the scenario file, or None) is provenance, not content:
    two scenarios compare equal when every field is equal.
    """

    run: RunConfig
    constellation: Constellation
    visibility: Visibility = Field(default_factory=Visibility)
    isl: IslConfig = Field(default_factory=IslConfig)
    serving: Serving = Field(default_factory=Serving)
    targets: list[GroundEntity] = Field(default_factory=list)
    terminals: list[GroundEntity] = Field(default_factory=list)
    isac: IsacConfig = Field(default_factory=IsacConfig)
    pnt: PntConfig = Field(default_factory=PntConfig)
    replan: ReplanConfig = Field(default_factory=ReplanConfig)
    output: Output
    faults: list[Fault] = Field(default_factory=list)  # [[faults]], twin.config.faults
    areas: list[Area] = Field(default_factory=list)  # populations: twin.config.areas
    errors: ErrorsConfig = Field(default_factory=ErrorsConfig)
    channel: ChannelConfig = Field(default_factory=ChannelConfig)

    _source_path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _expand_areas(cls, data: Any, handler) -> Scenario:
        """``[[areas]]`` points become ordinary targets/terminals (``twin.config.areas``)."""
        return with_area_entities(data, handler)

    @model_validator(mode="before")
    @classmethod
    def _default_output_dir(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        output = data.get("output", {})
        if isinstance(output, dict) and "dir" not in output:
            run = data.get("run")
            name = run.get("name") if isinstance(run, dict) else None
            name = name if isinstance(name, str) and name.strip() else "run"
            data = {**data, "output": {**output, "dir": f"runs/{name}"}}
        return data

    @field_validator("targets")
    @classmethod
    def _target_names(cls, value: list[GroundEntity]) -> list[GroundEntity]:
        problems = _duplicate_names("targets", value, {})
        if problems:
            raise Located(problems)
        return value

    @field_validator("terminals")
    @classmethod
    def _terminal_names(cls, value: list[GroundEntity], info: ValidationInfo) -> list[GroundEntity]:
        targets = info.data.get("targets") or []
        seen = {t.name: f"targets[{i}]" for i, t in reversed(list(enumerate(targets)))}
        problems = _duplicate_names("terminals", value, seen)
        if problems:
            raise Located(problems)
        return value

    @model_validator(mode="after")
    def _process_entities_exist(self) -> Scenario:
        """``[isac] targets`` and ``[pnt] terminals`` must name entities of the scenario."""
        problems = []
        for section, key, pool in (
            ("isac", "targets", self.targets),
            ("pnt", "terminals", self.terminals),
        ):
            names = {e.name for e in pool}
            for i, name in enumerate(getattr(getattr(self, section), key) or []):
                if name not in names:
                    problems.append(
                        (
                            (section, key, i),
                            f"'{name}' is not one of the scenario's {key} ({', '.join(sorted(names)) or 'none'})",
                        )
                    )
        if problems:
            raise Located(problems)
        return self

    @model_validator(mode="after")
    def _tracks_stay_valid(self) -> Scenario:
        """Constant-velocity tracks must stay off the poles and in the height range for the whole run."""
        problems = []
        ends = np.array([0.0, self.run.duration])
        for section in ("targets", "terminals"):
            for i, entity in enumerate(getattr(self, section)):
                if entity.velocity_enu_mps is None:
                    continue
                try:
                    _, _, alt = entity.geodetic_track(ends)
                except ValueError as exc:
                    problems.append(
                        (
                            (section, i, "velocity_enu_mps"),
                            f"{exc} within the run's {self.run.duration:g} s",
                        )
                    )
                    continue
                lo, hi = GROUND_ALT_RANGE_M
                if alt.min() < lo or alt.max() > hi:
                    problems.append(
                        (
                            (section, i, "velocity_enu_mps"),
                            f"the track's height leaves {lo:g} .. {hi:g} m within the run's {self.run.duration:g} s",
                        )
                    )
        if problems:
            raise Located(problems)
        return self

    @model_validator(mode="after")
    def _channel_bands_match_carriers(self) -> Scenario:
        """``[channel] band`` against each enabled process's carrier (``twin.config.channel``)."""
        problems = band_problems(self)
        if problems:
            raise Located(problems)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]  # holds lists; compare, don't hash

    @property
    def source_path(self) -> Path | None:
        """The scenario file this was loaded from (absolute), or None when built from a dict."""
        return self._source_path

    def ground_entities(self) -> list[GroundEntity]:
        """Targets then terminals (names are unique across both)."""
        return [*self.targets, *self.terminals]

    def to_resolved_dict(self) -> dict:
        """Every field with defaults filled in, as plain JSON/TOML types.

        Times are ISO 8601 UTC text, durations float seconds, paths absolute
        text; unset optional fields (None) are left out. ``scenario_from_dict``
        of the result gives an equal Scenario.
        """
        return without_area_entities(self.model_dump(mode="json", exclude_none=True), self.areas)


def _duplicate_names(
    section: str, entities: list[GroundEntity], seen: dict[str, str]
) -> list[tuple[tuple, str]]:
    """Problems for entity names already in ``seen`` (name -> where); updates ``seen``."""
    problems = []
    for i, entity in enumerate(entities):
        if entity.name in seen:
            problems.append(
                (
                    (i, "name"),
                    f"name '{entity.name}' is already used by {seen[entity.name]} (names must be unique across targets and terminals)",
                )
            )
        else:
            seen[entity.name] = f"{section}[{i}]"
    return problems
