"""`twin paper pnt ...`: reproduce seed 002's Tables III-IV and Figs. 3-9 (seed-math A.11).

Each command runs the drops it needs (`twin.paper.pnt.experiment`), writes CSV + PNG into the
output folder (default `out/paper-pnt/`) and prints a rich table; the table commands put our
mean accuracy next to the paper's value and print the paper's headline gains next to ours.
`--quick` shrinks the run (2 drops, 19 cells, `I = ceil(C I_TDOA / K)` satellites) so each
command takes seconds; its numbers are not a reproduction.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from twin.paper.pnt.calibrate import (
    BF_CURVES,
    CALIBRATED,
    CALIBRATION_SEED,
    SCHED_CURVES,
    calibrate,
    paper_curves,
)
from twin.paper.pnt.experiment import (
    BEAMFORMERS,
    TABLE4_SCHEDULERS,
    local_client,
    params_with,
    run_experiment,
)
from twin.pnt.channel import DSTA_POWERS, THRESHOLD_RULES, PntParams

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Seed 002 (multi-beam LEO TDOA positioning): tables and figures.",
)

console = Console()

# ----------------------------------------------------------------------------- paper targets

#: Table III rows: (power dBW, visible satellites I, I_TDOA).
TABLE3_ROWS = ((20.0, 21, 4), (23.0, 21, 4), (26.0, 16, 3), (26.0, 21, 4), (26.0, 26, 5))

#: Seed 002 Table III, mean accuracy in metres (seed-math A.11 validation targets).
PAPER_TABLE3 = {
    (20.0, 21, 4): {"dsta": 16.5090, "scbwi": 16.5626, "zf": 19.9165, "scb": 24.0789},
    (23.0, 21, 4): {"dsta": 13.2239, "scbwi": 11.8581, "zf": 14.2049, "scb": 20.7337},
    (26.0, 16, 3): {"dsta": 11.4812, "scbwi": 9.8182, "zf": 13.5972, "scb": 29.9317},
    (26.0, 21, 4): {"dsta": 9.5415, "scbwi": 8.4220, "zf": 10.8467, "scb": 19.5422},
    (26.0, 26, 5): {"dsta": 8.0563, "scbwi": 7.2250, "zf": 8.9308, "scb": 15.7821},
}

#: Seed 002 Table IV (P = 26 dBW, I = 21, I_TDOA = 4), mean accuracy in metres.
PAPER_TABLE4 = {
    "hbs1": {"dsta": 15.1943, "scbwi": 13.9944, "zf": 15.2543, "scb": 26.4950},
    "hbs4": {"dsta": 9.5415, "scbwi": 8.4220, "zf": 10.8467, "scb": 19.5422},
    "hbs12": {"dsta": 10.1288, "scbwi": 6.3246, "zf": 12.8647, "scb": 26.0309},
    "gdop": {"dsta": 21.6105, "scbwi": 6.0365, "zf": 91.5679, "scb": 47.9319},
    "parallax": {"dsta": 34.0121, "scbwi": 15.2163, "zf": 181.157, "scb": 103.7096},
}

#: Percentages printed in the paper's text (abstract, Secs. V-A..V-D).
PAPER_PRINTED_GAINS = {
    "DSTA vs ZF, P=20 dBW": 17.1,
    "DSTA vs ZF, P=26 dBW": 11.9,
    "DSTA vs SCB, P=26 dBW": 51.1,
    "DSTA, I_TDOA 3 -> 5": 29.8,
    "HBS m=1 vs GDOP-greedy (DSTA)": 28.3,
    "HBS m=4 vs GDOP-greedy (DSTA)": 55.9,
    "HBS m=12 vs GDOP-greedy (DSTA)": 53.2,
}

SCHED_NAMES = {
    "hbs1": "HBS m=1",
    "hbs4": "HBS m=4",
    "hbs12": "HBS m=12",
    "gdop": "GDOP-greedy",
    "parallax": "parallax",
}
BF_NAMES = {"dsta": "DSTA", "scbwi": "SCBWI", "zf": "ZF", "scb": "SCB"}


#: Cells where the paper contradicts itself (issue 13, docs/pnt-reproduction.md), left out of
#: every "within 25 %" count: Table III at 20 dBW, DSTA beats its own interference-free
#: bound SCBWI; Figs. 3 and 7 give different medians for the same HBS m=4 + DSTA setting
#: (Table III's 26 dBW / I_TDOA=4 DSTA cell = Table IV's HBS m=4 DSTA cell); Fig. 7's
#: curves disagree with Table IV's whole DSTA column (and swap m=1 and GDOP-greedy).
SELF_CONTRADICTORY = {
    "table3": {((20.0, 21, 4), "dsta"), ((20.0, 21, 4), "scbwi"), ((26.0, 21, 4), "dsta")},
    "table4": {(s, "dsta") for s in ("hbs1", "hbs4", "hbs12", "gdop", "parallax")},
}


def within_count(table: str, df: pd.DataFrame, key, tol_pct: float = 25.0) -> tuple[int, int]:
    """(cells within `tol_pct` % of the paper, cells counted) of a table3/table4 result,
    leaving out `SELF_CONTRADICTORY[table]`; key(row) -> the cell's key."""
    keep = [key(r) not in SELF_CONTRADICTORY[table] for r in df.itertuples()]
    sub = df[keep]
    return int((sub["rel_diff_pct"].abs() <= tol_pct).sum()), len(sub)


