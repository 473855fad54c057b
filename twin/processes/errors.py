"""The error budget of the PNT and ISAC processes: truth makes the signals, belief solves.

Used only when ``[errors]`` turns some source on (``ErrorsConfig.active``); otherwise the
processes run today's code and write today's columns. Sources (docs/error-budget.md):

- ``ephemeris``: the solver uses the believed satellite positions (``Epoch.belief_pos``);
- ``clock``: each TOA carries −c·(δt_i − δt̂_i), the satellite clock offset the receivers do
  not know (eq. K1 of ``twin.signal.clocks``); the UT clock is common to all links and cancels
  in a TDOA, the satellites' do not;
- ``flight``: the truth's path length (light time and/or Sagnac, ``twin.signal.flight``) minus
  the instantaneous range, minus the receivers' own model of it when ``flight_corrected``;
- ``troposphere``, ``ionosphere``: the slant delays of ``twin.signal.atmosphere`` at the true
  geometry minus (1 − residual) × the receivers' model at the believed geometry;
- ``noise``: the seed's TOA errors (today's draws, unchanged).

Per TOA the excess (metres) of a source is the truth minus what the receivers correct; a TDOA
takes link i minus the reference. The receivers evaluate their corrections with believed
satellites at the fix's start point (the UT's cell centre), solve, and, when a correction
depends on where they are (corrected flight or atmosphere), evaluate it again at that first
fix and solve once more.

Breakdown: each source's part is the fix error with only that source on and no noise (same
draws); the total has every source on plus the noise; the ideal (``fix_error_m``) is the noise
alone. Parts do not add in norm (they add as vectors to first order).
"""

from __future__ import annotations

import numpy as np

from twin.geometry import ecef_to_geodetic, enu_basis
from twin.pnt.crlb import gauss_newton_tdoa, tdoa_measurements
from twin.signal.atmosphere import ionosphere_delay_m, troposphere_delay_m
from twin.signal.ephemeris import rtn_basis
from twin.signal.flight import flight_range
from twin.units import C_LIGHT

__all__ = ["ADDITIVE", "SOURCES", "ErrorBudget"]

#: Sources whose effect is an additive delay per link (the ephemeris acts on the geometry).
ADDITIVE = ("clock", "flight", "troposphere", "ionosphere")
#: Every source of the budget, in the report's stacking order.
SOURCES = ("ephemeris", *ADDITIVE, "noise")


def _elevation(rx, sats):
    """Elevations (n,) rad of satellites sats (n, 3) seen from receivers rx (n, 3)."""
    lat, lon, _ = ecef_to_geodetic(rx)
    up = enu_basis(lat, lon)[..., 2, :]
    los = sats - rx
    return np.arcsin(np.sum(los * up, axis=-1) / np.linalg.norm(los, axis=-1))


def _fixes(batch, sats, ref, x0, cov) -> np.ndarray:
    """``gauss_newton_tdoa`` of each row of batch (B, L); a row whose normal equations turn
    singular (a belief km off can throw the iteration away) gives a NaN fix (B, 3)."""
    try:
        return gauss_newton_tdoa(batch, sats, ref, x0, cov=cov)
    except np.linalg.LinAlgError:
        out = np.full((len(batch), 3), np.nan)
        for b, meas in enumerate(batch):
            try:
                out[b] = gauss_newton_tdoa(meas, sats, ref, x0, cov=cov)
            except np.linalg.LinAlgError:
                pass
        return out


