"""Data files the tests share: the real Starlink snapshot, the repository's copy first."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_NAME = "starlink-2026-05-28.tle"


def starlink_snapshot_path() -> Path:
    """ephemeris/starlink-2026-05-28.tle, else ../shared/data/tle/'s copy; skips the test if
    neither exists (a checkout without the snapshot)."""
    for candidate in (
        ROOT / "ephemeris" / SNAPSHOT_NAME,
        ROOT / ".." / "shared" / "data" / "tle" / SNAPSHOT_NAME,
    ):
        if candidate.exists():
            return candidate
    pytest.skip(f"{SNAPSHOT_NAME} not found in ephemeris/ nor ../shared/data/tle/")
