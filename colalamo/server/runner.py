"""Running the server: bind, announce, serve until SIGINT/SIGTERM, shut down cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from ..config import Settings
from .app import create_app

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'


async def start_server(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start `app` on host:port (port 0 picks a free one); return the runner and the port."""
    # handler_cancellation: a client that disconnects cancels its handler, and with it the
    # upstream request, instead of letting Copilot generate for no one.
    runner = web.AppRunner(app, handler_cancellation=True, access_log_format=ACCESS_LOG_FORMAT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


def announce(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return (
        f"colalamo is listening on {host}:{port}\n"
        "try it:\n"
        f"  curl http://{shown}:{port}/v1/chat/completions -H 'Content-Type: application/json' \\\n"
        """    -d '{"messages": [{"role": "user", "content": "Hello!"}]}'"""
    )


async def serve(settings: Settings, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM."""
    runner, port = await start_server(create_app(settings), settings.host, settings.port)
    (on_ready or _print)(announce(settings.host, port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises instead
            pass
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _print(text: str) -> None:
    print(text, flush=True, file=sys.stdout)
