"""Settings: one place, used by the library, the server and the CLI.

Precedence, highest first: explicit overrides (CLI flags, keyword arguments) > the process
environment > a `.env` file in the working directory > the defaults below.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
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
LOG_FORMATS = ("text", "json")
EVENT_LOOPS = ("auto", "uvloop", "asyncio")
GITHUB_API_URL = "https://api.github.com"
GHE_SUFFIX = ".ghe.com"  # GitHub Enterprise Cloud with data residency: <tenant>.ghe.com
# What Copilot checks to decide whether a client is too old to serve (it answers 466).
VERSION_SHAPE = re.compile(r"[A-Za-z][\w.-]*/\d+(\.\d+)+[\w.+-]*")


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
    github_api_url: str = ""  # empty: derived from github_url (see __post_init__)
    copilot_api_url: str | None = None
    # the client colalamo presents itself as; Copilot refuses versions it deems too old
    editor_version: str = "vscode/1.118.0"
    plugin_version: str = "copilot-chat/0.50.1"
    api_version: str = "2026-06-01"
    log_level: str = "info"
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    # GitHub (login, token exchange, usage) answers in a second: waiting minutes helps nobody
    github_timeout: float = 30.0
    token_wait: float = 5.0  # start-up and requests wait this long for a missing Copilot token
    stream_keepalive: float = 15.0
    # running it for real
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    no_auth: bool = False
    cors_origins: tuple[str, ...] = ()
    max_body_mb: float = 50.0
    ca_bundle: Path | None = None
    max_concurrency: int = 0
    max_queue: int = 100
    queue_timeout: float = 30.0
    shutdown_grace: float = 30.0
    idle_timeout: float = 10.0
    log_format: str = "text"
    log_bodies: bool = False
    # protecting the account
    rate_limit: int = 0
    rate_limit_mode: str = "wait"
    premium_budget: float | None = None
    credit_budget: float | None = None
    budget_fallback_model: str | None = None
    # Claude Code's start-up "Warmup" call: None picks a model the catalogue does not bill,
    # "" sends it to the model it names
    small_model: str | None = None
    # the status page at `/` (COLALAMO_UI=0: off)
    ui: bool = True
    # the server's event loop: "auto" (uvloop when installed: colalamo[fast]), "uvloop", "asyncio"
    event_loop: str = "auto"

    def __post_init__(self) -> None:
        _check_port(self.port)
        _check_url("COLALAMO_GITHUB_URL", self.github_url)
        if not self.github_api_url:
            object.__setattr__(self, "github_api_url", derived_github_api_url(self.github_url))
        for name in ("github_api_url", "copilot_api_url"):
            value = getattr(self, name)
            if value is not None:
                _check_url(_env_name(name), value)
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"COLALAMO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        for name in ("connect_timeout", "read_timeout", "github_timeout", "token_wait", "stream_keepalive",
                     "queue_timeout", "max_body_mb", "idle_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_env_name(name)} must be a positive number")
        for name in ("max_concurrency", "max_queue", "shutdown_grace"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{_env_name(name)} must not be negative")
        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(f"COLALAMO_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, not {self.event_loop!r}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"COLALAMO_LOG_FORMAT must be text or json, not {self.log_format!r}")
        if self.rate_limit < 0:
            raise ConfigError("COLALAMO_RATE_LIMIT must not be negative")
        if self.rate_limit_mode not in ("wait", "reject"):
            raise ConfigError(f"COLALAMO_RATE_LIMIT_MODE must be wait or reject, not {self.rate_limit_mode!r}")
        for name in ("premium_budget", "credit_budget"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"{_env_name(name)} must not be negative")
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise ConfigError(f"COLALAMO_CA_BUNDLE names no file: {self.ca_bundle}")
        _check_versions(self.editor_version, self.plugin_version, self.api_version)

    @property
    def copilot_api_fallback(self) -> str | None:
        """The Copilot API of a GHE.com tenant, for a Copilot token that names no
        `endpoints.api`; None elsewhere. COLALAMO_COPILOT_API_URL and `endpoints.api` win."""
        tenant = ghe_tenant_host(self.github_url)
        return f"{urlsplit(self.github_url).scheme}://copilot-api.{tenant}" if tenant else None

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (validated again)."""
        if (
            "github_url" in changes
            and "github_api_url" not in changes
            and self.github_api_url == derived_github_api_url(self.github_url)
        ):
            changes["github_api_url"] = ""  # it was derived: derive it again from the new URL
        return dataclasses.replace(self, **changes)


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
    "COLALAMO_GITHUB_URL": ("https://github.com", "GitHub, for the device-flow login (GHE.com: https://<tenant>.ghe.com)"),
    "COLALAMO_GITHUB_API_URL": (
        "https://api.github.com; https://api.<tenant>.ghe.com for a GHE.com GitHub URL",
        "GitHub API, for the Copilot token",
    ),
    "COLALAMO_COPILOT_API_URL": (
        "(unset)",
        "Copilot API base; unset = the token's endpoints.api, else https://copilot-api.<tenant>.ghe.com on GHE.com",
    ),
    "COLALAMO_EDITOR_VERSION": ("vscode/1.118.0", "Editor-Version sent to Copilot (name/1.2.3)"),
    "COLALAMO_PLUGIN_VERSION": (
        "copilot-chat/0.50.1",
        "Editor-Plugin-Version sent to Copilot; User-Agent is GitHubCopilotChat/<its version>",
    ),
    "COLALAMO_API_VERSION": ("2026-06-01", "X-GitHub-Api-Version sent to Copilot (YYYY-MM-DD)"),
    "COLALAMO_LOG_LEVEL": ("info", "debug, info, warning, error or critical"),
    "COLALAMO_CONNECT_TIMEOUT": ("10", "seconds to connect to GitHub or Copilot"),
    "COLALAMO_READ_TIMEOUT": ("300", "seconds to wait for the next byte from Copilot"),
    "COLALAMO_GITHUB_TIMEOUT": ("30", "seconds to wait for the next byte from GitHub (login, token, usage)"),
    "COLALAMO_TOKEN_WAIT": ("5", "seconds a request waits for a missing Copilot token (then 503)"),
    "COLALAMO_STREAM_KEEPALIVE": ("15", "seconds of silence in a stream before a keep-alive is sent"),
    "COLALAMO_API_KEYS": ("(unset)", "keys clients must send (comma-separated); also COLALAMO_API_KEY"),
    "COLALAMO_NO_AUTH": ("0", "1: serve a non-loopback address without any key (not advised)"),
    "COLALAMO_CORS_ORIGINS": ("(unset: CORS off)", "browser origins allowed to call the API (comma-separated)"),
    "COLALAMO_MAX_BODY_MB": ("50", "largest request body accepted, in MB"),
    "COLALAMO_CA_BUNDLE": ("(unset)", "CA certificates (PEM) to trust for upstream TLS; SSL_CERT_FILE works too"),
    "COLALAMO_MAX_CONCURRENCY": ("0 (no limit)", "requests served at once; more wait in a queue"),
    "COLALAMO_MAX_QUEUE": ("100", "requests that may wait for a slot before new ones get 429"),
    "COLALAMO_QUEUE_TIMEOUT": ("30", "seconds a request may wait for a slot before it gets 429"),
    "COLALAMO_SHUTDOWN_GRACE": ("30", "seconds in-flight requests get to finish on SIGTERM"),
    "COLALAMO_IDLE_TIMEOUT": ("10", "seconds a connection may wait without a whole request head before it is closed"),
    "COLALAMO_LOG_FORMAT": ("text", "text, or json for log shippers"),
    "COLALAMO_LOG_BODIES": ("0", "1: log request bodies, tokens masked (debugging only)"),
    "COLALAMO_UI": ("1", "0: no status page at / (its JSON naming colalamo stays)"),
    "COLALAMO_EVENT_LOOP": ("auto", "the server's event loop: auto (uvloop when installed), uvloop or asyncio"),
    "COLALAMO_RATE_LIMIT": ("0 (off)", "requests per minute sent to Copilot at most"),
    "COLALAMO_RATE_LIMIT_MODE": ("wait", "over the limit: wait for a turn, or reject with 429"),
    "COLALAMO_PREMIUM_BUDGET": ("(unset: no budget)", "premium requests per day (per key, when keys are set)"),
    "COLALAMO_CREDIT_BUDGET": ("(unset: no budget)", "AI credits per day (per key, when keys are set)"),
    "COLALAMO_BUDGET_FALLBACK_MODEL": ("(unset)", "past a budget, use this model instead of refusing"),
    "COLALAMO_SMALL_MODEL": (
        "(unset: a model the catalogue does not bill)",
        "answers Claude Code's start-up Warmup call; empty: the model it asks for",
    ),
}


