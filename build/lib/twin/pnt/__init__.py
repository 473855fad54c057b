"""Seed 002 as a library: multi-beam LEO TDOA positioning (channels, CRLB, scheduling, beams).

The names a notebook calls, imported from the modules that own them (the modules stay the
reference; this list is their public face). Positions are Earth-fixed (ECEF) metres, powers
watts, SINRs linear, variances s²; one drop has I satellites, C UTs and N antennas.

Positioning bound (:mod:`twin.pnt.crlb`)
    ``toa_variance(sinr, bandwidth_hz)``: eq. (3), TOA variance in s².
    ``tdoa_crlb(ut, sats, ref_sat, toa_var, ref_var)``: eq. (7), position CRLB (3, 3) in m².
    ``gdop(ut, sats, ref_sat)``: eq. (36), unitless.
    ``accuracy_per_ut(ut_pos, sat_pos, ref_pos, delta, sinr, bandwidth_hz, ref_var)``:
    √CRLB per UT of a drop, (C,) metres.

Channels (:mod:`twin.pnt.channel`)
    ``PntParams``: Table II settings. ``pnt_body_frames(sat_pos, ...)``: satellite body
    frames (I, 3, 3). ``channels(sat_pos, ut_pos, frames, *, freq_hz, nx, ny, rng, ...)``:
    eq. (8), H (I, C, N) complex.

Beam scheduling (:mod:`twin.pnt.scheduling`)
    ``schedule(method, H, ut_pos, sat_pos, ref_pos, *, i_tdoa, max_beams, ...)``: delta
    (I, C) bool by "hbs", "gdop", "comm" or "parallax"; ``hbs(...)``: Algorithm 2.

Beamforming (:mod:`twin.pnt.beamforming`, :mod:`twin.pnt.feasibility`)
    ``beamform(method, H, delta, *, power_w, noise_w, ...)``: "dsta", "zf", "scb" or
    "scbwi", a ``BeamResult``; ``dsta(...)``: Algorithm 1; ``zf_beams(H_i, power_w)``,
    ``scb_beams(H_i, power_w)``: eq. (33)-(34) for one satellite;
    ``feasible(H_i, gamma, power_w, noise_w)``: the per-satellite SINR feasibility test.

Cells (:mod:`twin.pnt.cells`)
    ``hex_cells(rings, circumradius_m)``: (east, north) offsets (C, 2) metres of a
    hexagonal cluster.

Example::

    import twin.pnt as pnt

    var = pnt.toa_variance(sinr=100.0, bandwidth_hz=50e6)  # s²
    cov = pnt.tdoa_crlb(ut, sats, ref, toa_var=[var] * 3, ref_var=var)  # (3, 3) m²
"""

from twin.pnt.beamforming import beamform, dsta, scb_beams, zf_beams
from twin.pnt.cells import hex_cells
from twin.pnt.channel import PntParams, channels, pnt_body_frames
from twin.pnt.crlb import accuracy_per_ut, gdop, tdoa_crlb, toa_variance
from twin.pnt.feasibility import feasible
from twin.pnt.scheduling import hbs, schedule

__all__ = [
    "toa_variance",
    "tdoa_crlb",
    "gdop",
    "accuracy_per_ut",
    "PntParams",
    "channels",
    "pnt_body_frames",
    "schedule",
    "hbs",
    "beamform",
    "dsta",
    "zf_beams",
    "scb_beams",
    "feasible",
    "hex_cells",
]
