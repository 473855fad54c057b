"""[[faults]]: refusals (file:line field), the schedule's law, and what a fault does to a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from config.refusals import BASE, assert_at, line_of, one_problem, refused, write_scenario
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from scenario_text import scenario_toml

from twin import plots
from twin.clock import Twin
from twin.constellation import isl
from twin.constellation.faults import FaultSchedule, down_intervals, without_links
from twin.errors import InputError
from twin.report import fault_summary
from twin.results import load
from twin.runner import prepare, run_scenario

WALL = ["solve_time_s"]  # wall seconds of a solve: differ between any two runs


def fault_text(**fields) -> str:
    lines = ["", "[[faults]]"]
    for key, value in fields.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    "fields, field_path, words",
    [
        ({"kind": "satellite", "duration": "10m", "satellite": "X"}, "start", "needs a start"),
        (
            {"kind": "satellite", "start": "1m", "duration": "0s", "satellite": "X"},
            "duration",
            "> 0",
        ),
        ({"kind": "satellite", "start": "1m"}, "satellite", "needs satellite"),
        (
            {"kind": "satellite", "start": "1m", "satellite": "X", "plane": 1},
            "satellite",
            "not both",
        ),
        ({"kind": "isl", "start": "1m"}, "link", "needs link"),
        ({"kind": "isl", "start": "1m", "link": ["A", "A"]}, "link", "to itself"),
        (
            {"kind": "isl", "start": "1m", "link": ["A", "B"], "satellite": "C"},
            "satellite",
            "apply",
        ),
        ({"kind": "random", "satellite_mtbf": "1d"}, "satellite_mttr", "go together"),
        (
            {"kind": "random", "start": "1m", "satellite_mtbf": "1d", "satellite_mttr": "1h"},
            "start",
            "apply",
        ),
        ({"kind": "random"}, "isl_mttr", "needs satellite_mtbf"),
        ({"kind": "broken", "start": "1m"}, "kind", "satellite"),
    ],
)
def test_the_loader_refuses_a_bad_fault_at_its_line_and_field(tmp_path, fields, field_path, words):
    text = BASE + fault_text(**fields)
    problem = one_problem(refused(tmp_path, text), f"faults[0].{field_path}")
    key = field_path if field_path in fields else "[[faults]]"
    assert_at(problem, tmp_path / "s.toml", line_of(text, key, text.count(key)))
    assert words in problem.reason


@pytest.mark.parametrize(
    "faults, field_path, words",
    [
        (
            [{"kind": "satellite", "start": "1m", "satellite": "NOPE"}],
            "faults[0].satellite",
            "no satellite is named 'NOPE'",
        ),
        (
            [{"kind": "satellite", "start": "1m", "satellite": 12}],
            "faults[0].satellite",
            "catalogue number 12",
        ),
        (
            [{"kind": "pnt_payload", "start": "1m", "plane": 6, "slot": 0}],
            "faults[0].slot",
            "plane 6",
        ),
        ([{"kind": "isl", "start": "1m", "link": ["shell-1-00-00", "x"]}], "faults[0].link", "'x'"),
        (
            [{"kind": "satellite", "start": "2h", "satellite": "shell-1-00-00"}],
            "faults[0].start",
            "after the run's end",
        ),
        (
            [
                {
                    "kind": "satellite",
                    "start": "10m",
                    "duration": "10m",
                    "satellite": "shell-1-01-02",
                },
                {"kind": "satellite", "start": "15m", "plane": 1, "slot": 2},
            ],
            "faults[1].start",
            "overlaps faults[0]",
        ),
        (
            [
                {"kind": "random", "satellite_mtbf": "1d", "satellite_mttr": "1h"},
                {"kind": "random", "isl_mtbf": "1d", "isl_mttr": "1h"},
            ],
            "faults[1].kind",
            "only one random",
        ),
    ],
)
def test_the_pre_run_check_refuses_what_needs_the_constellation(
    tmp_path, faults, field_path, words
):
    """Unknown satellites, overlapping faults on one satellite (named two ways), impossible
    times: refused by `twin run`'s checks before anything is written, at file:line field."""
    text = BASE + "".join(fault_text(**f) for f in faults)
    path = write_scenario(tmp_path, text)
    with pytest.raises(InputError) as info:
        prepare(path)
    problem = one_problem(info.value.problems, field_path)
    key = field_path.split(".")[-1]
    index = int(field_path.split("[")[1].split("]")[0])
    header = line_of(text, "[[faults]]", index + 1)
    lines = text.splitlines()
    line = next(n for n in range(header, len(lines) + 1) if lines[n - 1].startswith(f"{key} ="))
    assert_at(problem, path, line)
    assert words in problem.reason
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the schedule
def test_random_down_time_is_the_stationary_share_and_the_mean_repair_time():
    """Monte Carlo over 4000 elements: P(down at t) = MTTR / (MTBF + MTTR) at any t (the
    renewal process starts stationary), and the mean of completed down times is MTTR."""
    mtbf, mttr, horizon = 5000.0, 1000.0, 20_000.0
    rng = np.random.default_rng(11)
    intervals = [down_intervals(rng, mtbf, mttr, horizon) for _ in range(4000)]
    p = mttr / (mtbf + mttr)
    for t in (0.0, 7000.0, 19_000.0):
        share = np.mean([np.any((s <= t) & (t < e)) for s, e in intervals])
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / 4000), (t, share, p)
    repairs = np.concatenate([(e - s)[s > 0] for s, e in intervals])
    assert abs(repairs.mean() - mttr) < 4 * mttr / np.sqrt(len(repairs))


