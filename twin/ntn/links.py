"""The generator: every clause 6.6 term for a batch of satellite-ground links in one call.

:class:`NtnChannel` holds the choices (scenario, band, carrier, seed, building entry);
:func:`link_losses` evaluates L links given as pairs, :func:`grid_losses` the R x S grid of R
receivers and S satellites (e.g. all links of an epoch). Per link: elevation, LOS probability
(Table 6.6.1-1), LOS state and shadow fading from the spatially consistent fields of
:mod:`twin.ntn.consistency`, clutter loss (NLOS only), FSPL, gas absorption, scintillation and
building entry loss, all in dB.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.special import ndtr

from twin.geometry import ecef_to_geodetic, enu_basis
from twin.ntn.atmosphere import gas_absorption_db, scintillation_db
from twin.ntn.consistency import clutter_points, link_fields, link_hash
from twin.ntn.entry import BUILDING_TYPES, building_entry_loss_db
from twin.ntn.los import check_scenario, los_probability
from twin.ntn.pathloss import free_space_path_loss_db
from twin.ntn.shadowing import check_band, shadow_fading_clutter
from twin.ntn.tables import CLUTTER_HEIGHT_M, LOS_CORRELATION_M, SF_CORRELATION_M

__all__ = ["NtnChannel", "LinkLosses", "link_losses", "grid_losses", "receiver_key"]

#: Links per vectorised chunk (bounds the (L, 2N) temporaries to a few MB).
CHUNK = 8192


def receiver_key(role: int, entity: int, index: int) -> int:
    """Key of one receiver: ``role`` (1 = ISAC UE, 2 = PNT UT, < 2^8), ground ``entity`` index
    (< 2^24) and its ``index`` within the entity (< 2^24), packed in 56 bits."""
    if not (0 <= role < 2**8 and 0 <= entity < 2**24 and 0 <= index < 2**24):
        raise ValueError(f"receiver_key out of range: {role}, {entity}, {index}")
    return (int(role) << 48) | (int(entity) << 24) | int(index)


@dataclass(frozen=True)
class NtnChannel:
    """The TR 38.811 large-scale channel of a run.

    scenario: "dense_urban" | "urban" | "suburban" | "rural"; band: "S" | "Ka" (which tables);
    freq_hz: carrier (FSPL, gas, ionospheric scintillation, building entry); seed: of the
    per-link fields; building: "none" | "traditional" | "thermally_efficient" (P.2109 type of an
    indoor receiver), bel_probability: P.2109 probability of the entry loss.
    """

    scenario: str = "urban"
    band: str = "Ka"
    freq_hz: float = 20e9
    seed: int = 0
    building: str = "none"
    bel_probability: float = 0.5

    def __post_init__(self):
        check_scenario(self.scenario)
        check_band(self.band)
        if not 1e9 <= self.freq_hz <= 100e9:
            raise ValueError(f"freq_hz must be in 1-100 GHz, got {self.freq_hz:g}")
        if self.building not in BUILDING_TYPES:
            raise ValueError(f"building must be one of {BUILDING_TYPES}, got {self.building!r}")
        if not 0.0 < self.bel_probability < 1.0:
            raise ValueError("bel_probability must be in (0, 1)")


@dataclass
class LinkLosses:
    """Per-link terms, each an array of the links' shape (L,) or (R, S); losses in dB."""

    elevation_deg: np.ndarray
    los_probability: np.ndarray
    los: np.ndarray  # bool
    fspl_db: np.ndarray
    sf_db: np.ndarray
    cl_db: np.ndarray
    gas_db: np.ndarray
    scint_db: np.ndarray
    bel_db: np.ndarray
    #: complex flat-fading gain per link (:func:`twin.ntn.flat_fading`), None without fading
    fading: np.ndarray | None = None

    @property
    def extra_db(self) -> np.ndarray:
        """Everything but free space: SF + CL + gas + scintillation + building entry (dB)."""
        return self.sf_db + self.cl_db + self.gas_db + self.scint_db + self.bel_db

    @property
    def total_db(self) -> np.ndarray:
        """Basic path loss plus the additional losses: FSPL + :attr:`extra_db` (dB)."""
        return self.fspl_db + self.extra_db

    def _map(self, op) -> LinkLosses:
        return LinkLosses(
            **{
                f.name: None if getattr(self, f.name) is None else op(getattr(self, f.name))
                for f in fields(self)
            }
        )

    def reshape(self, shape) -> LinkLosses:
        return self._map(lambda a: a.reshape(shape))

    def take(self, index) -> LinkLosses:
        return self._map(lambda a: a[index])


