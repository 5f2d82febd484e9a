"""A real headless browser for the tests of pages: the system's chromium (installed from the distribution's packages
when missing, as the cluster tests install nginx) driven by Playwright, whose own browser download is never used."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.cluster.nginx import installed

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless chromium (a Playwright `Browser`)."""
    from playwright.sync_api import sync_playwright

    executable = installed("chromium", ("chromium",))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
