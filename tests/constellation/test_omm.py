"""OMM (JSON, CSV) read into the same Constellation as the TLE they were made from: the orbit
agrees within 1 mm at the same time since epoch, and within the epoch's microsecond rounding
at the same UTC time; bad records are refused with file:line like TLE records."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from data_files import starlink_snapshot_path
from sgp4.exporter import export_omm

from twin.constellation.omm import read_elements, read_omm
from twin.constellation.tle import read_tle
from twin.errors import InputError

N = 8


def _tle(tmp_path):
    lines = starlink_snapshot_path().read_text().splitlines()[: 3 * N]
    path = tmp_path / "few.tle"
    path.write_text("\n".join(lines) + "\n")
    return path, lines


def _omm_from_columns(name: str, l1: str, l2: str) -> dict:
    """OMM fields read off the TLE's fixed columns (independent of sgp4's exporter)."""
    year = 2000 + int(l1[18:20])
    # timedelta rounds to the nearest microsecond
    epoch = datetime(year, 1, 1) + timedelta(days=float(l1[20:32]) - 1)

    def assumed(text: str) -> float:  # " 12405-2" -> 0.12405e-2
        return float(f"{text[0]}0.{text[1:6]}e{text[6:8]}".replace(" ", ""))

    intl = l1[9:17].strip()
    return {
        "OBJECT_NAME": name,
        "OBJECT_ID": f"{2000 + int(intl[:2]) if int(intl[:2]) < 57 else 1900 + int(intl[:2])}-{intl[2:]}",
        "EPOCH": epoch.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "MEAN_MOTION": float(l2[52:63]),
        "ECCENTRICITY": float("0." + l2[26:33]),
        "INCLINATION": float(l2[8:16]),
        "RA_OF_ASC_NODE": float(l2[17:25]),
        "ARG_OF_PERICENTER": float(l2[34:42]),
        "MEAN_ANOMALY": float(l2[43:51]),
        "EPHEMERIS_TYPE": int(l1[62]),
        "CLASSIFICATION_TYPE": l1[7],
        "NORAD_CAT_ID": int(l1[2:7]),
        "ELEMENT_SET_NO": int(l1[64:68]),
        "REV_AT_EPOCH": int(l2[63:68]),
        "BSTAR": assumed(l1[53:61]),
        "MEAN_MOTION_DOT": float(l1[33:43]),
        "MEAN_MOTION_DDOT": assumed(l1[44:52]),
    }


def _write_csv(path, records: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)


@pytest.fixture
def files(tmp_path):
    tle, lines = _tle(tmp_path)
    c = read_tle(tle)
    by_columns = [_omm_from_columns(*lines[k : k + 3]) for k in range(0, 3 * N, 3)]
    as_json = tmp_path / "few.json"
    as_json.write_text(json.dumps(by_columns, indent=1))
    as_csv = tmp_path / "few.csv"
    _write_csv(as_csv, [export_omm(s, name) for s, name in zip(c.satrecs, c.names)])
    return c, as_json, as_csv


def test_omm_json_and_csv_give_the_tle_orbits(files):
    tle, as_json, as_csv = files
    for path in (as_json, as_csv):
        omm = read_elements(path)
        assert omm.names == tle.names and list(omm.norad) == list(tle.norad)
        for s_tle, s_omm in zip(tle.satrecs, omm.satrecs):
            d_epoch_s = (
                s_omm.jdsatepoch - s_tle.jdsatepoch + s_omm.jdsatepochF - s_tle.jdsatepochF
            ) * 86400
            assert abs(d_epoch_s) <= 1.5e-6  # EPOCH is written to the microsecond
            for minutes in (0.0, 90.0, 1440.0, 4320.0):
                _, r1, v1 = s_tle.sgp4_tsince(minutes)
                _, r2, _ = s_omm.sgp4_tsince(minutes)
                assert np.linalg.norm(np.subtract(r1, r2)) * 1e6 < 1.0  # km -> mm
                jd, fr = s_tle.jdsatepoch, s_tle.jdsatepochF + minutes / 1440
                _, r1, v1 = s_tle.sgp4(jd, fr)
                _, r2, _ = s_omm.sgp4(jd, fr)
                bound_mm = np.linalg.norm(v1) * 1e6 * abs(d_epoch_s) + 1.0
                assert np.linalg.norm(np.subtract(r1, r2)) * 1e6 <= bound_mm


def test_bad_omm_records_are_refused_with_file_and_line(files, tmp_path):
    _, as_json, as_csv = files
    records = json.loads(as_json.read_text())
    records[2]["INCLINATION"] = 190.0
    del records[4]["MEAN_MOTION"]
    records[6]["NORAD_CAT_ID"] = records[0]["NORAD_CAT_ID"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(records, indent=1))
    opening = [n + 1 for n, line in enumerate(bad.read_text().splitlines()) if line == " {"]
    with pytest.raises(InputError) as refused:
        read_omm(bad)
    got = [(p.where, p.reason.split(" ")[0]) for p in refused.value.problems]
    assert got == [
        (f"{bad}:{opening[2]}", "INCLINATION"),
        (f"{bad}:{opening[4]}", "missing"),
        (f"{bad}:{opening[6]}", "duplicate"),
    ]
    rows = list(csv.DictReader(open(as_csv)))
    rows[3]["ECCENTRICITY"] = "abc"
    bad_csv = tmp_path / "bad.csv"
    _write_csv(bad_csv, rows)
    with pytest.raises(InputError) as refused:
        read_elements(bad_csv)
    assert [p.where for p in refused.value.problems] == [f"{bad_csv}:5"]  # header is line 1
    assert "ECCENTRICITY = 'abc' is not a number" in refused.value.problems[0].reason
