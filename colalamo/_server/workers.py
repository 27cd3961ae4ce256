"""`colalamo serve --workers N`: N processes on one port (SO_REUSEPORT), the kernel spreading
connections between them. Each has its own Copilot token lifecycle; the parent logs in first
(so no worker starts a device flow of its own), announces once, and forwards SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.synchronize import Event

from .. import _event_loop as event_loop
from .._core import ensure_logged_in
from .._logging import configure_logging
from ..config import Settings
from ..exceptions import ConfigError
from .generated_key import generated_key_file
from .runner import announce, serve, with_access_key

log = logging.getLogger(__name__)


def _worker(settings: Settings, ready: Event) -> None:
    configure_logging(settings.log_level, settings.log_format)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    event_loop.run(serve(settings, worker=True, on_ready=lambda _: ready.set()), settings.event_loop)


def serve_workers(settings: Settings, workers: int) -> int:
    if settings.port == 0:
        raise ConfigError("--workers needs a fixed port (--port), which all the workers share")
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError("--workers needs SO_REUSEPORT, which this system lacks")
    asyncio.run(ensure_logged_in(settings))
    key_configured = bool(settings.api_keys)
    settings, generated = with_access_key(settings)
    context = multiprocessing.get_context("spawn")
    ready = [context.Event() for _ in range(workers)]
    processes = [
        context.Process(target=_worker, args=(settings, ready[n]), name=f"colalamo-worker-{n}")
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid:
                process.terminate()  # SIGTERM: each drains its requests within the grace period

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + 60
    # announce once every worker listens: before that, some would get no connections
    if all(event.wait(max(deadline - time.monotonic(), 0)) for event in ready):
        print(announce(settings.host, settings.port, generated, key_file=generated_key_file(settings),
                       key_configured=key_configured), flush=True)
        print(f"({workers} worker processes)", flush=True)
    while any(process.is_alive() for process in processes):
        for process in processes:
            process.join(timeout=0.2)
            if not stopping and process.exitcode not in (None, 0):
                log.error("worker %s stopped (exit code %s); stopping the others", process.name, process.exitcode)
                stop(signal.SIGTERM, None)
    # a worker stopped by our SIGTERM before it could handle signals ends by that signal: fine
    clean = (0, -signal.SIGTERM) if stopping else (0,)
    return 0 if all(process.exitcode in clean for process in processes) else 1

