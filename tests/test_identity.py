"""The client colalamo presents itself as: the header set on each call, the kept device id, the
VS Code session id, the version settings, Copilot's 466 for outdated clients, and GHE.com."""

from __future__ import annotations

import json
import logging
import re
import shutil
import stat
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import anthropic
import openai
import pytest
from helpers import USER_HELLO, call

from colalamo import ConfigError
from colalamo._auth import device_id
from colalamo._auth.device_id import load_device_id
from colalamo._upstream import errors
from colalamo._upstream.headers import SessionId
from colalamo.config import Settings, load_settings
from colalamo.testing import GITHUB_TOKEN, FakeCopilot, running_server

COLALAMO = shutil.which("colalamo") or "colalamo"
SESSION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\d{13}")
OUTDATED = (
    "bad request: the specified API version is no longer supported. "
    "You may need to update your client to a newer version."
)
IDENTITY = {
    "Copilot-Integration-Id": "vscode-chat",
    "Editor-Version": "vscode/1.118.0",
    "Editor-Plugin-Version": "copilot-chat/0.50.1",
    "User-Agent": "GitHubCopilotChat/0.50.1",
}


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


# the header set, per endpoint -------------------------------------------------------------------


def test_chat_carries_the_current_editor_identity(client: openai.OpenAI, fake: FakeCopilot) -> None:
    client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    sent = fake.recorded("chat")[-1].headers
    for name, value in IDENTITY.items():
        assert sent[name] == value, name
    assert sent["X-GitHub-Api-Version"] == "2026-06-01"
    assert sent["Content-Type"] == "application/json"
    assert sent["Authorization"].startswith("Bearer tid=")
    assert sent["Openai-Intent"] == sent["X-Interaction-Type"] == "conversation-agent"
    assert _is_uuid(sent["X-Request-Id"]) and sent["X-Agent-Task-Id"] == sent["X-Request-Id"]
    assert _is_uuid(sent["Editor-Device-Id"])
    assert SESSION_ID.fullmatch(sent["VScode-SessionId"])
    assert sent["X-Initiator"] == "user"
    assert "Copilot-Vision-Request" not in sent and "X-Interaction-Id" not in sent


def test_request_ids_are_fresh_and_the_device_and_session_ids_stay(client: openai.OpenAI, fake: FakeCopilot) -> None:
    for _ in range(3):
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    sent = [r.headers for r in fake.recorded("chat")]
    assert len({h["X-Request-Id"] for h in sent}) == 3
    assert all(h["X-Agent-Task-Id"] == h["X-Request-Id"] for h in sent)
    assert len({h["Editor-Device-Id"] for h in sent}) == 1
    assert len({h["VScode-SessionId"] for h in sent}) == 1


def test_agent_turns_and_images_are_marked(client: openai.OpenAI, fake: FakeCopilot) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    client.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": [{"type": "text", "text": "what is it?"}, image]}]
    )
    client.chat.completions.create(
        model="gpt-4.1",
        messages=[
            *USER_HELLO,
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        ],
    )

    with_image, agent_turn = (r.headers for r in fake.recorded("chat")[-2:])
    assert with_image["Copilot-Vision-Request"] == "true" and with_image["X-Initiator"] == "user"
    assert agent_turn["X-Initiator"] == "agent" and "Copilot-Vision-Request" not in agent_turn


def test_models_call_asks_for_model_access(client: openai.OpenAI, fake: FakeCopilot) -> None:
    client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    client.models.list()

    models = fake.recorded("models")[-1].headers
    chat = fake.recorded("chat")[-1].headers
    for name, value in IDENTITY.items():
        assert models[name] == value, name
    assert models["X-GitHub-Api-Version"] == "2026-06-01"
    assert models["Authorization"] == chat["Authorization"]
    assert models["Openai-Intent"] == models["X-Interaction-Type"] == "model-access"
    assert models["Editor-Device-Id"] == chat["Editor-Device-Id"]
    assert models["VScode-SessionId"] == chat["VScode-SessionId"]
    assert _is_uuid(models["X-Request-Id"]) and models["X-Agent-Task-Id"] == models["X-Request-Id"]
    assert "X-Initiator" not in models


def test_github_calls_use_the_github_api_version(start_server: Callable[..., str], fake: FakeCopilot) -> None:
    # COLALAMO_API_VERSION is Copilot's: the GitHub API keeps its own version.
    server = start_server(api_version="2026-09-01")
    assert call("GET", f"{server}/usage")[0] == 200

    for route in ("token", "user"):
        sent = fake.recorded(route)[-1].headers
        for name, value in IDENTITY.items():
            assert sent[name] == value, (route, name)
        assert sent["Authorization"] == f"token {GITHUB_TOKEN}", route
        assert sent["X-GitHub-Api-Version"] == "2025-04-01", route


