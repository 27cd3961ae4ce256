"""GitHub device-flow login and where the GitHub token is kept."""

from __future__ import annotations

import asyncio
import itertools
import json
import stat
from pathlib import Path

import aiohttp
import pytest
from helpers import USER_HELLO

from colalamo import Copilot, LoginFailed, TokenFileError
from colalamo._auth import (
    DeviceCode,
    device_flow_login,
    find_github_token,
    save_github_token,
)
from colalamo._auth.device_flow import SLOW_DOWN_STEP, _slower
from colalamo.testing import FakeCopilot, running_server


def _login(fake: FakeCopilot) -> tuple[str, list[DeviceCode]]:
    shown: list[DeviceCode] = []

    async def main() -> str:
        async with aiohttp.ClientSession() as http:
            return await device_flow_login(http, fake.url, on_code=shown.append)

    return asyncio.run(main()), shown


def test_device_flow_polls_through_pending_and_slow_down(fake: FakeCopilot) -> None:
    fake.device_script.extend(["authorization_pending", "slow_down", "authorization_pending"])

    token, shown = _login(fake)

    assert token in fake.github_tokens and token.startswith("gho_")
    assert shown[0].prompt == f'browse to {fake.url}/login/device and enter this code "FAKE-C0DE" to authenticate'
    polls = fake.device_polls
    assert len(polls) == 4
    # slow_down raised the interval (0.05 s) by the fake's step (0.05 s): later polls wait longer
    assert polls[3] - polls[2] >= 0.1 - 0.01
    # never polled faster than allowed (the fake would have answered slow_down itself)
    assert all(b - a >= 0.05 - 0.01 for a, b in itertools.pairwise(polls))


def test_slow_down_without_an_interval_adds_five_seconds() -> None:
    assert _slower(5.0, None) == 5.0 + SLOW_DOWN_STEP == 10.0
    assert _slower(5.0, 12) == 12.0


@pytest.mark.parametrize(
    ("answer", "message"),
    [("expired_token", "expired before it was entered"), ("access_denied", "refused on GitHub")],
)
def test_device_flow_stops_with_a_clear_message(fake: FakeCopilot, answer: str, message: str) -> None:
    fake.device_script.extend(["authorization_pending", answer])
    with pytest.raises(LoginFailed, match=message):
        _login(fake)


def test_device_flow_gives_up_when_the_code_expires(fake: FakeCopilot) -> None:
    fake.device_expires_in = 0.3
    fake.device_script.extend(["authorization_pending"] * 100)
    with pytest.raises(LoginFailed, match="expired"):
        _login(fake)
    assert len(fake.device_polls) < 10


def test_device_flow_polls_through_a_github_hiccup(fake: FakeCopilot) -> None:
    fake.fail_next("access_token", status=502, body="bad gateway", content_type="text/plain")
    token, _ = _login(fake)
    assert token in fake.github_tokens


def test_server_logs_in_by_device_flow_when_no_token_is_found(
    fake: FakeCopilot, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.device_script.append("authorization_pending")
    settings = fake.settings(token_file=token_file, github_token=None)

    with running_server(settings):
        pass

    assert 'enter this code "FAKE-C0DE"' in capsys.readouterr().err
    stored = token_file.read_text().strip()
    assert stored in fake.github_tokens
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_library_logs_in_before_its_first_call(fake: FakeCopilot, token_file: Path) -> None:
    with Copilot(fake.settings(token_file=token_file, github_token=None)) as copilot:
        assert copilot.ask(USER_HELLO)["text"]["reply"] == "echo: hello there"
    assert token_file.read_text().strip() in fake.github_tokens


def test_token_file_is_written_atomically_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "token"
    save_github_token(path, "gho_first")
    save_github_token(path, "gho_second")

    assert path.read_text() == "gho_second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["token"]  # no temporary file left


def test_token_search_order(fake: FakeCopilot, token_file: Path, isolated: Path) -> None:
    plugin_dir = Path.home() / ".config" / "github-copilot"
    plugin_dir.mkdir(parents=True)
    host = fake.url.split("//")[1].split(":")[0]
    (plugin_dir / "apps.json").write_text(
        json.dumps({f"{host}:Iv1.b507a08c87ecfe98": {"oauth_token": "gho_fromeditor", "user": "me"}})
    )
    settings = fake.settings(token_file=token_file, github_token=None)

    assert find_github_token(settings).value == "gho_fromeditor"
    save_github_token(token_file, "gho_fromfile")
    assert find_github_token(settings).value == "gho_fromfile"
    assert find_github_token(settings.replace(github_token="gho_fromenv")).value == "gho_fromenv"


def test_legacy_token_file_in_the_working_directory_is_used(isolated: Path) -> None:
    from colalamo.config import load_settings

    (isolated / ".copilot-token").write_text("gho_legacy\n")
    settings = load_settings(environ={})

    assert settings.token_file == isolated / ".copilot-token"
    assert find_github_token(settings).value == "gho_legacy"


@pytest.mark.parametrize("content", [b"\x00\x01garbage\xff", b"two words"])
def test_garbage_token_file_is_a_clear_error(tmp_path: Path, fake: FakeCopilot, content: bytes) -> None:
    path = tmp_path / "token"
    path.write_bytes(content)
    with pytest.raises(TokenFileError, match="does not hold a GitHub token"):
        find_github_token(fake.settings(token_file=path, github_token=None))


def test_github_token_never_shows_in_repr(fake: FakeCopilot) -> None:
    settings = fake.settings()
    found = find_github_token(settings)
    assert settings.github_token not in repr(settings)
    assert settings.github_token not in repr(found)
