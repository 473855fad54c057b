"""Fuzz of the sweep grammar (hypothesis): random corruptions of a valid sweep file are
either refused with an InputError whose every problem names the sweep file (or the base
scenario file), or accepted and expand to runs that are all valid, distinct scenarios.
Never another exception.

Run with ``-s`` to see how many examples each property ran and how they ended.
"""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.config.loader import scenario_from_dict
from twin.config.sweep_grammar import expand_sweep, scenario_key
from twin.errors import InputError

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "default.toml"

VALID = f"""\
base = "{DEFAULT.as_posix()}"
seeds = [1, 2]
max_runs = 40

[set]
"run.duration" = "1m"

[grid]
"serving.group_size" = [3, 5]
serving.collaboration = ["I", "II"]
"constellation.shells.0.planes" = [36, 72]

[zip.pso]
"isac.pso_particles" = [20, 30]
"isac.pso_iterations" = [10, 20]

[output]
dir = "out"
"""
LINES = VALID.splitlines(keepends=True)

#: Right-hand sides of the wrong (or odd) types a user might write.
ODD_VALUES = [
    "true",
    '"x"',
    "[]",
    "{}",
    "-1",
    "0",
    "1.5",
    '[1, "a"]',
    "nan",
    "inf",
    "-inf",
    "99999999999999999999",
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "[[1, 2], [3]]",
    "{count = 0}",
    "{count = 3, first = -1}",
    "{count = 2, first = 1, extra = 1}",
    '["I", "II", "I"]',
    "[3, 3]",
    "[3.0, 5]",
    '"../nowhere.toml"',
    '""',
    "[0]",
    "[1e400]",
    '["II"]',
    '[""]',
    "[-1, 2]",
]
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.0123456789", min_size=1, max_size=30)

#: outcome counts per property, printed at the end of the module (run pytest -s).
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def check(name: str, data: bytes) -> None:
    """The property: InputError naming the file(s), or a sweep of valid, distinct runs."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_bytes(data)
        try:
            sweep = expand_sweep(path)
        except InputError as exc:
            assert exc.problems, "InputError without problems"
            # the sweep file is named (problems of the base scenario follow, naming the base file)
            assert exc.problems[0].where.startswith(str(path)), str(exc)
            for problem in exc.problems:
                assert problem.where.strip() and problem.reason.strip(), str(problem)
            OUTCOMES[name]["refused"] += 1
            first = exc.problems[0].reason
            OUTCOMES[name + " reasons"][first.split(":")[0].split("(")[0][:50]] += 1
            return
        assert 1 <= len(sweep.runs) <= sweep.max_runs
        keys = set()
        for run in sweep.runs:
            rebuilt = scenario_from_dict(run.scenario, base_dir=Path(folder))
            assert rebuilt.run.seed == run.seed
            keys.add(scenario_key(run.scenario))
        assert len(keys) == len(sweep.runs), "two runs are the same scenario"
        assert len({run.rel_dir for run in sweep.runs}) == len(sweep.runs)
        OUTCOMES[name]["accepted"] += 1


def test_valid_file_is_accepted():
    check("valid", VALID.encode())
    assert OUTCOMES["valid"]["accepted"] == 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "duplicate", "swap"]),
            st.integers(0, len(LINES) - 1),
            st.integers(0, len(LINES) - 1),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_line_edits(edits):
    lines = list(LINES)
    for kind, i, j in edits:
        i, j = i % max(len(lines), 1), j % max(len(lines), 1)
        if not lines:
            break
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(j, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
    check("line edits", "".join(lines).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(VALID.encode())),
    st.one_of(st.binary(min_size=1, max_size=8), st.text(min_size=1, max_size=8).map(str.encode)),
    st.integers(0, 8),
)
def test_random_bytes(position, junk, cut):
    data = VALID.encode()
    check("random bytes", data[:position] + junk + data[position + cut :])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(LINES) - 1),
    st.one_of(
        st.sampled_from(ODD_VALUES), st.integers().map(str), st.floats(allow_nan=False).map(repr)
    ),
)
def test_wrong_values(index, value):
    lines = list(LINES)
    if "=" not in lines[index]:
        lines.insert(index, f"seeds = {value}\n")
    else:
        key = lines[index].split("=", 1)[0]
        lines[index] = f"{key}= {value}\n"
    check("wrong values", "".join(lines).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([i for i, line in enumerate(LINES) if "=" in line]), KEYS, st.booleans())
def test_bad_field_paths(index, key, quoted):
    lines = list(LINES)
    value = lines[index].split("=", 1)[1]
    lines[index] = (f'"{key}"' if quoted else key) + " =" + value
    check("bad paths", "".join(lines).encode())


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print("\nsweep grammar fuzz outcomes (examples per property):")
    for name, counts in OUTCOMES.items():
        top = dict(counts.most_common(8))
        more = f" + {len(counts) - 8} other kinds" if len(counts) > 8 else ""
        print(f"  {name}: {top}{more} (total {sum(counts.values())})")


VALUES = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(-5, 5), max_size=30),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_dir_names_round_trip_through_load_sweep(value):
    """Any swept value gives a safe directory name that load_sweep's hive dataset maps back to it."""
    import json

    import pandas as pd

    from twin.config.sweep_grammar import dir_segment, dir_text
    from twin.results import load_sweep
    from twin.rundir import write_json_atomic, write_parquet_atomic

    segment = dir_segment("serving.collaboration", value)
    name_bytes = len(segment.encode())
    assert "/" not in segment and "\0" not in segment and name_bytes <= 200, segment
    with tempfile.TemporaryDirectory() as folder:
        sweep_dir = Path(folder)
        rel = f"runs/{segment}/seed=3"
        write_json_atomic(
            sweep_dir / "sweep.json",
            {
                "parameters": ["serving.collaboration"],
                "dir_values": {"serving.collaboration": {dir_text(value): value}},
                "runs": [{"dir": rel, "params": {"serving.collaboration": value}, "seed": 3}],
            },
        )
        (sweep_dir / rel).mkdir(parents=True)
        write_json_atomic(sweep_dir / rel / "run.json", {"status": "complete", "tables": ["t"]})
        write_parquet_atomic(
            pd.DataFrame({"x": [1.5, 2.5]}),
            sweep_dir / rel / "tables" / "t" / "part-00000000.parquet",
        )
        frame = load_sweep(sweep_dir)["t"]
    expected = json.dumps(value) if isinstance(value, list) else value
    assert frame["serving.collaboration"].tolist() == [expected] * 2 and frame["seed"].tolist() == [
        3,
        3,
    ]
    assert frame["x"].tolist() == [1.5, 2.5]
    OUTCOMES["dir names"]["round trip"] += 1