def _chunk(channel: NtnChannel, rx, sat, rx_keys, sat_keys) -> LinkLosses:
    lat, lon, _ = ecef_to_geodetic(rx)
    up = enu_basis(lat, lon)[:, 2, :]  # (L, 3)
    d = sat - rx
    rng_m = np.linalg.norm(d, axis=1)
    el = np.degrees(np.arcsin(np.clip(np.einsum("lj,lj->l", d, up) / rng_m, -1.0, 1.0)))
    sc = channel.scenario
    points = clutter_points(rx, sat, up, CLUTTER_HEIGHT_M[sc])
    h = link_hash(channel.seed, rx_keys, sat_keys)
    p_los = los_probability(sc, el)
    los = ndtr(link_fields(h, points, [LOS_CORRELATION_M[sc]])[0]) < p_los
    # the shadow-fading field of each link's state only (fields 1 = LOS, 2 = NLOS)
    sf = np.empty(len(h))
    for state, length, field in (
        (los, SF_CORRELATION_M[sc][0], 1),
        (~los, SF_CORRELATION_M[sc][1], 2),
    ):
        sf[state] = link_fields(h[state], points[state], [length], first_field=field)[0]
    s_los, s_nlos, cl = shadow_fading_clutter(sc, channel.band, el)
    return LinkLosses(
        elevation_deg=el,
        los_probability=p_los,
        los=los,
        fspl_db=free_space_path_loss_db(rng_m, channel.freq_hz),
        sf_db=np.where(los, s_los, s_nlos) * sf,
        cl_db=np.where(los, 0.0, cl),
        gas_db=gas_absorption_db(channel.freq_hz, el),
        scint_db=scintillation_db(channel.band, channel.freq_hz, el),
        bel_db=building_entry_loss_db(
            channel.building, channel.freq_hz, el, channel.bel_probability
        ),
    )


def link_losses(channel: NtnChannel, rx_pos, sat_pos, rx_keys, sat_keys) -> LinkLosses:
    """Terms of L links: rx_pos, sat_pos (L, 3) ECEF metres; rx_keys (L,) receiver keys
    (:func:`receiver_key`), sat_keys (L,) satellite keys (the satellite's index in the run).
    Returns :class:`LinkLosses` of (L,) arrays."""
    rx = np.asarray(rx_pos, dtype=float).reshape(-1, 3)
    sat = np.asarray(sat_pos, dtype=float).reshape(-1, 3)
    rk = np.asarray(rx_keys, dtype=np.int64).reshape(-1)
    sk = np.asarray(sat_keys, dtype=np.int64).reshape(-1)
    if not (len(rx) == len(sat) == len(rk) == len(sk)):
        raise ValueError(
            f"link_losses needs L links everywhere, got {len(rx)}, {len(sat)}, {len(rk)}, {len(sk)}"
        )
    if np.any(rk < 0) or np.any(sk < 0):
        raise ValueError("link keys must be >= 0")
    parts = [
        _chunk(channel, rx[i : i + CHUNK], sat[i : i + CHUNK], rk[i : i + CHUNK], sk[i : i + CHUNK])
        for i in range(0, max(len(rx), 1), CHUNK)
    ]
    if len(parts) == 1:
        return parts[0]
    return LinkLosses(
        **{
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields(LinkLosses)
            if f.name != "fading"
        }
    )


def grid_losses(channel: NtnChannel, rx_pos, sat_pos, rx_keys, sat_keys) -> LinkLosses:
    """Terms of the R x S links between rx_pos (R, 3) with keys (R,) and sat_pos (S, 3) with keys
    (S,): :class:`LinkLosses` of (R, S) arrays."""
    rx = np.asarray(rx_pos, dtype=float).reshape(-1, 3)
    sat = np.asarray(sat_pos, dtype=float).reshape(-1, 3)
    R, S = len(rx), len(sat)
    rk = np.broadcast_to(np.asarray(rx_keys, dtype=np.int64)[:, None], (R, S))
    sk = np.broadcast_to(np.asarray(sat_keys, dtype=np.int64)[None, :], (R, S))
    flat = link_losses(
        channel,
        np.broadcast_to(rx[:, None, :], (R, S, 3)).reshape(-1, 3),
        np.broadcast_to(sat[None, :, :], (R, S, 3)).reshape(-1, 3),
        rk.reshape(-1),
        sk.reshape(-1),
    )
    return flat.reshape((R, S))
