"""The notebook API (twin.run, twin.Run): docs/notebook.md executed, scenarios built in code
checked exactly as files are, the tables equal to the file route's."""

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from scenario_text import scenario_toml, write_scenario

import twin
from twin.config import load_scenario
from twin.errors import InputError
from twin.results import load

ROOT = Path(__file__).resolve().parents[1]


def test_docs_notebook_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "notebook.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/notebook.md", "exec"), namespace)
    run = namespace["run"]
    assert run.dir == tmp_path / "runs" / "notebook" and (run.dir / "run.json").exists()
    assert (tmp_path / "runs/notebook/report/index.html").exists()
    assert "<dict> run.step" in capsys.readouterr().out
    assert list(run.summary.index) == ["car"]


def test_dict_scenario_and_object_give_the_file_run_tables(tmp_path):
    path = write_scenario(tmp_path, "small.toml")
    by_file = twin.run(path, out=tmp_path / "file", quiet=True)
    data = tomllib.loads(scenario_toml())
    data["output"]["dir"] = str(tmp_path / "unused")
    by_dict = twin.run(data, out=tmp_path / "dict", quiet=True)
    by_object = twin.run(load_scenario(path), out=tmp_path / "object", quiet=True)
    assert "tables" not in vars(by_dict)  # read on first use only
    for other in (by_dict, by_object):
        assert sorted(other.tables) == sorted(by_file.tables)
        for name, frame in by_file.tables.items():
            pd.testing.assert_frame_equal(other.tables[name], frame, check_exact=True)
    assert twin.Run(by_file.dir).info["status"] == "complete"
    assert set(load(by_dict.dir)) < set(by_dict.tables)  # tidy: the long tables too


def test_dict_refused_with_the_problems_of_the_same_file(tmp_path):
    bad = {"run": {"step": "-5s"}, "shell": {"phasing": 36}}
    path = write_scenario(tmp_path, "bad.toml", **bad)
    with pytest.raises(InputError) as from_file:
        twin.run(path, out=tmp_path / "a", quiet=True)
    with pytest.raises(InputError) as from_dict:
        twin.run(tomllib.loads(scenario_toml(**bad)), out=tmp_path / "b", quiet=True)
    strip = [(p.where.split(" ")[-1], p.reason) for p in from_file.value.problems]
    assert [(p.where, p.reason) for p in from_dict.value.problems] == [
        (f"<dict> {field}", reason) for field, reason in strip
    ]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_changed_scenario_object_is_checked_again(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, "small.toml"))
    serving = scenario.serving.model_copy(update={"group_size": 0})  # model_copy checks nothing
    scenario = scenario.model_copy(update={"serving": serving})
    with pytest.raises(InputError) as refused:
        twin.run(scenario, out=tmp_path / "r", quiet=True)
    assert refused.value.problems[0].where == "<Scenario> serving.group_size"
    assert not (tmp_path / "r").exists()


def test_dict_scenario_gets_the_sgp4_checks(tmp_path):
    """Two snapshot records that decay within a week (tests/constellation/test_fuzz_tle.py):
    the dict route refuses them at the run's epochs as the file route does."""
    from data_files import starlink_snapshot_path

    lines = starlink_snapshot_path().read_text().splitlines()
    tle = tmp_path / "decay.tle"
    tle.write_text("\n".join(lines[:9] + lines[30594:30597] + lines[30957:30960]) + "\n")
    data = tomllib.loads(
        scenario_toml(
            run={"start": datetime(2026, 5, 28, 18, tzinfo=UTC), "duration": "7d", "step": "1h"},
            constellation={"kind": "tle", "tle_file": str(tle)},
            shells=[],
        )
    )
    with pytest.raises(InputError) as refused:
        twin.run(data, out=tmp_path / "r", quiet=True)
    assert [p.where for p in refused.value.problems] == [f"{tle}:11", f"{tle}:14"]
    assert not (tmp_path / "r").exists()
