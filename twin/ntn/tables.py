"""The parameters of 3GPP TR 38.811 (V15.4.0) clause 6.6 and 6.7, apart from the generator.

Every table is indexed by the nine tabulated elevation angles :data:`ELEVATIONS_DEG` (10°, 20°,
..., 90°). Values cross-checked against two independent transcriptions: the ns-3 propagation
module (``three-gpp-propagation-loss-model.cc``, ``channel-condition-model.cc``) and OpenNTN's
TR 38.811 parameter files (``models/*_band_*.json``); both agree with the numbers below.

Scenarios: ``"dense_urban"``, ``"urban"``, ``"suburban"``, ``"rural"`` (suburban and rural share
Tables 6.6.1-1 and 6.6.2-3). Bands: ``"S"`` (2-4 GHz) and ``"Ka"`` (downlink 20 GHz, uplink
30 GHz in the TR).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BANDS",
    "BEL_COEFFICIENTS",
    "CLUTTER_HEIGHT_M",
    "ELEVATIONS_DEG",
    "LOS_CORRELATION_M",
    "LOS_PROBABILITY",
    "RICIAN_K_DB",
    "SCENARIOS",
    "SF_CL",
    "SF_CORRELATION_M",
    "TROPOSPHERIC_SCINTILLATION_DB",
    "ZENITH_GAS_DB",
    "ZENITH_GAS_FREQ_GHZ",
    "IONOSPHERIC_4GHZ_PEAK_DB",
]

SCENARIOS = ("dense_urban", "urban", "suburban", "rural")
BANDS = ("S", "Ka")

#: The tabulated elevation angles (9,) degrees of every clause 6.6 table.
ELEVATIONS_DEG = np.arange(10.0, 91.0, 10.0)

#: Table 6.6.1-1: LOS probability (9,) per scenario, at :data:`ELEVATIONS_DEG`.
LOS_PROBABILITY = {
    "dense_urban": np.array([28.2, 33.1, 39.8, 46.8, 53.7, 61.2, 73.8, 82.0, 98.1]) / 100.0,
    "urban": np.array([24.6, 38.6, 49.3, 61.3, 72.6, 80.5, 91.9, 96.8, 99.2]) / 100.0,
    "suburban": np.array([78.2, 86.9, 91.9, 92.9, 93.5, 94.0, 94.9, 95.2, 99.8]) / 100.0,
    "rural": np.array([78.2, 86.9, 91.9, 92.9, 93.5, 94.0, 94.9, 95.2, 99.8]) / 100.0,
}

_DENSE_URBAN = {  # Table 6.6.2-1: (sigma_SF LOS, sigma_SF NLOS, CL NLOS) dB, (9,) each
    "S": (
        [3.5, 3.4, 2.9, 3.0, 3.1, 2.7, 2.5, 2.3, 1.2],
        [15.5, 13.9, 12.4, 11.7, 10.6, 10.5, 10.1, 9.2, 9.2],
        [34.3, 30.9, 29.0, 27.7, 26.8, 26.2, 25.8, 25.5, 25.5],
    ),
    "Ka": (
        [2.9, 2.4, 2.7, 2.4, 2.4, 2.7, 2.6, 2.8, 0.6],
        [17.1, 17.1, 15.6, 14.6, 14.2, 12.6, 12.1, 12.3, 12.3],
        [44.3, 39.9, 37.5, 35.8, 34.6, 33.8, 33.3, 33.0, 32.9],
    ),
}
_URBAN = {  # Table 6.6.2-2
    "S": ([4.0] * 9, [6.0] * 9, [34.3, 30.9, 29.0, 27.7, 26.8, 26.2, 25.8, 25.5, 25.5]),
    "Ka": ([4.0] * 9, [6.0] * 9, [44.3, 39.9, 37.5, 35.8, 34.6, 33.8, 33.3, 33.0, 32.9]),
}
_SUBURBAN_RURAL = {  # Table 6.6.2-3
    "S": (
        [1.79, 1.14, 1.14, 0.92, 1.42, 1.56, 0.85, 0.72, 0.72],
        [8.93, 9.08, 8.78, 10.25, 10.56, 10.74, 10.17, 11.52, 11.52],
        [19.52, 18.17, 18.42, 18.28, 18.63, 17.68, 16.50, 16.30, 16.30],
    ),
    "Ka": (
        [1.9, 1.6, 1.9, 2.3, 2.7, 3.1, 3.0, 3.6, 0.4],
        [10.7, 10.0, 11.2, 11.6, 11.8, 10.8, 10.8, 10.8, 10.8],
        [29.5, 24.6, 21.9, 20.0, 18.7, 17.8, 17.2, 16.9, 16.8],
    ),
}
#: Tables 6.6.2-1..3: SF_CL[scenario][band] = (3, 9) rows sigma_SF LOS, sigma_SF NLOS, CL NLOS dB.
SF_CL = {
    scenario: {band: np.array(table[band], dtype=float) for band in BANDS}
    for scenario, table in (
        ("dense_urban", _DENSE_URBAN),
        ("urban", _URBAN),
        ("suburban", _SUBURBAN_RURAL),
        ("rural", _SUBURBAN_RURAL),
    )
}

#: Shadow-fading correlation distance (LOS, NLOS) in metres: TR 38.811 Tables 6.7.2-1a..8b
#: ("correlation distance in the horizontal plane", SF row): 37 m / 50 m in dense urban, urban
#: and suburban; 37 m / 120 m in rural (the RMa values of TR 38.901 Table 7.5-6).
SF_CORRELATION_M = {
    "dense_urban": (37.0, 50.0),
    "urban": (37.0, 50.0),
    "suburban": (37.0, 50.0),
    "rural": (37.0, 120.0),
}
#: Correlation distance of the LOS state, TR 38.901 Table 7.6.3.1-2 (spatial consistency):
#: 50 m for UMa/UMi (used for dense urban, urban, suburban), 60 m for RMa (rural).
LOS_CORRELATION_M = {"dense_urban": 50.0, "urban": 50.0, "suburban": 50.0, "rural": 60.0}

#: Height (m) of the clutter layer whose crossing by the satellite ray sets the point where the
#: spatially consistent LOS state and shadow fading are read (twin.ntn.consistency). Not a TR
#: value: the TR 38.901 defaults of the average building height, 20 m (UMa) and 5 m (RMa); 10 m
#: for suburban, 20 m for dense urban.
CLUTTER_HEIGHT_M = {"dense_urban": 20.0, "urban": 20.0, "suburban": 10.0, "rural": 5.0}

#: Table 6.6.6.2.1-1: tropospheric scintillation loss (9,) dB at :data:`ELEVATIONS_DEG`
#: (20 GHz, Toulouse, exceeded 1 % of the time).
TROPOSPHERIC_SCINTILLATION_DB = np.array([1.08, 0.48, 0.30, 0.22, 0.17, 0.13, 0.12, 0.12, 0.12])

#: Clause 6.6.6.1.4: peak-to-peak ionospheric fluctuation at 4 GHz (dB, the ITU-R P.531
#: Gigahertz scaling model); the loss is (this / sqrt 2) (f / 4 GHz)^-1.5 (eqs. 6.6-12, 6.6-13).
IONOSPHERIC_4GHZ_PEAK_DB = 1.1

#: Zenith attenuation by atmospheric gases (dB) of clause 6.6.4 at 1, 2, ..., 100 GHz: ITU-R
#: P.676-12 Annex 1 (line-by-line) through the P.835 mean annual reference atmosphere, surface
#: water-vapour density 7.5 g/m³, 1013.25 hPa, 15 °C; computed once with the ``itur`` package
#: (0.4.0, ``gaseous_attenuation_slant_path(f, 90, 7.5, 1013.25, 15, mode="exact")``) and kept
#: here so the twin does not depend on it. tests/ntn checks it against ns-3's digitised copy of
#: the P.676 zenith-attenuation figure.
ZENITH_GAS_FREQ_GHZ = np.arange(1.0, 101.0)
ZENITH_GAS_DB = np.array(
    [
        0.0314, 0.0355, 0.037, 0.0382, 0.0396, 0.0413, 0.0432, 0.0455, 0.0483, 0.0515,
        0.0553, 0.0599, 0.0655, 0.0725, 0.0816, 0.0938, 0.1113, 0.1377, 0.1804, 0.2526,
        0.3699, 0.5047, 0.4981, 0.4041, 0.3273, 0.2795, 0.2523, 0.2381, 0.2322, 0.2319,
        0.2357, 0.2427, 0.2525, 0.2648, 0.2796, 0.297, 0.3172, 0.3405, 0.3675, 0.3988,
        0.4354, 0.4784, 0.5296, 0.5911, 0.6665, 0.7603, 0.88, 1.0371, 1.2519, 1.5648,
        2.0945, 3.1895, 5.8707, 12.6742, 27.8778, 59.6531, 112.5691, 122.5518, 147.7372, 155.0524,
        157.5197, 140.5609, 143.7303, 49.1593, 22.4322, 10.2515, 5.2274, 3.2288, 2.3505, 1.8857,
        1.5953, 1.3937, 1.2473, 1.1377, 1.0541, 0.9893, 0.9388, 0.8991, 0.8679, 0.8435,
        0.8247, 0.8103, 0.7998, 0.7925, 0.7879, 0.7856, 0.7854, 0.7871, 0.7904, 0.7952,
        0.8014, 0.8088, 0.8175, 0.8274, 0.8384, 0.8506, 0.8639, 0.8785, 0.8945, 0.9119,
    ]
)  # fmt: skip

#: Building entry loss (clause 6.6.3 -> ITU-R P.2109-1 Table 1) coefficients per building type:
#: r, s, t, u, v, w, x, y, z.
BEL_COEFFICIENTS = {
    "traditional": (12.64, 3.72, 0.96, 9.6, 2.0, 9.1, -3.0, 4.5, -2.0),
    "thermally_efficient": (28.19, -3.00, 8.48, 13.5, 3.8, 27.8, -2.9, 9.4, -2.1),
}

#: Rician K-factor mean mu_K (dB) of the LOS links, (9,) at :data:`ELEVATIONS_DEG`: TR 38.811
#: Tables 6.7.2-1a/1b (dense urban), 6.7.2-3a/3b (urban), 6.7.2-5a/5b (suburban), 6.7.2-7a/7b
#: (rural), LOS, S band (a) and Ka band (b). NLOS links have no K (Rayleigh). Values as OpenNTN's
#: transcription of TR 38.811 V15.4.0 (tests/spec_tables/tr38811_v15.4.0.json and its
#: models/*_LOS_*.json) and, for S band, an ns-3 NTN model (Ntn38811ExcessLossModel kRicianK).
RICIAN_K_DB = {
    "dense_urban": {
        "S": np.array([4.4, 9.0, 9.3, 7.9, 7.4, 7.0, 6.9, 6.5, 6.8]),
        "Ka": np.array([6.1, 13.7, 12.9, 10.3, 9.2, 8.4, 8.0, 7.4, 7.6]),
    },
    "urban": {
        "S": np.array([31.83, 18.78, 10.49, 7.46, 6.52, 5.47, 4.54, 4.03, 3.68]),
        "Ka": np.array([40.18, 23.62, 12.48, 8.56, 7.42, 5.97, 4.88, 4.22, 3.81]),
    },
    "suburban": {
        "S": np.array([11.40, 19.45, 20.80, 21.20, 21.60, 19.75, 12.00, 12.85, 12.85]),
        "Ka": np.array([8.9, 14.0, 11.3, 9.0, 7.5, 6.6, 5.9, 5.5, 5.4]),
    },
    "rural": {
        "S": np.array([24.72, 12.31, 8.05, 6.21, 5.04, 4.42, 3.92, 3.65, 3.59]),
        "Ka": np.array([25.43, 12.72, 8.40, 6.52, 5.24, 4.57, 4.02, 3.70, 3.62]),
    },
}
