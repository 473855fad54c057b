"""Seed 000 (cooperative ISAC) reproduced: figures, tables, studies and the problems they solve."""

from twin.paper.isac.problems import paper_problem

__all__ = ["paper_problem"]
