"""Monte Carlo drops of seed 002's simulation: schedule, beamform, score (seed-math A.11).

One drop = one random paper_002 geometry and one channel realisation. Within a drop every
scheduler is run once and its schedule is shared by all beamformers, so the schemes are
compared on the same drop and channels (a paired comparison). Drop `d` of seed `s` draws
from `SeedSequence([s, d])`, so results do not depend on batching or on the number of
workers.

Output: a tidy pandas DataFrame, one row per (drop, scheduler, beamformer, UT), columns
`drop, ut, scheduler, beamformer, accuracy_m, gdop, sinr_mean_db, sinr_min_db,
sinr_db_0..sinr_db_{L-1}` (per-link SINRs in satellite-index order), the beamformer's
`status` and `n_tests`, and the settings (`power_dbw, n_sats, i_tdoa, n_cells,
element_gain_dbi`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from twin.paper.pnt.drop import Drop, paper_002_drop
from twin.pnt.beamforming import beamform
from twin.pnt.channel import PntParams, channels
from twin.pnt.crlb import accuracy_per_ut, gdop
from twin.pnt.scheduling import schedule

BEAMFORMERS = ("dsta", "scbwi", "zf", "scb")
#: Scheduler labels of the paper's Table IV, in its row order.
TABLE4_SCHEDULERS = ("hbs1", "hbs4", "hbs12", "gdop", "parallax")

_SCHED_RE = re.compile(r"^(hbs)(\d+)?$|^(gdop|comm|parallax)$")


def parse_scheduler(label: str) -> tuple[str, int]:
    """Scheduler label -> (method, m): "hbs" / "hbs<m>" (e.g. "hbs4"), "gdop", "comm",
    "parallax". `m` is 4 for plain "hbs" and unused (1) for the others."""
    match = _SCHED_RE.match(str(label))
    if match is None:
        raise ValueError(
            f"unknown scheduler {label!r}; use hbs, hbs<m> (e.g. hbs4), gdop, comm or parallax"
        )
    if match.group(1):
        m = int(match.group(2)) if match.group(2) else 4
        if m < 1:
            raise ValueError(f"HBS m must be >= 1 in {label!r}")
        return "hbs", m
    return match.group(3), 1


def rings_for_cells(n_cells: int) -> int:
    """Number of hexagon rings r with `1 + 3 r (r + 1) = n_cells` (1, 7, 19, 37, 61, ...)."""
    for r in range(0, 50):
        if 1 + 3 * r * (r + 1) == n_cells:
            return r
    raise ValueError(
        f"n_cells={n_cells} is not a centred hexagonal number (1, 7, 19, 37, 61, 91, ...)"
    )


def make_drop(params: PntParams, rng: np.random.Generator) -> Drop:
    """The paper_002 geometry for `params` (n_sats, i_tdoa, n_cells, cell radius and its
    reading, altitude, boresight, satellite cap, reference placement)."""
    return paper_002_drop(
        rng,
        n_visible=params.n_sats,
        i_tdoa=params.i_tdoa,
        altitude_m=params.altitude_m,
        rings=rings_for_cells(params.n_cells),
        circumradius_m=params.circumradius_m,
        boresight=params.boresight,
        min_elevation_deg=params.min_elevation_deg,
        reference=params.reference,
    )


def _as_list(x) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


def drop_channels(drop, params: PntParams, rng: np.random.Generator) -> np.ndarray:
    """The drop's channels H (I, C, N) under `params` (seed 002 eqs. (8)-(10),
    ``twin.pnt.channel.channels``); `rng` draws the phases."""
    return channels(
        drop.sat_pos,
        drop.ut_pos,
        drop.frames,
        freq_hz=params.freq_hz,
        nx=params.nx,
        ny=params.ny,
        element_gain_dbi=params.element_gain_dbi,
        rng=rng,
        phase=params.phase_model,
    )


def schedule_drop(drop, H, params, method: str, m: int):
    """One scheduler on one drop: (delta (I, C) 0/1 schedule, per-UT scheduled satellites
    sorted by index (C, I_TDOA), per-UT GDOP (C,)); H (I, C, N) the drop's channels."""
    delta = schedule(
        method,
        H,
        drop.ut_pos,
        drop.sat_pos,
        drop.ref_pos,
        i_tdoa=params.i_tdoa,
        max_beams=params.n_beams,
        m=m,
        sweep=params.sweep,
    )
    sat_idx = np.nonzero(delta.T)[1].reshape(drop.ut_pos.shape[0], params.i_tdoa)
    return delta, sat_idx, gdop(drop.ut_pos, drop.sat_pos[sat_idx], drop.ref_pos)


