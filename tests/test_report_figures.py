"""The report's figures that answer issue 17's findings, on synthetic tables (no run needed):
handover styles fixed for every kind, legends inside the figure, the handover rate and the
busiest window against brute force, who served when, re-plan ticks, constant ISL series,
coastlines. (The ISL snapshot is checked against a real run in tests/test_webmap.py.)"""

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from twin import plots
from twin.report import BASE_KINDS, PROCESS_KINDS

ALL_KINDS = list(BASE_KINDS) + [k for kinds in PROCESS_KINDS.values() for k in kinds]


def _times(n: int, step_s: int = 10) -> pd.DatetimeIndex:
    return pd.date_range("2026-05-28 18:00", periods=n, freq=f"{step_s}s", tz="UTC", name="time")


def _handovers(rng, times, entities, kinds, n) -> pd.DataFrame:
    at = times[np.sort(rng.integers(1, len(times), n))]
    return pd.DataFrame(
        {
            "entity": rng.choice(entities, n),
            "kind": rng.choice(kinds, n),
            "from_sat": "a",
            "to_sat": "b",
            "reason": "better",
        },
        index=pd.DatetimeIndex(at, name="time"),
    )


def _groups(rng, times, entities) -> pd.DataFrame:
    rows = []
    for entity in entities:
        central = np.repeat([f"SAT-{i}" for i in rng.integers(0, 9, len(times) // 6 + 1)], 6)
        valid = np.ones(len(times), bool)
        valid[10:13] = False
        rows.append(
            pd.DataFrame(
                {
                    "entity": entity,
                    "valid": valid,
                    "central": np.where(valid, central[: len(times)], ""),
                    "central_elevation_deg": rng.uniform(30, 90, len(times)),
                },
                index=times,
            )
        )
    return pd.concat(rows)


def _inside(fig) -> None:
    """Every legend of the figure lies within the figure (nothing clipped)."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    box = fig.bbox
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends
    for legend in legends:
        extent = legend.get_window_extent()
        assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1, (extent, box)
        assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1, (extent, box)


def test_every_kind_keeps_its_style_in_every_figure():
    full = plots.kind_styles(ALL_KINDS)
    assert set(ALL_KINDS) <= set(plots.KIND_STYLE)
    pairs = {(s["color"], s["marker"]) for s in full.values()}
    assert len(pairs) == len(ALL_KINDS)  # all distinct
    for subset in (["pnt_beams"], ["isac_beams", "central"], ["pnt_restored", "group"]):
        assert all(plots.kind_styles(subset)[k] == full[k] for k in subset)
    assert list(plots.kind_styles(["restored", "isac_beams", "central"])) == [
        "central",
        "restored",
        "isac_beams",
    ]


def test_legends_are_not_clipped():
    rng = np.random.default_rng(1)
    times = _times(121)
    entities = ["munich-car", "munich-centre"]
    groups = _groups(rng, times, entities)
    handovers = _handovers(rng, times, entities, ALL_KINDS, 300)
    visibility = groups[["entity"]].assign(n_visible=rng.integers(60, 90, len(groups)))
    _inside(plots.geometry_timeseries(groups, visibility, handovers))
    _inside(plots.handover_timeline(handovers, groups))


def test_handover_rate_matches_counts():
    rng = np.random.default_rng(2)
    times = _times(721)  # 2 h at 10 s
    handovers = _handovers(rng, times, ["a", "b"], ["central", "group", "pnt_beams"], 500)
    stop = times[-1] + pd.Timedelta("10s")
    width, rate = plots.handover_rate(handovers, times[0], stop)
    assert width == 300 and len(rate) == 25  # 7210 s in <= 40 bins of 300 s; last bin 10 s
    ends = np.minimum(rate.index + pd.Timedelta(seconds=width), stop)
    duration_h = ((ends - rate.index).total_seconds() / 3600.0).to_numpy()
    for kind in ("central", "group", "pnt_beams"):
        events = handovers[handovers["kind"] == kind]
        assert (rate[kind].to_numpy() * duration_h).round(9).sum() == len(events)
        # bin by bin, against a direct count
        for start, end, value, hours in zip(rate.index, ends, rate[kind], duration_h):
            n = ((events.index >= start) & (events.index < end)).sum()
            assert value * hours == pytest.approx(n)


def test_busiest_window_is_the_brute_force_maximum():
    rng = np.random.default_rng(3)
    times = _times(721)[np.sort(rng.integers(0, 721, 200))]
    width = pd.Timedelta(minutes=10)
    start, count = plots.busiest_window(times, width)
    brute = [((times >= t) & (times < t + width)).sum() for t in times]
    assert count == max(brute)
    assert start == times[int(np.argmax(brute))]


def test_serving_segments_cover_the_run():
    rng = np.random.default_rng(4)
    times = _times(60)
    groups = _groups(rng, times, ["e"])
    segments = plots.serving_segments(groups, "e")
    assert segments["start"].iloc[0] == times[0]
    assert segments["stop"].iloc[-1] == times[-1] + pd.Timedelta("10s")
    assert (segments["start"].iloc[1:].to_numpy() == segments["stop"].iloc[:-1].to_numpy()).all()
    # expanding the segments back to epochs gives the table's central and validity
    for seg in segments.itertuples():
        rows = groups[(groups.index >= seg.start) & (groups.index < seg.stop)]
        assert (rows["central"] == seg.central).all() and (rows["valid"] == seg.valid).all()
    assert (~segments["valid"]).sum() == 1  # epochs 10-12
    fig = plots.serving_timeline(groups)
    fig.savefig(io.BytesIO(), format="png", dpi=30)


def test_replans_are_ticked():
    times = _times(30)
    frame = pd.DataFrame(
        {"entity": "t", "rate_min_bps_hz": np.linspace(3, 1, 30), "replanned": False},
        index=times,
    )
    frame.loc[times[::7], "replanned"] = True
    replans = frame.loc[frame["replanned"], ["entity"]]
    fig = plots.timeseries_grid(frame, ["rate_min_bps_hz"], replans=replans)
    ticks = [line for line in fig.axes[0].get_lines() if line.get_marker() == 2]
    assert len(ticks) == 1 and len(ticks[0].get_xdata()) == len(replans)
    assert "re-plan" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_isl_constant_series_named_and_coastlines_loaded():
    times = _times(10)
    isl = pd.DataFrame(
        {
            "n_links": 1584,
            "n_intra": 792,
            "n_inter": 792,
            "n_components": 1,
            "largest_component": 792,
            "mean_length_km": 1496.85,
            "max_length_km": np.linspace(1971.0, 1980.0, 10),
        },
        index=times,
    )
    fig = plots.isl_topology(isl)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "constant over the run: all 1584, intra-plane 792, inter-plane 792" in texts
    assert "constant over the run: mean 1496.85" in texts  # max varies: not named
    lon, lat = plots.coastlines()
    finite = np.isfinite(lon)
    assert (
        finite.sum() > 5000 and np.abs(lon[finite]).max() <= 180 and np.abs(lat[finite]).max() <= 90
    )
    jumps = np.abs(np.diff(lon))
    assert not (jumps[np.isfinite(jumps)] > 180).any()  # cut at the antimeridian
