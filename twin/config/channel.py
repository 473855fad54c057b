"""``[channel]``: which large-scale channel the ISAC and PNT processes use (docs/twin.md).

``model = "seed"`` (the default) keeps each seed's own link model, bit for bit. ``"tr38811"``
adds, on every link a process evaluates, the 3GPP TR 38.811 clause 6.6 terms of
:mod:`twin.ntn` (LOS state, shadow fading, clutter loss, gas absorption, scintillation and,
optionally, building entry loss) for ``scenario`` and ``band``; the seeds' free-space loss
stays (it is the TR's eq. 6.6-3 already).

``band = "auto"`` (the default) gives each process the tables of its own carrier's band
(:func:`twin.ntn.bands.nearest_band`: S 1.5-2.5 GHz, Ka 17.3-30 GHz, else the nearest with a
warning); an explicit ``band`` that is not the nearest band of an enabled process's carrier is
refused (:func:`band_problems`), so Ka tables never land on the 4 GHz PNT link silently.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from twin.config.located import Located
from twin.isac.physics.channel import IsacParams
from twin.ntn.bands import band_warning, describe_range, nearest_band
from twin.ntn.entry import BUILDING_TYPES
from twin.ntn.tables import BANDS, SCENARIOS

__all__ = [
    "ChannelConfig",
    "CHANNEL_MODELS",
    "SMALL_SCALE_MODELS",
    "band_for",
    "band_problems",
    "carrier_bands",
    "channel_facts",
]

#: Values of ``[channel] model``.
CHANNEL_MODELS = ("seed", "tr38811")
#: Values of ``[channel] small_scale``: none, or one flat Rician (LOS) / Rayleigh (NLOS) complex
#: gain per link and epoch (:func:`twin.ntn.flat_fading`; needs ``model = "tr38811"``).
SMALL_SCALE_MODELS = ("none", "flat")


class ChannelConfig(BaseModel):
    """``[channel]``: ``model`` ("seed" | "tr38811"), ``scenario`` ("dense_urban", "urban",
    "suburban", "rural"), ``band`` ("auto" | "S" | "Ka": which TR tables; "auto" = each
    process's carrier's band), ``building_entry``
    ("none" | "traditional" | "thermally_efficient": receivers indoors, ITU-R P.2109),
    ``bel_probability`` (the P.2109 probability, 0-1 exclusive) and ``small_scale`` ("none" |
    "flat": per-link flat fading, Rician with the TR 38.811 K-factor in LOS, Rayleigh in NLOS;
    only with ``model = "tr38811"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    model: Literal[CHANNEL_MODELS] = "seed"
    scenario: Literal[SCENARIOS] = "urban"
    band: Literal[("auto", *BANDS)] = "auto"
    building_entry: Literal[BUILDING_TYPES] = "none"
    bel_probability: float = 0.5
    small_scale: Literal[SMALL_SCALE_MODELS] = "none"

    @field_validator("bel_probability")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0.0 < value < 1.0:
            raise ValueError(
                f"bel_probability = {value:g} is out of range (allowed: 0 .. 1, exclusive)"
            )
        return value

    @model_validator(mode="after")
    def _fading_needs_tr38811(self) -> ChannelConfig:
        if self.small_scale != "none" and self.model != "tr38811":
            raise Located(
                [
                    (
                        ("small_scale",),
                        f'small_scale = "{self.small_scale}" needs model = "tr38811" (the '
                        "K-factor follows the TR 38.811 LOS state)",
                    )
                ]
            )
        return self


#: The carrier range the TR 38.811 terms are evaluated for (gas table, scintillation).
CARRIER_RANGE_HZ = (1e9, 100e9)


def band_for(band: str, freq_hz: float) -> str:
    """The tables ("S" | "Ka") of a process at carrier ``freq_hz`` (Hz) under ``[channel] band``."""
    return nearest_band(freq_hz) if band == "auto" else band


def carrier_bands(scenario) -> list[tuple[str, float, tuple]]:
    """(process, carrier Hz, location of the carrier field) of each enabled process; the ISAC
    carrier is seed 000's fixed one (not a scenario field: location None)."""
    out = []
    if scenario.isac.enabled:
        out.append(("isac", float(IsacParams.freq_hz), None))
    if scenario.pnt.enabled:
        out.append(("pnt", float(scenario.pnt.freq_ghz) * 1e9, ("pnt", "freq_ghz")))
    return out


def band_problems(scenario) -> list[tuple[tuple, str]]:
    """``Located`` items: with ``model = "tr38811"``, a carrier outside 1-100 GHz (at the
    carrier's field) and an explicit ``band`` that is not the nearest band of an enabled
    process's carrier (at ``channel.band``). None with the seeds' model."""
    cfg = scenario.channel
    if cfg.model != "tr38811":
        return []
    problems = []
    for process, freq_hz, where in carrier_bands(scenario):
        lo, hi = CARRIER_RANGE_HZ
        if not lo <= freq_hz <= hi:
            problems.append(
                (
                    where or ("channel", "model"),
                    f"{process} carrier {freq_hz / 1e9:g} GHz is outside the 1-100 GHz the "
                    f'TR 38.811 channel covers (model = "tr38811")',
                )
            )
            continue
        nearest = nearest_band(freq_hz)
        if cfg.band != "auto" and cfg.band != nearest:
            problems.append(
                (
                    ("channel", "band"),
                    f'band = "{cfg.band}" contradicts the {process} carrier {freq_hz / 1e9:g} GHz '
                    f"(TR 38.811 {cfg.band} band: {describe_range(cfg.band)}; this carrier's band "
                    f'is {nearest}): use band = "auto" or "{nearest}"',
                )
            )
    return problems


def channel_facts(scenario) -> dict:
    """run.json keys of the TR 38.811 channel: ``channel_bands`` {process: band} and, when a
    carrier lies outside its band's range, ``channel_warnings`` (texts). Empty with the seeds'
    model (run.json unchanged)."""
    cfg = scenario.channel
    if cfg.model != "tr38811":
        return {}
    bands, warnings = {}, []
    for process, freq_hz, _ in carrier_bands(scenario):
        bands[process] = band_for(cfg.band, freq_hz)
        warning = band_warning(freq_hz, bands[process])
        if warning is not None:
            warnings.append(f"channel ({process}): {warning}")
    return {"channel_bands": bands, **({"channel_warnings": warnings} if warnings else {})}
