"""The scenarios shipped in the package: found through importlib.resources from any folder,
with the files they read, listed and copied by `twin scenarios`."""

import fnmatch
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from twin.cli import app
from twin.config import load_scenario, packaged
from twin.runner import default_scenario_path, output_dir

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_every_repository_scenario_is_packaged_with_the_files_it_reads(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no scenarios/ here: the package's are used
    assert packaged.scenario_names() == sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    assert default_scenario_path() == packaged.packaged_dir() / "default.toml"
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    for name in packaged.scenario_names():
        path = packaged.find_scenario(name)
        assert packaged.is_packaged(path)
        if name.startswith("sweep-"):  # a sweep file: its base is a scenario of this folder
            continue
        scenario = load_scenario(path)
        needed = (
            [path]
            + [p for p in (scenario.constellation.tle_file,) if p is not None]
            + [e.track_csv for e in scenario.ground_entities() if e.track_csv is not None]
        )
        for file in needed:
            assert file.exists(), file
            folder = Path(file).resolve().parent.name  # scenarios or ephemeris
            globs = package_data[f"twin.{folder}"]
            assert any(fnmatch.fnmatch(Path(file).name, g) for g in globs), (file, globs)
        # a packaged scenario's output.dir points into the package: runs go to ./runs/<name>
        assert output_dir(scenario, None) == Path("runs") / Path(scenario.output.dir).name


def test_a_local_file_wins_over_the_packaged_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default").write_text("")
    assert packaged.find_scenario("default") == Path("default")
    assert packaged.find_scenario("default.toml") == packaged.packaged_dir() / "default.toml"


def test_scenarios_list_and_copy(tmp_path):
    listed = runner.invoke(app, ["scenarios", "list"])
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == packaged.scenario_names()
    dest = tmp_path / "mine"
    copied = runner.invoke(app, ["scenarios", "copy", "starlink-replay", str(dest)])
    assert copied.exit_code == 0, copied.output
    assert sorted(p.name for p in dest.iterdir()) == [
        "munich-ring.csv",
        "starlink-2026-05-28.tle",
        "starlink-replay.toml",
    ]
    scenario = load_scenario(dest / "starlink-replay.toml")  # paths rewritten to the copies
    assert scenario.constellation.tle_file == dest / "starlink-2026-05-28.tle"
    (dest / "munich-ring.csv").write_text("edited")
    again = runner.invoke(app, ["scenarios", "copy", "starlink-replay", str(dest)])
    assert again.exit_code == 2 and "--force" in again.output
    assert (dest / "munich-ring.csv").read_text() == "edited"
    forced = runner.invoke(app, ["scenarios", "copy", "starlink-replay", str(dest), "--force"])
    assert forced.exit_code == 0 and (dest / "munich-ring.csv").read_text() != "edited"
    unknown = runner.invoke(app, ["scenarios", "copy", "no-such", str(dest)])
    assert unknown.exit_code == 2 and "packaged: default" in unknown.output
