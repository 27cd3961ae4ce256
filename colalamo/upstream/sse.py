"""Reading server-sent events from an upstream response body.

aiohttp has no SSE client, and its line reader caps a line at 128 KiB, which an event holding
a base64 image can exceed; so events are cut from raw chunks here, with a bound of our own.
Events come in batches, one per network read, so that whoever relays them can write a
whole batch at once instead of one small write per event.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

#: An event larger than this is refused. It bounds all that is held of one event, its data
#: lines so far and the line not yet ended: an endless line, or data lines never followed by
#: a blank one, end here too.
MAX_EVENT_BYTES = 32 * 1024 * 1024


class SSEFormatError(ValueError):
    """The byte stream is not a valid event stream."""


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"


class _Parser:
    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._limit = max_event_bytes
        self.partial = bytearray()  # the line not yet ended
        self.data: list[str] = []
        self.held = 0  # bytes of the event under way: its data lines and the partial line
        self.event = "message"

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        # Only the new chunk is searched for line ends, so a long line costs linear time.
        *lines, rest = chunk.split(b"\n")
        events: list[SSEEvent] = []
        for piece in lines:
            self.partial += piece
            raw, self.partial = bytes(self.partial), bytearray()
            self._line(raw.rstrip(b"\r").decode("utf-8", errors="replace"), events)
        self.partial += rest
        if self.held + len(self.partial) > self._limit:
            raise SSEFormatError(f"an upstream event is larger than {_size(self._limit)}")
        return events

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self.data:
                events.append(SSEEvent("\n".join(self.data), self.event))
            self.data, self.event, self.held = [], "message", 0
        elif not line.startswith(":"):  # comments are skipped, as are id: and retry:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                self.data.append(value)
                self.held += len(value) + 1
                if self.held > self._limit:
                    raise SSEFormatError(f"an upstream event is larger than {_size(self._limit)}")
            elif name == "event":
                self.event = value

    def close(self) -> list[SSEEvent]:
        # A stream may end without the blank line after its last event.
        tail = self.partial.rstrip(b"\r").decode("utf-8", errors="replace")
        if tail.startswith("data:"):
            self.data.append(tail[5:].removeprefix(" "))
        return [SSEEvent("\n".join(self.data), self.event)] if self.data else []


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


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

