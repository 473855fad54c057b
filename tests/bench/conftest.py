"""Everything under tests/bench/ is a benchmark: marked `bench`, left out of the
README's test command and run in CI's second step (`pytest -m "slow or bench"`).
Benchmarks print their ratios (run with `-s` to see them) and assert no wall-clock figure."""

import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in pathlib.Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.bench)
