"""Seed 000 joint-design studies (twin.paper.isac.studies) through their commands `twin paper isac
certify | fig6-ordering | compare-algorithm2` (twin.paper.isac.design_cli) at tiny sizes: type-I
groups, 2x2 arrays, 2 UEs, one instance each."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

import twin.paper.isac
from twin.cli import app
from twin.paper.isac import problems

runner = CliRunner()


def test_paper_problem_is_exported_by_the_package():
    assert twin.paper.isac.paper_problem is problems.paper_problem


def test_certify_command(tmp_path):
    out = tmp_path / "certify.csv"
    args = ["paper", "isac", "certify", "--problems", "1", "--collaboration", "I"]
    args += ["--nx", "2", "--nz", "2", "--ues", "2", "--single-stream", "--out", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "instance=0 status=optimal" in res.output
    assert "1 instances: 1 optimal; worst certified gap" in res.output
    assert "single stream: worst gap" in res.output
    rows = pd.read_csv(out)
    assert len(rows) == 1
    assert {"rcrb_m", "dual_bound_m", "gap_pct", "rcrb_one_m"} <= set(rows.columns)
    assert rows.rcrb_m.iloc[0] >= rows.dual_bound_m.iloc[0]


def test_fig6_ordering_command():
    args = ["paper", "isac", "fig6-ordering", "--geometries", "1", "--etas", "1"]
    args += ["--type", "I", "--n", "2", "--ues", "2"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "geometry=0 eta=1 " in res.output
    assert "1 points: all optimal" in res.output


def test_compare_algorithm2_command():
    res = runner.invoke(app, ["paper", "isac", "compare-algorithm2", "--iterations", "2"])
    assert res.exit_code == 0, res.output
    lines = dict(line.split(" = ", 1) for line in res.output.splitlines() if " = " in line)
    assert {"iterations", "rcrb_hist_rel_given", "final_rel_own", "max_gap_own"} <= set(lines)
