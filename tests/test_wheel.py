"""A non-editable install finds its scenarios and the element sets they read: the wheel built
from this tree, installed (without dependencies) into a folder of its own, used from a folder
outside the repository."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # builds a wheel (pip, build isolation): 10-80 s on the shared machine
def test_wheel_carries_the_scenarios_and_runs_them_outside_the_repository(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the repository's files")
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    source = tmp_path / "leo-twin"  # a copy: the build leaves build/ and *.egg-info behind
    for name in files:
        origin, target = ROOT / name, source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():  # twin/scenarios, twin/ephemeris
            os.symlink(os.readlink(origin), target)
        elif origin.is_file():
            shutil.copy2(origin, target)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("leo_twin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"twin/scenarios/{p.name}" for p in (ROOT / "scenarios").iterdir()}
    shipped |= {f"twin/ephemeris/{p.name}" for p in (ROOT / "ephemeris").iterdir()}
    assert shipped <= names, sorted(shipped - names)
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = (
        "import twin\n"
        "from twin.config import load_scenario, packaged\n"
        "from twin.runner import output_dir, prepare\n"
        "scenario, constellation = prepare()\n"  # the default, with every pre-run check
        "replay = load_scenario(packaged.find_scenario('starlink-replay'))\n"
        "print(twin.__file__, scenario.source_path, len(constellation),"
        " output_dir(scenario, None), replay.constellation.tle_file.resolve())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    module, source, n_sats, out, tle = result.stdout.split()
    assert Path(module).is_relative_to(site) and Path(source).is_relative_to(site)
    assert int(n_sats) == 792 and out == "runs/default"
    assert Path(tle).is_relative_to(site.resolve()) and Path(tle).stat().st_size > 1_000_000
