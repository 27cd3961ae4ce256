"""Random ids for requests and sessions: unique, not secret, so no system call per request."""

from __future__ import annotations

import random

_random = random.Random()  # ids need to be unique, not secret: no syscall per request


_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # the version nibble and the RFC 4122 variant bits
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))


def fast_uuid4_hex() -> str:
    """A random (version 4) UUID as 32 hex digits, without uuid.UUID's checks."""
    return "%032x" % (_random.getrandbits(128) & _VERSION_MASK | _VERSION_4)


def fast_uuid4() -> str:
    hexed = fast_uuid4_hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
