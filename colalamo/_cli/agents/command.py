"""The flow `colalamo claude` and `colalamo codex` share: find the client, find or start
colalamo, read its catalogue, point the client at it, run the client, stop colalamo."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...config import Settings
from .launch import NOT_INSTALLED, Client, run_client
from .server import Endpoint, KeyRefused, LaunchError, colalamo_for_client, fetch_models

#: colalamo's own options after `colalamo claude` / `colalamo codex`; the rest is the client's.
OWN_OPTIONS = ("--model", "--small-model", "--host", "--port")


@dataclass(frozen=True)
class Launch:
    """How to run one client against one colalamo."""

    argv: list[str]  # the program and colalamo's arguments; the user's follow
    env: dict[str, str] = field(repr=False)  # set in the client's environment (may hold the key)
    cleared: tuple[str, ...] = ()  # removed from the client's environment
    models: str = ""  # what was picked, for the one line the launcher prints


Prepare = Callable[[str, Endpoint, list[dict[str, Any]]], Launch]


def add_launcher_arguments(parser: argparse.ArgumentParser, *, small_model: bool) -> None:
    parser.add_argument("--model", dest="client_model", metavar="MODEL",
                        help="the model the client uses (default: picked from the catalogue)")
    if small_model:
        parser.add_argument("--small-model", metavar="MODEL",
                            help="the model for its background calls (default: an unbilled one)")
    add_address_arguments(parser)
    parser.add_argument("client_args", nargs="*", metavar="ARGS",
                        help="the client's own arguments, passed on unchanged (after colalamo's options, or after --)")


def add_address_arguments(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: `colalamo --port 8080 claude` must keep the port given before the command name
    parser.add_argument("--host", default=argparse.SUPPRESS, help="colalamo's address (COLALAMO_HOST)")
    parser.add_argument("--port", type=int, default=argparse.SUPPRESS, help="colalamo's port (COLALAMO_PORT)")


def launch(client: Client, settings: Settings, client_args: Sequence[str], prepare: Prepare) -> int:
    program = client.find()
    if program is None:
        print(client.not_installed(), file=sys.stderr)
        return NOT_INSTALLED
    with colalamo_for_client(settings) as endpoint:
        launch = prepare(program, endpoint, catalogue_or_none(endpoint))
        how = "started for this session" if endpoint.started else "already serving"
        print(f"colalamo: {client.program} -> {endpoint.url} ({how}); {launch.models}", file=sys.stderr, flush=True)
        return run_client([*launch.argv, *client_args], client_environment(os.environ, launch))


def client_environment(environ: Mapping[str, str], launch: Launch) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k not in launch.cleared}
    env.update(launch.env)
    return env


def catalogue_or_none(endpoint: Endpoint) -> list[dict[str, Any]]:
    """The catalogue; empty (the pickers then name their defaults) when colalamo cannot list
    it now, for the client may still work. A refused key is an error: nothing would work."""
    try:
        return fetch_models(endpoint)
    except KeyRefused:
        raise
    except LaunchError as exc:
        print(f"colalamo: {exc.message}; using the default models", file=sys.stderr)
        return []