def run_drop(
    drop: Drop,
    *,
    scheduler: str | Sequence[str],
    beamformer: str | Sequence[str],
    params: PntParams,
    rng: np.random.Generator,
    drop_index: int = 0,
    H: np.ndarray | None = None,
) -> pd.DataFrame:
    """Schedule, beamform and score one drop; one row per (scheduler, beamformer, UT).

    drop: geometry (ECEF m); scheduler / beamformer: one label or several (see
    `parse_scheduler`, `BEAMFORMERS`); params: PntParams; rng: draws the channel phases
    (unless `H (I, C, N)` is given) and then anything the beamformers draw. Each scheduler
    runs once; its schedule is shared by every beamformer.
    """
    schedulers = _as_list(scheduler)
    beamformers = _as_list(beamformer)
    for b in beamformers:
        if b not in BEAMFORMERS:
            raise ValueError(f"unknown beamformer {b!r}; use one of {', '.join(BEAMFORMERS)}")
    parsed = [parse_scheduler(s) for s in schedulers]
    if H is None:
        H = drop_channels(drop, params, rng)
    n_ut = drop.ut_pos.shape[0]
    frames = []
    for label, (method, m) in zip(schedulers, parsed):
        delta, sat_idx, ut_gdop = schedule_drop(drop, H, params, method, m)
        for bf in beamformers:
            res = beamform(
                bf,
                H,
                delta,
                power_w=params.power_w,
                noise_w=params.noise_w,
                ut_pos=drop.ut_pos,
                sat_pos=drop.sat_pos,
                ref_pos=drop.ref_pos,
                bandwidth_hz=params.bandwidth_hz,
                ref_var=params.ref_toa_var_s2,
                **_beamformer_options(bf, params, rng),
            )
            sinr = np.asarray(res.sinr, dtype=float)
            acc = accuracy_per_ut(
                drop.ut_pos,
                drop.sat_pos,
                drop.ref_pos,
                delta,
                sinr,
                params.bandwidth_hz,
                params.ref_toa_var_s2,
            )
            link = sinr[sat_idx, np.arange(n_ut)[:, None]]  # (C, L)
            with np.errstate(divide="ignore"):
                link_db = 10.0 * np.log10(link)
            df = pd.DataFrame(
                {
                    "drop": drop_index,
                    "ut": np.arange(n_ut),
                    "scheduler": label,
                    "beamformer": bf,
                    "accuracy_m": acc,
                    "gdop": ut_gdop,
                    "sinr_mean_db": link_db.mean(axis=1),
                    "sinr_min_db": link_db.min(axis=1),
                    **{f"sinr_db_{k}": link_db[:, k] for k in range(params.i_tdoa)},
                    "status": _status_summary(res.status),
                    "n_tests": int(np.sum(res.n_tests)),
                }
            )
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["power_dbw"] = params.power_dbw
    out["n_sats"] = params.n_sats
    out["i_tdoa"] = params.i_tdoa
    out["n_cells"] = n_ut
    out["element_gain_dbi"] = params.element_gain_dbi
    return out


def _beamformer_options(name: str, params: PntParams, rng: np.random.Generator) -> dict:
    """DSTA thresholds from the params (and the rng its SDR option would draw from);
    nothing for the baselines."""
    if name == "dsta":
        return {
            "gamma_init": params.gamma_init,
            "gamma_step": params.gamma_step,
            "gamma_max": params.gamma_max,
            "threshold_rule": params.threshold_rule,
            "power_constraint": params.dsta_power,
            "rng": rng,
        }
    return {}


def _status_summary(status) -> str:
    """Per-satellite beamformer statuses as "name:count" pairs, e.g. "ok:20,lowered:1"."""
    names, counts = np.unique(np.asarray(status, dtype=str), return_counts=True)
    return ",".join(f"{n}:{k}" for n, k in zip(names, counts))


