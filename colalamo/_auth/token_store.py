"""Where the GitHub token comes from and where it is kept.

Order of search: `COLALAMO_GITHUB_TOKEN`, the token file, then the `oauth_token` that the
Copilot editor plugins keep in `apps.json` / `hosts.json`. Files are written atomically with
mode 0600, so a crash never leaves half a token and no other user can read it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .._files import write_atomically
from ..config import Settings
from ..exceptions import TokenFileError

log = logging.getLogger(__name__)

EDITOR_FILES = ("apps.json", "hosts.json")


@dataclass(frozen=True)
class GitHubToken:
    value: str
    #: Where it was found, for messages ("COLALAMO_GITHUB_TOKEN", a file path, ...).
    source: str

    def __repr__(self) -> str:  # never show the token itself
        return f"GitHubToken(source={self.source!r})"


def editor_config_dir() -> Path:
    """Where the Copilot editor plugins keep their tokens."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "github-copilot"


def _looks_like_token(text: str) -> bool:
    return bool(text) and text.isascii() and text.isprintable() and not any(c.isspace() for c in text)


def read_token_file(path: Path) -> str | None:
    """The token in `path`; None when the file does not exist or is empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TokenFileError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = None
    if text == "":
        log.warning("the token file %s is empty; ignoring it", path)
        return None
    if text is None or not _looks_like_token(text):
        raise TokenFileError(
            f"the token file {path} does not hold a GitHub token; "
            "delete it and run `colalamo login`"
        )
    return text


def _editor_plugin_token(github_url: str, config_dir: Path) -> GitHubToken | None:
    host = urlsplit(github_url).hostname or "github.com"
    for name in EDITOR_FILES:
        path = config_dir / name
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            continue
        if not isinstance(entries, dict):
            continue
        for key, entry in entries.items():
            # keys are "github.com" or "github.com:<client id>"
            if key.split(":", 1)[0] == host and isinstance(entry, dict):
                token = entry.get("oauth_token")
                if isinstance(token, str) and _looks_like_token(token):
                    return GitHubToken(token, str(path))
    return None


def find_github_token(settings: Settings, *, config_dir: Path | None = None) -> GitHubToken | None:
    """The GitHub token to use, or None when the user has to log in."""
    if settings.github_token:
        return GitHubToken(settings.github_token, "COLALAMO_GITHUB_TOKEN")
    stored = read_token_file(settings.token_file)
    if stored:
        return GitHubToken(stored, str(settings.token_file))
    return _editor_plugin_token(settings.github_url, config_dir or editor_config_dir())


def save_github_token(path: Path, token: str) -> None:
    """Write `token` to `path` atomically, readable by the owner only."""
    if not _looks_like_token(token):
        raise TokenFileError("refusing to store something that is not a token")
    write_atomically(path, token + "\n", mode=0o600)


def delete_github_token(path: Path) -> bool:
    """Remove the stored token; False when there was none."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
