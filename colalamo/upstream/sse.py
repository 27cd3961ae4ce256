"""Reading server-sent events from an upstream response body.

aiohttp has no SSE client, and its line reader caps a line at 128 KiB, which an event holding
a base64 image can exceed; so events are cut from raw chunks here, with a bound of our own.
Events come in batches, one per network read, so that whoever relays them can write a
whole batch at once instead of one small write per event.
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


class _Parser:
    def __init__(self) -> None:
        self.buffer = b""
        self.data: list[str] = []
        self.event = "message"

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self.buffer += chunk
        if len(self.buffer) > MAX_EVENT_BYTES:
            raise SSEFormatError("an upstream event is larger than 32 MiB")
        *lines, self.buffer = self.buffer.split(b"\n")
        events = []
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if not line:
                if self.data:
                    events.append(SSEEvent("\n".join(self.data), self.event))
                self.data, self.event = [], "message"
            elif not line.startswith(":"):  # comments are skipped, as are id: and retry:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    self.data.append(value)
                elif name == "event":
                    self.event = value
        return events

    def close(self) -> list[SSEEvent]:
        # A stream may end without the blank line after its last event.
        tail = self.buffer.rstrip(b"\r").decode("utf-8", errors="replace")
        if tail.startswith("data:"):
            self.data.append(tail[5:].removeprefix(" "))
        return [SSEEvent("\n".join(self.data), self.event)] if self.data else []


async def iter_sse_batches(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[SSEEvent]]:
    """Yield the events of an SSE byte stream, a list per chunk read (never an empty one)."""
    parser = _Parser()
    async for chunk in chunks:
        events = parser.feed(chunk)
        if events:
            yield events
    events = parser.close()
    if events:
        yield events

