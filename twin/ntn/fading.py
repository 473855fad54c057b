"""Step 5 (option): flat small-scale fading per link, the single-tap reduction of clause 6.7.

A LOS link gets a Rician gain with the K-factor mu_K of TR 38.811 Tables 6.7.2-xa/xb at its
elevation (:data:`twin.ntn.tables.RICIAN_K_DB`, nearest tabulated row), a NLOS link a Rayleigh
gain (the NLOS tables have no K):

    h = sqrt(K / (K + 1)) e^{j phi} + sqrt(1 / (K + 1)) (x + j y) / sqrt(2),   K = 10^(mu_K / 10),

phi ~ U[0, 2 pi), x, y ~ N(0, 1); K = 0 (Rayleigh) in NLOS. E|h|^2 = 1, so the fading leaves the
mean link budget of clause 6.6 unchanged; |h|^2 has the Rician (non-central chi-square) law with
the table's K. The K-factor's own large-scale spread (sigma_K) is not drawn: every LOS link at an
elevation row has the mean K. Flat: one complex gain per link, the same on every antenna element
and across the band (the cluster delays and angles of clause 6.7 are not generated).
"""

from __future__ import annotations

import numpy as np

from twin.ntn.elevation import at_elevation
from twin.ntn.los import check_scenario
from twin.ntn.shadowing import check_band
from twin.ntn.tables import RICIAN_K_DB

__all__ = ["rician_k_db", "flat_fading"]


def rician_k_db(scenario: str, band: str, elevation_deg) -> np.ndarray:
    """mu_K (dB) of a LOS link at ``elevation_deg`` (scalar or (...)) -> array of its shape."""
    return at_elevation(RICIAN_K_DB[check_scenario(scenario)][check_band(band)], elevation_deg)


def flat_fading(los, k_db, rng: np.random.Generator) -> np.ndarray:
    """Complex flat-fading gains of links with LOS state ``los`` (...) bool and K-factor ``k_db``
    (...) dB (used where ``los``; NLOS links are Rayleigh). Draws, in this order, phi (L,) then
    (x, y) (L, 2) from ``rng`` (L = los.size), the same count whatever the states."""
    los = np.asarray(los, dtype=bool)
    k = np.where(los, 10.0 ** (np.asarray(k_db, dtype=float) / 10.0), 0.0)
    n = los.size
    phi = rng.uniform(0.0, 2.0 * np.pi, size=n).reshape(los.shape)
    xy = rng.standard_normal(size=(n, 2))
    diffuse = ((xy[:, 0] + 1j * xy[:, 1]) / np.sqrt(2.0)).reshape(los.shape)
    return np.sqrt(k / (k + 1.0)) * np.exp(1j * phi) + np.sqrt(1.0 / (k + 1.0)) * diffuse
