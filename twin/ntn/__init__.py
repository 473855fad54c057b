"""3GPP TR 38.811 NTN channel (large-scale, clause 6.6) for every satellite-ground link at once.

One module per step, the TR's tables apart (:mod:`twin.ntn.tables`); elevations between the
tabulated 10° rows take the nearest row (:mod:`twin.ntn.elevation`). Shared by the ISAC and PNT
processes as an alternative to the seeds' large-scale terms (``[channel] model = "tr38811"``).

Kept interface
    ``los_probability(scenario, elevation_deg)``: Table 6.6.1-1, probability (float or array).
    ``shadow_fading_clutter(scenario, band, elevation_deg)``: Tables 6.6.2-1..3,
    ``(sigma_sf_los_db, sigma_sf_nlos_db, clutter_loss_nlos_db)``.
    scenario in "dense_urban", "urban", "suburban", "rural"; band "S" or "Ka".

Terms (dB): ``free_space_path_loss_db`` (eq. 6.6-3), ``gas_absorption_db`` (6.6.4),
``scintillation_db`` (6.6.6: ionospheric in S, tropospheric in Ka), ``building_entry_loss_db``
(6.6.3 -> ITU-R P.2109); option: ``flat_fading`` with ``rician_k_db`` (clause 6.7 K-factor,
Tables 6.7.2-xa/xb; Rayleigh in NLOS), one complex gain per link.

Links: ``NtnChannel(scenario, band, freq_hz, seed, building)`` and ``link_losses`` (L pairs) or
``grid_losses`` (R x S) -> ``LinkLosses`` (LOS state, SF, CL, gas, scintillation, entry, FSPL),
time consistent along each pass (:mod:`twin.ntn.consistency`).

Example::

    import twin.ntn as ntn

    ntn.los_probability("urban", 30.0)  # 0.493
    ntn.shadow_fading_clutter("dense_urban", "Ka", [10, 90])  # three (2,) arrays
"""

from twin.ntn.atmosphere import gas_absorption_db, scintillation_db
from twin.ntn.entry import building_entry_loss_db
from twin.ntn.fading import flat_fading, rician_k_db
from twin.ntn.links import LinkLosses, NtnChannel, grid_losses, link_losses, receiver_key
from twin.ntn.los import los_probability
from twin.ntn.pathloss import free_space_path_loss_db
from twin.ntn.shadowing import shadow_fading_clutter

__all__ = [
    "los_probability",
    "shadow_fading_clutter",
    "free_space_path_loss_db",
    "gas_absorption_db",
    "scintillation_db",
    "building_entry_loss_db",
    "rician_k_db",
    "flat_fading",
    "NtnChannel",
    "LinkLosses",
    "link_losses",
    "grid_losses",
    "receiver_key",
]
