"""`colalamo claude [args...]`: Claude Code against colalamo."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Settings
from .agents.clients import CLAUDE_CLEARED, claude_env
from .agents.command import Launch, add_launcher_arguments, launch
from .agents.launch import CLAUDE
from .agents.models import pick_claude_code
from .agents.server import Endpoint

HELP = "run Claude Code on Copilot's models, through colalamo"
EPILOG = """\
Uses the colalamo serving on the configured host and port, or starts one for the session.
The models come from the catalogue: the newest Claude Sonnet (else Opus) as ANTHROPIC_MODEL,
and an unbilled model for Claude Code's background calls; --model / --small-model choose.
Claude Code's telemetry, error reports and update checks are off. colalamo's options come
first; everything after them (or after --) goes to claude unchanged.

examples:
  colalamo claude
  colalamo claude -p "explain this repository" --output-format json
  colalamo claude --model claude-opus-4.5 --small-model gpt-4.1
  colalamo --port 8080 claude --continue
  colalamo claude -- --help           claude's own help
  COLALAMO_CLAUDE_BIN=~/bin/claude colalamo claude
not installed? npm install -g @anthropic-ai/claude-code
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_launcher_arguments(parser, small_model=True)


def prepare(program: str, endpoint: Endpoint, catalogue: list[dict[str, Any]], args: argparse.Namespace) -> Launch:
    models = pick_claude_code(catalogue, main=args.client_model, small=args.small_model)
    return Launch(
        argv=[program],
        env=claude_env(endpoint.url, endpoint.api_key, models),
        cleared=CLAUDE_CLEARED,
        models=f"model {models.main}, small model {models.small}",
    )


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    return launch(CLAUDE, settings, args.client_args,
                  lambda program, endpoint, catalogue: prepare(program, endpoint, catalogue, args))
