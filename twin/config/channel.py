"""``[channel]``: which large-scale channel the ISAC and PNT processes use (docs/twin.md).

``model = "seed"`` (the default) keeps each seed's own link model, bit for bit. ``"tr38811"``
adds, on every link a process evaluates, the 3GPP TR 38.811 clause 6.6 terms of
:mod:`twin.ntn` (LOS state, shadow fading, clutter loss, gas absorption, scintillation and,
optionally, building entry loss) for ``scenario`` and ``band``; the seeds' free-space loss
stays (it is the TR's eq. 6.6-3 already).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from twin.ntn.entry import BUILDING_TYPES
from twin.ntn.tables import BANDS, SCENARIOS

__all__ = ["ChannelConfig", "CHANNEL_MODELS"]

#: Values of ``[channel] model``.
CHANNEL_MODELS = ("seed", "tr38811")


class ChannelConfig(BaseModel):
    """``[channel]``: ``model`` ("seed" | "tr38811"), ``scenario`` ("dense_urban", "urban",
    "suburban", "rural"), ``band`` ("S" | "Ka": which TR tables), ``building_entry``
    ("none" | "traditional" | "thermally_efficient": receivers indoors, ITU-R P.2109) and
    ``bel_probability`` (the P.2109 probability, 0-1 exclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    model: Literal[CHANNEL_MODELS] = "seed"
    scenario: Literal[SCENARIOS] = "urban"
    band: Literal[BANDS] = "Ka"
    building_entry: Literal[BUILDING_TYPES] = "none"
    bel_probability: float = 0.5

    @field_validator("bel_probability")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0.0 < value < 1.0:
            raise ValueError(
                f"bel_probability = {value:g} is out of range (allowed: 0 .. 1, exclusive)"
            )
        return value
