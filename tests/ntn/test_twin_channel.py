"""``[channel] model = "tr38811"`` in the twin: both processes record the TR 38.811 terms per
served link, the loss changes their results, and a windowed run equals the serial run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scenario_text import scenario_toml

from twin.results import load, run_info
from twin.runner import run_scenario

CHANNEL = '\n[channel]\nmodel = "tr38811"\nscenario = "urban"\n'  # band = "auto": Ka ISAC, S PNT
FLAT = 'small_scale = "flat"\n'
TERMS = ("ntn_sf_db", "ntn_cl_db", "ntn_gas_db", "ntn_scint_db", "ntn_bel_db")


def _text(*, duration="60s", window=None) -> str:
    run = {"name": "ntn", "duration": duration, "step": "10s", "seed": 4}
    if window:
        run.update({"checkpoint_every": 4, "window": window})
    return scenario_toml(
        run=run,
        serving={"group_size": 3, "collaboration": "I"},
        targets=[{"name": "car", "lat_deg": 40.0, "lon_deg": 116.0}],
        terminals=[{"name": "cluster", "lat_deg": 40.2, "lon_deg": 116.3}],
        isac={
            "enabled": True,
            "design": "stand_in",
            "n_ue": 4,
            "pso_particles": 8,
            "pso_iterations": 4,
        },
        pnt={"enabled": True, "cluster_rings": 1, "max_sats": 8, "beamformer": "zf"},
        output={"dir": "unused"},
    )


def test_tr38811_records_terms_and_changes_results(tmp_path):
    seed_path, ntn_path = tmp_path / "seed.toml", tmp_path / "ntn.toml"
    seed_path.write_text(_text())
    ntn_path.write_text(_text() + CHANNEL)
    seed = load(run_scenario(seed_path, out=tmp_path / "a", quiet=True))
    ntn_dir = run_scenario(ntn_path, out=tmp_path / "b", quiet=True)
    ntn = load(ntn_dir)
    info = run_info(ntn_dir)  # band "auto": each process its carrier's tables, recorded
    assert info["channel_bands"] == {"isac": "Ka", "pnt": "S"}
    assert [w.split(":")[0] for w in info["channel_warnings"]] == [
        "channel (isac)",
        "channel (pnt)",
    ]
    assert not any(c.startswith("ntn_") for c in seed["isac"].columns)
    isac, pnt = ntn["isac"], ntn["pnt"]
    ok = isac[isac.status == "ok"]
    assert len(ok) > 0
    for _, row in ok.iterrows():  # M UEs x K satellites per row
        assert len(row.ntn_los) == 4 * row.n_sats
        total = sum(np.asarray(row[t]) for t in TERMS)
        np.testing.assert_allclose(row.ntn_extra_db, total)
        assert np.all(np.asarray(row.ntn_cl_db)[np.asarray(row.ntn_los)] == 0)
        assert np.all(np.asarray(row.ntn_cl_db)[~np.asarray(row.ntn_los)] > 30)  # urban Ka
        assert row.ntn_los_share == pytest.approx(np.mean(row.ntn_los))
    pok = pnt[pnt.status == "ok"]
    assert len(pok) > 0
    assert [len(v) for v in pok.ntn_los] == [len(s.split(";")) for s in pok.sats]  # per UT
    # same geometry and schedule inputs, other link gains: the served-link SINRs move
    merged = seed["pnt"].merge(pnt, on=["epoch", "ut"], suffixes=("_seed", "_ntn"))
    assert (merged.n_visible_seed == merged.n_visible_ntn).all()
    assert not np.allclose(merged.sinr_mean_db_seed, merged.sinr_mean_db_ntn)
    merged = seed["isac"].merge(isac, on="epoch", suffixes=("_seed", "_ntn"))
    assert (merged.members_seed == merged.members_ntn).all()
    assert not np.allclose(merged.rate_mean_bps_hz_seed, merged.rate_mean_bps_hz_ntn)

    # small_scale = "flat": one more column, the same large-scale terms, other rates and SINRs
    flat_path = tmp_path / "flat.toml"
    flat_path.write_text(_text() + CHANNEL + FLAT)
    flat = load(run_scenario(flat_path, out=tmp_path / "c", quiet=True))
    assert "ntn_fading_db" not in isac.columns
    for name in ("isac", "pnt"):
        a, b = ntn[name], flat[name]
        ok = b.status == "ok"
        assert ok.any() and (a.status == b.status).all()
        assert [len(v) for v in b.ntn_fading_db[ok]] == [len(v) for v in b.ntn_los[ok]]
        assert all(np.isfinite(v).all() for v in b.ntn_fading_db[ok])
        for x, y in zip(a.ntn_extra_db[ok], b.ntn_extra_db[ok], strict=True):
            assert np.array_equal(x, y)  # large scale untouched
        fading = np.concatenate(b.ntn_fading_db[ok].to_list())
        assert np.std(fading) > 0.5  # dB: the gains vary from link to link
    assert not np.allclose(ntn["pnt"].sinr_mean_db, flat["pnt"].sinr_mean_db)
    assert not np.allclose(ntn["isac"].rate_mean_bps_hz, flat["isac"].rate_mean_bps_hz)


@pytest.mark.slow
def test_tr38811_windowed_equals_serial(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(_text(duration="60s", window=4) + CHANNEL + FLAT)  # with flat fading
    serial = load(run_scenario(path, out=tmp_path / "serial", quiet=True))
    windowed = load(run_scenario(path, out=tmp_path / "windowed", quiet=True, workers=2))
    assert sorted(serial) == sorted(windowed)
    for name in serial:
        a = serial[name].drop(columns=["solve_time_s"], errors="ignore")
        b = windowed[name].drop(columns=["solve_time_s"], errors="ignore")
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    assert "ntn_sf_db" in serial["pnt"].columns and "ntn_fading_db" in serial["isac"].columns


def test_channel_section_refused_with_line(tmp_path):
    from twin.config.loader import load_scenario
    from twin.errors import InputError

    path = tmp_path / "bad.toml"
    path.write_text(
        _text() + '\n[channel]\nmodel = "tr38811"\nscenario = "town"\nbel_probability = 1.5\n'
    )
    with pytest.raises(InputError) as err:
        load_scenario(path)
    lines = path.read_text().splitlines()
    text = str(err.value)
    town = lines.index('scenario = "town"') + 1
    prob = lines.index("bel_probability = 1.5") + 1
    assert f"bad.toml:{town} channel.scenario" in text
    assert f"bad.toml:{prob} channel.bel_probability" in text


def test_flat_fading_needs_tr38811_refused_with_line(tmp_path):
    from twin.config.loader import load_scenario
    from twin.errors import InputError

    path = tmp_path / "bad.toml"
    path.write_text(_text() + '\n[channel]\nsmall_scale = "flat"\n')
    with pytest.raises(InputError) as err:
        load_scenario(path)
    line = path.read_text().splitlines().index('small_scale = "flat"') + 1
    assert f"bad.toml:{line} channel.small_scale" in str(err.value)
