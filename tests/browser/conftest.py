"""Browser tests: Playwright drives Debian's Chromium against the live test server, with a
real Celery worker behind it.

CI installs Chromium (.ci/run, which exports CI=true). On a laptop without it the tests
skip and say how to get it; with CI=true a missing browser is a failure, never a skip.

Screenshots go to a temporary folder, removed at exit, so a test run leaves the work tree
as it was; ONEPING_SCREENSHOTS_DIR=docs/screenshots refreshes the README's.
"""

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ONEPING_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# Playwright's sync API keeps an event loop on the test thread; the ORM calls the tests
# make on that thread are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def browser_required() -> bool:
    """CI=true (or 1/yes/on): a missing browser fails the run instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def require_chromium(path: Path = CHROMIUM) -> None:
    if path.exists():
        return
    message = f"{path} not found: apt-get install chromium to run the browser tests"
    if browser_required():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server) -> Iterator:
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    # The dashboard must work within its own Content-Security-Policy.
    assert violations == [], violations


def log_in(page, email: str, password: str) -> None:
    """Sign in through the login page; the dashboard's navigation shows once it worked."""
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator(".mainnav")).to_be_visible()


_temporary_screenshots: list[Path] = []


def screenshots_dir() -> Path:
    """ONEPING_SCREENSHOTS_DIR when set, else one temporary folder for the run."""
    if os.environ.get("ONEPING_SCREENSHOTS_DIR"):
        return Path(os.environ["ONEPING_SCREENSHOTS_DIR"])
    if not _temporary_screenshots:
        folder = Path(tempfile.mkdtemp(prefix="oneping-screenshots-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _temporary_screenshots.append(folder)
    return _temporary_screenshots[0]


def screenshot(page, name: str) -> Path:
    folder = screenshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
