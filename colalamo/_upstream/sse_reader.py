"""Reading server-sent events from an upstream response body.

aiohttp has no SSE client, and its line reader caps a line at 128 KiB, which an event holding
a base64 image can exceed; so events are cut from raw chunks here, with a bound of our own.
Events come in batches, one per network read, so that whoever relays them can write a
whole batch at once instead of one small write per event.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator

#: An event larger than this is refused. It bounds all that is held of one event, its data
#: lines so far and the line not yet ended: an endless line, or data lines never followed by
#: a blank one, end here too.
MAX_EVENT_BYTES = 32 * 1024 * 1024


class SSEFormatError(ValueError):
    """The byte stream is not a valid event stream."""


#: An event: its data and its name ("message" unless an `event:` line named it). A plain
#: tuple: one is made per event of every stream, and a NamedTuple's Python __new__ costs
#: several times the tuple.
SSEEvent = tuple[str, str]


class SSEParser:
    """Cuts events from chunks. Each chunk is searched for line ends once; a line spanning
    several chunks is kept as the pieces it came in, decoded as they come (an incremental
    decoder keeps a character cut between two reads whole) and joined once when it ends. So an
    event of n bytes costs O(n), whatever the size of the reads: no buffer is re-scanned or
    re-copied per read, and a long data line is copied once, into its `str`."""

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._limit = max_event_bytes
        self._pieces: list[str] = []  # the line not yet ended, decoded
        self._pending = 0  # its bytes
        self._decoder: codecs.IncrementalDecoder | None = None  # made for the first line cut by a read
        self.data: list[str] = []
        self.held = 0  # bytes of the event under way: its data lines (the partial line aside)
        self.event = "message"

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._pieces or self.data or b"\r" in chunk:
            return self._lines(chunk)
        # The usual read: whole events of one `data: ` line each (chat), or of an `event: `
        # line and a `data: ` line (Anthropic, Responses), LF line ends. It is cut at its
        # blank lines and such an event taken at once (a third of the work of reading it line
        # by line); anything else is read line by line, as it would have been.
        *blocks, rest = chunk.split(b"\n\n")
        events: list[SSEEvent] = []
        for block in blocks:
            if block.startswith(b"data: ") and b"\n" not in block:
                name, data = self.event, block[6:]
            elif block.startswith(b"event: ") and block.count(b"\n") == 1 and b"\ndata: " in block:
                line, data = block.split(b"\n")
                name, data = line[7:].decode("utf-8", errors="replace"), data[6:]
            else:
                events += self._lines(block + b"\n\n")
                continue
            value = data.decode("utf-8", errors="replace")
            if len(value) >= self._limit:  # what `_data` holds of it: its length and a line end
                raise self._too_large()
            events.append((value, name))
            self.event = "message"
        if rest:
            events += self._lines(rest)
        return events

    def _lines(self, chunk: bytes) -> list[SSEEvent]:
        # `in` finds a byte with memchr; split() walks the chunk byte by byte
        *lines, rest = chunk.split(b"\n") if b"\n" in chunk else (chunk,)
        events: list[SSEEvent] = []
        if lines and self._pieces:  # the end of the line the last reads began
            self._whole_line(lines[0], events)
            lines = lines[1:]
        for raw in lines:
            raw = raw.rstrip(b"\r")
            if not raw:  # the end of an event (one without data is none, but ends its name)
                if self.data:
                    events.append(("\n".join(self.data), self.event))
                self.data, self.event, self.held = [], "message", 0
            elif raw.startswith(b"data: "):  # the usual line, read without the general case
                self._data(raw[6:].decode("utf-8", errors="replace"))
            else:
                self._line(raw.decode("utf-8", errors="replace"), events)
        if rest:
            decoder = self._decoder or self._new_decoder()
            self._pieces.append(decoder.decode(rest))
            self._pending += len(rest)
        if self.held + self._pending > self._limit:
            raise self._too_large()
        return events

    def _whole_line(self, last: bytes, events: list[SSEEvent]) -> None:
        pieces = self._pieces
        pieces.append((self._decoder or self._new_decoder()).decode(last, final=True))
        self._pieces, self._pending = [], 0
        while pieces and (not pieces[-1] or pieces[-1].endswith("\r")):  # CRLF, maybe cut between reads
            pieces[-1] = pieces[-1].rstrip("\r")
            if not pieces[-1]:
                pieces.pop()
        first = pieces[0] if pieces else ""
        colon = first.find(":")
        if colon == 0:  # a comment: never joined, however long
            return
        if colon < 0 or first[:colon] != "data":  # rare or short: parse it as any line
            self._line("".join(pieces), events)
            return
        pieces[0] = first[colon + 1 :]
        for at, piece in enumerate(pieces):  # one space after the colon is no part of the value
            if piece:
                pieces[at] = piece.removeprefix(" ")
                break
        self._data("".join(pieces))  # the one copy of a long data line

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self.data:
                events.append(("\n".join(self.data), self.event))
            self.data, self.event, self.held = [], "message", 0
        elif not line.startswith(":"):  # comments are skipped, as are id: and retry:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                self._data(value)
            elif name == "event":
                self.event = value

    def _new_decoder(self) -> codecs.IncrementalDecoder:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return self._decoder

    def _data(self, value: str) -> None:
        self.data.append(value)
        self.held += len(value) + 1
        if self.held > self._limit:
            raise self._too_large()

    def _too_large(self) -> SSEFormatError:
        return SSEFormatError(f"an upstream event is larger than {_size(self._limit)}")

    def close(self) -> list[SSEEvent]:
        # A stream may end without the blank line after its last event.
        tail = "".join(self._pieces) + (self._decoder.decode(b"", final=True) if self._decoder else "")
        tail = tail.rstrip("\r")
        if tail.startswith("data:"):
            self.data.append(tail[5:].removeprefix(" "))
        return [("\n".join(self.data), self.event)] if self.data else []




def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


async def iter_sse_batches(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[SSEEvent]]:
    """Yield the events of an SSE byte stream, a list per chunk read (never an empty one)."""
    parser = SSEParser()
    async for chunk in chunks:
        events = parser.feed(chunk)
        if events:
            yield events
    events = parser.close()
    if events:
        yield events

