"""Writing small files so that a crash never leaves half of one: write aside, fsync, rename."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


TEMPORARY_SUFFIX = ".tmp"


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace `path` with `text`; readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(path), suffix=TEMPORARY_SUFFIX)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600 already; other modes need this
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sys.platform != "win32":
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def remove_orphans(path: Path, older_than: float = 60.0) -> int:
    """Remove the temporary copies of `path` a killed writer left (they may hold a token);
    only those older than `older_than` seconds, so a write under way in another process
    (a sibling worker) is left alone. Returns how many were removed."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        candidates = list(path.parent.glob(_temporary_prefix(path) + "*" + TEMPORARY_SUFFIX))
    except OSError:
        return 0
    for candidate in candidates:
        try:
            if candidate.is_file() and candidate.stat().st_mtime <= cutoff:
                candidate.unlink()
                removed += 1
        except OSError:  # gone already, or not ours to remove: nothing to clean
            continue
    return removed
