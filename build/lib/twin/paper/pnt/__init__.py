"""Seed 002's paper reproduction: the drop geometry, the Monte Carlo experiment and `twin paper pnt`.

`drop.py` draws one paper_002 geometry, `experiment.py` schedules, beamforms and scores drops
(dask for several workers), `cli.py` writes the tables and figures. Imported by `twin.cli` only.
"""
