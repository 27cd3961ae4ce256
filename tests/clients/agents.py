"""Running the real clients headless: a clean environment, timeouts, and what the fake saw."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from install import installed

from colalamo.testing import FakeCopilot

#: Read before the main suite's `isolated` fixture clears COLALAMO_* from the environment.
INSTALL = installed()
CAPTURE = os.environ.get("COLALAMO_CLIENTS_CAPTURE") == "1"
CAPTURES = Path(__file__).resolve().parent.parent / "data" / "clients"
HERE = Path(__file__).resolve().parent
#: The API key the clients send; colalamo runs without one, so any value passes.
CLIENT_KEY = "sk-clients-tier-not-a-secret"


@dataclass
class Finished:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return (f"$ {' '.join(self.argv)}\nexit {self.returncode}\n"
                f"--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}")


@dataclass
class Clients:
    """Where the installed clients are, and a way to run one headless."""

    root: Path
    home: Path
    work: Path

    def bin(self, name: str) -> str:
        return str(self.root / "node_modules" / ".bin" / name)

    @property
    def aider(self) -> str:
        return str(self.root / "aider-venv" / "bin" / "aider")

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: nothing of the developer's, no proxy, everything under home."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            # node-based clients: the npm cache and update checks stay in the tmp home
            "npm_config_cache": str(self.home / ".npm"),
            "npm_config_update_notifier": "false",
        }
        env.update(extra)
        return env

    def run(self, argv: list[str], env: dict[str, str], *, timeout: float = 120, cwd: Path | None = None) -> Finished:
        """Run a client to its end; on timeout kill its whole process group and fail with its output."""
        process = subprocess.Popen(
            argv, cwd=cwd or self.work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            finished = Finished(argv, -9, stdout, stderr)
            pytest.fail(f"timed out after {timeout} s\n{finished.explain()}")
        return Finished(argv, process.returncode, stdout, stderr)

    def node(self, driver: str, spec: dict[str, object], *, timeout: float = 60) -> tuple[Finished, dict[str, Any]]:
        """Run a `.mjs` driver of this folder with a JSON spec; it prints one JSON result line."""
        # ES modules find packages in a node_modules beside them: the drivers are copied into
        # the test's tmp dir next to a link to the install's
        drivers = self.home / "drivers"
        drivers.mkdir(parents=True, exist_ok=True)
        for script in HERE.glob("*.mjs"):
            (drivers / script.name).write_bytes(script.read_bytes())
        if not (drivers / "node_modules").exists():
            (drivers / "node_modules").symlink_to(self.root / "node_modules")
        finished = self.run(["node", str(drivers / driver), json.dumps(spec)], self.env(), timeout=timeout)
        lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
        assert lines, f"the driver printed no result\n{finished.explain()}"
        return finished, json.loads(lines[-1])


def tool_results_sent(fake: FakeCopilot) -> list[str]:
    """The tool results colalamo passed up to Copilot (either wire), as text."""
    found = []
    for request in fake.requests:
        body = request.body if isinstance(request.body, dict) else {}
        for message in body.get("messages") or []:
            if message.get("role") == "tool":
                found.append(json.dumps(message.get("content")))
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    found.append(json.dumps(block.get("content")))
        for item in body.get("input") or [] if isinstance(body.get("input"), list) else []:
            if isinstance(item, dict) and item.get("type") in ("function_call_output", "custom_tool_call_output"):
                found.append(json.dumps(item.get("output")))
    return found


def copilot_calls(fake: FakeCopilot) -> list[str]:
    """The model calls colalamo made upstream (routes), in order."""
    return [r.route for r in fake.requests if r.route in ("chat", "messages", "responses")]
