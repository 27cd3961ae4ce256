"""Connecting an `aiohttp.ClientSession` straight to an aiohttp app, with no socket and no
thread: the requests and answers go through memory on the running event loop. The fake uses
it (`FakeCopilot.in_memory()`), as httpx's MockTransport serves a test without a network."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

PEER = ("127.0.0.1", 0)  # what the app sees as the client's address


class _Pipe(asyncio.Transport):
    """One end of an in-memory connection: what its owner writes reaches the peer's protocol
    on the next turn of the loop, as bytes from a socket would."""

    def __init__(self, loop: asyncio.AbstractEventLoop, peer: asyncio.Protocol) -> None:
        super().__init__()
        self._loop = loop
        self._peer = peer
        self._protocol: asyncio.BaseProtocol | None = None
        self.other: _Pipe | None = None
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return PEER if name in ("peername", "sockname") else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if data and not self._closing:
            self._loop.call_soon(self._peer.data_received, bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def close(self) -> None:
        """Closing either end closes the connection: both protocols hear of it."""
        if self._closing:
            return
        self._closing = True
        self._loop.call_soon(self._peer.connection_lost, None)
        if self.other is not None:
            self.other.close()

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self._closing

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0  # written at once: never a reason to wait for a drain

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return not self._closing

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol


class AppConnector(aiohttp.BaseConnector):
    """A connector whose every connection is an in-memory pair with a fresh server protocol
    from `server` (an aiohttp `web.Server`, e.g. `AppRunner.server`), whatever the URL's host.

    It implements `_create_connection`, the one method aiohttp's own connectors implement."""

    def __init__(self, server: Callable[[], asyncio.Protocol], **options: Any) -> None:
        super().__init__(**options)
        self._server = server

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> ResponseHandler:
        loop = asyncio.get_running_loop()
        client, server = ResponseHandler(loop), self._server()
        to_server, to_client = _Pipe(loop, server), _Pipe(loop, client)
        to_server.other, to_client.other = to_client, to_server
        to_server.set_protocol(client)
        to_client.set_protocol(server)
        server.connection_made(to_client)
        client.connection_made(to_server)
        return client
