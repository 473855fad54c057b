"""The recorder's tables (twin/processes/recorder.py): the columnar `links` table."""

import tomllib

import numpy as np
from scenario_text import scenario_toml

from twin.clock import Twin
from twin.config.loader import scenario_from_dict
from twin.constellation import orbits
from twin.processes import attach
from twin.results import load

LINKS_SCENARIO = tomllib.loads(
    scenario_toml(
        run={"name": "links", "duration": "40s", "step": "10s", "seed": 1, "checkpoint_every": 2},
        shell={"total": 240, "planes": 12},
        isl={"enabled": True, "inter_plane": True, "max_range_km": 5000.0},
        output={"dir": "unused", "links": True},
    )
)


def test_links_table_is_every_isl_edge_of_every_epoch(tmp_path):
    """The columnar `links` rows equal the networkx edges of each epoch's ISL graph (built
    independently by `build_epoch` and materialised), names and lengths included; the lengths
    equal the distances between independently propagated satellites."""
    twin = Twin(scenario_from_dict(dict(LINKS_SCENARIO), base_dir=tmp_path), tmp_path / "run")
    attach(twin)
    twin.run()
    tables = load(tmp_path / "run")
    links, isl = tables["links"], tables["isl"]
    assert sorted(set(links.epoch)) == [0, 1, 2, 3, 4] and list(isl.n_links) == list(
        links.groupby("epoch").size()
    )
    assert (
        len(list((tmp_path / "run" / "tables" / "links").glob("part-*.parquet"))) == 3
    )  # 2 + 2 + 1 epochs
    names = list(twin.sat_names)
    for index, rows in links.groupby("epoch"):
        graph = twin.build_epoch(int(index)).graph
        expected = {
            frozenset((names[u], names[v])): (d["kind"], d["length_m"] / 1e3, d["delay_s"] * 1e3)
            for u, v, d in graph.edges(data=True)
        }
        got = {
            frozenset((a, b)): (k, length, delay)
            for a, b, k, length, delay in zip(
                rows.sat_a, rows.sat_b, rows.kind, rows.length_km, rows.delay_ms
            )
        }
        assert got.keys() == expected.keys() and len(got) == len(rows)
        for pair, (kind, length, delay) in expected.items():
            assert got[pair][0] == kind
            np.testing.assert_allclose(got[pair][1:], (length, delay), rtol=1e-12)
        when = rows.index[0].to_pydatetime()
        pos, _, _ = orbits.propagate_itrs(
            twin.constellation, np.array([np.datetime64(when.replace(tzinfo=None))])
        )
        a = np.array([names.index(n) for n in rows.sat_a])
        b = np.array([names.index(n) for n in rows.sat_b])
        np.testing.assert_allclose(
            np.linalg.norm(pos[0, a] - pos[0, b], axis=1) / 1e3, rows.length_km, rtol=1e-9
        )
