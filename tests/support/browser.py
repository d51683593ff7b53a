"""A headless Chromium for the page tests: Debian's /usr/bin/chromium, driven by Playwright.

Playwright's own browser download fails offline, so the tests point it at the system
browser (`LOA_TEST_CHROMIUM` overrides the path; `make test` installs it with apt-get when
missing). Without a browser the page tests are skipped, or fail when
`LOA_REQUIRE_SERVICES=1` (as in CI).

Use it as an async context manager in a test::

    async with phone_page() as page:
        await page.goto(url)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

CHROMIUM = os.environ.get("LOA_TEST_CHROMIUM", "/usr/bin/chromium")
# A mid-range Android phone (CSS pixels) and an office desktop.
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium is not installed at {CHROMIUM} (`make test` installs it)"
    if os.environ.get("LOA_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@asynccontextmanager
async def browser_page(
    viewport: dict[str, int] | None = None, *, mobile: bool = True, https: bool = False
) -> AsyncIterator[Page]:
    """A fresh browser context (its own cookies) with one page, closed afterwards."""
    _require_browser()
    viewport = viewport or PHONE
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = await browser.new_context(
                viewport=viewport,  # type: ignore[arg-type]
                is_mobile=mobile and viewport["width"] < 600,
                has_touch=mobile and viewport["width"] < 600,
                locale="vi-VN",
                ignore_https_errors=https,
            )
            page = await context.new_page()
            page.set_default_timeout(15_000)
            yield page
            await context.close()
        finally:
            await browser.close()


def phone_page() -> AbstractAsyncContextManager[Page]:
    return browser_page(PHONE)


def desktop_page() -> AbstractAsyncContextManager[Page]:
    return browser_page(DESKTOP, mobile=False)
