"""A colalamo for a client to talk to: the one already serving on the configured host and
port, else one started in this process for as long as the client runs.

In this process (a server on a background thread, not a child process) because then nothing
can outlive the launcher: however it ends, its server ends with it.
"""

from __future__ import annotations

import errno
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from ..._loop_thread import LoopThread
from ...config import Settings
from ...exceptions import ColalamoError

PROBE_TIMEOUT = 3.0
#: The first `/v1/models` of a fresh server fetches Copilot's catalogue.
MODELS_TIMEOUT = 60.0

Found = Literal["colalamo", "other", "nothing"]


class LaunchError(ColalamoError):
    """The client cannot be started: the port is taken, the key is wrong, and the like."""


class KeyRefused(LaunchError):
    """The colalamo found wants an API key the settings do not hold."""


@dataclass(frozen=True)
class Endpoint:
    url: str  # http://127.0.0.1:4242, no trailing slash
    api_key: str | None = field(repr=False)  # what clients must send; None: colalamo wants none
    started: bool  # True: started for this client (and stopped after it)


def base_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server listening on host:port at."""
    reachable = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{reachable}]:{port}" if ":" in reachable else f"http://{reachable}:{port}"


def configured_key(settings: Settings) -> str | None:
    return settings.api_keys[0] if settings.api_keys else None


def _open(request: urllib.request.Request, timeout: float) -> Any:
    # no proxy: colalamo is on this machine, and a developer's HTTP_PROXY must not see its key
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(request, timeout=timeout)


def probe(url: str, timeout: float = PROBE_TIMEOUT) -> Found:
    """Who answers at url: colalamo (its `GET /` names it), something else, or nothing."""
    try:
        with _open(urllib.request.Request(url + "/"), timeout) as response:
            body = json.loads(response.read(65536))
    except urllib.error.HTTPError:
        return "other"
    except urllib.error.URLError as exc:
        refused = isinstance(exc.reason, ConnectionRefusedError)
        return "nothing" if refused else "other"
    except ConnectionRefusedError:
        return "nothing"
    except (OSError, ValueError):  # not HTTP, not JSON, or no answer in time
        return "other"
    return "colalamo" if isinstance(body, dict) and body.get("name") == "colalamo" else "other"


def fetch_models(endpoint: Endpoint, timeout: float = MODELS_TIMEOUT) -> list[dict[str, Any]]:
    """The catalogue (`GET /v1/models`); LaunchError when it cannot be had."""
    request = urllib.request.Request(endpoint.url + "/v1/models")
    if endpoint.api_key:
        request.add_header("Authorization", f"Bearer {endpoint.api_key}")
    try:
        with _open(request, timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise KeyRefused(
                f"the colalamo at {endpoint.url} wants an API key: set COLALAMO_API_KEY to one of its keys"
            ) from None
        raise LaunchError(f"the colalamo at {endpoint.url} answered {exc.code} to GET /v1/models") from None
    except (OSError, ValueError) as exc:
        raise LaunchError(f"could not list the models of the colalamo at {endpoint.url}: {exc}") from None
    data = body.get("data") if isinstance(body, dict) else None
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def port_taken(settings: Settings) -> LaunchError:
    return LaunchError(
        f"{settings.host}:{settings.port} is taken by something that is not colalamo: "
        "choose another port with --port or COLALAMO_PORT"
    )


@contextmanager
def colalamo_for_client(settings: Settings) -> Iterator[Endpoint]:
    """The colalamo serving on the configured host and port, or one started for the block."""
    if settings.port != 0:  # port 0: always a new server, on a free port
        url = base_url(settings.host, settings.port)
        found = probe(url)
        if found == "colalamo":
            yield Endpoint(url, configured_key(settings), started=False)
            return
        if found == "other":
            raise port_taken(settings)
    with background_server(settings) as endpoint:
        yield endpoint


@contextmanager
def background_server(settings: Settings) -> Iterator[Endpoint]:
    """colalamo on a background thread of this process, stopped when the block ends.
    Starting it logs in first when no GitHub token is stored (the device flow, as `serve`)."""
    from ..._server import create_app, start_server  # imported when run: `colalamo --help` stays quick
    from ..._server.runner import with_access_key

    settings, generated = with_access_key(settings)  # 0.0.0.0 without a key: one for this run
    loop = LoopThread("colalamo-server")
    try:
        try:
            runner, port = loop.run(start_server(create_app(settings), settings.host, settings.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise port_taken(settings) from None
            raise LaunchError(f"could not serve on {settings.host}:{settings.port}: {exc.strerror or exc}") from None
        try:
            yield Endpoint(base_url(settings.host, port), generated or configured_key(settings), started=True)
        finally:
            loop.run(runner.cleanup())
    finally:
        loop.stop()
