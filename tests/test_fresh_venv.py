"""The README's first command works on a fresh venv and a clean copy of the repository."""

import os
import pathlib
import shutil
import subprocess
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_readme_install_and_run_in_a_fresh_venv(tmp_path, readme_commands):
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the repository's files")
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    checkout = tmp_path / "leo-twin"
    for name in files:
        source = ROOT / name
        if source.is_symlink():  # twin/scenarios, twin/ephemeris: the packaged data
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(source), checkout / name)
        elif source.is_file():
            target = checkout / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(env_dir)
    install_and_run = readme_commands[0]
    result = subprocess.run(
        ["bash", "-c", install_and_run],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "handovers" in result.stderr and "wall time" in result.stderr  # the summary
    assert result.stdout.strip().splitlines()[-1].endswith("runs/default")  # the run directory
    runs = list((checkout / "runs").iterdir())
    assert runs and (runs[0] / "tables" / "epochs").is_dir()