def _print_within(df: pd.DataFrame, table: str, key) -> None:
    n, total = within_count(table, df, key)
    console.print(
        f"cells within 25 % of the paper: {n}/{total} (leaving out "
        f"{len(SELF_CONTRADICTORY[table])} self-contradictory cells); all cells: "
        f"{int((df['rel_diff_pct'].abs() <= 25).sum())}/{len(df)}"
    )


def gain_pct(ours_m: float, baseline_m: float) -> float:
    """Accuracy improvement of `ours` over `baseline` in percent: 100 (b - o) / b."""
    return 100.0 * (baseline_m - ours_m) / baseline_m


# ----------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """Parsed common flags of every command."""

    out: Path
    drops: int
    seed: int
    workers: int
    quick: bool
    element_gain_dbi: float
    reuse: bool
    phase_model: str = CALIBRATED["phase_model"]
    sweep: str = CALIBRATED["sweep"]
    cell_radius_kind: str = CALIBRATED["cell_radius_kind"]
    boresight: str = CALIBRATED["boresight"]
    min_elevation_deg: float = CALIBRATED["min_elevation_deg"]
    reference: str = CALIBRATED["reference"]
    threshold_rule: str = CALIBRATED["threshold_rule"]
    dsta_power: str = CALIBRATED["dsta_power"]
    gamma_init: float = CALIBRATED["gamma_init"]

    @property
    def n_cells(self) -> int:
        return 19 if self.quick else 61

    def params(self, power_dbw: float = 26.0, n_sats: int = 21, i_tdoa: int = 4) -> PntParams:
        """PntParams of one setting (satellites rescaled to the cell count in quick mode)."""
        base = PntParams()
        if self.quick:
            n_sats = math.ceil(self.n_cells * i_tdoa / base.n_beams)
        return params_with(
            base,
            power_dbw=power_dbw,
            n_sats=n_sats,
            i_tdoa=i_tdoa,
            n_cells=self.n_cells,
            element_gain_dbi=self.element_gain_dbi,
            phase_model=self.phase_model,
            sweep=self.sweep,
            cell_radius_kind=self.cell_radius_kind,
            boresight=self.boresight,
            min_elevation_deg=self.min_elevation_deg,
            reference=self.reference,
            threshold_rule=self.threshold_rule,
            dsta_power=self.dsta_power,
            gamma_init=self.gamma_init,
        )


@dataclass(frozen=True)
class Study:
    """One experiment: a setting and the schemes run on its drops."""

    key: tuple
    params: PntParams
    schedulers: tuple[str, ...]
    beamformers: tuple[str, ...] = BEAMFORMERS


def _table3_studies(opt: Options) -> list[Study]:
    return [Study(row, opt.params(*row), ("hbs4",)) for row in TABLE3_ROWS]


def _table4_study(opt: Options) -> Study:
    return Study("table4", opt.params(), TABLE4_SCHEDULERS)


