"""`Editor-Device-Id`: a uuid made once and kept in a file beside the GitHub token.

VS Code sends the same device id for as long as it is installed; a proxy whose device id
changed on every start would look like a new machine each time. The file is created
atomically (mode 0600) and never overwritten while it holds a valid id, so processes
starting together (`--workers`) all end up with the one id that won.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from pathlib import Path

from .._files import write_atomically
from .._upstream.headers import ClientIdentity
from ..config import Settings

log = logging.getLogger(__name__)

DEVICE_ID_FILE = "device-id"

_fallback_lock = threading.Lock()
_fallback_id: str | None = None  # one id per process when none can be kept on disk


def device_id_file(settings: Settings) -> Path:
    return settings.token_file.parent / DEVICE_ID_FILE


def load_device_id(path: Path) -> str:
    """The device id kept in `path`, made and stored on first use.

    Blocking file I/O: call it in a thread. It never fails: when the file can be neither read
    nor written, an id for this process only is used, with one warning.
    """
    try:
        return _read(path) or _create(path)
    except OSError as exc:
        return _fallback(path, exc)


async def load_identity(settings: Settings) -> ClientIdentity:
    """The client identity for these settings, with the kept device id (read in a thread)."""
    device_id = await asyncio.to_thread(load_device_id, device_id_file(settings))
    return ClientIdentity.from_settings(settings, device_id)


def _read(path: Path) -> str | None:
    """The id in the file; None when there is none or it does not hold a uuid."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        log.warning("%s does not hold a device id; making a new one", path)
        return None


def _create(path: Path) -> str:
    new_id = str(uuid.uuid4())
    # Written whole under a private name, then linked into place: a link never replaces an
    # existing file, so of two processes creating the id at once, the first one wins.
    staged = path.with_name(f".{path.name}.{new_id}")
    write_atomically(staged, new_id + "\n")
    try:
        os.link(staged, path)
    except FileExistsError:
        winner = _read(path)
        if winner is not None:
            return winner
        os.replace(staged, path)  # what is there holds no id: ours replaces it
    except OSError:  # a file system without hard links
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return new_id


def _fallback(path: Path, exc: OSError) -> str:
    global _fallback_id
    with _fallback_lock:
        if _fallback_id is None:
            _fallback_id = str(uuid.uuid4())
            log.warning(
                "cannot keep the device id in %s (%s); using one for this run only",
                path,
                exc.strerror or exc,
            )
        return _fallback_id