# the device id ----------------------------------------------------------------------------------


def test_device_id_is_kept_beside_the_token_across_restarts(
    start_server: Callable[..., str], fake: FakeCopilot, token_file: Path
) -> None:
    for _ in range(2):
        with openai.OpenAI(base_url=f"{start_server()}/v1", api_key="unused", max_retries=0) as client:
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    first, second = (r.headers["Editor-Device-Id"] for r in fake.recorded("chat"))
    kept = token_file.parent / "device-id"
    assert first == second == kept.read_text().strip()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_an_unwritable_directory_costs_a_warning_not_the_start(
    fake: FakeCopilot, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(device_id, "_fallback_id", None)  # as in a fresh process
    blocker = tmp_path / "a-file"  # a directory under a file cannot be made, even by root
    blocker.write_text("not a directory")
    caplog.set_level(logging.WARNING, logger="colalamo._auth.device_id")

    with running_server(fake.settings(token_file=blocker / "github-token")) as server:
        with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    again = load_device_id(blocker / "device-id")

    assert fake.recorded("chat")[-1].headers["Editor-Device-Id"] == again  # one id for the process
    warnings = [r for r in caplog.records if "device id" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_a_damaged_device_id_file_is_replaced(tmp_path: Path) -> None:
    kept = tmp_path / "device-id"
    kept.write_text("not a uuid\n")

    made = load_device_id(kept)

    assert _is_uuid(made) and kept.read_text().strip() == made
    assert load_device_id(kept) == made


# the session id ---------------------------------------------------------------------------------


def test_session_id_rotates_about_hourly() -> None:
    now = [100.0]
    session = SessionId(clock=lambda: now[0], wall_clock=lambda: 1_780_000_000.5)

    first = session.current()
    now[0] += 3599.0
    assert session.current() == first
    now[0] += 1.0
    second = session.current()

    assert second != first
    assert SESSION_ID.fullmatch(first) and first.endswith("1780000000500")
    now[0] += 10.0
    assert session.current() == second


# the version settings ---------------------------------------------------------------------------


def test_version_settings_reach_the_wire(start_server: Callable[..., str], fake: FakeCopilot) -> None:
    server = start_server(
        editor_version="vscode/1.200.0", plugin_version="copilot-chat/0.61.2", api_version="2026-09-01"
    )
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    for route in ("chat", "models"):
        sent = fake.recorded(route)[-1].headers
        assert sent["Editor-Version"] == "vscode/1.200.0", route
        assert sent["Editor-Plugin-Version"] == "copilot-chat/0.61.2", route
        assert sent["User-Agent"] == "GitHubCopilotChat/0.61.2", route
        assert sent["X-GitHub-Api-Version"] == "2026-09-01", route
    token = fake.recorded("token")[-1].headers
    assert token["Editor-Version"] == "vscode/1.200.0" and token["User-Agent"] == "GitHubCopilotChat/0.61.2"


def test_version_settings_come_from_the_environment(isolated: Path) -> None:
    (isolated / ".env").write_text("COLALAMO_PLUGIN_VERSION=copilot-chat/0.55.0\n")
    environ = {"COLALAMO_EDITOR_VERSION": "vscode/1.120.1", "COLALAMO_API_VERSION": "2026-07-01"}
    settings = load_settings(environ=environ)

    assert (settings.editor_version, settings.plugin_version, settings.api_version) == (
        "vscode/1.120.1",
        "copilot-chat/0.55.0",
        "2026-07-01",
    )
    (isolated / ".env").unlink()
    default = load_settings(environ={})
    assert (default.editor_version, default.plugin_version, default.api_version) == (
        "vscode/1.118.0",
        "copilot-chat/0.50.1",
        "2026-06-01",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COLALAMO_EDITOR_VERSION", "1.118.0"),
        ("COLALAMO_EDITOR_VERSION", "vscode/latest"),
        ("COLALAMO_EDITOR_VERSION", "vscode/1.118.0\r\nX-Evil: 1"),
        ("COLALAMO_PLUGIN_VERSION", "copilot-chat"),
        ("COLALAMO_API_VERSION", "2026-6-1"),
        ("COLALAMO_API_VERSION", "2026-13-01"),
        ("COLALAMO_API_VERSION", "june"),
    ],
)
def test_bad_version_settings_are_named(isolated: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={name: value})


def test_a_bad_version_setting_stops_the_server_at_start(fake: FakeCopilot, process_env: dict[str, str]) -> None:
    env = {**process_env, "COLALAMO_API_VERSION": "june"}
    out = subprocess.run([COLALAMO, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60)

    assert out.returncode == 2
    assert "COLALAMO_API_VERSION" in out.stderr and "YYYY-MM-DD" in out.stderr
    assert not fake.recorded("token")  # it stopped before reaching GitHub


# Copilot's 466 ----------------------------------------------------------------------------------


def _fail_as_outdated(fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=466, body=OUTDATED, content_type="text/plain")


def _names_the_fix(message: str) -> None:
    assert "Copilot refused colalamo's client version" in message
    assert "Editor-Version vscode/1.118.0" in message
    assert "Editor-Plugin-Version copilot-chat/0.50.1" in message
    assert "X-GitHub-Api-Version 2026-06-01" in message
    for setting in ("COLALAMO_EDITOR_VERSION", "COLALAMO_PLUGIN_VERSION", "COLALAMO_API_VERSION"):
        assert setting in message
    assert message.endswith(f"Copilot said: {OUTDATED}")


def test_466_reaches_the_openai_sdk_as_a_502_that_says_what_to_change(
    client: openai.OpenAI, fake: FakeCopilot
) -> None:
    _fail_as_outdated(fake)
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert raised.value.status_code == 502
    assert raised.value.code == "copilot_client_outdated"
    _names_the_fix(raised.value.body["message"])


def test_466_on_a_stream_is_refused_before_it_starts(client: openai.OpenAI, fake: FakeCopilot) -> None:
    _fail_as_outdated(fake)
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stream=True)

    assert raised.value.status_code == 502 and raised.value.code == "copilot_client_outdated"


def test_466_reaches_the_anthropic_sdk_as_a_502(server: str, fake: FakeCopilot) -> None:
    _fail_as_outdated(fake)
    with anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0) as claude:
        with pytest.raises(anthropic.APIStatusError) as raised:
            claude.messages.create(model="gpt-4.1", max_tokens=50, messages=USER_HELLO)

    assert raised.value.status_code == 502
    _names_the_fix(raised.value.body["error"]["message"])


