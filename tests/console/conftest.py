"""One headless Chromium per test module; the saved screenshots listed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.console.browser import SAVED, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SAVED:
        terminalreporter.section("console screenshots")
        for path in SAVED:
            terminalreporter.write_line(str(path))