def _run(opt: Options, studies: list[Study]) -> dict:
    """Raw per-UT results of each study (DataFrames), from `out/raw/` if `--reuse` and the
    same key (settings, drops, seed, schemes) was run before."""
    raw_dir = opt.out / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    todo = []
    for st in studies:
        spec = {
            "params": asdict(st.params),
            "drops": opt.drops,
            "seed": opt.seed,
            "schedulers": st.schedulers,
            "beamformers": st.beamformers,
        }
        digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
        path = raw_dir / f"{digest}.parquet"
        if opt.reuse and path.exists():
            results[st.key] = pd.read_parquet(path)
            console.print(f"reused {path}")
        else:
            todo.append((st, path, spec))
    if not todo:
        return results
    t0 = time.perf_counter()
    client = local_client(opt.workers) if opt.workers > 1 else None
    try:
        for st, path, spec in todo:
            t1 = time.perf_counter()
            df = run_experiment(
                st.params,
                drops=opt.drops,
                seed=opt.seed,
                schedulers=st.schedulers,
                beamformers=st.beamformers,
                workers=opt.workers,
                client=client,
            )
            df.to_parquet(path)
            path.with_suffix(".json").write_text(json.dumps(spec, indent=1, default=str))
            results[st.key] = df
            console.print(f"  {len(df)} rows in {time.perf_counter() - t1:.1f} s -> {path}")
    finally:
        if client is not None:
            cluster = client.cluster
            client.close()
            cluster.close()
    console.print(
        f"wall time {time.perf_counter() - t0:.1f} s ({opt.drops} drops, {opt.workers} worker(s))"
    )
    return results


# ----------------------------------------------------------------------------- tables


