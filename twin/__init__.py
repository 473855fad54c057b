"""leo-twin: a digital twin of LEO constellations for ISAC and LEO-PNT.

``twin.run(scenario)`` and ``twin.Run(run_dir)`` are the notebook API (:mod:`twin.api`); they are
imported on first use (PEP 562 ``__getattr__``), so ``import twin`` loads neither the run
machinery nor cvxpy.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leo-twin")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0.1.0"

#: Names of the notebook API, resolved lazily from twin.api.
LAZY = ("run", "Run")


def __getattr__(name: str):
    if name in LAZY:
        from twin import (
            api,  # deferred: the façade's only upward import (tests/test_architecture.py)
        )

        return getattr(api, name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *LAZY])