def test_the_schedule_is_a_function_of_seed_element_and_time(tmp_path):
    """Two schedules of one scenario agree at every epoch, asked in any order; another seed
    differs."""
    text = BASE + fault_text(kind="random", satellite_mtbf="2h", satellite_mttr="30m")
    scenario, constellation = prepare(write_scenario(tmp_path, text))
    a = FaultSchedule.from_scenario(scenario, constellation, 121, 30.0)
    b = FaultSchedule.from_scenario(scenario, constellation, 121, 30.0)
    forward = [a.state(i) for i in range(121)]
    for i in reversed(range(121)):
        np.testing.assert_array_equal(b.state(i), forward[i])
    assert 0 < np.mean([~s[0] for s in forward]) < 0.5
    other = FaultSchedule(
        n_sats=a.n_sats, step_s=30.0, horizon_s=a.horizon_s, scheduled=[], random=a.random, seed=9
    )
    assert any((other.state(i) != forward[i]).any() for i in range(121))


def test_without_links_drops_exactly_those_links_from_graph_and_grid(tmp_path):
    scenario, constellation = prepare(write_scenario(tmp_path, BASE))
    twin = Twin(scenario, tmp_path / "unused", constellation=constellation)
    pos, _, valid, *_ = twin.look(0)
    graph = isl.isl_graph(pos, twin.labels, max_range_m=5e6, valid=valid)
    e = graph.graph["edges"]
    down = np.zeros(len(e["a"]), dtype=bool)
    down[[0, 5, len(down) - 1]] = True
    cut = without_links(graph, down)
    kept = {frozenset(p) for p in zip(e["a"][~down].tolist(), e["b"][~down].tolist())}
    assert {frozenset(p) for p in cut.edges} == kept
    # the neighbour table is what grid_neighbours rebuilds from the remaining edges
    rebuilt = isl.grid_neighbours(type(cut)(cut.edges(data=True)), twin.labels)
    np.testing.assert_array_equal(cut.graph["grid"], rebuilt)


