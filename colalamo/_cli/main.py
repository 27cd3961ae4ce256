"""`colalamo`: the command line. With no sub-command it serves."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .. import _event_loop as event_loop
from .._logging import configure_logging
from .._version import __version__
from ..config import Settings, load_settings
from ..exceptions import ColalamoError, ConfigError
from . import ask, claude, codex, doctor, env, login, logout, models, serve, usage
from .agents.command import OWN_OPTIONS
from .agents.launch import own_and_client_arguments
from .parser import CommandParser

DESCRIPTION = "GitHub Copilot's chat models outside the IDE: an OpenAI-compatible server and more."
EPILOG = """\
examples:
  colalamo                          serve on 127.0.0.1:4242 (logs in first if needed)
  colalamo serve --port 8080        serve on another port
  colalamo login                    log in to GitHub and store the token
  colalamo ask "why is the sky blue?"
  git diff | colalamo ask --system "review this diff"
  colalamo models                   list the models your account can use
  colalamo usage                    premium requests left, and when they reset
  colalamo claude                   Claude Code on Copilot's models (colalamo started if needed)
  colalamo codex exec "fix the build"
  colalamo env opencode             settings that point a coding agent at colalamo
  colalamo doctor                   what is set, and what works: for a bug report

settings also come from COLALAMO_* environment variables and a .env file; all of them, and
the rest, in the README: https://pypi.org/project/colalamo/ (README.md in the source).
if Copilot refuses colalamo's client version (502 copilot_client_outdated), set current ones:
  COLALAMO_EDITOR_VERSION (default vscode/1.118.0), COLALAMO_PLUGIN_VERSION (default
  copilot-chat/0.50.1), COLALAMO_API_VERSION (default 2026-06-01)
"""

COMMANDS = {
    "serve": serve,
    "login": login,
    "logout": logout,
    "ask": ask,
    "models": models,
    "usage": usage,
    "claude": claude,
    "codex": codex,
    "env": env,
    "doctor": doctor,
}
#: Commands whose trailing arguments belong to another program and pass through unparsed.
LAUNCHERS = ("claude", "codex")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="colalamo",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"colalamo {__version__}")
    serve.add_arguments(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=module.HELP,
            description=module.HELP,
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    names = ("host", "port", "model", "log_level", "log_format", "log_bodies", "no_auth")
    # a store_true flag left out is False, which must not override the environment
    overrides = {name: None if getattr(args, name, None) is False else getattr(args, name, None) for name in names}
    return load_settings(overrides)


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse argv; after `claude` / `codex`, only colalamo's own leading options are parsed and
    the rest is kept, untouched, in `client_args` (argparse would take `-p` for its own)."""
    argv = list(argv)
    for at, token in enumerate(argv):
        if token not in LAUNCHERS:
            continue
        head, _ = parser.parse_known_args(argv[: at + 1])
        if head.command != token:  # the value of an option, as in `--model codex`
            continue
        own, client_args = own_and_client_arguments(argv[at + 1 :], OWN_OPTIONS)
        args = parser.parse_args([*argv[: at + 1], *own])
        args.client_args = client_args
        return args
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(build_parser(), sys.argv[1:] if argv is None else argv)
    module = COMMANDS[args.command or "serve"]
    try:
        settings = settings_from(args)
        quiet = module is not serve and settings.log_level != "debug"
        configure_logging("warning" if quiet else settings.log_level, settings.log_format)
        # commands that run outside an event loop: serve --workers, and those that run a program
        run_sync = getattr(module, "run_sync", None)
        if run_sync is not None and (code := run_sync(args, settings)) is not None:
            return int(code)
        if module is serve:  # the server runs on uvloop when it is installed (COLALAMO_EVENT_LOOP)
            return int(event_loop.run(module.run(args, settings), settings.event_loop))
        return int(asyncio.run(module.run(args, settings)))
    except ConfigError as exc:
        print(f"colalamo: bad setting: {exc.message}", file=sys.stderr)
        return 2
    except ColalamoError as exc:
        print(f"colalamo: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
