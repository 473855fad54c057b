"""Seed 000 localisation: estimators of the target position and their Monte Carlo against the CRB.

Modules: :mod:`~twin.isac.estimation.optimizers` (PSO, GA, grid), :mod:`~twin.isac.estimation.locate`
(the estimators) and :mod:`~twin.isac.estimation.montecarlo` (RMSE vs RCRB).
"""
