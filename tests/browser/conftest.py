"""The browser tier: Playwright drives Debian's Chromium (`apt-get install chromium`) against
the real colalamo server and the fake, on loopback only. Screenshots of each state go to
$COLALAMO_SCREENSHOTS (default: a temporary directory), as test artifacts."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("COLALAMO_CHROMIUM", "/usr/bin/chromium")
# a closed network: nothing may reach beyond loopback, and nothing needs to
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def screenshots() -> Path:
    where = Path(os.environ.get("COLALAMO_SCREENSHOTS") or tempfile.mkdtemp(prefix="colalamo-screenshots-"))
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[browser]'")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
