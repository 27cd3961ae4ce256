"""Finding a client's program and running it in the foreground: its exit status becomes ours,
Ctrl-C is its to handle, and SIGTERM / SIGHUP sent to the launcher reach it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

NOT_INSTALLED = 127  # what a shell answers for a command it cannot find
NOT_RUNNABLE = 126  # found, but it could not be started


@dataclass(frozen=True)
class Client:
    program: str  # looked up on PATH
    package: str  # its npm package
    override: str  # an environment variable naming the program to run instead

    def find(self, environ: Mapping[str, str] = os.environ) -> str | None:
        chosen = environ.get(self.override)
        if chosen:
            return chosen if os.path.isfile(chosen) and os.access(chosen, os.X_OK) else None
        return shutil.which(self.program, path=environ.get("PATH"))

    def not_installed(self, environ: Mapping[str, str] = os.environ) -> str:
        if environ.get(self.override):
            return f"colalamo: {self.override} names no program that can be run: {environ[self.override]}"
        return (
            f"colalamo: {self.program} is not installed (not found on PATH). Install it with:\n"
            f"  npm install -g {self.package}\n"
            f"or name its program in {self.override}."
        )


CLAUDE = Client("claude", "@anthropic-ai/claude-code", "COLALAMO_CLAUDE_BIN")
CODEX = Client("codex", "@openai/codex", "COLALAMO_CODEX_BIN")


def own_and_client_arguments(tail: Sequence[str], own_options: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split what follows `colalamo claude` into colalamo's options (only at the front, each
    with its value) and the client's arguments, passed on unchanged. `--` ends colalamo's."""
    own: list[str] = []
    rest = list(tail)
    while rest:
        token = rest[0]
        if token == "--":
            return own, rest[1:]
        name = token.split("=", 1)[0]
        if token in ("-h", "--help") or (name in own_options and "=" in token):
            own.append(rest.pop(0))
        elif token in own_options:
            own += rest[:2]
            del rest[:2]
        else:
            break
    return own, rest


def exit_status(returncode: int) -> int:
    """A child killed by signal N is reported as a shell does: 128 + N."""
    return returncode if returncode >= 0 else 128 - returncode


def run_client(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run the client in the foreground to its end; its exit status."""
    running: list[subprocess.Popen[Any]] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if running and running[0].poll() is None:
            running[0].send_signal(signum)

    def let_the_client_handle_it(signum: int, frame: FrameType | None) -> None:
        # Ctrl-C reaches the whole foreground process group: the client has it already
        # (a handler, not SIG_IGN, which the client would inherit)
        pass

    handlers: dict[signal.Signals, Any] = {signal.SIGINT: let_the_client_handle_it, signal.SIGTERM: forward}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = forward
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        try:
            running.append(subprocess.Popen(list(argv), env=dict(env)))
        except OSError as exc:
            print(f"colalamo: could not start {argv[0]}: {exc.strerror or exc}", file=sys.stderr)
            return NOT_RUNNABLE
        return exit_status(running[0].wait())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