def _env_name(field_name: str) -> str:
    return "COLALAMO_" + field_name.upper()


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise ConfigError(f"COLALAMO_PORT must be between 0 and 65535, not {port}")


def ghe_tenant_host(github_url: str) -> str | None:
    """`<tenant>.ghe.com` when github_url is a GHE.com tenant, else None."""
    host = (urlsplit(github_url).hostname or "").lower()
    tenant = host.removesuffix(GHE_SUFFIX)
    return host if host.endswith(GHE_SUFFIX) and tenant and "." not in tenant else None


def derived_github_api_url(github_url: str) -> str:
    """GitHub's API for a GitHub URL: api.<tenant>.ghe.com on GHE.com, else api.github.com.

    A GitHub Enterprise Server host has no fixed pattern: its API is set explicitly.
    """
    tenant = ghe_tenant_host(github_url)
    return f"{urlsplit(github_url).scheme}://api.{tenant}" if tenant else GITHUB_API_URL


def _check_versions(editor_version: str, plugin_version: str, api_version: str) -> None:
    for name, value, example in (
        ("COLALAMO_EDITOR_VERSION", editor_version, "vscode/1.118.0"),
        ("COLALAMO_PLUGIN_VERSION", plugin_version, "copilot-chat/0.50.1"),
    ):
        if not VERSION_SHAPE.fullmatch(value):
            raise ConfigError(f"{name} must look like {example} (a name, a slash, a version), not {value!r}")
    if not _is_iso_date(api_version):
        raise ConfigError(f"COLALAMO_API_VERSION must be a date like 2026-06-01 (YYYY-MM-DD), not {api_version!r}")


