"""Reading upstream answers with a bound, so a hostile or broken upstream cannot make
colalamo hold (or relay) an answer of any size.

aiohttp decompresses as it reads and stops reading the network while its buffer is full, so
reading in slices with a running total keeps a gzip bomb from ever being inflated whole.
"""

from __future__ import annotations

import aiohttp

MiB = 1024 * 1024
#: The largest whole answer colalamo takes from Copilot or GitHub, decompressed.
MAX_ANSWER_BYTES = 32 * MiB
#: How much of an error answer is read: enough for any real error message.
MAX_ERROR_BYTES = 64 * 1024
#: How much of an upstream error message is passed on to a client.
MAX_ERROR_CHARS = 4096
READ_SIZE = 64 * 1024


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the (decompressed) body, and whether there was more.

    Over the limit the rest is not read; the caller should close the response."""
    parts: list[bytes] = []
    total = 0
    while True:
        part = await response.content.read(READ_SIZE)
        if not part:
            return b"".join(parts), False
        if total + len(part) > limit:
            parts.append(part[: limit - total])
            return b"".join(parts), True
        parts.append(part)
        total += len(part)


def decoded(response: aiohttp.ClientResponse, body: bytes) -> str:
    try:
        return body.decode(response.charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def cut(text: str, limit: int = MAX_ERROR_CHARS, *, more: bool = False) -> str:
    """`text` cut to `limit` characters, saying so when it was (or the body was) longer."""
    if len(text) <= limit and not more:
        return text
    return f"{text[:limit]} [... cut by colalamo: the upstream message was longer]"
