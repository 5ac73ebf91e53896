"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CLM_CHROMIUM", "/usr/bin/chromium")
# CLM_SCREENSHOTS: another folder (CI runs the suite on two databases at once).
SCREENSHOTS = Path(
    os.environ.get("CLM_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
# Playwright's sync API runs an event loop in this thread; Django's ORM is still used
# synchronously by the test and the live server, which is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _seeded(seeded_rows: Any) -> None:
    """Every browser test starts with the rows migrations seed."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"CI needs chromium at {CHROMIUM} for the browser tests")
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Any) -> Callable[[str], Path]:
    """Save a full-page screenshot under var/screenshots/NAME.png and return its path."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page: Any) -> Callable[[str, str], None]:
    """Log in through the real login form."""

    def do(username: str, password: str = "pw-for-tests-123") -> None:
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("main button[type=submit]")
        page.wait_for_load_state("networkidle")

    return do


ALL_DRAWN = """() => [...document.querySelectorAll('[data-figure]')]
  .filter(e => e.offsetParent !== null).every(e => e.querySelector('.main-svg'))"""


def draw_all(page: Any, timeout: int = 20000) -> None:
    """Scroll every chart into view (dashboard.js draws a chart when it is seen), wait until
    all are drawn, then go back to the top."""
    figures = page.locator("[data-figure]")
    for i in range(figures.count()):
        if figures.nth(i).is_visible():
            figures.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(ALL_DRAWN, timeout=timeout)
    page.evaluate("window.scrollTo(0, 0)")
