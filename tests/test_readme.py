"""The README's examples really run: each python and curl block, against the fake."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from readme_blocks import README, blocks
from warm_python import WarmPython

DEFAULT_URL = "http://127.0.0.1:4242"


def test_readme_starts_with_the_two_set_up_commands() -> None:
    first = blocks("sh")[0].splitlines()
    assert first == ["pip install -e . && colalamo", "pip install -e '.[test]' && pytest"]
    assert README.index("```sh") < README.index("\n## ")


@pytest.mark.parametrize("code", blocks("python"), ids=lambda code: code.splitlines()[0][:40])
def test_python_example(code: str, server: str, process_env: dict[str, str], readme_python: WarmPython) -> None:
    out = readme_python.run(code.replace(DEFAULT_URL, server), env=process_env, cwd=Path.cwd(), timeout=60)
    assert out.returncode == 0, out.stderr
    # an example of a failure prints what it caught; the others print the fake's echo
    assert ("as expected:" if "as expected" in code else "echo: ") in out.stdout, out.stdout
    # a streamed answer ends its line: outputs do not run together
    assert out.stdout.endswith("\n") and all(line.count("echo:") <= 1 for line in out.stdout.splitlines())


def _curl_commands() -> list[str]:
    commands = []
    for block in blocks("sh"):
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
