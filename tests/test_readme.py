"""The README's examples really run: each python and curl block, against the fake."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from colalamo.testing import FakeCopilot

README = (Path(__file__).parent.parent / "README.md").read_text()
DEFAULT_URL = "http://127.0.0.1:4242"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_starts_with_the_two_set_up_commands() -> None:
    first = _blocks("sh")[0].splitlines()
    assert first == ["pip install -e . && colalamo", "pip install -e '.[test]' && pytest"]
    assert README.index("```sh") < README.index("\n## ")


@pytest.mark.parametrize("code", _blocks("python"), ids=lambda code: code.splitlines()[0][:40])
def test_python_example(code: str, server: str, fake: FakeCopilot, token_file: Path) -> None:
    env = {**os.environ, **fake.env(), "COLALAMO_TOKEN_FILE": str(token_file)}
    out = subprocess.run(
        [sys.executable, "-c", code.replace(DEFAULT_URL, server)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "echo:" in out.stdout or "as expected" in out.stdout
    # a streamed answer ends its line: outputs do not run together
    assert out.stdout.endswith("\n") and all(line.count("echo:") <= 1 for line in out.stdout.splitlines())


def _curl_commands() -> list[str]:
    commands = []
    for block in _blocks("sh"):
        for command in block.replace("\\\n", " ").splitlines():
            if command.startswith("curl "):
                commands.append(command)
    return commands


@pytest.mark.parametrize("command", _curl_commands())
def test_curl_example(command: str, server: str) -> None:
    out = subprocess.run(
        ["bash", "-c", command.replace(DEFAULT_URL, server) + " --fail-with-body"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Hello!" in out.stdout or '"object": "list"' in out.stdout
