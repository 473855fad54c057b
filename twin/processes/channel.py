"""The ``[channel]`` seam of the ISAC and PNT processes: the TR 38.811 per-link loss.

With ``[channel] model = "tr38811"`` each process asks :class:`LinkChannel` for the
:class:`twin.ntn.LinkLosses` of the links it evaluates (ISAC: its M UEs x K serving
satellites; PNT: its C UTs x I candidate satellites), scales its channel amplitudes by
10^(-extra_db / 20) (extra_db = SF + CL + gas + scintillation + building entry: the seeds'
channels carry the free-space loss already) before its design, rates and SINRs, and records
the terms per served link (columns ``ntn_*``, :meth:`LinkChannel.columns`). With the default
``model = "seed"`` every method returns its input unchanged and no column is added.

With ``small_scale = "flat"`` each link also gets one complex flat-fading gain per epoch
(:func:`twin.ntn.flat_fading`: Rician with the TR 38.811 K-factor in LOS, Rayleigh in NLOS),
multiplied into the amplitude and recorded as ``ntn_fading_db`` (20 log10 |h|). It draws from
its own stream ``SeedSequence([seed, epoch, entity, FADING_TAG])``, not from the entity's
epoch generator, so every other draw of the run is unchanged.

Receivers are keyed by (process role, ground entity, UE/UT index) and satellites by their index
in the run, so a link's channel is a function of the seed, the link and the geometry only
(:mod:`twin.ntn.consistency`): nothing to checkpoint, windows and resumes read the same values.
"""

from __future__ import annotations

import numpy as np

from twin.config.channel import band_for
from twin.ntn import (
    LinkLosses,
    NtnChannel,
    flat_fading,
    grid_losses,
    receiver_key,
    rician_k_db,
)

__all__ = ["LinkChannel", "ISAC_ROLE", "PNT_ROLE", "FADING_TAG"]

#: Tag of the flat-fading stream ``SeedSequence([seed, epoch, entity, FADING_TAG])``.
FADING_TAG = 0x46414401

#: Receiver-key roles (:func:`twin.ntn.receiver_key`).
ISAC_ROLE, PNT_ROLE = 1, 2


class LinkChannel:
    """The channel choice of one process (``scenario.channel``) at carrier ``freq_hz``; the TR
    tables are those of ``[channel] band``, or with "auto" of the carrier's band
    (:func:`twin.config.channel.band_for`)."""

    def __init__(self, scenario, freq_hz: float, role: int):
        cfg = scenario.channel
        self.role = int(role)
        self.fading = cfg.small_scale == "flat"
        self.ntn = None
        if cfg.model == "tr38811":
            self.ntn = NtnChannel(
                scenario=cfg.scenario,
                band=band_for(cfg.band, float(freq_hz)),
                freq_hz=float(freq_hz),
                seed=int(scenario.run.seed),
                building=cfg.building_entry,
                bel_probability=cfg.bel_probability,
            )

    def losses(
        self, entity: int, rx_pos, sat_pos, sat_index, epoch: int | None = None
    ) -> LinkLosses | None:
        """(R, S) terms between receivers rx_pos (R, 3) of ground entity ``entity`` and the
        satellites sat_pos (S, 3) of run indices sat_index (S,) at epoch index ``epoch`` (needed
        with flat fading); None with the seeds' model."""
        if self.ntn is None:
            return None
        rx_keys = [receiver_key(self.role, entity, r) for r in range(len(rx_pos))]
        out = grid_losses(self.ntn, rx_pos, sat_pos, rx_keys, np.asarray(sat_index))
        if self.fading:
            if epoch is None:
                raise ValueError("flat fading needs the epoch index")
            seq = np.random.SeedSequence([self.ntn.seed, int(epoch), int(entity), FADING_TAG])
            k_db = rician_k_db(self.ntn.scenario, self.ntn.band, out.elevation_deg)
            out.fading = flat_fading(out.los, k_db, np.random.default_rng(seq))
        return out

    @staticmethod
    def amplitude(losses: LinkLosses) -> np.ndarray:
        """Per-link factor on the channel amplitude: 10^(-extra_db / 20), times the flat-fading
        gain when there is one (complex then)."""
        amplitude = 10.0 ** (-losses.extra_db / 20.0)
        return amplitude if losses.fading is None else amplitude * losses.fading

    @staticmethod
    def scale_isac(H, losses: LinkLosses | None):
        """Seed 000 channels H (M, K N) (row m = UE m, K blocks of N antennas) times
        :meth:`amplitude` of losses (M, K); H itself with the seeds' model."""
        if losses is None:
            return H
        M, K = losses.extra_db.shape
        amplitude = LinkChannel.amplitude(losses)
        return (np.asarray(H).reshape(M, K, -1) * amplitude[..., None]).reshape(M, -1)

    @staticmethod
    def scale_pnt(H, losses: LinkLosses | None):
        """Seed 002 channels H (I, C, N) times :meth:`amplitude` of losses (C, I); H itself
        with the seeds' model."""
        if losses is None:
            return H
        return np.asarray(H) * LinkChannel.amplitude(losses).T[..., None]

    @staticmethod
    def columns(losses: LinkLosses | None, rx: int | None = None, sats=None) -> dict:
        """New table columns of the served links: every (R, S) link in row-major order, or
        receiver ``rx``'s links to satellites ``sats`` (positions along S). Empty with the
        seeds' model."""
        if losses is None:
            return {}
        part = losses if rx is None else losses.take((rx, np.asarray(sats)))
        flat = part.reshape(-1)
        cols = {
            "ntn_los_share": float(np.mean(flat.los)) if flat.los.size else np.nan,
            "ntn_los": [bool(v) for v in flat.los],
            "ntn_elevation_deg": flat.elevation_deg.tolist(),
        }
        for name in ("fspl_db", "sf_db", "cl_db", "gas_db", "scint_db", "bel_db", "extra_db"):
            cols[f"ntn_{name}"] = getattr(flat, name).tolist()
        if flat.fading is not None:  # small_scale = "flat": 20 log10 |h| per link
            cols["ntn_fading_db"] = (20.0 * np.log10(np.abs(flat.fading))).tolist()
        return cols
