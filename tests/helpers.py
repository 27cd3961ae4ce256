"""Small helpers shared by the tests."""

from __future__ import annotations

import json
import socket
from typing import Any

import aiohttp

USER_HELLO = [{"role": "user", "content": "hello there"}]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def post_raw(url: str, data: bytes | str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=data, headers=headers or {}) as response:
            text = await response.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = text
            return response.status, dict(response.headers), body


def sse_events(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
