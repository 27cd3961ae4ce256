"""Running the server: bind, announce, serve until SIGINT/SIGTERM, then shut down gracefully
(stop accepting, let requests in flight finish within the grace period, tell the ones cut, close
the session: server/shutdown.py)."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from .._event_loop import running_loop_name
from .._files import remove_orphans
from .._logging import RateLimitedAcceptErrors
from .._signals import stop_on_signals
from ..config import Settings
from .access import generated_key_needed
from .access_log import ACCESS_LOG, AccessLogger
from .app import create_app
from .app_keys import CORE, SETTINGS
from .connections import GuardedRunner, max_connections
from .generated_key import generated_key_file, kept_api_key
from .shutdown import shut_down

log = logging.getLogger(__name__)

#: what aiohttp's own shutdown still waits for a connection, once ours has cut every request
FINAL_CLOSE = 0.2


def _quiet_accept_errors() -> None:
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, RateLimitedAcceptErrors) for f in asyncio_log.filters):
        asyncio_log.addFilter(RateLimitedAcceptErrors())


async def start_server(
    app: web.Application, host: str, port: int, *, reuse_port: bool = False
) -> tuple[web.AppRunner, int]:
    """Start `app` on host:port (port 0 picks a free one); return the runner and the port."""
    settings = app.get(SETTINGS) or Settings()
    _quiet_accept_errors()
    runner = GuardedRunner(
        app,
        max_connections=max_connections(),
        # a client that disconnects cancels its handler, and with it the upstream request
        handler_cancellation=True,
        access_log_class=AccessLogger,
        access_log=ACCESS_LOG,
        access_log_format=settings.log_format,
        # a connection with no whole request head this long, new or kept alive, is closed
        keepalive_timeout=settings.idle_timeout,
        shutdown_timeout=FINAL_CLOSE,  # the grace is shut_down's
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on host:port. Workers bind with SO_REUSEPORT, which
    would succeed beside another colalamo (the kernel then splits traffic between the two), so
    this probes with a plain bind, as a single process binds. Port 0 is never taken."""
    if port == 0:
        return False
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return False  # the real bind reports a bad host
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            if sys.platform != "win32":  # as asyncio does: a TIME_WAIT socket is no owner
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def port_taken_message(port: int) -> str:
    return f"port {port} is in use (another colalamo?); choose one with --port"


def announce(
    host: str, port: int, generated_key: str | None = None, *, key_file: Path | None = None,
    key_configured: bool = False,
) -> str:
    """The start-up message; its curl works as pasted (with a configured key, once the
    placeholder is filled in)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    key = generated_key or ("<your COLALAMO_API_KEY>" if key_configured else None)
    auth = f" -H 'Authorization: Bearer {key}'" if key else ""
    lines = [f"colalamo is listening on {host}:{port}"]
    if generated_key:
        kept = f"kept in {key_file} for the next runs" if key_file else "for this run"
        lines += [
            "no API key was configured and this address is reachable from other machines,",
            f"so colalamo made one ({kept}; set COLALAMO_API_KEY to choose your own):",
            f"  {generated_key}",
        ]
    lines += [
        "try it:",
        f"  curl http://{shown}:{port}/v1/chat/completions{auth} -H 'Content-Type: application/json' \\",
        """    -d '{"messages": [{"role": "user", "content": "Hello!"}]}'""",
    ]
    return "\n".join(lines)


def with_access_key(settings: Settings) -> tuple[Settings, str | None]:
    """Settings with a generated key when one is needed; the key, to announce once.
    Blocking file I/O (the key is kept beside the token): call it in a thread in a loop."""
    if generated_key_needed(settings):
        generated, _ = kept_api_key(generated_key_file(settings))
        return settings.replace(api_keys=(generated,)), generated
    if settings.no_auth and not settings.api_keys:
        log.warning("serving %s with no API key (--no-auth): anyone who can reach it uses your Copilot account",
                    settings.host)
    return settings, None


async def serve(settings: Settings, *, on_ready: Callable[[str], None] | None = None, worker: bool = False) -> None:
    """Serve until SIGINT or SIGTERM; `on_ready` gets the start-up message once listening.
    A worker shares its port with its siblings (SO_REUSEPORT); its parent announces."""
    generated = None
    key_configured = bool(settings.api_keys)
    if not worker:
        settings, generated = await asyncio.to_thread(with_access_key, settings)
    await asyncio.to_thread(_remove_orphans, settings)  # workers too: only files a minute old
    # with no GitHub token, serve logged out and let the page log in (workers' parent logged in)
    app = create_app(settings, login_from_page=not worker)
    log.debug("serving on the %s event loop", running_loop_name())
    stop = stop_on_signals()  # before the announcement: a SIGTERM right after it is a clean stop
    runner, port = await start_server(app, settings.host, settings.port, reuse_port=worker)
    (on_ready or _print)(announce(settings.host, port, generated, key_file=generated_key_file(settings),
                                  key_configured=key_configured))
    try:
        # bound first, so /health answers and /ready says why while GitHub is slow; a GitHub
        # token GitHub rejects still stops the server, with the message to log in again
        await _until_stopped(app[CORE].first_token(), stop)
        await stop.wait()
        log.info("shutting down: no new connections; requests in flight get %g s", settings.shutdown_grace)
    finally:
        await shut_down(runner, settings.shutdown_grace)


async def _until_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Run `work`, unless a stop signal comes first (then it is cancelled)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
    if task.done() and not task.cancelled():
        task.result()  # its error, if any


def _remove_orphans(settings: Settings) -> None:
    """Temporary copies of the token and the state file a kill -9 left mid-write."""
    from .._upstream.ledger import STATE_FILE

    for path in (settings.token_file, settings.token_file.parent / STATE_FILE):
        if removed := remove_orphans(path):
            log.info("removed %d temporary file(s) left beside %s by an interrupted write", removed, path)


def _print(text: str) -> None:
    print(text, flush=True, file=sys.stdout)

