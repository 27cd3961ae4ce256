"""The README's examples really run: each python and curl block, against the fake."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from warm_python import WarmPython

README = (Path(__file__).parent.parent / "README.md").read_text()
DEFAULT_URL = "http://127.0.0.1:4242"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_starts_with_the_two_set_up_commands() -> None:
    first = _blocks("sh")[0].splitlines()
    assert first == ["pip install -e . && colalamo", "pip install -e '.[test]' && pytest"]
    assert README.index("```sh") < README.index("\n## ")


def _imported(code: str) -> list[str]:
    """The modules a block imports."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmPython]:
    """Runs each example in a process of its own, forked from one that has imported what the
    examples import (a fresh interpreter spent seconds per example on openai, anthropic,
    langchain and llama_index); imported in an empty directory, with no settings or proxies."""
    where = tmp_path_factory.mktemp("warm-python")
    proxies = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("COLALAMO_") and name.lower() not in proxies}
    preload = sorted({name for code in _blocks("python") for name in _imported(code)})
    warm = WarmPython(preload, env={**env, "HOME": str(where)}, cwd=where)
    yield warm
    warm.close()


@pytest.mark.parametrize("code", _blocks("python"), ids=lambda code: code.splitlines()[0][:40])
def test_python_example(code: str, server: str, process_env: dict[str, str], python: WarmPython) -> None:
    out = python.run(code.replace(DEFAULT_URL, server), env=process_env, cwd=Path.cwd(), timeout=60)
    assert out.returncode == 0, out.stderr
    # an example of a failure prints what it caught; the others print the fake's echo
    assert ("as expected:" if "as expected" in code else "echo: ") in out.stdout, out.stdout
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