def _is_iso_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:  # 2026-13-45
        return False
    return True


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as https://example.com, not {value!r}")


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{_env_name(name)} must be 1 or 0, not {raw!r}")
    if kind is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{_env_name(name)} must be a whole number, not {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{_env_name(name)} must be a number, not {raw!r}") from None
    if name.endswith("_url"):
        return raw.rstrip("/")
    if kind is Path:
        return Path(raw).expanduser()
    if name in ("log_level", "log_format", "rate_limit_mode", "event_loop"):
        return raw.lower()
    return raw


_KINDS: dict[str, type] = {
    "port": int,
    "connect_timeout": float,
    "read_timeout": float,
    "github_timeout": float,
    "token_wait": float,
    "stream_keepalive": float,
    "token_file": Path,
    "api_keys": tuple,
    "no_auth": bool,
    "cors_origins": tuple,
    "max_body_mb": float,
    "ca_bundle": Path,
    "max_concurrency": int,
    "max_queue": int,
    "queue_timeout": float,
    "shutdown_grace": float,
    "idle_timeout": float,
    "log_bodies": bool,
    "ui": bool,
    "rate_limit": int,
    "premium_budget": float,
    "credit_budget": float,
}
ALIASES = {"api_keys": "COLALAMO_API_KEY"}  # one key or several, under either name
EMPTY_IS_A_VALUE = frozenset({"small_model"})  # set but empty means "off", not "the default"


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
        if raw is None and f.name in ALIASES:
            raw = environ.get(ALIASES[f.name], from_file.get(ALIASES[f.name]))
        if raw is not None and (raw != "" or f.name in EMPTY_IS_A_VALUE):
            values[f.name] = _parse(f.name, raw, _KINDS.get(f.name, str))
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    return Settings(**values)
