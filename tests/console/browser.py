"""The console in a real browser: Selenium driving Debian's headless Chromium, and the
console served in-process on the test's own topics.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``make test-debs``) and
``selenium`` (the ``dev`` extra). Every page test saves a screenshot under
``build/screenshots/`` (``SCREENSHOTS``); the run's summary lists them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from pipelines.common.access import DASHBOARD_ACCESS
from pipelines.common.clients import create_registry_topics
from pipelines.common.http import serving
from pipelines.common.settings import StreamwiseSettings
from pipelines.console.server import make_app

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SAVED: list[Path] = []
"""Screenshots saved by this run, for the terminal summary (``conftest``)."""


def chromium() -> WebDriver:
    """Headless Chromium under Selenium, flags as ENVIRONMENT.md gives them for this sandbox."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-dev-shm-usage",
                 "--window-size=1280,1600"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@contextlib.contextmanager
def running_console(settings: StreamwiseSettings) -> Iterator[str]:
    """The console as ``serve`` runs it (topics created first, reader started), in-process;
    yields its base URL."""
    create_registry_topics(settings, DASHBOARD_ACCESS.topics)
    app, reader = make_app(settings)
    reader.start()
    try:
        with serving(app, "127.0.0.1", 0, what="the console") as port:
            yield f"http://127.0.0.1:{port}/"
    finally:
        reader.stop()
        reader.join(timeout=5)


def wait_until(
    driver: WebDriver, condition: Callable[[WebDriver], Any], timeout_s: float = 30
) -> Any:
    """``condition``'s first truthy answer, polled in the page (no sleeps)."""
    return WebDriverWait(driver, timeout_s, poll_frequency=0.2).until(condition)


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the whole page as ``build/screenshots/<name>.png`` and say where."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(int(height) + 160, 800))  # the whole page (plus the frame)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    SAVED.append(path)
    print(f"screenshot: {path}")
    return path
