"""``[[faults]]``: scheduled and random failures of satellites, ISLs and payloads (schema only).

One entry per fault (``docs/twin.md``, "Faults"):

* ``kind = "satellite"``: the satellite is off (no ISL, no service) from ``start`` for
  ``duration`` (omitted: for good);
* ``kind = "isac_payload"`` / ``"pnt_payload"``: its ISAC or PNT payload is off (it still
  relays: it stays in the ISL graph, but is no candidate for that process);
* ``kind = "isl"``: the link between the two satellites of ``link`` is off;
* ``kind = "random"``: every satellite (and, with ``isl_mtbf``, every ISL) fails and is
  repaired at random: up times exponential with mean ``satellite_mtbf`` / ``isl_mtbf``, down
  times exponential with mean ``satellite_mttr`` / ``isl_mttr``, seeded by ``[run] seed``.

A satellite is named by ``satellite`` (its name, text, or its catalogue number, an integer)
or, in a Walker constellation, by ``shell`` (default 0) / ``plane`` / ``slot``. Times are
durations from the run's start (``"90s"``, ``"10m"``, ``"1h"``, seconds). Every field is
checked on its own line here; what needs the run or the constellation (the satellite exists,
two faults on one element overlap, a start after the run's end, one random entry at most) is
:func:`twin.constellation.faults.check_faults`, run before the run starts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from twin.units import parse_duration

__all__ = ["FAULT_KINDS", "SCHEDULED_KINDS", "Fault"]

#: What a ``[[faults]]`` entry switches off.
FAULT_KINDS = ("satellite", "isl", "isac_payload", "pnt_payload", "random")
#: The kinds with a start (and an optional duration).
SCHEDULED_KINDS = ("satellite", "isl", "isac_payload", "pnt_payload")

_ONE_SATELLITE = ("satellite", "isac_payload", "pnt_payload")
#: field -> the kinds it applies to
_APPLIES = {
    "satellite": _ONE_SATELLITE,
    "shell": _ONE_SATELLITE,
    "plane": _ONE_SATELLITE,
    "slot": _ONE_SATELLITE,
    "link": ("isl",),
    "start": SCHEDULED_KINDS,
    "duration": SCHEDULED_KINDS,
    "satellite_mtbf": ("random",),
    "satellite_mttr": ("random",),
    "isl_mtbf": ("random",),
    "isl_mttr": ("random",),
}
_PAIRED = {
    "satellite_mtbf": "satellite_mttr",
    "satellite_mttr": "satellite_mtbf",
    "isl_mtbf": "isl_mttr",
    "isl_mttr": "isl_mtbf",
}


def _optional(**kwargs):
    return Field(default=None, validate_default=True, **kwargs)


class Fault(BaseModel):
    """One ``[[faults]]`` entry (see the module docstring). Times in seconds from the start.

    Fields are declared in checking order: each validator sees ``kind`` and the fields above
    it (``info.data``), so each problem is reported at its own field (file:line field)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    kind: Literal[FAULT_KINDS]
    start: float | None = _optional()
    duration: float | None = _optional()
    satellite_mtbf: float | None = _optional()
    satellite_mttr: float | None = _optional()
    isl_mtbf: float | None = _optional()
    isl_mttr: float | None = _optional()
    link: tuple[str | int, str | int] | None = _optional()
    shell: int | None = _optional()
    plane: int | None = _optional()
    slot: int | None = _optional()
    satellite: str | int | None = _optional()

    @field_validator("link", mode="before")
    @classmethod
    def _link_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError(f"link must name two satellites, got {len(value)}")
            return tuple(value)
        return value

    @field_validator("start", "duration", *_PAIRED, mode="before")
    @classmethod
    def _duration_text(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @field_validator(*_APPLIES)
    @classmethod
    def _fits_the_kind(cls, value: Any, info: ValidationInfo) -> Any:
        kind, name, data = info.data.get("kind"), info.field_name, info.data
        if kind is None:
            return value  # the kind itself is wrong: reported there
        if value is not None and kind not in _APPLIES[name]:
            raise ValueError(f"{name} does not apply to kind = {kind!r}")
        if value is not None and name in ("duration", *_PAIRED) and not value > 0:
            raise ValueError(f"{name} = {value:g} s must be > 0")
        if value is not None and name in ("shell", "plane", "slot") and value < 0:
            raise ValueError(f"{name} = {value} must be >= 0")
        if name == "start" and value is None and kind in SCHEDULED_KINDS:
            raise ValueError(f"a {kind} fault needs a start (a duration from the run's start)")
        if (
            name in _PAIRED
            and kind == "random"
            and (value is None) != (data.get(_PAIRED[name]) is None)
        ):
            if name.endswith("mttr"):
                raise ValueError(f"{name} and {_PAIRED[name]} go together")
        if name == "isl_mttr" and kind == "random":
            if data.get("satellite_mtbf") is None and data.get("isl_mtbf") is None:
                raise ValueError(
                    "a random fault needs satellite_mtbf and satellite_mttr and/or isl_mtbf and isl_mttr"
                )
        if name == "link" and kind == "isl":
            if value is None:
                raise ValueError("an isl fault needs link = [satellite_a, satellite_b]")
            if value[0] == value[1]:
                raise ValueError(f"link joins {value[0]!r} to itself")
        if name == "satellite" and kind in _ONE_SATELLITE:
            walker = [n for n in ("plane", "slot") if data.get(n) is not None]
            if value is not None and (walker or data.get("shell") is not None):
                raise ValueError("name the satellite by satellite or by shell/plane/slot, not both")
            if value is None and len(walker) < 2:
                raise ValueError(
                    f"a {kind} fault needs satellite (a name or a catalogue number) or plane and slot"
                )
        return value

    @property
    def end(self) -> float:
        """End of a scheduled fault, seconds from the start (inf: for good)."""
        return float("inf") if self.duration is None else float(self.start) + float(self.duration)
