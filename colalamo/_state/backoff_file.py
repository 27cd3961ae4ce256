"""The account-wide back-off shared by the processes of one machine (`--workers`): a 429 one
of them sees holds all of them back at once.

Each process keeps its own `AccountBackoff`, the one that decides; a pause it opens is
published in a small memory-mapped file in the data directory (the end of the pause as
wall-clock epoch seconds, and how many 429s in a row), and a pause another published is
applied to it. `check()` stays a memory read: a sequence number compared with the last one
seen, no system call, no I/O. Writers take a file lock; readers use the sequence number as a
seqlock (an odd or changing number: a write under way, read it next time).
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from .._upstream.guard import AccountBackoff

try:
    import fcntl
except ImportError:  # Windows: no --workers there (SO_REUSEPORT) either
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

BACKOFF_FILE = "colalamo-backoff"
LAYOUT = struct.Struct("<Qdq")  # sequence, pause end (epoch seconds), 429s in a row
SEQUENCE = struct.Struct("<Q")


class SharedBackoff:
    def __init__(self, local: AccountBackoff, path: Path) -> None:
        self.local = local
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.chmod(path, 0o600)
            if os.fstat(fd).st_size < LAYOUT.size:
                os.ftruncate(fd, LAYOUT.size)  # zeros: no pause
            self._map = mmap.mmap(fd, LAYOUT.size)
        finally:
            os.close(fd)
        self._lock_fd = os.open(path, os.O_RDWR)
        self._sequence = partial(SEQUENCE.unpack_from, self._map)  # bound once: check() runs per request
        self._seen = -1
        self._absorb()  # a pause still running when this process started holds it back too

    @property
    def consecutive(self) -> int:
        return self.local.consecutive

    @property
    def wall_until(self) -> float:
        """The end of this process's pause (or of its last one), wall clock (for Redis)."""
        return self.local.wall_until

    def now(self) -> float:
        return self.local.now()

    def check(self) -> None:
        if self._sequence()[0] != self._seen:
            self._absorb()
        self.local.check()

    def rate_limited(self, headers: Mapping[str, str], *, sent_at: float) -> float:
        before = self.local.consecutive
        pause = self.local.rate_limited(headers, sent_at=sent_at)
        if self.local.consecutive != before:  # it opened a pause: the others hold back too
            self._publish(self.local.wall_until, self.local.consecutive)
        return pause

    def succeeded(self) -> None:
        if self.local.consecutive:  # rare (the first success after 429s): the others start afresh too
            self.local.succeeded()
            self._publish(self.local.wall_until, 0)

    def adopt_streak(self, consecutive: int) -> None:
        """The 429s in a row another replica counted: here, and for the other workers."""
        if consecutive != self.local.consecutive:
            self.local.adopt_streak(consecutive)
            self._publish(self.local.wall_until, consecutive)

    def hold_until(self, wall_until: float) -> None:
        """A pause from elsewhere (another replica): held here, and by the other workers."""
        self.local.hold_until(wall_until)
        self._publish(wall_until, self.local.consecutive)

    def close(self) -> None:
        self._map.close()
        os.close(self._lock_fd)

    def _absorb(self) -> None:
        sequence, until, consecutive = LAYOUT.unpack_from(self._map)
        if sequence % 2 or SEQUENCE.unpack_from(self._map)[0] != sequence:
            return  # a write under way: the next check reads it
        self._seen = sequence
        self.local.hold_until(until)
        self.local.adopt_streak(consecutive)

    def _publish(self, wall_until: float, consecutive: int) -> None:
        if fcntl is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            sequence, until, known = LAYOUT.unpack_from(self._map)
            if wall_until <= until and consecutive == known:
                return  # nothing the others do not know already
            SEQUENCE.pack_into(self._map, 0, sequence + 1)  # odd: readers wait for the end of the write
            LAYOUT.pack_into(self._map, 0, sequence + 1, max(wall_until, until), consecutive)
            SEQUENCE.pack_into(self._map, 0, sequence + 2)
            self._seen = sequence + 2
        finally:
            if fcntl is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
