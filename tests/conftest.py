"""Shared test helpers."""

import importlib.util
import logging
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


@pytest.fixture(scope="module")
def cluster():
    """A local dask cluster of 2 single-thread worker processes (one per test module), which
    tolerates the worker deaths the fault tests cause."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 5}):
        local = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    yield local
    local.close()
