"""colalamo's SQLite database: the request ledger, the day's spending, stored responses.

One file in the data directory (COLALAMO_DATA_DIR), in WAL mode, so the `--workers`
processes of one machine share it (readers never wait for the writer; SQLite's locking
serialises the writers). Mode 0600: SQLite gives its `-wal` and `-shm` files the database's
own permissions.

Every access runs on one thread of its own that holds the connection (the stdlib `sqlite3`
module and a single-thread executor, not a dependency: an asyncio SQLite library would do
exactly this, and colalamo's writes are few and batched). Nothing here runs on the event
loop: what a request leaves behind is queued (`enqueue`), and written by a background task
in one transaction per batch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], None]

DATABASE_FILE = "colalamo.db"
BATCH_DELAY = 0.2  # seconds queued writes wait to be written together (a crash loses at most these)
BUSY_TIMEOUT_MS = 5000  # how long a writer waits for another process's transaction
WRITE_ATTEMPTS = 3  # a batch that meets a locked database is tried again this often

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    at REAL NOT NULL,
    day TEXT NOT NULL,
    key_id TEXT NOT NULL,
    client TEXT NOT NULL,
    surface TEXT NOT NULL,
    model_asked TEXT,
    model_used TEXT,
    endpoint TEXT,
    initiator TEXT,
    interaction TEXT,
    status INTEGER NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    credits REAL NOT NULL,
    premium REAL NOT NULL,
    latency_ms REAL,
    ttft_ms REAL
);
CREATE INDEX IF NOT EXISTS requests_by_time ON requests (at);
CREATE TABLE IF NOT EXISTS spend (
    day TEXT NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    credits REAL NOT NULL DEFAULT 0,
    premium REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, key_id, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    stored REAL NOT NULL,
    expires REAL NOT NULL,
    conversation BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_by_age ON responses (stored);
CREATE TABLE IF NOT EXISTS response_items (
    item_id TEXT PRIMARY KEY,
    response_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""


class Database:
    """The connection, its thread, and the queue of writes not yet made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colalamo-db")
        self._connection: sqlite3.Connection | None = None  # used on that thread only
        self._queued: list[Write] = []
        self.taken = 0  # how many batches the writer took from the queue (see history.py)
        self._timer: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path) -> Database:
        database = cls(path)
        try:
            await database.run(lambda _: None)  # connects, and creates the tables
        except BaseException:
            database._thread.shutdown(wait=False)
            raise
        return database

    # the thread -------------------------------------------------------------------------------

    def _connected(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = _connect(self.path)
        return self._connection

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the database's thread, in one transaction (committed if it returns)."""
        def transaction() -> T:
            connection = self._connected()
            with connection:
                return work(connection)
        return await asyncio.get_running_loop().run_in_executor(self._thread, transaction)

    # queued writes ------------------------------------------------------------------------------

    def enqueue(self, write: Write, *, at_once: bool = False) -> None:
        """Have `write` made in the background, with others in one transaction: within
        BATCH_DELAY, or as soon as the thread is free when `at_once`. Call it on the loop;
        it never waits."""
        self._queued.append(write)
        if at_once:
            self._start_writer()
        elif self._timer is None and (self._writer is None or self._writer.done()):
            self._timer = asyncio.get_running_loop().call_later(BATCH_DELAY, self._start_writer)

    def _start_writer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())
        # else: the running writer takes what is queued on its next turn

    async def _write_queued(self) -> None:
        attempts = 0
        while self._queued:
            batch, self._queued = self._queued, []
            self.taken += 1
            try:
                await self.run(functools.partial(_write_all, batch=batch))
                attempts = 0
            except sqlite3.OperationalError as exc:  # locked for longer than the busy timeout
                attempts += 1
                if attempts >= WRITE_ATTEMPTS:
                    log.warning("dropped %d queued write(s) to %s: %s", len(batch), self.path, exc)
                    attempts = 0
                    continue
                self._queued[:0] = batch
                await asyncio.sleep(BATCH_DELAY)
            except (sqlite3.Error, OSError, ValueError, RuntimeError) as exc:  # RuntimeError: closed
                log.warning("dropped %d queued write(s) to %s: %s", len(batch), self.path, exc)

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        while self._queued or (self._writer is not None and not self._writer.done()):
            self._start_writer()
            assert self._writer is not None
            await asyncio.shield(self._writer)

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            def disconnect() -> None:
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None
            await asyncio.get_running_loop().run_in_executor(self._thread, disconnect)
            self._thread.shutdown(wait=True)


def _write_all(connection: sqlite3.Connection, batch: list[Write]) -> None:
    for write in batch:
        write(connection)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before SQLite opens it: its -wal and -shm files take the same mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if hasattr(os, "chmod"):
        os.chmod(path, 0o600)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=True)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"{path} was written by a newer colalamo (schema {version})")
        if version < SCHEMA_VERSION:  # one process creates the tables; the others wait, then find them
            connection.executescript(f"BEGIN IMMEDIATE;{SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
        connection.isolation_level = "IMMEDIATE"  # `with connection:` transactions take the write lock first
    except BaseException:
        connection.close()
        raise
    return connection