class ErrorBudget:
    """The ``[errors]`` section applied to links at a carrier `freq_hz` (module docstring)."""

    def __init__(self, config, freq_hz: float):
        self.config = config
        self.freq_hz = float(freq_hz)
        self.on = {
            "ephemeris": config.ephemeris != "exact",
            "clock": config.clock != "none",
            "flight": bool(config.light_time or config.sagnac),
            "troposphere": bool(config.troposphere),
            "ionosphere": config.ionosphere_tecu > 0,
            "noise": True,
        }
        #: the receivers' corrections depend on where they think they are: fix twice
        self.relinearise = bool(
            (config.flight_corrected and self.on["flight"])
            or (
                config.atmosphere_residual < 1 and (self.on["troposphere"] or self.on["ionosphere"])
            )
        )

    # ----------------------------------------------------------- per link
    def toa_excess_m(self, epoch, sats, rx, rx_belief) -> dict[str, np.ndarray]:
        """Per additive source that is on: (n,) metres of TOA error left after the receivers'
        corrections, for links from satellites `sats` (n,) (indices) to receivers rx (n, 3);
        the receivers evaluate their corrections at rx_belief (n, 3)."""
        cfg = self.config
        s, v = epoch.sat_pos[sats], epoch.sat_vel[sats]
        sb, vb = self.believed(epoch, sats)
        out = {}
        if self.on["clock"]:
            out["clock"] = -C_LIGHT * (epoch.sat_clock_s[sats] - epoch.belief_clock_s[sats])
        if self.on["flight"]:
            kw = {"light_time": cfg.light_time, "sagnac": cfg.sagnac}
            truth = flight_range(s, v, rx, **kw) - np.linalg.norm(s - rx, axis=-1)
            model = 0.0
            if cfg.flight_corrected:
                model = flight_range(sb, vb, rx_belief, **kw) - np.linalg.norm(
                    sb - rx_belief, axis=-1
                )
            out["flight"] = truth - model
        keep = 1.0 - cfg.atmosphere_residual
        if self.on["troposphere"] or self.on["ionosphere"]:
            el, el_b = _elevation(rx, s), _elevation(rx_belief, sb)
            lat, _, h = ecef_to_geodetic(rx)
            lat_b, _, h_b = ecef_to_geodetic(rx_belief)
        if self.on["troposphere"]:
            out["troposphere"] = troposphere_delay_m(lat, h, el) - keep * troposphere_delay_m(
                lat_b, h_b, el_b
            )
        if self.on["ionosphere"]:
            tec = cfg.ionosphere_tecu
            out["ionosphere"] = ionosphere_delay_m(
                tec, self.freq_hz, el
            ) - keep * ionosphere_delay_m(tec, self.freq_hz, el_b)
        return out

    @staticmethod
    def believed(epoch, sats):
        """(positions (n, 3), velocities (n, 3)) the receivers believe for satellites `sats`."""
        return epoch.belief_pos[sats], epoch.belief_vel[sats]

    @staticmethod
    def satellite_errors(epoch, sats) -> dict[str, list[float]]:
        """Belief − truth of satellites `sats` (n,): 3-D and signed RTN (true axes), metres."""
        diff = epoch.belief_pos[sats] - epoch.sat_pos[sats]
        rtn = np.einsum("sij,sj->si", rtn_basis(epoch.sat_pos[sats], epoch.sat_vel[sats]), diff)
        return {
            "belief_err_3d_m": [float(x) for x in np.linalg.norm(diff, axis=-1)],
            "belief_err_radial_m": [float(x) for x in rtn[:, 0]],
            "belief_err_along_m": [float(x) for x in rtn[:, 1]],
            "belief_err_cross_m": [float(x) for x in rtn[:, 2]],
        }

    # ------------------------------------------------------------- PNT
    @staticmethod
    def empty_pnt() -> dict:
        """The budget columns of a `pnt` row without a fix."""
        nan = float("nan")
        row = {"fix_error_total_m": nan, "fix_error_total_h_m": nan}
        row.update({f"err_{k}_m": nan for k in SOURCES[:-1]})
        row.update({f"belief_err_{k}_m": [] for k in ("3d", "radial", "along", "cross")})
        return row

    def pnt_columns(self, epoch, ut_pos, start_pos, sat_idx, ref, draws) -> list[dict]:
        """The budget columns of the `pnt` rows (one dict per UT).

        ut_pos, start_pos (C, 3) m: true UTs and their fixes' start points; sat_idx (C, L)
        satellite indices per UT; ref: the reference satellite index; draws = (noise_s (C, L)
        the seed's TDOA noise (today's draws), covs (C, L, L) s² the fixes' weights, ok (C,)
        the UTs with a fix), as ``PntProcess._fixes`` made them. Columns: ``fix_error_total_m``, ``fix_error_total_h_m``,
        ``err_<source>_m`` for the sources but noise (its part is ``fix_error_m``) and the
        belief's errors of the UT's satellites (reference first, lists).
        """
        noise_s, covs, ok = draws
        C, L = sat_idx.shape
        rows = []
        lat, lon, _ = ecef_to_geodetic(ut_pos)
        ups = enu_basis(lat, lon)[:, 2, :]
        for c in range(C):
            links = np.concatenate([[ref], sat_idx[c]])
            row = self.empty_pnt()
            row.update(self.satellite_errors(epoch, links))
            rows.append(row)
            if not ok[c]:
                continue
            rx = np.broadcast_to(ut_pos[c], (L + 1, 3))
            sats_true, ref_true = epoch.sat_pos[sat_idx[c]], epoch.sat_pos[ref]
            sats_b, ref_b = epoch.belief_pos[sat_idx[c]], epoch.belief_pos[ref]
            clean = tdoa_measurements(ut_pos[c], sats_true, ref_true)
            names = [k for k in ADDITIVE if self.on[k]]

            def measured(sources, at, rx=rx, links=links, clean=clean):
                """TDOAs (L,) s with `sources` on, corrections evaluated at `at` (3,)."""
                excess = self.toa_excess_m(epoch, links, rx, np.broadcast_to(at, rx.shape))
                return clean + sum(((excess[k][1:] - excess[k][0]) / C_LIGHT for k in sources), 0.0)

            def solve(sources, sats, ref_pos, noise, c=c):
                """The fix (3,) with `sources` on; the receivers evaluate their corrections at
                the start point, then once more at that first fix (when they depend on it)."""
                fix = _fixes(
                    (measured(sources, start_pos[c]) + noise)[None],
                    sats,
                    ref_pos,
                    start_pos[c],
                    covs[c],
                )[0]
                if self.relinearise and sources and np.all(np.isfinite(fix)):
                    fix = _fixes(
                        (measured(sources, fix) + noise)[None], sats, ref_pos, start_pos[c], covs[c]
                    )[0]
                return fix

            for k in names:  # each additive source alone, on the true geometry, no noise
                row[f"err_{k}_m"] = float(
                    np.linalg.norm(solve([k], sats_true, ref_true, 0.0) - ut_pos[c])
                )
            for k in ADDITIVE:
                if not self.on[k]:
                    row[f"err_{k}_m"] = 0.0
            row["err_ephemeris_m"] = (
                float(np.linalg.norm(solve([], sats_b, ref_b, 0.0) - ut_pos[c]))
                if self.on["ephemeris"]
                else 0.0
            )
            err = solve(names, sats_b, ref_b, noise_s[c]) - ut_pos[c]
            row["fix_error_total_m"] = float(np.linalg.norm(err))
            row["fix_error_total_h_m"] = float(np.linalg.norm(err - (err @ ups[c]) * ups[c]))
        return rows

    # ------------------------------------------------------------- ISAC
    def isac_columns(self, epoch, members, target, solve) -> dict:
        """The budget columns of an `isac` row: ``error_total_m``, ``error_total_h_m`` of
        ``solve(believed positions (K, 3), believed velocities (K, 3))`` (the estimate made
        with the believed satellites on the true echo, same draws) and the belief's errors of
        the members (lists, central first). Only the ephemeris enters seed 000's echo model."""
        est = solve(*self.believed(epoch, members))
        err = est - target
        lat, lon, _ = ecef_to_geodetic(target)
        up = enu_basis(float(lat), float(lon))[2]
        return {
            "error_total_m": float(np.linalg.norm(err)),
            "error_total_h_m": float(np.linalg.norm(err - (err @ up) * up)),
            **self.satellite_errors(epoch, np.asarray(members)),
        }

    @staticmethod
    def empty_isac() -> dict:
        """The budget columns of an `isac` row without an estimate."""
        nan = float("nan")
        row = {"error_total_m": nan, "error_total_h_m": nan}
        row.update({f"belief_err_{k}_m": [] for k in ("3d", "radial", "along", "cross")})
        return row