def test_466_on_ask_in_its_own_shape(server: str, fake: FakeCopilot) -> None:
    _fail_as_outdated(fake)
    status, _, answer = call("POST", f"{server}/ask", data=json.dumps({"messages": USER_HELLO}))

    assert status == 502
    assert answer["reason"] == "Bad Gateway"
    _names_the_fix(answer["text"])


def test_466_is_logged_once_not_per_request(
    client: openai.OpenAI, fake: FakeCopilot, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(errors, "_outdated_logged_at", None)
    caplog.set_level(logging.WARNING, logger="colalamo._upstream.errors")
    for _ in range(3):
        _fail_as_outdated(fake)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    logged = [r for r in caplog.records if r.name == "colalamo._upstream.errors"]
    assert len(logged) == 1 and logged[0].levelno == logging.WARNING
    assert "COLALAMO_API_VERSION" in logged[0].getMessage()


# GitHub Enterprise ------------------------------------------------------------------------------


def test_github_com_derives_nothing_new() -> None:
    settings = Settings(github_url="https://github.com")

    assert settings.github_api_url == "https://api.github.com"
    assert settings.copilot_api_fallback is None


def test_a_ghe_com_tenant_is_enough() -> None:
    settings = load_settings(environ={"COLALAMO_GITHUB_URL": "https://acme.ghe.com/"})

    assert settings.github_url == "https://acme.ghe.com"
    assert settings.github_api_url == "https://api.acme.ghe.com"
    assert settings.copilot_api_fallback == "https://copilot-api.acme.ghe.com"
    assert settings.copilot_api_url is None  # the token's endpoints.api still comes first


def test_explicit_urls_win_over_the_derived_ones() -> None:
    settings = load_settings(
        environ={
            "COLALAMO_GITHUB_URL": "https://acme.ghe.com",
            "COLALAMO_GITHUB_API_URL": "https://github-api.acme.example",
            "COLALAMO_COPILOT_API_URL": "https://copilot.acme.example",
        }
    )

    assert settings.github_api_url == "https://github-api.acme.example"
    assert settings.copilot_api_url == "https://copilot.acme.example"


@pytest.mark.parametrize("url", ["https://github.example.com", "https://ghe.com", "https://x.y.ghe.com"])
def test_other_hosts_derive_nothing(url: str) -> None:
    settings = Settings(github_url=url)

    assert settings.github_api_url == "https://api.github.com"
    assert settings.copilot_api_fallback is None


def test_replacing_the_github_url_derives_again_unless_the_api_url_was_set() -> None:
    derived = Settings().replace(github_url="https://acme.ghe.com")
    explicit = Settings(github_api_url="https://api.corp.example").replace(github_url="https://acme.ghe.com")

    assert derived.github_api_url == "https://api.acme.ghe.com"
    assert explicit.github_api_url == "https://api.corp.example"
