"""The public façade `twin.pnt`: each name is the object of the module that owns it, and the
kept interfaces (`toa_variance`, `tdoa_crlb`) give the deep call's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import twin.pnt as pnt
from twin.pnt import beamforming, cells, channel, crlb, feasibility, scheduling

B = 50e6  # Hz
REF_VAR = 1e-19  # s²

OWNERS = {
    "toa_variance": crlb,
    "tdoa_crlb": crlb,
    "gdop": crlb,
    "accuracy_per_ut": crlb,
    "PntParams": channel,
    "channels": channel,
    "pnt_body_frames": channel,
    "beamform": beamforming,
    "dsta": beamforming,
    "zf_beams": beamforming,
    "scb_beams": beamforming,
    "feasible": feasibility,
    "schedule": scheduling,
    "hbs": scheduling,
    "hex_cells": cells,
}


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_facade_name_is_the_deep_object(name):
    assert getattr(pnt, name) is getattr(OWNERS[name], name)
    assert name in pnt.__all__


def test_facade_lists_exactly_what_it_exports():
    assert sorted(pnt.__all__) == sorted(OWNERS)
    assert len(set(pnt.__all__)) == len(pnt.__all__)


def test_toa_variance_and_tdoa_crlb_through_the_facade_equal_the_deep_call():
    # a UT at (0N, 0E) on a 6378 km sphere, four satellites and the reference at 600 km
    ut = np.array([6378137.0, 0.0, 0.0])
    r = 6378137.0 + 600e3
    sats = np.array(
        [[r * 0.99, 0.14 * r, 0.0], [r * 0.99, -0.1 * r, 0.1 * r], [r * 0.98, 0.0, -0.2 * r]]
        + [[r * 0.995, 0.07 * r, 0.07 * r]]
    )
    ref = np.array([r, 0.0, 0.0])
    sinr = np.array([30.0, 80.0, 150.0, 400.0])  # linear
    toa_var = pnt.toa_variance(sinr, B)  # s²
    np.testing.assert_array_equal(toa_var, crlb.toa_variance(sinr, B))
    cov = pnt.tdoa_crlb(ut, sats, ref, toa_var, REF_VAR)  # m²
    assert cov.shape == (3, 3)
    np.testing.assert_array_equal(cov, crlb.tdoa_crlb(ut, sats, ref, toa_var, REF_VAR))
    assert np.all(np.isfinite(cov)) and np.trace(cov) > 0
