"""Reading server-sent events from an upstream response body.

aiohttp has no SSE client, and its line reader caps a line at 128 KiB, which an event holding
a base64 image can exceed; so events are cut from raw chunks here, with a bound of our own.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

MAX_EVENT_BYTES = 32 * 1024 * 1024


class SSEFormatError(ValueError):
    """The byte stream is not a valid event stream."""


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"


async def iter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Yield the events of an SSE byte stream (comments and `id:`/`retry:` fields are skipped)."""
    buffer = b""
    data: list[str] = []
    event = "message"
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > MAX_EVENT_BYTES:
            raise SSEFormatError("an upstream event is larger than 32 MiB")
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if not line:
                if data:
                    yield SSEEvent("\n".join(data), event)
                data, event = [], "message"
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
    # A stream may end without the blank line after its last event.
    tail = buffer.rstrip(b"\r").decode("utf-8", errors="replace")
    if tail.startswith("data:"):
        data.append(tail[5:].removeprefix(" "))
    if data:
        yield SSEEvent("\n".join(data), event)