# ------------------------------------------------------------------ runs
SMALL = dict(
    run={"name": "faults", "duration": "60s", "step": "10s", "seed": 4},
    serving={"group_size": 5, "collaboration": "II"},
    targets=[{"name": "car", "lat_deg": 40.0, "lon_deg": 116.0}],
    terminals=[{"name": "cluster", "lat_deg": 40.2, "lon_deg": 116.3}],
    isac={"enabled": True, "design": "stand_in", "pso_particles": 8, "pso_iterations": 4},
    pnt={"enabled": True, "cluster_rings": 1, "max_sats": 8, "beamformer": "zf"},
    output={"dir": "unused"},
)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The small run without faults, its tables, and a Twin to look at its geometry."""
    tmp = tmp_path_factory.mktemp("plain")
    path = tmp / "s.toml"
    path.write_text(scenario_toml(**SMALL))
    run = run_scenario(path, out=tmp / "run", quiet=True)
    scenario, constellation = prepare(path)
    return load(run), Twin(scenario, tmp / "twin", constellation=constellation)


def _run_with(tmp_path, *faults) -> dict:
    path = tmp_path / "s.toml"
    path.write_text(scenario_toml(**SMALL) + "".join(fault_text(**f) for f in faults))
    return load(run_scenario(path, out=tmp_path / "run", quiet=True))


def test_a_fault_outside_every_group_changes_nothing(tmp_path, plain):
    """A satellite below the horizon of every entity for the whole run fails: every table is
    the run without faults (with fault_affected all False), but for the ISL graph, which
    loses that satellite's links (its plane's ring closes over it: one more link)."""
    tables, twin = plain
    elevation = np.stack([twin.look(i)[4] for i in range(twin.n_epochs)])  # (T, G, S)
    used = set(";".join(tables["groups"].members).split(";"))
    far = [
        s for s in np.flatnonzero(elevation.max(axis=(0, 1)) < 0) if twin.sat_names[s] not in used
    ]
    victim = str(twin.sat_names[far[len(far) // 2]])
    faulty = _run_with(tmp_path, {"kind": "satellite", "start": "0s", "satellite": victim})
    assert sorted(faulty) == sorted([*tables, "faults"])
    for name in tables:
        if name == "isl":
            continue
        right = faulty[name]
        if "fault_affected" in right:
            assert not right.pop("fault_affected").any(), name
        pd.testing.assert_frame_equal(
            tables[name].drop(columns=WALL, errors="ignore"),
            right.drop(columns=WALL, errors="ignore"),
            check_exact=True,
            obj=name,
        )
    links = faulty["isl"].n_links - tables["isl"].n_links
    assert set(links) <= {-3, -2, -1} and (links < 0).all()
    # its plane's ring closes over it: the valid satellites stay as connected as before
    assert (faulty["isl"].n_components == tables["isl"].n_components).all()
    assert faulty["faults"][["epoch", "element", "kind", "change"]].values.tolist() == [
        [0, victim, "satellite", "down"]
    ]


def test_faults_on_every_candidate_make_the_group_invalid_with_the_reason(tmp_path, plain):
    """Every satellite the car sees above the mask at epoch 3 fails for one step: the car has
    no group at epoch 3 (reason names the fault), its ISAC row says no_group, the handovers
    record the interruption and, at epoch 4, the restoration; the terminal's payloads are
    untouched except where it shared those satellites."""
    tables, twin = plain
    elevation = twin.look(3)[4][0]
    mask = twin.scenario.visibility.mask_elevation_rad
    seen = [str(twin.sat_names[s]) for s in np.flatnonzero(elevation >= mask)]
    assert 2 <= len(seen) <= 30
    faulty = _run_with(
        tmp_path,
        *[{"kind": "satellite", "start": "30s", "duration": "10s", "satellite": n} for n in seen],
    )
    groups = faulty["groups"].set_index(["epoch", "entity"])
    car = groups.loc[(3, "car")]
    assert not car.valid and "fault" in car.reason and f"{len(seen)} satellites" in car.reason
    assert groups.loc[(2, "car")].valid and groups.loc[(4, "car")].valid
    assert car.fault_affected
    isac = faulty["isac"].set_index("epoch")
    assert isac.loc[3, "status"] == "no_group" and isac.loc[3, "fault_affected"]
    h = faulty["handovers"]
    assert ((h.epoch == 3) & (h.entity == "car") & (h.kind == "interruption")).sum() == 1
    assert ((h.epoch == 4) & (h.entity == "car") & (h.kind == "restored")).sum() == 1
    f = faulty["faults"]
    assert sorted(f[f.epoch == 3].element) == sorted(seen) and set(f[f.epoch == 3].change) == {
        "down"
    }
    assert sorted(f[f.epoch == 4].element) == sorted(seen) and set(f[f.epoch == 4].change) == {"up"}


def test_a_failed_central_is_replaced_at_the_failure_epoch(tmp_path, plain):
    """The car's central satellite at epoch e (central since e-1) fails from epoch e: at epoch
    e the car has a new valid group (handover reason "fault") without the failed satellite,
    and the ISAC plan is re-made with reason "fault". A named ISL off is off in the graph and
    in the faults table for exactly its epochs."""
    tables, _ = plain
    groups = tables["groups"].set_index(["epoch", "entity"])
    e = next(
        e
        for e in range(1, 6)
        if groups.loc[(e - 1, "car")].central == groups.loc[(e, "car")].central
    )
    central = groups.loc[(e, "car")].central
    # and, in the same run, a link far from every entity off for the first two epochs
    tables, twin = plain
    pos, _, valid, *_ = twin.look(0)
    graph = isl.isl_graph(pos, twin.labels, max_range_m=twin.scenario.isl.max_range_m, valid=valid)
    far = np.max([twin.look(i)[4].max(axis=0) for i in range(twin.n_epochs)], axis=0) < 0
    edges = graph.graph["edges"]
    k = next(k for k in range(len(edges["a"])) if far[edges["a"][k]] and far[edges["b"][k]])
    link = [str(twin.sat_names[edges["a"][k]]), str(twin.sat_names[edges["b"][k]])]
    faulty = _run_with(
        tmp_path,
        {"kind": "satellite", "start": f"{10 * e}s", "satellite": central},
        {"kind": "isl", "start": "0s", "duration": "20s", "link": link},
    )
    f = faulty["faults"]
    isl_rows = f[f.kind == "isl"][["epoch", "element", "change", "cause"]].values.tolist()
    lo, hi = sorted([edges["a"][k], edges["b"][k]])  # an ISL is named by its ends in index order
    element = f"{twin.sat_names[lo]}|{twin.sat_names[hi]}"
    assert isl_rows == [[0, element, "down", "faults[1]"], [2, element, "up", "faults[1]"]]
    assert faulty["isl"].n_links.iloc[0] == tables["isl"].n_links.iloc[0] - 1
    g = faulty["groups"].set_index(["epoch", "entity"]).loc[(e, "car")]
    assert g.valid and g.central != central and central not in g.members.split(";")
    h = faulty["handovers"]
    row = h[(h.epoch == e) & (h.entity == "car") & (h.kind == "central")]
    assert row.reason.tolist() == ["fault"] and row.from_sat.tolist() == [central]
    assert faulty["isac"].set_index("epoch").loc[e, "replan_reason"] == "fault"
    # the failed satellite's links are gone from the graph while it is off
    assert (faulty["isl"].n_links.to_numpy()[e:] < tables["isl"].n_links.to_numpy()[e:]).all()


def test_a_pnt_payload_fault_on_the_reference_reschedules_at_once(tmp_path, plain):
    """The cluster's reference satellite (the same at epochs e-1 and e) loses its PNT payload
    at epoch e: the cluster re-schedules at epoch e (reason "fault") on another reference,
    while the ISAC target, whose candidates keep that satellite, sees no change at all, and the
    satellite keeps relaying (the isl table is unchanged)."""
    tables, _ = plain
    ref = tables["pnt"].groupby("epoch").reference.first()
    e = next(e for e in range(1, 6) if ref[e - 1] == ref[e])
    faulty = _run_with(
        tmp_path, {"kind": "pnt_payload", "start": f"{10 * e}s", "satellite": ref[e]}
    )
    pnt = faulty["pnt"][faulty["pnt"].epoch == e]
    assert set(pnt.replan_reason) == {"fault"} and ref[e] not in set(pnt.reference)
    assert pnt.fault_affected.all()
    h = faulty["handovers"]
    moved = h[(h.epoch == e) & (h.kind == "pnt_reference")]
    assert moved.reason.tolist() == ["re-plan: fault"] and moved.from_sat.tolist() == [ref[e]]
    pd.testing.assert_frame_equal(
        faulty["isac"].drop(columns=["fault_affected", *WALL]),
        tables["isac"].drop(columns=WALL),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(faulty["isl"], tables["isl"], check_exact=True)


# ------------------------------------------------------------------ report
def test_fault_intervals_and_the_availability_split():
    """Outages pair each down row with the next up row of that element and kind (one still
    on at the end ends there); availability and accuracy are split by fault_affected."""
    t = pd.date_range("2026-05-28T12:00:00Z", periods=6, freq="10s", name="time")
    faults = pd.DataFrame(
        {
            "epoch": [1, 1, 3, 4],
            "element": ["A", "A|B", "A", "C"],
            "kind": ["satellite", "isl", "satellite", "pnt_payload"],
            "change": ["down", "down", "up", "down"],
            "cause": ["faults[0]", "random", "faults[0]", "faults[1]"],
        },
        index=t[[1, 1, 3, 4]],
    )
    spans = plots.fault_intervals(faults, t[-1])
    got = {(r.element, r.kind): (r.start, r.end) for r in spans.itertuples()}
    naive = t.tz_localize(None).to_numpy()
    assert got == {
        ("A", "satellite"): (naive[1], naive[3]),
        ("A|B", "isl"): (naive[1], naive[5]),
        ("C", "pnt_payload"): (naive[4], naive[5]),
    }
    isac = pd.DataFrame(
        {
            "status": ["ok", "ok", "no_group", "ok"],
            "error_m": [1.0, 2.0, np.nan, 4.0],
            "rcrb_m": [1.0, 1.0, np.nan, 3.0],
            "rate_min_bps_hz": [1.0, 1.0, np.nan, 1.0],
            "fault_affected": [False, False, True, True],
        }
    )
    summary = fault_summary({"isac": isac}).set_index("rows")
    assert summary.loc["all rows", "availability"] == 0.75
    assert summary.loc["touched by a fault", "availability"] == 0.5
    assert summary.loc["not touched", "error_m median"] == 1.5
    assert summary.loc["touched by a fault", "rcrb_m median"] == 3.0


def test_mark_faults_shades_the_scheduled_outages_on_time_axes_only():
    """Scheduled outages become one span per time axis; random ones only count in the note."""
    fig = Figure()
    timed, other = fig.subplots(1, 2)
    t = pd.date_range("2026-05-28T12:00:00", periods=5, freq="10s").to_numpy()
    timed.plot(t, np.arange(5))
    locator = mdates.AutoDateLocator()
    timed.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    other.plot(np.arange(5), np.arange(5))
    spans = pd.DataFrame(
        {
            "element": ["A", "B", "C"],
            "kind": ["satellite", "satellite", "isl"],
            "cause": ["faults[0]", "faults[1]", "random"],
            "start": t[[0, 2, 1]],
            "end": t[[1, 4, 3]],
        }
    )
    before = (len(timed.patches), len(other.patches))
    plots.mark_faults(fig, spans)
    assert (len(timed.patches) - before[0], len(other.patches) - before[1]) == (2, 0)
    assert "2 scheduled outages; 1 random" in fig.texts[-1].get_text()
