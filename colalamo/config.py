"""Settings: one place, used by the library, the server and the CLI.

Precedence, highest first: explicit overrides (CLI flags, keyword arguments) > the process
environment > a `.env` file in the working directory > the defaults below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values
from platformdirs import user_config_path

from .exceptions import ConfigError

__all__ = ["Settings", "load_settings", "SETTINGS_HELP"]

LEGACY_TOKEN_FILE = ".copilot-token"  # where the original colalamo kept the GitHub token
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def default_token_file(cwd: Path | None = None) -> Path:
    legacy = (cwd or Path.cwd()) / LEGACY_TOKEN_FILE
    if legacy.exists():
        return legacy
    return user_config_path("colalamo", appauthor=False) / "github-token"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4242
    model: str = "gpt-4.1"
    github_token: str | None = field(default=None, repr=False)
    token_file: Path = field(default_factory=default_token_file)
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    copilot_api_url: str | None = None
    log_level: str = "info"
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    stream_keepalive: float = 15.0

    def __post_init__(self) -> None:
        _check_port(self.port)
        for name in ("github_url", "github_api_url", "copilot_api_url"):
            value = getattr(self, name)
            if value is not None:
                _check_url(_env_name(name), value)
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"COLALAMO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        for name in ("connect_timeout", "read_timeout", "stream_keepalive"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_env_name(name)} must be a positive number of seconds")

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


# name -> (default shown to users, one-line meaning); `.env.example` and the README mirror it.
SETTINGS_HELP: dict[str, tuple[str, str]] = {
    "COLALAMO_HOST": ("127.0.0.1", "address the server listens on"),
    "COLALAMO_PORT": ("4242", "port the server listens on"),
    "COLALAMO_MODEL": ("gpt-4.1", "model used when a request names none"),
    "COLALAMO_GITHUB_TOKEN": ("(unset)", "a GitHub OAuth token (gho_...); skips login"),
    "COLALAMO_TOKEN_FILE": (
        "./.copilot-token if it exists, else <config dir>/colalamo/github-token",
        "where `colalamo login` stores the GitHub token",
    ),
    "COLALAMO_GITHUB_URL": ("https://github.com", "GitHub, for the device-flow login"),
    "COLALAMO_GITHUB_API_URL": ("https://api.github.com", "GitHub API, for the Copilot token"),
    "COLALAMO_COPILOT_API_URL": ("(unset)", "Copilot API base; unset = the token's endpoints.api"),
    "COLALAMO_LOG_LEVEL": ("info", "debug, info, warning, error or critical"),
    "COLALAMO_CONNECT_TIMEOUT": ("10", "seconds to connect to GitHub or Copilot"),
    "COLALAMO_READ_TIMEOUT": ("300", "seconds to wait for the next byte from Copilot"),
    "COLALAMO_STREAM_KEEPALIVE": ("15", "seconds of silence in a stream before a keep-alive is sent"),
}


def _env_name(field_name: str) -> str:
    return "COLALAMO_" + field_name.upper()


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise ConfigError(f"COLALAMO_PORT must be between 0 and 65535, not {port}")


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as https://example.com, not {value!r}")


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{_env_name(name)} must be a whole number, not {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{_env_name(name)} must be a number of seconds, not {raw!r}") from None
    if name.endswith("_url"):
        return raw.rstrip("/")
    if kind is Path:
        return Path(raw).expanduser()
    if name == "log_level":
        return raw.lower()
    return raw


_KINDS: dict[str, type] = {
    "port": int,
    "connect_timeout": float,
    "read_timeout": float,
    "stream_keepalive": float,
    "token_file": Path,
}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Build `Settings` from overrides, the environment, `.env` and the defaults.

    `overrides` uses field names (`port=8080`); a value of None means "not given".
    `.env` is read, never loaded into `os.environ`: a library must not change its host's
    environment.
    """
    environ = os.environ if environ is None else environ
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    from_file = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    values: dict[str, Any] = {}
    for f in fields(Settings):
        env = _env_name(f.name)
        raw = environ.get(env, from_file.get(env))
        if raw is not None and raw != "":
            values[f.name] = _parse(f.name, raw, _KINDS.get(f.name, str))
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    return Settings(**values)
