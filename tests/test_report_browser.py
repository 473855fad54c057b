"""The report's interactive map in a real browser: Debian's headless Chromium driven by
selenium (no browser download; ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` from the
``chromium`` and ``chromium-driver`` packages, which ``.ci/run`` installs when missing).

A small real run (Walker shell, a moving ISAC target and a terminal, 5 min at 30 s) is
reported with ``write_report``; the test opens ``index.html``, finds the embedded map, opens
``map.html`` itself (a frame's elements cannot always be hovered), checks
the map, its time slider and the drawn features, drags the slider and checks that the time
shown and the drawn features change, and that the console has no error (the only ones allowed
are the OpenStreetMap tiles failing to load: CI and this machine have no network) and that the
page loaded nothing but those tiles. A screenshot goes to ``$TWIN_ARTIFACTS`` (``.ci/run``
sets it) or else into the run's report folder.

Skipped when Chromium or ChromeDriver is missing, except when ``CI`` is set (``.ci/run``
sets ``CI=1``): there a missing browser is a failure.
"""

import os
import shutil
import time
from pathlib import Path

import pytest
from scenario_text import scenario_toml

from twin.report import write_report
from twin.runner import run_scenario

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
TILES = "https://tile.openstreetmap.org/"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
except ImportError:  # the test extras bring it; skipped (or failed in CI) without
    webdriver = None

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def driver():
    """Headless Chromium (checked before the run is made, so a skip costs nothing)."""
    missing = [
        name
        for name, found in (
            ("chromium", CHROMIUM),
            ("chromium-driver", CHROMEDRIVER),
            ("selenium", webdriver),
        )
        if not found
    ]
    if missing:
        message = f"not installed: {', '.join(missing)} (apt-get install chromium chromium-driver; pip install selenium)"
        if IN_CI:
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield browser
    browser.quit()


def _drawn(driver) -> list[str]:
    """The SVG paths Leaflet has drawn in the overlay pane (markers, links, tracks)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))"
        ".map(p => p.getAttribute('d'));"
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    base = Path(os.environ.get("TWIN_ARTIFACTS") or tmp_path_factory.mktemp("browser"))
    base.mkdir(parents=True, exist_ok=True)
    scenario = base / "browser.toml"
    scenario.write_text(
        scenario_toml(
            run={"name": "browser", "duration": "5m"},
            targets=[
                {
                    "name": "t1",
                    "lat_deg": 40.0,
                    "lon_deg": 116.0,
                    "velocity_enu_mps": [15.0, 0.0, 0.0],
                }
            ],
            terminals=[{"name": "north", "lat_deg": 65.0, "lon_deg": 10.0}],
            isac={"enabled": True, "design": "stand_in"},
            pnt={"enabled": False},
        )
    )
    shutil.rmtree(base / "browser-run", ignore_errors=True)
    run = run_scenario(scenario, out=base / "browser-run", quiet=True)
    return write_report(run)


def test_map_in_chromium(driver, report):
    driver.get(report.as_uri())  # the report embeds the map
    driver.find_element(By.CSS_SELECTOR, "iframe[src='map.html']")
    started = time.perf_counter()
    driver.get((report.parent / "map.html").as_uri())
    driver.find_element(By.CSS_SELECTOR, ".leaflet-container")
    load_s = time.perf_counter() - started
    time.sleep(0.5)  # the time layer draws its first frame after the page's load event
    slider = driver.find_element(By.CSS_SELECTOR, ".timecontrol-dateslider .slider")
    knob = driver.find_element(By.CSS_SELECTOR, ".timecontrol-dateslider .knob")
    date = driver.find_element(By.CSS_SELECTOR, ".timecontrol-date")
    assert date.text.startswith("2026-05-28 12:00:00"), date.text
    before = _drawn(driver)
    # first frame: 2 entity markers, 1 estimate, group links, satellites, the two tracks
    assert len(before) >= 8, before
    # hovering a drawn feature shows its tooltip
    marker = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-overlay-pane path')).find(p => {"
        " const r = p.getBoundingClientRect(); return r.width > 4 && r.width < 30 &&"
        " document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p; });"
    )
    assert marker is not None, "no marker inside the view"
    ActionChains(driver).move_to_element(marker).perform()
    time.sleep(0.3)
    tips = driver.find_elements(By.CSS_SELECTOR, ".leaflet-tooltip")
    assert tips and tips[0].get_attribute("textContent").strip(), "no tooltip on hover"
    ActionChains(driver).drag_and_drop_by_offset(knob, int(slider.size["width"] * 0.6), 0).perform()
    time.sleep(0.5)
    assert date.text != "2026-05-28 12:00:00 UTC" and date.text.startswith("2026-05-28 12:0")
    after = _drawn(driver)
    assert len(after) >= 8
    assert set(after) != set(before)  # the satellites and links moved
    driver.save_screenshot(str(report.parent / "map-screenshot.png"))
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert all(r.startswith((TILES, "data:")) for r in resources), resources
    logs = driver.get_log("browser")
    errors = [
        entry
        for entry in logs
        if entry["level"] == "SEVERE" and not entry["message"].startswith(TILES)
    ]
    assert not errors, errors
    shot = report.parent / "map-screenshot.png"
    assert shot.stat().st_size > 10_000
    print(f"\nmap loaded in {load_s:.2f} s; screenshot {shot}")
