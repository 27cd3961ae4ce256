"""`colalamo env CLIENT`: the settings that point a coding agent at colalamo, for people who
start the agent themselves."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import Settings
from .agents.clients import (
    aider_snippet,
    claude_snippet,
    codex_snippet,
    opencode_snippet,
)
from .agents.command import add_address_arguments
from .agents.models import pick_claude_code, pick_codex
from .agents.server import (
    Endpoint,
    LaunchError,
    base_url,
    configured_key,
    fetch_models,
    probe,
)

HELP = "print the settings that point claude, codex, opencode or aider at colalamo"
EPILOG = """\
Prints shell lines (claude, aider: eval them), a config.toml (codex) or an opencode.json
(opencode). The models come from the running colalamo's catalogue, picked as `colalamo claude`
and `colalamo codex` do; with no colalamo serving, documented defaults (claude-sonnet-4.5,
gpt-4.1 for background calls, gpt-5.3-codex). When colalamo has API keys, the snippets read
the key from $COLALAMO_API_KEY; they never contain it.

examples:
  eval "$(colalamo env claude)" && claude
  colalamo env codex >> ~/.codex/config.toml
  colalamo env opencode > opencode.json
  eval "$(colalamo env aider)" && aider
  colalamo --port 8080 env claude --model claude-opus-4.5
"""

CLIENTS = ("claude", "codex", "opencode", "aider")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("client", choices=CLIENTS, help="the coding agent")
    parser.add_argument("--model", dest="client_model", metavar="MODEL", help="the model it uses")
    parser.add_argument("--small-model", metavar="MODEL", help="the model for its background calls")
    add_address_arguments(parser)


def catalogue(settings: Settings) -> list[dict[str, Any]]:
    """The running colalamo's catalogue; empty (defaults) when none answers."""
    url = base_url(settings.host, settings.port)
    if probe(url) != "colalamo":
        print(f"# no colalamo answers at {url}: default models", file=sys.stderr)
        return []
    try:
        return fetch_models(Endpoint(url, configured_key(settings), started=False))
    except LaunchError as exc:
        print(f"# {exc.message}: default models", file=sys.stderr)
        return []


def snippet(client: str, url: str, with_key: bool, models_seen: list[dict[str, Any]], args: argparse.Namespace) -> str:
    if client == "codex":
        return codex_snippet(url, with_key, pick_codex(models_seen, model=args.client_model))
    models = pick_claude_code(models_seen, main=args.client_model, small=args.small_model)
    if client == "opencode":
        return opencode_snippet(url, with_key, models_seen, models)
    if client == "aider":
        return aider_snippet(url, with_key, models)
    return claude_snippet(url, with_key, models)


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    url = base_url(settings.host, settings.port)
    print(snippet(args.client, url, bool(settings.api_keys), catalogue(settings), args))
    return 0
