"""Run directories: Recorder parts, checkpoints, dropping parts after a checkpoint."""

import pandas as pd

from twin.results import load
from twin.rundir import Recorder, drop_parts_from, read_checkpoint


def _rows(first, n):
    return [
        {
            "epoch": i,
            "time": pd.Timestamp("2026-05-28T12:00:00Z") + pd.Timedelta(seconds=10 * i),
            "x": i * 1.5,
        }
        for i in range(first, first + n)
    ]


def test_parts_and_checkpoint_then_load(tmp_path):
    recorder = Recorder(tmp_path, ("epochs",))
    recorder.add("epochs", _rows(0, 3))
    recorder.add("ignored", _rows(0, 3))
    recorder.flush(3, {"k": 1})
    recorder.add("epochs", _rows(3, 2))
    recorder.flush(5, {"k": 2})
    assert read_checkpoint(tmp_path) == {"next_epoch": 5, "state": {"k": 2}}
    tables = load(tmp_path)
    assert list(tables) == ["epochs"]
    frame = tables["epochs"]
    assert list(frame["epoch"]) == [0, 1, 2, 3, 4]
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"
    assert frame.resample("20s").size().sum() == 5


def test_drop_parts_after_checkpoint(tmp_path):
    recorder = Recorder(tmp_path, ("epochs",))
    recorder.add("epochs", _rows(0, 3))
    recorder.flush(3, {})
    recorder.add("epochs", _rows(3, 3))
    recorder.flush(6, {})
    (tmp_path / "tables" / "epochs" / ".part-00000006.parquet.tmp").write_bytes(b"partial")
    removed = drop_parts_from(tmp_path, 3)
    assert sorted(p.name for p in removed) == [
        ".part-00000006.parquet.tmp",
        "part-00000003.parquet",
    ]
    assert list(load(tmp_path)["epochs"]["epoch"]) == [0, 1, 2]
