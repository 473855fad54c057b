"""TLE reading and refusals: every fault is reported as file:line with its reason."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from data_files import starlink_snapshot_path as snapshot_path

from twin.constellation.checks import check_at_times
from twin.constellation.orbits import propagate_itrs
from twin.constellation.tle import epoch_age_report, read_tle, stale, tle_checksum
from twin.errors import InputError


def real_records(n: int) -> list[tuple[str, str, str]]:
    """The first n (name, line1, line2) records of the real snapshot."""
    lines = snapshot_path().read_text().splitlines()[: 3 * n]
    return [(lines[i], lines[i + 1], lines[i + 2]) for i in range(0, 3 * n, 3)]


def fix(line: str) -> str:
    """Recompute column 69 so that only the intended fault remains."""
    return line[:68] + str(tle_checksum(line))


def write3(path: Path, records, newline="\n") -> Path:
    path.write_text(newline.join(x for rec in records for x in rec) + newline, newline="")
    return path


def refusal(path: Path):
    with pytest.raises(InputError) as info:
        read_tle(path)
    return info.value


# ------------------------------------------------------------------ good input


def test_checksum_matches_every_real_line():
    lines = [s for s in snapshot_path().read_text().splitlines() if s[:2] in ("1 ", "2 ")]
    assert len(lines) > 20000
    assert all(tle_checksum(s) == int(s[68]) for s in lines)
    # '-' counts 1, letters and '+' count 0, digits their value
    assert tle_checksum("1 -A+9" + " " * 62 + "0") == (1 + 1 + 9) % 10


def test_real_snapshot_reads_with_names_epochs_and_lines():
    c = read_tle(snapshot_path())
    assert len(c) == 10347 == len(c.satrecs) == c.norad.size == len(c.tle_lines)
    assert c.names[0] == "STARLINK-1008" and c.norad[0] == 44714 and c.tle_lines[0] == (2, 3)
    assert any(n.endswith(" [DTC]") for n in c.names)
    assert c.shell is None and c.plane is None and c.slot is None
    # 26148.30732936 = 2026-05-28 07:22:33.256704 UTC
    assert abs(c.epochs[0] - np.datetime64("2026-05-28T07:22:33.256704")) < np.timedelta64(2, "us")
    assert len(set(c.norad.tolist())) == len(c)


def test_two_line_crlf_and_blank_lines_read_like_three_line(tmp_path):
    recs = real_records(3)
    three = read_tle(write3(tmp_path / "a.tle", recs))
    two = tmp_path / "b.tle"
    two.write_bytes(("\r\n\r\n".join(f"{l1}\r\n{l2}" for _, l1, l2 in recs) + "\r\n\r\n").encode())
    c2 = read_tle(two)
    assert c2.names == [f"NORAD {n}" for n in three.norad]
    np.testing.assert_array_equal(c2.norad, three.norad)
    np.testing.assert_array_equal(c2.epochs, three.epochs)
    assert c2.tle_lines == [(1, 2), (4, 5), (7, 8)]
    blank = tmp_path / "c.tle"
    blank.write_bytes(
        ("\r\n\r\n" + "\r\n\r\n".join("\r\n".join(r) for r in recs) + "\r\n   \r\n").encode()
    )
    c3 = read_tle(blank)
    assert c3.names == three.names and c3.tle_lines[0] == (4, 5)


def test_max_satellites_keeps_first_records(tmp_path):
    path = write3(tmp_path / "a.tle", real_records(5))
    c = read_tle(path, max_satellites=2)
    assert len(c) == 2 and c.satrec_array.sgp4(
        np.array([c.satrecs[0].jdsatepoch]), np.array([0.0])
    )[0].shape == (2, 1)
    with pytest.raises(ValueError, match="max_satellites"):
        read_tle(path, max_satellites=0)


# ------------------------------------------------------------------ refusals, one per kind


def test_line_length_refused(tmp_path):
    recs = real_records(3)
    name, l1, l2 = recs[1]
    recs[1] = (name, l1[:40] + " " + l1[40:], l2)  # 70 characters
    err = refusal(write3(tmp_path / "len.tle", recs))
    assert [p.where for p in err.problems] == [f"{tmp_path / 'len.tle'}:5"]
    assert "70 characters long, expected 69" in str(err)


def test_wrong_line_number_prefix_refused(tmp_path):
    recs = real_records(2)
    name, l1, l2 = recs[0]
    recs[0] = (name, l1, fix("3" + l2[1:]))
    err = refusal(write3(tmp_path / "prefix.tle", recs))
    assert len(err.problems) == 1 and err.problems[0].where.endswith("prefix.tle:3")
    assert "must start with '2 '" in err.problems[0].reason


def test_checksum_refused(tmp_path):
    recs = real_records(2)
    name, l1, l2 = recs[1]
    bad = l2[:68] + str((int(l2[68]) + 3) % 10)
    recs[1] = (name, l1, bad)
    path = write3(tmp_path / "sum.tle", recs)
    err = refusal(path)
    assert len(err.problems) == 1 and err.problems[0].where == f"{path}:6"
    assert (
        err.problems[0].reason.startswith("checksum")
        and f"says {bad[68]}" in err.problems[0].reason
    )


def test_catalog_mismatch_refused(tmp_path):
    recs = real_records(2)
    name, l1, l2 = recs[0]
    recs[0] = (name, l1, fix(l2[:2] + "99999" + l2[7:]))
    path = write3(tmp_path / "cat.tle", recs)
    err = refusal(path)
    assert len(err.problems) == 1 and err.problems[0].where == f"{path}:2"
    assert (
        "catalog number mismatch" in err.problems[0].reason and "'99999'" in err.problems[0].reason
    )


def test_duplicate_catalog_number_names_both_lines(tmp_path):
    recs = real_records(3)
    recs.append(recs[0])
    path = write3(tmp_path / "dup.tle", recs)
    err = refusal(path)
    assert len(err.problems) == 1 and err.problems[0].where == f"{path}:11"
    assert f"duplicate catalog number 44714: lines {path}:2 and {path}:11" == err.problems[0].reason


def test_unparsable_field_refused(tmp_path):
    recs = real_records(2)
    name, l1, l2 = recs[1]
    assert l2[8:16] == "  53.1568"[1:]  # inclination field
    recs[1] = (name, l1, fix(l2[:9] + "5x" + l2[11:]))
    path = write3(tmp_path / "field.tle", recs)
    err = refusal(path)
    assert (
        len(err.problems) == 1 and err.problems[0].where == f"{path}:6"
    )  # the faulty line itself (line 2 of record 2)
    assert err.problems[0].reason.startswith("unparsable field") and "5x" in err.problems[0].reason


def test_sgp4_error_at_epoch_refused(tmp_path):
    recs = real_records(2)
    name, l1, l2 = recs[0]
    recs[0] = (name, l1, fix(l2[:26] + "9999999" + l2[33:]))  # eccentricity 0.9999999
    path = write3(tmp_path / "sgp4.tle", recs)
    err = refusal(path)
    assert len(err.problems) == 1 and err.problems[0].where == f"{path}:2"
    assert "sgp4 error 4 at the record's epoch" in err.problems[0].reason


def test_every_bad_record_is_listed_and_lenient_mode_drops_them(tmp_path):
    recs = real_records(4)
    recs[0] = (recs[0][0], recs[0][1][:68] + str((int(recs[0][1][68]) + 1) % 10), recs[0][2])
    recs[2] = (recs[2][0], recs[2][1] + "0", recs[2][2])
    path = write3(tmp_path / "many.tle", recs)
    err = refusal(path)
    assert [p.where for p in err.problems] == [f"{path}:2", f"{path}:8"]
    with pytest.warns(UserWarning, match="dropped 2 bad TLE record"):
        c = read_tle(path, strict=False)
    assert len(c) == 2 and c.tle_lines == [(5, 6), (11, 12)]


def test_incomplete_record_and_empty_file_refused(tmp_path):
    recs = real_records(2)
    path = tmp_path / "cut.tle"
    path.write_text("\n".join([*recs[0], recs[1][0], recs[1][1]]) + "\n")
    err = refusal(path)
    assert err.problems[0].where == f"{path}:4" and "incomplete record" in err.problems[0].reason
    empty = tmp_path / "empty.tle"
    empty.write_text("\n\n")
    assert "no TLE records" in str(refusal(empty))


# ------------------------------------------------------------------ run-time checks


def _draggy_record():
    """A real record given a high drag term and 16.2 rev/day: valid at epoch,
    below 150 km after ~0.6 day, sgp4 error 6 (decayed) from ~2 days."""
    name, l1, l2 = real_records(1)[0]
    l1, l2 = l1[:2] + "99991" + l1[7:], l2[:2] + "99991" + l2[7:]
    return ("DRAGGY", fix(l1[:53] + " 10000-1" + l1[61:]), fix(l2[:52] + "16.20000000" + l2[63:]))


def _plunging_record():
    """A real record given eccentricity 0.08: fine at its epoch, perigee
    ~124 km below the surface, so sgp4 error 6 (decayed) minutes later."""
    name, l1, l2 = real_records(1)[0]
    l1, l2 = l1[:2] + "99992" + l1[7:], l2[:2] + "99992" + l2[7:]
    return ("PLUNGE", fix(l1), fix(l2[:26] + "0800000" + l2[33:]))


def test_decayed_at_run_epochs_reported(tmp_path):
    recs = real_records(2) + [_draggy_record(), _plunging_record()]
    path = write3(tmp_path / "decay.tle", recs)
    c = read_tle(path)  # fine at its own epoch
    epoch = c.epochs[2]
    one_day = epoch + np.arange(0, 7200, 600).astype("timedelta64[s]") + np.timedelta64(1, "D")
    problems = check_at_times(c.subset([0, 1, 2]), one_day)
    assert len(problems) == 1 and problems[0].where == f"{path}:8"
    assert (
        "DRAGGY: decayed: altitude" in problems[0].reason and "below 150 km" in problems[0].reason
    )
    at_epoch = c.epochs[3] + np.arange(0, 7200, 60).astype("timedelta64[s]")
    problems = check_at_times(c, at_epoch)
    assert [p.where for p in problems] == [f"{path}:11"]
    assert (
        "PLUNGE: sgp4 error 6 at" in problems[0].reason
        and "decayed: mrt is less than 1.0" in problems[0].reason
    )
    pos, vel, err = propagate_itrs(c, at_epoch)  # states are blanked where sgp4 reports an error
    assert (err[:, 3] == 6).sum() > 10 and not err[:, :3].any()
    assert (
        np.isnan(pos[err != 0]).all()
        and np.isnan(vel[err != 0]).all()
        and np.isfinite(pos[err == 0]).all()
    )
    assert (
        check_at_times(c.subset([0, 1, 2]), epoch + np.arange(0, 600, 60).astype("timedelta64[s]"))
        == []
    )


def test_stale_epoch_warning_and_age_report(tmp_path):
    path = write3(tmp_path / "age.tle", real_records(3))
    c = read_tle(path)
    start = datetime(2026, 6, 4, tzinfo=UTC)
    report = epoch_age_report(c, start)
    assert list(report.columns) == ["name", "norad", "epoch", "age_days"]
    expected = (np.datetime64("2026-06-04T00:00") - c.epochs).astype("timedelta64[ns]").astype(
        float
    ) / 86400e9
    np.testing.assert_allclose(report["age_days"], expected)
    assert (report["age_days"] > 6).all()
    warns = stale(c, start, max_age_s=3 * 86400)
    assert len(warns) == 3 and warns[0].startswith(f"{path}:2: STARLINK-1008 (NORAD 44714)")
    assert "days before the start" in warns[0] and "stale beyond 3.00 days" in warns[0]
    assert stale(c, start, max_age_s=10 * 86400) == []
    # an epoch after the start is stale too, with a negative age
    early = datetime(2026, 5, 20, tzinfo=UTC)
    assert (epoch_age_report(c, early)["age_days"] < 0).all()
    assert "days after the start" in stale(c, early, 86400)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stale(c, start - timedelta(days=6), 7 * 86400) == []