def _means(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mean accuracy (m) per (`by`, beamformer); inf accuracies are counted separately."""
    finite = np.isfinite(df["accuracy_m"])
    g = df[finite].groupby([by, "beamformer"])["accuracy_m"].mean().rename("mean_m")
    n_inf = (~finite).groupby([df[by], df["beamformer"]]).sum().rename("n_inf")
    out = pd.concat([g, n_inf], axis=1).reset_index()
    rank = {b: k for k, b in enumerate(BEAMFORMERS)}
    return out.sort_values("beamformer", key=lambda s: s.map(rank), kind="stable").reset_index(
        drop=True
    )


def _compare_table(title: str, rows: list[dict]) -> Table:
    t = Table(title=title)
    for col in ("setting", "beamformer", "ours (m)", "paper (m)", "diff", "UTs with CRLB = inf"):
        t.add_column(col, justify="right" if col not in ("setting", "beamformer") else "left")
    for r in rows:
        t.add_row(
            r["setting"],
            BF_NAMES[r["beamformer"]],
            f"{r['ours_m']:.3f}",
            f"{r['paper_m']:.3f}",
            f"{r['rel_diff_pct']:+.1f}%",
            str(r["n_inf"]),
        )
    return t


def _ordering(values: dict) -> str:
    return " < ".join(
        BF_NAMES.get(k, SCHED_NAMES.get(k, k)) for k in sorted(values, key=values.get)
    )


def _gains_table(rows: list[tuple[str, float, float]]) -> Table:
    t = Table(title="headline gains (accuracy improvement, %)")
    for col in ("comparison", "ours", "paper (table)", "paper (text)"):
        t.add_column(col, justify="left" if col == "comparison" else "right")
    for name, ours, paper in rows:
        printed = PAPER_PRINTED_GAINS.get(name)
        t.add_row(name, f"{ours:.1f}", f"{paper:.1f}", "" if printed is None else f"{printed:.1f}")
    return t


def _setting_label(row) -> str:
    p, i, l = row
    return f"P={p:g} dBW, I={i}, I_TDOA={l}"


def table3(opt: Options) -> pd.DataFrame:
    """Table III: 5 (P, I, I_TDOA) rows x 4 beamformers, HBS m = 4."""
    res = _run(opt, _table3_studies(opt))
    rows, ours = [], {}
    for row in TABLE3_ROWS:
        m = _means(res[row], "scheduler")
        for _, r in m.iterrows():
            paper = PAPER_TABLE3[row][r["beamformer"]]
            ours[(row, r["beamformer"])] = r["mean_m"]
            rows.append(
                {
                    "setting": _setting_label(row),
                    "power_dbw": row[0],
                    "n_sats": row[1],
                    "i_tdoa": row[2],
                    "beamformer": r["beamformer"],
                    "ours_m": r["mean_m"],
                    "paper_m": paper,
                    "rel_diff_pct": 100.0 * (r["mean_m"] - paper) / paper,
                    "n_inf": int(r["n_inf"]),
                }
            )
    out = pd.DataFrame(rows)
    _write_table(opt, "table3", out, "Table III: mean positioning accuracy, HBS m=4")
    console.print("ordering per row (ours | paper):")
    for row in TABLE3_ROWS:
        mine = {b: ours[(row, b)] for b in BEAMFORMERS}
        console.print(
            f"  {_setting_label(row)}: {_ordering(mine)} | {_ordering(PAPER_TABLE3[row])}"
        )
    g = lambda a, b: gain_pct(a, b)  # noqa: E731
    P20, P26, L3, L5 = TABLE3_ROWS[0], TABLE3_ROWS[3], TABLE3_ROWS[2], TABLE3_ROWS[4]
    gains = [
        (
            "DSTA vs ZF, P=20 dBW",
            g(ours[(P20, "dsta")], ours[(P20, "zf")]),
            g(PAPER_TABLE3[P20]["dsta"], PAPER_TABLE3[P20]["zf"]),
        ),
        (
            "DSTA vs ZF, P=26 dBW",
            g(ours[(P26, "dsta")], ours[(P26, "zf")]),
            g(PAPER_TABLE3[P26]["dsta"], PAPER_TABLE3[P26]["zf"]),
        ),
        (
            "DSTA vs SCB, P=26 dBW",
            g(ours[(P26, "dsta")], ours[(P26, "scb")]),
            g(PAPER_TABLE3[P26]["dsta"], PAPER_TABLE3[P26]["scb"]),
        ),
        (
            "DSTA, I_TDOA 3 -> 5",
            g(ours[(L5, "dsta")], ours[(L3, "dsta")]),
            g(PAPER_TABLE3[L5]["dsta"], PAPER_TABLE3[L3]["dsta"]),
        ),
    ]
    _write_gains(opt, "table3", gains)
    _print_within(out, "table3", lambda r: ((r.power_dbw, r.n_sats, r.i_tdoa), r.beamformer))
    return out


def table4(opt: Options) -> pd.DataFrame:
    """Table IV: 5 schedulers x 4 beamformers at P = 26 dBW, I = 21, I_TDOA = 4."""
    res = _run(opt, [_table4_study(opt)])["table4"]
    m = _means(res, "scheduler")
    rows, ours = [], {}
    for _, r in m.iterrows():
        paper = PAPER_TABLE4[r["scheduler"]][r["beamformer"]]
        ours[(r["scheduler"], r["beamformer"])] = r["mean_m"]
        rows.append(
            {
                "setting": SCHED_NAMES[r["scheduler"]],
                "scheduler": r["scheduler"],
                "beamformer": r["beamformer"],
                "ours_m": r["mean_m"],
                "paper_m": paper,
                "rel_diff_pct": 100.0 * (r["mean_m"] - paper) / paper,
                "n_inf": int(r["n_inf"]),
            }
        )
    order = {s: k for k, s in enumerate(TABLE4_SCHEDULERS)}
    out = (
        pd.DataFrame(rows)
        .sort_values(["scheduler"], key=lambda s: s.map(order), kind="stable")
        .reset_index(drop=True)
    )
    _write_table(
        opt, "table4", out, "Table IV: mean positioning accuracy, P=26 dBW, I=21, I_TDOA=4"
    )
    console.print("scheduler ordering per beamformer (ours | paper):")
    for b in BEAMFORMERS:
        mine = {s: ours[(s, b)] for s in TABLE4_SCHEDULERS}
        paper = {s: PAPER_TABLE4[s][b] for s in TABLE4_SCHEDULERS}
        console.print(f"  {BF_NAMES[b]}: {_ordering(mine)} | {_ordering(paper)}")
    gains = [
        (
            f"HBS m={m} vs GDOP-greedy (DSTA)",
            gain_pct(ours[(f"hbs{m}", "dsta")], ours[("gdop", "dsta")]),
            gain_pct(PAPER_TABLE4[f"hbs{m}"]["dsta"], PAPER_TABLE4["gdop"]["dsta"]),
        )
        for m in (1, 4, 12)
    ]
    _write_gains(opt, "table4", gains)
    _print_within(out, "table4", lambda r: (r.scheduler, r.beamformer))
    return out


def _write_table(opt: Options, name: str, df: pd.DataFrame, title: str) -> None:
    # pyplot only when a picture is drawn (Agg backend): `twin` itself does not load matplotlib
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    opt.out.mkdir(parents=True, exist_ok=True)
    df.to_csv(opt.out / f"{name}.csv", index=False)
    console.print(
        _compare_table(
            title + (" [--quick: not a reproduction]" if opt.quick else ""), df.to_dict("records")
        )
    )
    settings = list(dict.fromkeys(df["setting"]))
    fig, axes = plt.subplots(1, len(BEAMFORMERS), figsize=(4 * len(BEAMFORMERS), 3.6), sharey=False)
    x = np.arange(len(settings))
    for ax, b in zip(axes, BEAMFORMERS):
        sub = df[df["beamformer"] == b].set_index("setting").loc[settings]
        ax.bar(x - 0.2, sub["ours_m"], 0.4, label="ours")
        ax.bar(x + 0.2, sub["paper_m"], 0.4, label="paper")
        ax.set_xticks(x, settings, rotation=30, ha="right", fontsize=7)
        ax.set_title(BF_NAMES[b])
        ax.set_ylabel("mean accuracy (m)")
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(opt.out / f"{name}.png", dpi=120)
    plt.close(fig)
    console.print(f"wrote {opt.out / (name + '.csv')} and {opt.out / (name + '.png')}")


def _write_gains(opt: Options, name: str, gains: list[tuple[str, float, float]]) -> None:
    console.print(_gains_table(gains))
    pd.DataFrame(
        [
            {
                "comparison": n,
                "ours_pct": o,
                "paper_table_pct": p,
                "paper_text_pct": PAPER_PRINTED_GAINS.get(n),
            }
            for n, o, p in gains
        ]
    ).to_csv(opt.out / f"{name}_gains.csv", index=False)


# ----------------------------------------------------------------------------- figures

#: Figure -> (quantity, axis range) per seed-math A.11 "Figures".
FIGURES = {
    "fig3": ("accuracy_m", (0.0, 100.0), "positioning accuracy (m)"),
    "fig4": ("sinr_db", (4.0, 20.0), "SINR (dB)"),
    "fig5": ("accuracy_m", (0.0, 100.0), "positioning accuracy (m)"),
    "fig6": ("accuracy_m", (0.0, 100.0), "positioning accuracy (m)"),
    "fig7": ("accuracy_m", (0.0, 100.0), "positioning accuracy (m)"),
    "fig8": ("sinr_db", (4.0, 20.0), "SINR (dB)"),
    "fig9": ("gdop", (0.0, 100.0), "GDOP"),
}


def _values(df: pd.DataFrame, quantity: str) -> np.ndarray:
    """Samples of a CDF: per-UT accuracy or GDOP, or per-link SINR (dB)."""
    if quantity == "sinr_db":
        cols = [c for c in df.columns if c.startswith("sinr_db_")]
        v = df[cols].to_numpy().ravel()
    else:
        v = df[quantity].to_numpy()
    return v[~np.isnan(v)]


def _figure_curves(name: str, opt: Options) -> tuple[dict[str, np.ndarray], str]:
    quantity = FIGURES[name][0]
    if name in ("fig3", "fig4"):
        row = TABLE3_ROWS[3]
        df = _run(opt, [Study(row, opt.params(*row), ("hbs4",))])[row]
        return {
            BF_NAMES[b]: _values(df[df["beamformer"] == b], quantity) for b in BEAMFORMERS
        }, "HBS m=4, P=26 dBW, I=21, I_TDOA=4"
    if name == "fig5":
        rows = [r for r in TABLE3_ROWS if r[1:] == (21, 4)]
        res = _run(opt, [Study(r, opt.params(*r), ("hbs4",)) for r in rows])
        return {
            f"DSTA, P={r[0]:g} dBW": _values(res[r][res[r]["beamformer"] == "dsta"], quantity)
            for r in rows
        }, "HBS m=4, I=21, I_TDOA=4"
    if name == "fig6":
        rows = [r for r in TABLE3_ROWS if r[0] == 26.0]
        res = _run(opt, [Study(r, opt.params(*r), ("hbs4",)) for r in rows])
        return {
            f"DSTA, I={r[1]}, I_TDOA={r[2]}": _values(
                res[r][res[r]["beamformer"] == "dsta"], quantity
            )
            for r in rows
        }, "HBS m=4, P=26 dBW"
    df = _run(opt, [_table4_study(opt)])["table4"]
    dsta = df[df["beamformer"] == "dsta"]
    return {
        SCHED_NAMES[s] + ("-DSTA" if quantity != "gdop" else ""): _values(
            dsta[dsta["scheduler"] == s], quantity
        )
        for s in TABLE4_SCHEDULERS
    }, "P=26 dBW, I=21, I_TDOA=4"


#: Our curve labels -> the curve names of the digitised paper figures (figdata/).
_PAPER_CURVE_NAMES = {
    "fig4": {BF_NAMES[b]: n for b, n in BF_CURVES.items()},
    "fig8": {SCHED_NAMES[s] + "-DSTA": n for s, n in SCHED_CURVES.items()},
    "fig9": {SCHED_NAMES[s]: n for s, n in SCHED_CURVES.items()},
}


def _paper_overlay(name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The paper's digitised curves of figure `name` under our labels ({} if not digitised)."""
    if name not in _PAPER_CURVE_NAMES:
        return {}
    curves = paper_curves(name)
    return {ours: curves[theirs] for ours, theirs in _PAPER_CURVE_NAMES[name].items()}


def figure(name: str, opt: Options) -> pd.DataFrame:
    """CDF figure `name` (fig3..fig9): PNG + CSV (`curve,x,cdf,source`) of the CDF on a
    201-point grid (source "twin"), plus the paper's digitised curve points (source
    "paper") for Figs. 4, 8, 9, which the PNG overlays dashed."""
    # pyplot only when a picture is drawn (Agg backend): `twin` itself does not load matplotlib
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quantity, (lo, hi), xlabel = FIGURES[name]
    curves, subtitle = _figure_curves(name, opt)
    grid = np.linspace(lo, hi, 201)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    rows, stats = (
        [],
        Table(title=f"{name}: {xlabel} ({subtitle})" + (" [--quick]" if opt.quick else "")),
    )
    for col in ("curve", "samples", "mean", "median", f"share in [{lo:g}, {hi:g}]"):
        stats.add_column(col, justify="left" if col == "curve" else "right")
    paper = _paper_overlay(name)
    for label, v in curves.items():
        v = np.sort(v)
        fin = v[np.isfinite(v)]
        (line,) = ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", label=label)
        cdf = np.searchsorted(v, grid, side="right") / v.size
        rows += [{"curve": label, "x": x, "cdf": c, "source": "twin"} for x, c in zip(grid, cdf)]
        if label in paper:
            px, pc = paper[label]
            ax.plot(px, pc, "--", color=line.get_color(), lw=1, label=f"{label} (paper)")
            rows += [
                {"curve": label, "x": x, "cdf": c, "source": "paper"}
                for x, c in zip(px, pc)
                if lo <= x <= hi
            ]
        stats.add_row(
            label,
            str(v.size),
            f"{fin.mean():.3f}",
            f"{np.median(v):.3f}",
            f"{np.mean((v >= lo) & (v <= hi)):.3f}",
        )
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("CDF")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"seed 002 {name.replace('fig', 'Fig. ')}: {subtitle}", fontsize=9)
    fig.tight_layout()
    opt.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(opt.out / f"{name}.png", dpi=120)
    plt.close(fig)
    out = pd.DataFrame(rows)
    out.to_csv(opt.out / f"{name}.csv", index=False)
    console.print(stats)
    console.print(f"wrote {opt.out / (name + '.csv')} and {opt.out / (name + '.png')}")
    return out


