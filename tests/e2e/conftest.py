"""Browser tests: Debian's headless Chromium driving Django's live server.

Chromium must be installed (`make browser`); a missing browser fails the run
loudly instead of skipping it, so CI can never pass without these tests.
"""

import os
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

# live_server + sync Playwright run Django ORM calls from the event loop thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
# Generous: a loaded CI machine can take seconds to serve a page or settle a POST.
TIMEOUT_MS = 20_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


def _csp_refusal(message, errors: list[str]) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        errors.append(message.text)


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """Uncaught JavaScript errors and CSP refusals on the page; tests assert it stays empty."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Something the Content-Security-Policy refused (common/web/csp.py) is a broken page too.
    page.on("console", lambda message: _csp_refusal(message, errors))
    page.set_default_timeout(TIMEOUT_MS)
    return errors


@pytest.fixture
def log_in(page: Page, live_server) -> Callable[[str], None]:
    """Log in through the real login form; returns once the home page has loaded."""

    def _log_in(username: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{live_server.url}/")
        expect(page.locator(".usernav")).to_contain_text(username)

    return _log_in
