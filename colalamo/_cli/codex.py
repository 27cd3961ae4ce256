"""`colalamo codex [args...]`: Codex CLI against colalamo."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Settings
from .agents.clients import KEY_VARIABLE, codex_config, codex_overrides
from .agents.command import Launch, add_launcher_arguments, launch
from .agents.launch import CODEX
from .agents.models import pick_codex
from .agents.server import Endpoint

HELP = "run Codex CLI on Copilot's models, through colalamo"
EPILOG = """\
Uses the colalamo serving on the configured host and port, or starts one for the session.
The model comes from the catalogue: the newest -codex model Copilot serves on /responses, else
a GPT-5 one; --model chooses. colalamo is passed as a provider with `-c` overrides, so
~/.codex/config.toml is left as it is; Codex's update check, analytics and feedback are off.
colalamo's options come first; everything after them (or after --) goes to codex unchanged.

examples:
  colalamo codex
  colalamo codex exec "add a test for the parser"
  colalamo codex --model gpt-5.4 exec --json "say hi"
  colalamo codex -- --help            codex's own help
  COLALAMO_CODEX_BIN=~/bin/codex colalamo codex
not installed? npm install -g @openai/codex
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_launcher_arguments(parser, small_model=False)


def prepare(program: str, endpoint: Endpoint, catalogue: list[dict[str, Any]], args: argparse.Namespace) -> Launch:
    model = pick_codex(catalogue, model=args.client_model)
    config = codex_config(endpoint.url, model, with_key=endpoint.api_key is not None)
    return Launch(
        argv=[program, *codex_overrides(config)],
        env={KEY_VARIABLE: endpoint.api_key} if endpoint.api_key else {},
        models=f"model {model}",
    )


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    return launch(CODEX, settings, args.client_args,
                  lambda program, endpoint, catalogue: prepare(program, endpoint, catalogue, args))
