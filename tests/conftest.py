"""Shared test helpers."""

import importlib.util
import pathlib

import pytest
from threadpoolctl import threadpool_limits

# One BLAS thread, as the `twin` entry point does: the suite's matrices are
# small and multi-threaded OpenBLAS is far slower on a busy 2-core machine.
_BLAS_LIMIT = threadpool_limits(1, user_api="blas")

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def readme_commands() -> list[str]:
    """The README's two set-up commands, read by the same script CI uses."""
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / ".ci" / "readme_commands.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.setup_commands(ROOT / "README.md")
