"""The status page's JSON (`GET /status`, `GET /` asking for JSON), its files and its access
rules, and the login from the page; against the real server and the fake. The page itself is
driven by a browser in tests/browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from colalamo._cli.agents.server import probe
from colalamo._server.traffic import client_name
from colalamo.testing import FakeCopilot, running_server, wait_until

KEY = "clm-page-test-key"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_status_has_the_account_models_and_try_it(server: str) -> None:
    status = httpx.get(f"{server}/status").json()

    assert status["name"] == "colalamo"
    assert status["account"]["logged_in"] is True
    assert status["account"]["login"] == "octocat" and status["account"]["plan"]
    assert 0 < status["account"]["copilot_token_expires_in"] <= 1800
    assert status["account"]["quotas"]["premium_interactions"]["remaining"] is not None
    assert status["backoff"] == {"active": False, "retry_in": None}
    gpt = next(m for m in status["models"] if m["id"] == "gpt-4.1")
    assert gpt["vendor"] == "Azure OpenAI" and gpt["context"] == 128000 and gpt["vision"] and gpt["tools"]
    snippets = status["try_it"]["snippets"]
    assert set(snippets) == {"curl", "openai-python", "claude-code", "codex"}
    assert f"{server}/v1/chat/completions" in snippets["curl"] and "Authorization" not in snippets["curl"]
    assert f"ANTHROPIC_BASE_URL={server}" in snippets["claude-code"]
    assert status["recent"] == [] and status["usage"]["totals"]["requests"] == 0


def test_requests_show_in_recent_and_usage_without_content(server: str, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "secret words"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])

    status = httpx.get(f"{server}/status").json()

    ok, failed = status["recent"][1], status["recent"][0]  # newest first
    assert (ok["client"], ok["surface"], ok["model"], ok["status"]) == ("openai-python", "chat", "gpt-4.1", 200)
    assert ok["prompt_tokens"] > 0 and ok["completion_tokens"] > 0 and ok["latency_ms"] > 0
    assert failed["status"] == 400
    usage = status["usage"]
    assert usage["totals"]["requests"] == 2 and usage["totals"]["errors"] == 1
    assert usage["by_status"] == {"200": 1, "400": 1} and usage["by_client"] == {"openai-python": 2}
    assert sum(usage["requests"]) == 2 and len(usage["t"]) == 60
    assert "secret words" not in httpx.get(f"{server}/status").text
    day = httpx.get(f"{server}/status", params={"window": "30d"}).json()["usage"]
    assert len(day["t"]) == 30 and day["totals"]["requests"] == 2


def test_credits_per_model_are_charted(server: str, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "hello"}])

    usage = httpx.get(f"{server}/status").json()["usage"]

    assert usage["totals"]["credits"] > 0
    assert sum(usage["credits"]["gpt-5.4"]) == pytest.approx(usage["totals"]["credits"])


def test_a_bad_window_is_a_clear_400(server: str) -> None:
    answer = httpx.get(f"{server}/status", params={"window": "week"})

    assert answer.status_code == 400
    assert "window must be one of hour, day, 30d" in answer.json()["error"]["message"]


def test_root_answers_html_to_browsers_json_to_probes(server: str) -> None:
    page = httpx.get(server, headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in page.text  # scripts come from files only
    # nothing from another origin: every src= and href= is a path on colalamo
    assert "//" not in "".join(line for line in page.text.splitlines() if "src=" in line or "href=" in line)

    assert httpx.get(server).json()["name"] == "colalamo"  # no Accept: the probe answer
    assert httpx.head(server, headers=HTML).status_code == 200  # Claude Code's HEAD /
    assert httpx.head(server).status_code == 200
    assert probe(server) == "colalamo"
    as_json = httpx.get(server, headers={"Accept": "application/json"}).json()
    assert as_json["name"] == "colalamo" and "account" in as_json


def test_the_page_fits_its_weight_and_its_files_are_served(server: str) -> None:
    page = httpx.get(server, headers=HTML)
    files = ["/ui/app.js", "/ui/style.css", "/ui/uPlot.iife.min.js", "/ui/uPlot.min.css"]
    sizes = [len(page.content)]
    for path in files:
        answer = httpx.get(server + path)
        assert answer.status_code == 200, path
        assert path in page.text
        sizes.append(len(answer.content))
    assert sum(sizes) < 200_000
    assert httpx.get(server + "/ui/uPlot.LICENSE.txt").text.startswith("The MIT License")
    for bad in ("/ui/__init__.py", "/ui/..%2f__init__.py", "/ui/nothing.js"):
        assert httpx.get(server + bad).status_code == 404


def test_keys_guard_the_json_but_not_the_page_or_the_probe(start_server: Callable[..., str]) -> None:
    server = start_server(api_keys=(KEY,))

    assert httpx.get(server, headers=HTML).status_code == 200
    assert httpx.get(server + "/ui/app.js").status_code == 200
    assert httpx.get(server).json()["name"] == "colalamo"
    for path, headers in (("/status", {}), ("/", {"Accept": "application/json"})):
        refused = httpx.get(server + path, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "missing_api_key"
        wrong = httpx.get(server + path, headers={**headers, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        assert httpx.get(server + path, headers={**headers, "x-api-key": KEY}).status_code == 200
    assert httpx.post(server + "/status/login").status_code == 401
    status = httpx.get(server + "/status", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert status["try_it"]["key_required"] is True
    assert "$COLALAMO_API_KEY" in status["try_it"]["snippets"]["curl"]
    assert KEY not in httpx.get(server + "/status", headers={"Authorization": f"Bearer {KEY}"}).text


def test_ui_off_leaves_only_the_probe_answer(start_server: Callable[..., str]) -> None:
    server = start_server(ui=False)

    assert httpx.get(server, headers=HTML).json()["name"] == "colalamo"
    assert httpx.get(server + "/status").status_code == 404
    assert httpx.get(server + "/ui/app.js").status_code == 404


@pytest.fixture
def logged_out(fake: FakeCopilot, token_file: Path) -> Iterator[str]:
    with running_server(fake.settings(token_file=token_file, github_token=None), login_from_page=True) as url:
        yield url


def test_logged_out_server_serves_and_says_how_to_log_in(logged_out: str) -> None:
    status = httpx.get(f"{logged_out}/status").json()
    assert status["account"] == {"logged_in": False}
    assert status["login"]["state"] == "idle" and status["models"] == []

    refused = httpx.post(f"{logged_out}/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert refused.status_code == 401
    assert "not logged in to GitHub yet" in refused.json()["error"]["message"]
    probe = httpx.get(f"{logged_out}/ready")  # an orchestrator's probe: not ready, and why
    assert probe.status_code == 503 and "not logged in to GitHub yet" in probe.json()["reason"]
    assert httpx.get(f"{logged_out}/health").status_code == 200


def test_login_from_the_page(logged_out: str, fake: FakeCopilot, token_file: Path) -> None:
    # GitHub says "pending" until the test has seen the code (the fake polls every 50 ms: left
    # to itself, the flow could end between two looks)
    fake.device_script.extend(["authorization_pending", "slow_down", *["authorization_pending"] * 10_000])

    started = httpx.post(f"{logged_out}/status/login")
    assert started.status_code == 202

    def login() -> dict[str, object]:
        return httpx.get(f"{logged_out}/status").json()["login"]

    wait_until(lambda: login()["state"] in ("pending", "slow_down"))
    shown = login()
    assert shown["user_code"] == "FAKE-C0DE" and shown["verification_uri"] == f"{fake.url}/login/device"
    assert 0 < shown["expires_in"] <= 900
    fake.device_script.clear()  # the person approves: the next poll gets the token
    wait_until(lambda: login()["state"] == "logged_in")
    status = httpx.get(f"{logged_out}/status").json()
    assert status["account"]["logged_in"] and status["account"]["login"] == "octocat"
    assert token_file.read_text().strip() in fake.github_tokens
    answer = httpx.post(f"{logged_out}/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200
    assert httpx.post(f"{logged_out}/status/login").status_code == 409


@pytest.mark.parametrize(("answer", "message"), [("expired_token", "expired before it was entered"),
                                                 ("access_denied", "refused on GitHub")])
def test_page_login_failures_say_why_and_can_be_retried(logged_out: str, fake: FakeCopilot,
                                                         answer: str, message: str) -> None:
    fake.device_script.append(answer)
    httpx.post(f"{logged_out}/status/login")

    wait_until(lambda: httpx.get(f"{logged_out}/status").json()["login"]["state"] == "failed")
    assert message in httpx.get(f"{logged_out}/status").json()["login"]["message"]

    assert httpx.post(f"{logged_out}/status/login").status_code == 202  # the button again
    wait_until(lambda: httpx.get(f"{logged_out}/status").json()["account"]["logged_in"])


@pytest.mark.parametrize(("agent", "name"), [
    ("claude-cli/2.1.3 (external, cli)", "claude-code"),
    ("codex_exec/0.77.0 (Debian 12; x86_64)", "codex"),
    ("opencode/1.0.0 ai-sdk/provider-utils/3", "opencode"),
    ("OpenAI/Python 1.99.0", "openai-python"),
    ("Anthropic/Python 0.70.0", "anthropic-python"),
    ("curl/8.5.0", "curl"),
    ("", "unknown"),
    ("Weird Client/1", "weird"),
])
def test_client_names_from_user_agents(agent: str, name: str) -> None:
    assert client_name(agent) == name
