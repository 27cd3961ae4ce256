"""The upstream SSE reader: the same events however the bytes are cut into reads, and linear
time in the size of an event (a 16 MiB event in 16 KiB reads must not re-scan its buffer on
every read: that was 5 s of event-loop CPU)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import pytest

from colalamo._upstream.sse_reader import (
    MAX_EVENT_BYTES,
    SSEFormatError,
    SSEParser,
    iter_sse_batches,
)

STREAM = (
    ": a comment first\r\n"
    "event: message_start\r\n"
    'data: {"type": "message_start", "text": "h\u00e9llo \u2014 \U0001f600"}\r\n'
    "\r\n"
    "data:no space after the colon\n"
    "data: a second data line\n"
    "id: 7\n"
    "retry: 100\n"
    "\n"
    "event: unused\n"
    "\n"
    "event: ping\n"
    "data: " + "\u00e9" * 5000 + "\n"
    "\n"
    "event: named, with no data\n"
    "\n"
    "data: [DONE]\n"
    "\n"
    "data: the last event, with no blank line after it"
).encode()


def ev(data: str, event: str = "message") -> tuple[str, str]:
    """An event as the parser gives it: its data, and its name."""
    return (data, event)


EXPECTED = [
    ev('{"type": "message_start", "text": "h\u00e9llo \u2014 \U0001f600"}', "message_start"),
    ev("no space after the colon\na second data line"),
    ev("\u00e9" * 5000, "ping"),
    ev("[DONE]"),
    ev("the last event, with no blank line after it"),
]


def parse(chunks: list[bytes], parser: SSEParser | None = None) -> list[tuple[str, str]]:
    parser = parser or SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def cut(data: bytes, sizes: random.Random) -> list[bytes]:
    chunks, at = [], 0
    while at < len(data):
        step = sizes.choice((1, 2, 3, 7, 64, 1000, 4096))
        chunks.append(data[at : at + step])
        at += step
    return chunks


def test_the_same_events_however_the_reads_cut_the_bytes() -> None:
    # every cut: inside a field name, between \r and \n, inside a UTF-8 character
    assert parse([STREAM]) == EXPECTED
    assert parse([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED
    for seed in range(200):
        assert parse(cut(STREAM, random.Random(seed))) == EXPECTED, seed


def test_the_same_events_from_lf_only_reads() -> None:
    # reads with no CR and nothing pending take a shorter way: whole `data: ` events at once
    stream = STREAM.replace(b"\r\n", b"\n")
    assert parse([stream]) == EXPECTED
    assert parse([stream[i : i + 1] for i in range(len(stream))]) == EXPECTED
    for seed in range(200):
        assert parse(cut(stream, random.Random(seed))) == EXPECTED, seed
    usual = b"".join(b'data: {"n": %d}\n\n' % n for n in range(5)) + b"data: [DONE]\n\n\n\n"
    assert parse([usual]) == [ev(f'{{"n": {n}}}') for n in range(5)] + [ev("[DONE]")]
    assert parse([b"event: a\n", b"data: 1\n\ndata: 2\n\n"]) == [ev("1", "a"), ev("2")]
    named = b"event: message_start\ndata: {}\n\nevent:  ping\ndata:  {}\n\nevent: two\ndata: 1\ndata: 2\n\n"
    assert parse([named]) == [ev("{}", "message_start"), ev(" {}", " ping"), ev("1\n2", "two")]


def test_a_long_line_cut_anywhere_keeps_every_byte() -> None:
    value = "".join(random.Random(1).choice("ab\u00e9\u20ac\U0001f600:") for _ in range(50_000))
    data = f"event: big\ndata: {value}\r\n\r\n".encode()
    for seed in range(20):
        assert parse(cut(data, random.Random(seed))) == [ev(value, "big")]


def test_a_long_comment_is_skipped() -> None:
    data = b": " + b"x" * 100_000 + b"\n" + b"data: after\n\n"
    assert parse(cut(data, random.Random(3))) == [ev("after")]


def test_an_event_past_the_bound_is_refused_while_it_arrives() -> None:
    parser = SSEParser(max_event_bytes=1000)
    with pytest.raises(SSEFormatError):
        parse([b"data: " + b"x" * 600 + b"\n", b"data: " + b"y" * 300, b"z" * 300], parser)
    with pytest.raises(SSEFormatError):  # one endless line, never ended
        parse([b"data: " + b"x" * 400] * 4, SSEParser(max_event_bytes=1000))
    with pytest.raises(SSEFormatError):  # one whole event in one read
        parse([b"data: " + b"x" * 1000 + b"\n\n"], SSEParser(max_event_bytes=1000))
    assert parse([b"data: " + b"x" * 999 + b"\n\n"], SSEParser(max_event_bytes=1000)) == [ev("x" * 999)]


def big_event_seconds(size: int, read: int = 16 * 1024) -> float:
    """CPU seconds (of this thread: other processes do not count) to parse one data event of
    `size` bytes arriving in `read`-byte reads; the best of three."""
    event = b"data: " + b"x" * (size - 8) + b"\n\n"
    chunks = [event[at : at + read] for at in range(0, len(event), read)]
    best = float("inf")
    for _ in range(3):
        parser = SSEParser()
        started = time.thread_time()
        events = [e for chunk in chunks for e in parser.feed(chunk)]
        best = min(best, time.thread_time() - started)
        assert len(events) == 1 and len(events[0][0]) == size - 8
    return best


def test_a_16_mib_event_in_16_kib_reads_parses_in_linear_time() -> None:
    big, small = big_event_seconds(16 * 1024 * 1024), big_event_seconds(2 * 1024 * 1024)
    # a generous bound: linear takes ~20-50 ms here (the bench prints the figure); the
    # quadratic reader took ~5 s
    assert big < 2.0, f"{big:.2f} s"
    # eight times the bytes: linear is ~8 times the time, quadratic ~64 times
    assert big < 24 * max(small, 1e-4), f"2 MiB {small * 1000:.1f} ms, 16 MiB {big * 1000:.1f} ms"


def test_batches_come_a_list_per_read() -> None:
    async def reads() -> AsyncIterator[bytes]:
        for chunk in (b"data: 1\n\ndata: 2\n\n", b": only a comment\n", b"data: 3\n", b"\n"):
            yield chunk

    async def main() -> list[list[str]]:
        return [[data for data, _ in batch] async for batch in iter_sse_batches(reads())]

    assert asyncio.run(main()) == [["1", "2"], ["3"]]
    assert MAX_EVENT_BYTES >= 16 * 1024 * 1024  # the bench's 16 MiB event is allowed