# ----------------------------------------------------------------------------- commands


def _register(name: str, help_text: str, action) -> None:
    @app.command(name, help=help_text)
    def _cmd(
        out: Path = typer.Option(Path("out/paper-pnt"), "--out", help="output folder"),
        drops: int = typer.Option(100, "--drops", min=1, help="number of random drops"),
        seed: int = typer.Option(
            0, "--seed", help="experiment seed (drop d uses SeedSequence([seed, d]))"
        ),
        workers: int = typer.Option(
            1, "--workers", min=1, help="1 = serial; >1 = dask LocalCluster processes"
        ),
        quick: bool = typer.Option(
            False, "--quick", help="2 drops, 19 cells: seconds, not a reproduction"
        ),
        element_gain_dbi: float = typer.Option(
            CALIBRATED["element_gain_dbi"],
            "--element-gain-dbi",
            help="satellite element gain (dBi); 5.5 reproduces the paper's Fig. 4 SNRs, 0 is the stated link budget",
        ),
        reuse: bool = typer.Option(
            False, "--reuse", help="reuse raw results in OUT/raw with identical settings"
        ),
        phase_model: str = typer.Option(
            CALIBRATED["phase_model"],
            "--phase-model",
            help="eq. (8) phase: 'link' (one per link) or 'element' (one per antenna element)",
        ),
        sweep: str = typer.Option(
            CALIBRATED["sweep"],
            "--sweep",
            help="greedy schedulers: 'rounds' (one satellite per UT per round; a correction of the text) or 'per_ut' (Algorithm 2 as printed, UT by UT)",
        ),
        cell_radius: str = typer.Option(
            CALIBRATED["cell_radius_kind"],
            "--cell-radius",
            help="Table II's 43.3 km cell radius read as the hexagon's 'circumradius' (75 km spacing) or 'inradius' (86.6 km spacing)",
        ),
        boresight: str = typer.Option(
            CALIBRATED["boresight"],
            "--boresight",
            help="satellite UPA boresight: 'nadir' or 'cluster' (facing the cluster centre)",
        ),
        min_elevation_deg: float = typer.Option(
            CALIBRATED["min_elevation_deg"],
            "--min-elevation-deg",
            min=1.0,
            max=89.0,
            help="satellite cap: elevation >= this from the cluster centre (deg)",
        ),
        reference: str = typer.Option(
            CALIBRATED["reference"],
            "--reference",
            help="reference satellite: 'zenith' (above the cluster centre) or 'cap' (random in the satellites' cap)",
        ),
        threshold_rule: str = typer.Option(
            CALIBRATED["threshold_rule"],
            "--threshold-rule",
            help="DSTA when its start is infeasible: 'per_ut' (lower only the UTs that cannot reach it), 'common' (one common threshold per satellite, bisection) or 'grid' (one common threshold down the grid start - k step)",
        ),
        dsta_power: str = typer.Option(
            CALIBRATED["dsta_power"],
            "--dsta-power",
            help="DSTA's power constraint: 'per_beam' (|w|^2 <= P, eq. (19)) or 'total' (sum over a satellite's beams <= |C_i| P, ZF's eq. (33) budget)",
        ),
        gamma_init: float = typer.Option(
            CALIBRATED["gamma_init"],
            "--gamma-init",
            min=0.01,
            help="DSTA's starting threshold gamma' (linear SINR; 10 = 10 dB)",
        ),
    ) -> None:
        if phase_model not in ("link", "element"):
            raise typer.BadParameter(
                f"--phase-model must be 'link' or 'element', got {phase_model!r}"
            )
        if sweep not in ("rounds", "per_ut"):
            raise typer.BadParameter(f"--sweep must be 'rounds' or 'per_ut', got {sweep!r}")
        if cell_radius not in ("circumradius", "inradius"):
            raise typer.BadParameter(
                f"--cell-radius must be 'circumradius' or 'inradius', got {cell_radius!r}"
            )
        if boresight not in ("nadir", "cluster"):
            raise typer.BadParameter(f"--boresight must be 'nadir' or 'cluster', got {boresight!r}")
        if reference not in ("zenith", "cap"):
            raise typer.BadParameter(f"--reference must be 'zenith' or 'cap', got {reference!r}")
        if threshold_rule not in THRESHOLD_RULES:
            raise typer.BadParameter(
                f"--threshold-rule must be one of {', '.join(THRESHOLD_RULES)}, got {threshold_rule!r}"
            )
        if dsta_power not in DSTA_POWERS:
            raise typer.BadParameter(
                f"--dsta-power must be one of {', '.join(DSTA_POWERS)}, got {dsta_power!r}"
            )
        opt = Options(
            out,
            min(drops, 2) if quick else drops,
            seed,
            workers,
            quick,
            element_gain_dbi,
            reuse,
            phase_model,
            sweep,
            cell_radius,
            boresight,
            min_elevation_deg,
            reference,
            threshold_rule,
            dsta_power,
            gamma_init,
        )
        action(opt)


