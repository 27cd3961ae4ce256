"""`colalamo serve` (the default command)."""

from __future__ import annotations

import argparse
import errno

from ..config import Settings, choices
from ..exceptions import ColalamoError, ConfigError

HELP = "run the OpenAI-compatible server (the default command)"
EPILOG = """\
examples:
  colalamo serve
  COLALAMO_API_KEY=s3cret colalamo serve --host 0.0.0.0 --port 8080
  colalamo serve --log-format json
  colalamo serve --host 0.0.0.0 --port 4242 --workers 4
  COLALAMO_MODEL=claude-sonnet-4 colalamo serve
"""


def add_arguments(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    # On the top-level parser these options serve `colalamo` alone; in the sub-command they
    # must not overwrite what was given before the command name, hence SUPPRESS.
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument("--host", default=default, help="address to listen on (COLALAMO_HOST)")
    parser.add_argument("--port", type=port_number, default=default, help="port to listen on (COLALAMO_PORT)")
    parser.add_argument(
        "--model", default=default, help="model for requests that name none (COLALAMO_MODEL)"
    )
    parser.add_argument(
        "--log-level", choices=choices("log_level"), default=default, help="log level (COLALAMO_LOG_LEVEL)"
    )
    parser.add_argument(
        "--log-format", choices=choices("log_format"), default=default, help="text or json (COLALAMO_LOG_FORMAT)"
    )
    parser.add_argument(
        "--log-bodies", action="store_true", default=default,
        help="log request bodies, tokens masked: for debugging (COLALAMO_LOG_BODIES)",
    )
    parser.add_argument(
        "--workers", type=int, default=1 if top_level else argparse.SUPPRESS, metavar="N",
        help="run N processes on one port (SO_REUSEPORT); needs a fixed --port",
    )
    parser.add_argument(
        "--no-auth", action="store_true", default=default,
        help="serve a non-loopback address without an API key (COLALAMO_NO_AUTH); not advised",
    )


def port_number(text: str) -> int:
    """--port's type: a bad value blames the flag, not COLALAMO_PORT."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, not {port}")
    return port


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from .._server.runner import port_taken_message, serve  # imported when run: `colalamo --help` stays quick

    try:
        await serve(settings)
    except OSError as exc:  # taken between the check and the bind
        if exc.errno == errno.EADDRINUSE:
            raise ColalamoError(port_taken_message(settings.port)) from None
        raise
    return 0


def run_sync(args: argparse.Namespace, settings: Settings) -> int | None:
    """--workers runs outside any event loop (it spawns processes); None: not asked for."""
    from .._server.runner import port_taken, port_taken_message
    from .._server.workers import serve_workers

    workers = getattr(args, "workers", 1)
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    # before any login or token exchange: a taken port would only fail after them
    if port_taken(settings.host, settings.port):
        raise ColalamoError(port_taken_message(settings.port))
    return serve_workers(settings, workers) if workers > 1 else None
