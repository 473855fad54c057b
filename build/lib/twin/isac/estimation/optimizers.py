"""Generic vectorised box-constrained maximisers: PSO, genetic algorithm, coarse-to-fine grid.

Every optimiser maximises a *batch* objective ``f(points (B, P, d)) -> (B, P)`` over a box
``lower <= x <= upper`` given per batch element (``lower``, ``upper``: (B, d)). The batch axis B
lets one call solve B independent problems at once (e.g. Monte Carlo trials); each batch
element draws its random numbers from its own ``numpy.random.Generator`` so results do not
depend on how problems are batched. Units are whatever the caller's points use (metres for
localisation).

Seed 000, Algorithm 1 (PSO) is :func:`pso`; the GA and grid search are the comparison
optimisers of seed 000 Section IV (Figs. 8-9).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Objective = Callable[[np.ndarray], np.ndarray]


@dataclass
class OptimResult:
    """Result of a batched maximisation.

    x: (B, d) best point per batch element; value: (B,) objective at x;
    n_evaluations: (B,) objective evaluations spent on each batch element (int array);
    history: (B, S) best objective after each iteration/stage (S = iterations + 1 for PSO/GA,
    number of stages for the grid); history_x: (B, S, d) the incumbent after each stage
    (grid only, else None); steps: (S,) grid step of each stage (grid only, else None).
    """

    x: np.ndarray
    value: np.ndarray
    n_evaluations: np.ndarray
    history: np.ndarray
    history_x: np.ndarray | None = None
    steps: np.ndarray | None = None
    evaluations_per_stage: list[int] = field(default_factory=list)


def _as_rngs(rng, batch: int) -> list[np.random.Generator]:
    """One Generator per batch element (a single Generator is allowed for batch 1)."""
    if isinstance(rng, np.random.Generator):
        if batch != 1:
            raise ValueError(
                f"a single Generator serves one problem; batch has {batch}: pass a list of {batch} Generators"
            )
        return [rng]
    rngs = list(rng)
    if len(rngs) != batch or not all(isinstance(r, np.random.Generator) for r in rngs):
        raise ValueError(
            f"need exactly {batch} numpy Generators (one per batch element), got {len(rngs)}"
        )
    return rngs


def _uniform(rngs: Sequence[np.random.Generator], shape: tuple[int, ...]) -> np.ndarray:
    """U[0,1) array (B, *shape), row b drawn from rngs[b]."""
    return np.stack([r.random(shape) for r in rngs])


def _normal(rngs: Sequence[np.random.Generator], shape: tuple[int, ...]) -> np.ndarray:
    return np.stack([r.standard_normal(shape) for r in rngs])


def _check_box(lower, upper) -> tuple[np.ndarray, np.ndarray]:
    lower = np.atleast_2d(np.asarray(lower, dtype=float))
    upper = np.atleast_2d(np.asarray(upper, dtype=float))
    if lower.shape != upper.shape:
        raise ValueError(
            f"lower {lower.shape} and upper {upper.shape} must have the same shape (B, d)"
        )
    if not np.all(upper > lower):
        raise ValueError("every box must have upper > lower in each coordinate")
    return lower, upper


def _evaluate(f: Objective, points: np.ndarray) -> np.ndarray:
    values = np.asarray(f(points), dtype=float)
    if values.shape != points.shape[:-1]:
        raise ValueError(f"objective returned shape {values.shape}, expected {points.shape[:-1]}")
    # NaN never wins a comparison: treat as -inf.
    return np.where(np.isnan(values), -np.inf, values)


def pso(
    f: Objective,
    lower,
    upper,
    rng,
    *,
    particles: int = 50,
    iterations: int = 40,
    c1: float = 1.5,
    c2: float = 1.5,
    inertia_max: float = 0.8,
    inertia_min: float = 0.4,
    max_speed_fraction: float = 0.2,
) -> OptimResult:
    """Particle swarm maximisation, seed 000 Algorithm 1 (with the corrections of seed-math B.4).

    Particles start uniform in the box with zero velocity. Iterations n = 0..N_p evaluate all
    particles, update personal bests and the global best *by fitness value*, then (for n < N_p)
    ``v <- w_n v + c1 r1 (p_best - p) + c2 r2 (g_best - p)`` with ``r1, r2 ~ U[0,1]^d`` fresh per
    particle and iteration, ``w_n = w_max - (w_max - w_min) n / N_p``, speed clipped per
    coordinate to ``max_speed_fraction`` of the box width, ``p <- clip(p + v_new)``.
    Evaluations: particles * (iterations + 1). history[:, n] = F(g_best) after iteration n.

    f: (B, P, d) -> (B, P); lower, upper: (B, d) or (d,); rng: Generator (B = 1) or B Generators.
    """
    if particles < 1 or iterations < 0:
        raise ValueError(f"need particles >= 1 and iterations >= 0, got {particles}, {iterations}")
    lower, upper = _check_box(lower, upper)
    batch, dim = lower.shape
    rngs = _as_rngs(rng, batch)
    width = (upper - lower)[:, None, :]
    vmax = max_speed_fraction * width
    pos = lower[:, None, :] + _uniform(rngs, (particles, dim)) * width
    vel = np.zeros_like(pos)
    pbest = pos.copy()
    pbest_val = np.full((batch, particles), -np.inf)
    history = np.empty((batch, iterations + 1))
    rows = np.arange(batch)
    for n in range(iterations + 1):
        val = _evaluate(f, pos)
        improved = val > pbest_val
        pbest = np.where(improved[..., None], pos, pbest)
        pbest_val = np.where(improved, val, pbest_val)
        best = np.argmax(pbest_val, axis=1)
        gbest = pbest[rows, best]
        history[:, n] = pbest_val[rows, best]
        if n == iterations:
            break
        w = inertia_max - (inertia_max - inertia_min) * n / max(iterations, 1)
        r1 = _uniform(rngs, (particles, dim))
        r2 = _uniform(rngs, (particles, dim))
        vel = w * vel + c1 * r1 * (pbest - pos) + c2 * r2 * (gbest[:, None, :] - pos)
        vel = np.clip(vel, -vmax, vmax)
        pos = np.clip(pos + vel, lower[:, None, :], upper[:, None, :])
    return OptimResult(
        x=gbest,
        value=history[:, -1].copy(),
        n_evaluations=np.full(batch, particles * (iterations + 1)),
        history=history,
    )


def genetic(
    f: Objective,
    lower,
    upper,
    rng,
    *,
    population: int = 50,
    generations: int = 40,
    tournament: int = 2,
    crossover_prob: float = 0.9,
    sbx_eta: float = 15.0,
    mutation_prob: float | None = None,
    mutation_sigma_fraction: float = 0.1,
    mutation_decay: float = 0.1,
    elite: int = 2,
) -> OptimResult:
    """Real-coded genetic algorithm (seed 000 Fig. 8 "GA-based direct localisation").

    Standard scheme (Deb & Agrawal SBX): tournament selection of size ``tournament``;
    simulated binary crossover with distribution index ``sbx_eta`` applied with probability
    ``crossover_prob`` per pair; Gaussian mutation per coordinate with probability
    ``mutation_prob`` (default 1/d) and standard deviation ``mutation_sigma_fraction`` × box
    width, shrinking linearly to ``mutation_decay`` times that by the last generation; children
    clipped to the
    box; the ``elite`` best individuals survive unchanged. Evaluations:
    population * (generations + 1). history[:, g] = best value after generation g.

    f: (B, P, d) -> (B, P); lower, upper: (B, d) or (d,); rng: Generator (B = 1) or B Generators.
    """
    if population < 2 or generations < 0 or not 0 <= elite < population:
        raise ValueError(
            f"need population >= 2, generations >= 0, 0 <= elite < population; got {population}, {generations}, {elite}"
        )
    lower, upper = _check_box(lower, upper)
    batch, dim = lower.shape
    rngs = _as_rngs(rng, batch)
    lo, hi = lower[:, None, :], upper[:, None, :]
    width = hi - lo
    pm = 1.0 / dim if mutation_prob is None else mutation_prob
    pop = lo + _uniform(rngs, (population, dim)) * width
    val = _evaluate(f, pop)
    history = np.empty((batch, generations + 1))
    history[:, 0] = val.max(axis=1)
    rows = np.arange(batch)[:, None]
    n_children = population - elite
    n_pairs = (n_children + 1) // 2
    for g in range(1, generations + 1):
        # Tournament selection: 2 * n_pairs parents, each the best of `tournament` random picks.
        picks = np.stack([r.integers(0, population, size=(2 * n_pairs, tournament)) for r in rngs])
        winner = np.take_along_axis(
            picks, np.argmax(val[rows[..., None], picks], axis=2)[..., None], axis=2
        )[..., 0]
        parents = pop[rows, winner].reshape(batch, n_pairs, 2, dim)
        p1, p2 = parents[:, :, 0], parents[:, :, 1]
        # SBX crossover.
        u = _uniform(rngs, (n_pairs, dim))
        beta = np.where(
            u <= 0.5, (2 * u) ** (1 / (sbx_eta + 1)), (1 / (2 * (1 - u))) ** (1 / (sbx_eta + 1))
        )
        do_cross = _uniform(rngs, (n_pairs, 1)) < crossover_prob
        c1 = np.where(do_cross, 0.5 * ((1 + beta) * p1 + (1 - beta) * p2), p1)
        c2 = np.where(do_cross, 0.5 * ((1 - beta) * p1 + (1 + beta) * p2), p2)
        children = np.concatenate([c1, c2], axis=1)[:, :n_children]
        # Gaussian mutation, step shrinking over the generations.
        sigma = (
            mutation_sigma_fraction
            * width
            * (1 - (1 - mutation_decay) * (g - 1) / max(generations - 1, 1))
        )
        mutate = _uniform(rngs, (n_children, dim)) < pm
        children = children + mutate * sigma * _normal(rngs, (n_children, dim))
        children = np.clip(children, lo, hi)
        child_val = _evaluate(f, children)
        order = np.argsort(-val, axis=1)[:, :elite]
        pop = np.concatenate([pop[rows, order], children], axis=1)
        val = np.concatenate([val[rows, order], child_val], axis=1)
        history[:, g] = val.max(axis=1)
    best = np.argmax(val, axis=1)
    return OptimResult(
        x=pop[np.arange(batch), best],
        value=val[np.arange(batch), best],
        n_evaluations=np.full(batch, population + generations * n_children),
        history=history,
    )


def grid_steps(
    width: float, final_step: float, *, coarse_points: int = 11, ratio: float = 10**0.5
) -> np.ndarray:
    """Grid step of each stage of :func:`grid_search` (metres if the box is in metres).

    Stage 0 spans the box with ``coarse_points`` per axis (step width/(coarse_points-1)); each
    later stage divides the step by ``ratio`` until ``final_step`` (the last step is exactly
    ``final_step``; the stage count is the smallest that keeps every reduction <= ratio).
    """
    if final_step <= 0 or coarse_points < 2 or ratio <= 1:
        raise ValueError(
            f"need final_step > 0, coarse_points >= 2, ratio > 1; got {final_step}, {coarse_points}, {ratio}"
        )
    s0 = width / (coarse_points - 1)
    if final_step >= s0:
        return np.array([s0])
    n = int(np.ceil(np.log(s0 / final_step) / np.log(ratio) - 1e-9))
    return s0 * (final_step / s0) ** (np.arange(n + 1) / n)


def grid_search(
    f: Objective,
    lower,
    upper,
    *,
    final_step: float,
    coarse_points: int = 11,
    ratio: float = 10**0.5,
    half_points: int = 4,
    max_moves: int = 20,
) -> OptimResult:
    """Coarse-to-fine grid search (seed 000 Figs. 8-9 "grid search with accuracy ε").

    Stage 0: a ``coarse_points``^d lattice over the box. Stage s > 0: a (2 h + 1)^d lattice of
    step ``steps[s]`` (see :func:`grid_steps`, h = ``half_points``) centred on the incumbent,
    clipped to the box; if the best point lies on the lattice's edge (and not on the box
    boundary) the lattice is re-centred there and searched again at the same step (at most
    ``max_moves`` times per stage), so a ridge longer than the lattice cannot stop the search.
    Evaluations: coarse_points^d + (2h+1)^d per lattice searched (reported exactly).
    history[:, s], history_x[:, s]: best value and point after stage s, so the incumbents for
    a coarser ε are the prefix stages of a finer run.

    f: (B, P, d) -> (B, P); lower, upper: (B, d) or (d,).
    """
    lower, upper = _check_box(lower, upper)
    batch, dim = lower.shape
    widths = upper - lower
    if not np.allclose(widths, widths[0, 0]):
        raise ValueError(
            "grid_search needs a cube (equal widths in every coordinate and batch element)"
        )
    steps = grid_steps(float(widths[0, 0]), final_step, coarse_points=coarse_points, ratio=ratio)
    axis = np.linspace(0.0, 1.0, coarse_points)
    mesh = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
    pts = lower[:, None, :] + mesh[None] * widths[:, None, :]
    val = _evaluate(f, pts)
    arg = np.argmax(val, axis=1)
    rows = np.arange(batch)
    best_x, best_val = pts[rows, arg], val[rows, arg]
    n_eval = np.full(batch, len(mesh))
    per_stage = [len(mesh)]
    history = [best_val.copy()]
    history_x = [best_x.copy()]
    offs_axis = np.arange(-half_points, half_points + 1, dtype=float)
    offsets = np.stack(np.meshgrid(*([offs_axis] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
    on_edge_mask = np.any(np.abs(offsets) == half_points, axis=1)
    for step in steps[1:]:
        centre = best_x.copy()
        active = np.ones(batch, dtype=bool)
        stage_evals = np.zeros(batch, dtype=int)
        for _ in range(max_moves + 1):
            pts = np.clip(
                centre[:, None, :] + step * offsets[None], lower[:, None, :], upper[:, None, :]
            )
            val = _evaluate(f, pts)
            arg = np.argmax(val, axis=1)
            cand_x, cand_val = pts[rows, arg], val[rows, arg]
            better = active & (cand_val >= best_val)
            best_x = np.where(better[:, None], cand_x, best_x)
            best_val = np.where(better, cand_val, best_val)
            stage_evals += np.where(active, len(offsets), 0)
            at_box = np.any((cand_x <= lower) | (cand_x >= upper), axis=1)
            moved = np.any(np.abs(cand_x - centre) > 0.5 * step, axis=1)
            active = active & on_edge_mask[arg] & better & moved & ~at_box
            if not active.any():
                break
            centre = np.where(active[:, None], best_x, centre)
        n_eval += stage_evals
        per_stage.append(int(stage_evals.max()))
        history.append(best_val.copy())
        history_x.append(best_x.copy())
    return OptimResult(
        x=best_x,
        value=best_val,
        n_evaluations=n_eval,
        history=np.stack(history, axis=1),
        history_x=np.stack(history_x, axis=1),
        steps=steps,
        evaluations_per_stage=per_stage,
    )
