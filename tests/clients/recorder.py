"""A recording pass-through in front of colalamo: what a real client sends, byte for byte.

The fake records what colalamo sends upstream (translated); this records what the client sent
to colalamo, before colalamo read it, and how colalamo answered (status, and the body when it
is not a stream). Each request is passed on unchanged and the answer streamed back unchanged,
so the client sees colalamo exactly as it would without it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from colalamo._loop_thread import LoopThread

#: Headers that hold secrets; a saved capture keeps only that they were there.
SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization"}
#: Hop-by-hop and framing headers aiohttp sets itself on the way through.
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}


@dataclass
class Exchange:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    #: The answer's body when it is not a stream (an error's message), else None.
    response: Any = None

    @property
    def path(self) -> str:
        return self.path_qs.split("?", 1)[0]

    def masked(self) -> dict[str, Any]:
        """This request as a fixture: secrets masked, the body as the client sent it."""
        headers = {k: ("<masked>" if k.lower() in SECRET_HEADERS else v) for k, v in self.headers.items()}
        return {
            "method": self.method,
            "path": self.path_qs,
            "headers": headers,
            "body": self.body,
            "colalamo_status": self.status,
            "colalamo_answer": self.response,
        }


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class Recorder:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.exchanges: list[Exchange] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def posts(self, path_part: str = "") -> list[Exchange]:
        """The POSTs whose path contains `path_part`, in order."""
        return [e for e in self.exchanges if e.method == "POST" and path_part in e.path]

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        raw = await request.read()
        exchange = Exchange(request.method, request.path_qs, dict(request.headers), _decode(raw))
        self.exchanges.append(exchange)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._session.request(
            request.method, self.target + request.path_qs, headers=headers, data=raw or None,
            allow_redirects=False, auto_decompress=True,
        ) as upstream:
            exchange.status = upstream.status
            exchange.response_headers = dict(upstream.headers)
            answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_HEADERS:
                    answer.headers[name] = value
            if "text/event-stream" not in upstream.headers.get("Content-Type", ""):
                body = await upstream.read()
                exchange.response = _decode(body)
                answer.content_length = len(body)
                await answer.prepare(request)
                await answer.write(body)
                return answer
            await answer.prepare(request)
            async for chunk in upstream.content.iter_any():
                await answer.write(chunk)
            await answer.write_eof()
            return answer

    async def start(self) -> str:
        # no timeout of its own: the tests' subprocess timeouts bound every exchange
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None), trust_env=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()


@contextmanager
def recording(target: str) -> Iterator[Recorder]:
    """A `Recorder` in front of `target` on a free loopback port until the block ends."""
    loop = LoopThread("clients-recorder")
    recorder = Recorder(target)
    try:
        loop.run(recorder.start())
        yield recorder
    finally:
        loop.run(recorder.stop())
        loop.stop()


def save_capture(exchange: Exchange, name: str, directory: Path) -> Path:
    """Write one request as a JSON fixture `<directory>/<name>.json`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(exchange.masked(), indent=2, sort_keys=False) + "\n")
    return path
