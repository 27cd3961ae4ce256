"""The API key colalamo makes when it listens beyond this machine with none configured. It is
kept beside the GitHub token and reused, so clients (and a container's users) keep working
across restarts."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .._files import write_atomically
from ..config import Settings
from .access import new_api_key

log = logging.getLogger(__name__)

API_KEY_FILE = "api-key"
KEY_SHAPE = re.compile(r"clm-[A-Za-z0-9_-]{16,}")


def generated_key_file(settings: Settings) -> Path:
    return settings.token_file.parent / API_KEY_FILE


def kept_api_key(path: Path) -> tuple[str, bool]:
    """The key kept in `path`, made and stored (atomically, mode 0600) when there is none;
    and whether it is kept. Blocking file I/O: call it in a thread. Never fails: a key that
    cannot be stored serves this run only, with a warning."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        log.warning("cannot read the API key kept in %s (%s); making a new one", path, exc.strerror or exc)
        text = ""
    if KEY_SHAPE.fullmatch(text):
        return text, True
    key = new_api_key()
    try:
        write_atomically(path, key + "\n")
    except OSError as exc:
        log.warning("cannot keep the generated API key in %s (%s); it serves this run only", path, exc.strerror or exc)
        return key, False
    return key, True
