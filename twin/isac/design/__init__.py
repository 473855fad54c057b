"""Seed 000's joint transmit design (problem (33)): the cvxpy reference path and the fast, certified
engines.

Imports run one way (``a <- b``: b imports a). cvxpy path: problem <- rank_one <- sdr <- algorithm2,
baselines. Fast path: problem <- operators <- factor_form, dual_bound <- fast_design <-
fast_baselines (with baselines.zf_directions), fast_algorithm2 (with algorithm2's shared steps);
alm is the augmented-Lagrangian loop of the fast engines. Compiled path: compiled (numba kernels),
dual_bound <- dual_fast, fast_design (options) <- fast_many (many problems at once).
"""