_register("table3", "Table III: 5 (P, I_TDOA) settings x 4 beamformers, HBS m=4.", table3)
_register(
    "table4", "Table IV: schedulers (HBS m=1/4/12, GDOP-greedy, parallax) x 4 beamformers.", table4
)
for _n, _h in (
    ("fig3", "Fig. 3: accuracy CDF of the 4 beamformers (HBS m=4)."),
    ("fig4", "Fig. 4: per-link SINR CDF of the 4 beamformers (HBS m=4)."),
    ("fig5", "Fig. 5: DSTA accuracy CDF for P = 20, 23, 26 dBW."),
    ("fig6", "Fig. 6: DSTA accuracy CDF for (I, I_TDOA) = (16,3), (21,4), (26,5)."),
    ("fig7", "Fig. 7: DSTA accuracy CDF per scheduler."),
    ("fig8", "Fig. 8: DSTA per-link SINR CDF per scheduler."),
    ("fig9", "Fig. 9: GDOP CDF per scheduler."),
):
    _register(_n, _h, lambda opt, _n=_n: figure(_n, opt))


@app.command(
    "calibrate",
    help="Fit the open readings (cap, reference, cell radius, channel, DSTA's threshold rule, "
    "power constraint and start) "
    "to the paper's Figs. 4, 8 and 9 only; prints the objective of every reading and the choice.",
)
def _calibrate_cmd(
    out: Path = typer.Option(Path("out/paper-pnt"), "--out", help="output folder"),
    geometry_drops: int = typer.Option(
        20, "--geometry-drops", min=1, help="drops per reading in stage 1 (schedules only)"
    ),
    drops: int = typer.Option(
        3, "--drops", min=1, help="drops per reading in stages 2 and 3 (all schemes)"
    ),
    stages: str = typer.Option(
        "1,2,3",
        "--stages",
        help="stages to search, e.g. '3'; a stage left out keeps its CALIBRATED values",
    ),
) -> None:
    t0 = time.perf_counter()
    try:
        chosen_stages = tuple(sorted({int(x) for x in stages.split(",")}))
    except ValueError:
        raise typer.BadParameter(f"--stages must list stage numbers 1-3, got {stages!r}") from None
    if not chosen_stages or not set(chosen_stages) <= {1, 2, 3}:
        raise typer.BadParameter(f"--stages must list stage numbers 1-3, got {stages!r}")
    chosen, rows = calibrate(
        geometry_drops=geometry_drops, drops=drops, stages=chosen_stages, report=console.print
    )
    out.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out / "calibration.csv", index=False)
    t = Table(
        title=f"calibration (seed {CALIBRATION_SEED}; objective 1 per figure = 25 % GDOP / 1.5 dB)"
    )
    for col in ("stage", "reading", "objective", "fig4", "fig8", "fig9"):
        t.add_column(col)
    for _, r in rows.sort_values(["stage", "objective"]).iterrows():
        reading = ", ".join(
            f"{k}={r[k]}"
            for k in rows.columns
            if k not in ("stage", "objective", "fig4", "fig8", "fig9") and pd.notna(r[k])
        )
        t.add_row(
            str(r["stage"]),
            reading,
            f"{r['objective']:.3f}",
            *(f"{r[f]:.3f}" if f in r and pd.notna(r[f]) else "" for f in ("fig4", "fig8", "fig9")),
        )
    console.print(t)
    console.print(f"chosen: {chosen}")
    console.print(f"wrote {out / 'calibration.csv'} ({time.perf_counter() - t0:.0f} s)")
