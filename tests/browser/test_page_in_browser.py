"""The status page in a real browser: it loads clean, logs in against the fake, draws its
charts from real requests, and asks for a key when keys are set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from colalamo.testing import FakeCopilot, running_server

pytestmark = pytest.mark.browser

KEY = "clm-browser-test-key"
#: Counts a chart's pixels in its first series' colour (the page's #2563eb): what uPlot
#: drew, not what the JSON said. Axes and grid are grey, so they do not count.
PAINTED = """(id) => {
  const canvas = document.querySelector('#' + id + ' canvas');
  if (!canvas) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const near = (value, wanted) => Math.abs(value - wanted) < 12;
  let painted = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 200 && near(data[i], 37) && near(data[i + 1], 99) && near(data[i + 2], 235)) painted++;
  }
  return painted;
}"""


class Page:
    """A browser tab on the page, failing the test on any console error or page error."""

    def __init__(self, browser: Any, url: str, screenshots: Path, *, color_scheme: str = "light") -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 900}, color_scheme=color_scheme)
        self.tab = self.context.new_page()
        self.errors: list[str] = []
        self.tab.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))
        self.screenshots = screenshots
        self.tab.goto(url)

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.tab.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors


@pytest.fixture
def open_page(browser: Any, screenshots: Path) -> Iterator[Any]:
    pages: list[Page] = []

    def open_(url: str, **options: Any) -> Page:
        pages.append(Page(browser, url, screenshots, **options))
        return pages[-1]

    yield open_
    for page in pages:
        page.close()


def test_page_loads_clean_and_shows_the_account_and_models(server: str, open_page: Any) -> None:
    page = open_page(server)
    tab = page.tab

    tab.wait_for_selector("#account:not([hidden])")
    assert "octocat" in tab.inner_text("#account")
    assert tab.inner_text("#health") == "logged in"
    tab.wait_for_selector("#models-table tbody tr")
    assert tab.locator("#models-table tbody tr").count() == 7
    tab.fill("#model-filter", "claude")
    assert tab.locator("#models-table tbody tr").count() == 1
    assert f"{server}/v1/chat/completions" in tab.inner_text("#snippets")
    page.shot("logged-in")


def test_charts_draw_the_requests_made(server: str, client: openai.OpenAI, open_page: Any, screenshots: Path) -> None:
    page = open_page(server)
    tab = page.tab
    tab.wait_for_selector("#chart-requests canvas")
    empty = tab.evaluate(PAINTED, "chart-requests")

    for _ in range(3):
        client.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "hello"}])
    tab.reload()
    tab.wait_for_function("document.querySelectorAll('#recent-table tbody tr').length === 3")

    assert empty == 0
    assert tab.evaluate(PAINTED, "chart-requests") > 0  # the bars are drawn
    assert tab.evaluate(PAINTED, "chart-credits") > 0
    assert tab.evaluate(PAINTED, "chart-latency") > 0
    assert "gpt-5.4" in tab.inner_text("#chart-credits")  # the legend names the model
    assert "openai-python" in tab.inner_text("#by-client")
    rows = tab.inner_text("#recent-table tbody")
    assert rows.count("gpt-5.4") == 3 and "hello" not in rows
    page.shot("usage")
    tab.emulate_media(color_scheme="dark")
    tab.set_viewport_size({"width": 1100, "height": 900})
    tab.reload()
    tab.wait_for_function("document.querySelectorAll('#recent-table tbody tr').length === 3")
    page.shot("readme-dark")
    tab.set_viewport_size({"width": 390, "height": 844})  # a phone
    tab.reload()
    tab.wait_for_selector("#recent-table tbody tr")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing spills sideways
    page.shot("phone")


def test_login_from_the_page(fake: FakeCopilot, token_file: Path, open_page: Any) -> None:
    # GitHub answers "pending" until the code has been seen on the page (the fake polls every
    # 50 ms: a flow that ran its course on its own would end before the page's next poll)
    fake.device_script.extend(["authorization_pending", "slow_down", *["authorization_pending"] * 10_000])
    settings = fake.settings(token_file=token_file, github_token=None)
    with running_server(settings, login_from_page=True) as url:
        page = open_page(url)
        tab = page.tab
        tab.wait_for_selector("#login-button:not([hidden])")
        assert tab.inner_text("#health") == "not logged in"
        page.shot("logged-out")

        tab.click("#login-button")
        tab.wait_for_selector("#login-code:has-text('FAKE-C0DE')")
        assert tab.get_attribute("#login-link", "href") == f"{fake.url}/login/device"
        assert "s" in tab.inner_text("#login-countdown")
        page.shot("login-code")
        fake.device_script.clear()  # the person approves: the next poll gets the token

        tab.wait_for_selector("#account:not([hidden])", timeout=20_000)
        assert tab.inner_text("#health") == "logged in" and "octocat" in tab.inner_text("#account")
        assert tab.is_hidden("#login")
        page.shot("login-done")
        page.close()
    assert token_file.read_text().strip() in fake.github_tokens


@pytest.mark.parametrize(("answer", "message"), [("expired_token", "expired before it was entered"),
                                                 ("access_denied", "refused on GitHub")])
def test_login_failures_show_their_message(fake: FakeCopilot, token_file: Path, open_page: Any,
                                           answer: str, message: str) -> None:
    fake.device_script.append(answer)
    with running_server(fake.settings(token_file=token_file, github_token=None), login_from_page=True) as url:
        page = open_page(url)
        page.tab.click("#login-button")
        page.tab.wait_for_selector(f"#login-message:has-text('{message}')")
        assert page.tab.inner_text("#login-button") == "Try again"
        page.shot(f"login-{answer}")
        page.close()


def test_keys_are_asked_for_and_kept_for_the_tab(start_server: Any, open_page: Any) -> None:
    url = start_server(api_keys=(KEY,))
    page = open_page(url)
    tab = page.tab

    tab.wait_for_selector("#key-form:not([hidden])")
    assert tab.is_hidden("#account")
    page.shot("key-needed")
    tab.fill("#key-input", "wrong")
    tab.click("#key-entry button")
    tab.wait_for_selector("#key-error:has-text('not valid')")
    tab.fill("#key-input", KEY)
    tab.click("#key-entry button")
    tab.wait_for_selector("#account:not([hidden])")
    assert KEY not in tab.url
    assert "$COLALAMO_API_KEY" in tab.inner_text("#snippets")
    tab.reload()  # the tab's session keeps the key
    tab.wait_for_selector("#account:not([hidden])")
    page.errors = [e for e in page.errors if "401" not in e]  # the refused key's answer, logged by Chromium
    page.shot("key-accepted")


def test_the_pause_after_a_429_is_shown_while_it_lasts(fake: FakeCopilot, server: str, client: openai.OpenAI,
                                                      open_page: Any) -> None:
    fake.fail_next("chat", status=429, body='{"error": {"message": "rate limited"}}', headers={"Retry-After": "6"})
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "hello"}])
    page = open_page(server)
    tab = page.tab
    tab.wait_for_selector("#backoff:not([hidden])")
    shown = tab.inner_text("#backoff")
    assert "rate-limited this account" in shown
    seconds = int(re.search(r"(\d+) s", shown).group(1))  # type: ignore[union-attr]
    assert 0 < seconds <= 6
    page.shot("backoff")
    tab.wait_for_selector("#backoff", state="hidden", timeout=20_000)  # the pause ended: so does the notice
    page.close()
