"""Reading a run directory back: load()."""

import pytest

from twin.results import load


def test_load_refuses_a_non_run_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        load(tmp_path)
