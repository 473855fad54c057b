"""The README's two set-up commands are what CI runs."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_opens_with_exactly_two_setup_commands(readme_commands):
    commands = readme_commands
    assert len(commands) == 2, commands
    install_run, test = commands
    assert install_run.startswith("pip install") and "twin run" in install_run
    assert test.startswith("pip install") and "pytest" in test and '".[test]"' in test


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    # CI reads the command from the README (no copy to drift) and runs it as is.
    assert "python .ci/readme_commands.py test" in script
    assert 'bash -c "$test_command"' in script