def drop_rngs(seed: int, drop_index: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(geometry rng, channel/beamformer rng) of drop `drop_index`: children of
    `SeedSequence([seed, drop_index])`."""
    geo, chan = np.random.SeedSequence([int(seed), int(drop_index)]).spawn(2)
    return np.random.default_rng(geo), np.random.default_rng(chan)


def simulate_drop(
    params: PntParams, seed: int, drop_index: int, schedulers, beamformers
) -> pd.DataFrame:
    """Drop `drop_index` of an experiment: geometry, channels, all schemes (a pure function
    of its arguments, so it can run on any worker)."""
    geo_rng, chan_rng = drop_rngs(seed, drop_index)
    drop = make_drop(params, geo_rng)
    return run_drop(
        drop,
        scheduler=schedulers,
        beamformer=beamformers,
        params=params,
        rng=chan_rng,
        drop_index=drop_index,
    )


def run_experiment(
    settings: PntParams,
    *,
    drops: int = 100,
    seed: int = 0,
    schedulers: Sequence[str] = ("hbs4",),
    beamformers: Sequence[str] = BEAMFORMERS,
    progress: bool = True,
    workers: int = 1,
    progress_label: str | None = None,
    client=None,
) -> pd.DataFrame:
    """Run `drops` independent drops of `settings` (PntParams) for every scheduler x
    beamformer; rows sorted by (drop, scheduler, beamformer, ut) as listed.

    workers=1 runs serially in-process; workers>1 uses a dask.distributed LocalCluster with
    that many single-threaded worker processes (or the given dask `client`, so several
    experiments can share one cluster). Results are identical either way (per-drop
    `SeedSequence([seed, drop])`). progress: show a rich progress bar.
    """
    if int(drops) != drops or drops < 1:
        raise ValueError(f"drops must be an integer >= 1, got {drops!r}")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    schedulers = _as_list(schedulers)
    beamformers = _as_list(beamformers)
    for s in schedulers:
        parse_scheduler(s)
    for b in beamformers:
        if b not in BEAMFORMERS:
            raise ValueError(f"unknown beamformer {b!r}; use one of {', '.join(BEAMFORMERS)}")
    label = (
        progress_label
        or f"P={settings.power_dbw:g} dBW, I={settings.n_sats}, I_TDOA={settings.i_tdoa}"
    )
    results: dict[int, pd.DataFrame] = {}
    with _progress(progress, label, drops) as advance:
        if workers == 1 and client is None:
            for d in range(drops):
                results[d] = simulate_drop(settings, seed, d, schedulers, beamformers)
                advance()
        else:
            for d, df in _run_dask(settings, seed, drops, schedulers, beamformers, workers, client):
                results[d] = df
                advance()
    out = pd.concat([results[d] for d in range(drops)], ignore_index=True)
    return _sorted(out, schedulers, beamformers)


def _sorted(df: pd.DataFrame, schedulers, beamformers) -> pd.DataFrame:
    key_s = {s: k for k, s in enumerate(schedulers)}
    key_b = {b: k for k, b in enumerate(beamformers)}
    order = np.lexsort(
        (
            df["ut"].to_numpy(),
            df["beamformer"].map(key_b).to_numpy(),
            df["scheduler"].map(key_s).to_numpy(),
            df["drop"].to_numpy(),
        )
    )
    return df.iloc[order].reset_index(drop=True)


def local_client(workers: int):
    """A dask.distributed Client on a LocalCluster of `workers` single-threaded processes
    (use as a context manager; closing it also closes the cluster)."""
    # dask.distributed takes ~1 s to import: only when a cluster is started, not with every `twin`
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster, set_as_default=False)


def _run_dask(
    settings, seed, drops, schedulers, beamformers, workers, client=None
) -> Iterable[tuple[int, pd.DataFrame]]:
    """Yield (drop, rows) as the cluster finishes them."""
    from dask.distributed import as_completed  # with the cluster, as in local_client

    own = client is None
    if own:
        client = local_client(workers)
    try:
        futures = {
            client.submit(simulate_drop, settings, seed, d, schedulers, beamformers, pure=False): d
            for d in range(drops)
        }
        for fut in as_completed(futures, loop=client.loop):
            yield futures[fut], fut.result()
    finally:
        if own:
            cluster = client.cluster
            client.close()
            cluster.close()


class _progress:
    """Context manager yielding an `advance()` callable (rich bar, or a no-op)."""

    def __init__(self, show: bool, label: str, total: int):
        self.show, self.label, self.total = show, label, total
        self._bar = None

    def __enter__(self):
        if not self.show:
            return lambda: None
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self._bar.__enter__()
        task = self._bar.add_task(self.label, total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False


def params_with(base: PntParams | None = None, **changes) -> PntParams:
    """A PntParams with some fields changed (dataclasses.replace), validating the names."""
    base = base or PntParams()
    unknown = set(changes) - set(asdict(base))
    if unknown:
        raise ValueError(f"unknown PntParams field(s): {', '.join(sorted(unknown))}")
    return replace(base, **changes)
