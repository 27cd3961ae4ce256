"""Settings: one place, used by the library, the server and the CLI.

Precedence, highest first: explicit overrides (CLI flags, keyword arguments) > the process
environment > a `.env` file in the working directory > the defaults below.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import types
import typing
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
GITHUB_API_URL = "https://api.github.com"
GHE_SUFFIX = ".ghe.com"  # GitHub Enterprise Cloud with data residency: <tenant>.ghe.com
# What Copilot checks to decide whether a client is too old to serve (it answers 466).
VERSION_SHAPE = re.compile(r"[A-Za-z][\w.-]*/\d+(\.\d+)+[\w.+-]*")


def default_token_file(cwd: Path | None = None) -> Path:
    legacy = (cwd or Path.cwd()) / LEGACY_TOKEN_FILE
    if legacy.exists():
        return legacy
    return user_config_path("colalamo", appauthor=False) / "github-token"


BASICS, RUNNING, ACCOUNT, STATE = ("basics", "running it for real", "protecting your Copilot account",
                                  "what colalamo keeps")


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    doc: str = "",
    shown: str | None = None,
    example: str | None = None,
    flag: str | None = None,
    choices: tuple[str, ...] = (),
    section: str = BASICS,
    factory: Any = dataclasses.MISSING,
    secret: bool = False,
) -> Any:
    """One setting, declared once: its default, and what the README, `.env.example` and the
    CLI say of it (`help`: one line; `doc`: `.env.example`'s longer words, when the line is
    not enough; `shown`: the default as people read it; `example`: what `.env.example` puts
    after `=`). Its environment variable is COLALAMO_<NAME>; its type comes from the field."""
    meta = {"help": help, "doc": doc or help[:1].upper() + help[1:] + ".", "shown": shown, "example": example,
            "flag": flag, "choices": choices, "section": section}
    return field(default=default, default_factory=factory, repr=not secret, metadata=meta)


@dataclass(frozen=True)
class Settings:
    host: str = setting(
        "127.0.0.1", "address the server listens on", flag="--host",
        doc="Address the server listens on. Anything but loopback exposes your Copilot account.")
    port: int = setting(4242, "port the server listens on", flag="--port")
    model: str = setting("gpt-4.1", "model used when a request names none", flag="--model")
    github_token: str | None = setting(
        None, "a GitHub OAuth token (`gho_...`); skips login", secret=True, example="",
        doc="A GitHub OAuth token (gho_...); skips the login. Personal access tokens do not work.")
    token_file: Path = setting(
        factory=lambda: default_token_file(), help="where `colalamo login` stores the GitHub token",
        shown="`./.copilot-token` if it exists, else `colalamo/github-token` under your config dir", example="",
        doc="Where `colalamo login` stores the GitHub token. Default: ./.copilot-token if that file "
            "exists, else colalamo/github-token under your config directory (~/.config on Linux).")
    github_url: str = setting(
        "https://github.com", "GitHub, for the device-flow login (GHE.com: `https://<tenant>.ghe.com`)",
        doc="GitHub, for the device-flow login. GHE.com: https://<tenant>.ghe.com is all it takes (the "
            "GitHub API and the Copilot API below are derived from it).")
    # empty: derived from github_url (see __post_init__)
    github_api_url: str = setting(
        "", "GitHub API, for the Copilot token exchange",
        shown="`https://api.github.com` (`https://api.<tenant>.ghe.com` on GHE.com)", example="https://api.github.com",
        doc="GitHub API, for the Copilot token. Default: https://api.github.com, or "
            "https://api.<tenant>.ghe.com for a GHE.com GitHub URL.")
    copilot_api_url: str | None = setting(
        None, "Copilot API base", shown="unset: the Copilot token's `endpoints.api`", example="",
        doc="Copilot API base. Unset: the endpoints.api the Copilot token names for your account (else, "
            "on GHE.com, https://copilot-api.<tenant>.ghe.com).")
    # the client colalamo presents itself as; Copilot refuses versions it deems too old
    editor_version: str = setting(
        "vscode/1.118.0", "`Editor-Version` sent to Copilot (`name/1.2.3`)",
        doc="The client colalamo presents itself as to Copilot. Copilot refuses versions it deems too old "
            "(colalamo then answers 502 copilot_client_outdated): set current ones here, no release needed. "
            "Editor-Version looks like name/1.2.3.")
    plugin_version: str = setting(
        "copilot-chat/0.50.1",
        "`Editor-Plugin-Version` sent to Copilot; `User-Agent` is `GitHubCopilotChat/<its version>`")
    api_version: str = setting("2026-06-01", "`X-GitHub-Api-Version` sent to Copilot (`YYYY-MM-DD`)")
    log_level: str = setting("info", "`debug`, `info`, `warning`, `error` or `critical`", flag="--log-level",
                             choices=("debug", "info", "warning", "error", "critical"),
                             doc="Log level: debug, info, warning, error or critical.")
    connect_timeout: float = setting(10.0, "seconds to connect to GitHub or Copilot")
    read_timeout: float = setting(300.0, "seconds to wait for the next byte from Copilot before answering 504")
    # GitHub (login, token exchange, usage) answers in a second: waiting minutes helps nobody
    github_timeout: float = setting(
        30.0, "seconds to wait for the next byte from GitHub (login, token exchange, usage)",
        doc="Seconds to wait for the next byte from GitHub (login, token exchange, usage); the error "
            "then names what to check (HTTPS_PROXY, COLALAMO_GITHUB_TOKEN, the offline fake).")
    token_wait: float = setting(
        5.0, "seconds a request (and the library's start) waits for a Copilot token GitHub has not delivered "
             "yet, then 503; the server listens meanwhile (`/ready` 503)")
    stream_keepalive: float = setting(
        15.0, "seconds of silence in a stream before a keep-alive is sent (an SSE comment on OpenAI routes, "
              "a `ping` event on Anthropic's)",
        doc="Seconds of silence in a stream before a keep-alive goes to the client (an SSE comment on "
            "OpenAI routes, a ping event on Anthropic's), so idle-timeout proxies keep the stream open.")
    api_keys: tuple[str, ...] = setting(
        (), "keys clients must send, comma-separated; see \"Running it for real\"", secret=True,
        example="", section=RUNNING,
        doc="Keys clients must send (Authorization: Bearer <key> or x-api-key: <key>); several are "
            "separated by commas. COLALAMO_API_KEY works as well. Listening beyond loopback without a "
            "key makes colalamo generate one at start.")
    no_auth: bool = setting(False, "`1` (or `--no-auth`): serve a non-loopback address with no key", section=RUNNING,
                            doc="1: serve a non-loopback address with no key at all (anyone who reaches it "
                                "uses your account).")
    cors_origins: tuple[str, ...] = setting(
        (), "browser origins allowed to call the API, comma-separated", shown="unset: CORS off", example="",
        section=RUNNING, doc="Browser origins allowed to call the API, comma-separated. Unset: CORS off.")
    max_body_mb: float = setting(50.0, "largest request body accepted, in MB (larger: 413)", section=RUNNING,
                                 doc="Largest request body accepted, in MB (images travel as base64).")
    ca_bundle: Path | None = setting(
        None, "CA certificates (PEM) to trust for upstream TLS; `SSL_CERT_FILE` works too", example="",
        section=RUNNING,
        doc="CA certificates (PEM) to trust for upstream TLS, for TLS-inspecting proxies. SSL_CERT_FILE "
            "works too; HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.")
    max_concurrency: int = setting(
        0, "requests served at once; more wait in a queue", shown="`0` (no limit)", section=RUNNING,
        doc="Requests served at once (0: no limit); beyond it they wait in a queue of COLALAMO_MAX_QUEUE "
            "for up to COLALAMO_QUEUE_TIMEOUT seconds, then get 429 with Retry-After.")
    max_queue: int = setting(100, "requests that may wait for a slot; one more gets 429", section=RUNNING)
    queue_timeout: float = setting(30.0, "seconds a request may wait for a slot before it gets 429", section=RUNNING)
    shutdown_grace: float = setting(30.0, "seconds requests in flight get to finish on SIGTERM/SIGINT",
                                    section=RUNNING)
    idle_timeout: float = setting(
        10.0, "seconds a connection may go without a whole request head (new or kept alive) before it is closed",
        section=RUNNING)
    log_format: str = setting("text", "`text`, or `json` for log shippers", flag="--log-format",
                              choices=("text", "json"), section=RUNNING,
                              doc="Log format: text, or json for log shippers.")
    log_bodies: bool = setting(
        False, "`1` (or `--log-bodies`): log request bodies, tokens masked; debugging only", section=RUNNING,
        doc="1: log request bodies, tokens masked. For debugging only: bodies hold your conversations.")
    # the status page at `/` (COLALAMO_UI=0: off)
    ui: bool = setting(True, "`0` turns the status page at `/` off (see \"The status page\")", section=RUNNING,
                       doc="0: no status page at / (GET / then answers a small JSON naming colalamo).")
    event_loop: str = setting(
        "auto", "the server's event loop: `auto` (uvloop when installed: `colalamo[fast]`), `uvloop` or `asyncio`",
        choices=("auto", "uvloop", "asyncio"), section=RUNNING,
        doc="The server's event loop: auto (uvloop when it is installed, pip install 'colalamo[fast]'), uvloop "
            "or asyncio.")
    rate_limit: int = setting(
        0, "requests a minute sent to Copilot at most", shown="`0` (off)", section=ACCOUNT,
        doc="At most this many requests a minute go to Copilot (0: no limit).")
    rate_limit_mode: str = setting(
        "wait", "over the limit: `wait` for a turn, or `reject` with 429", choices=("wait", "reject"),
        section=ACCOUNT,
        doc="Over the rate limit, `wait` queues a request until its turn; `reject` answers 429 with Retry-After.")
    premium_budget: float | None = setting(
        None, "premium requests a day (per key when keys are set)", example="", section=ACCOUNT,
        doc="Premium requests a day, for plans still billed per request (per API key when keys are set). "
            "Past it, premium models are refused with 429 until midnight UTC, or answered by "
            "COLALAMO_BUDGET_FALLBACK_MODEL.")
    credit_budget: float | None = setting(
        None, "AI credits a day, UTC (per key when keys are set)", example="", section=ACCOUNT,
        doc="AI credits a day (UTC; per API key when keys are set). Copilot bills credits by tokens; each "
            "call holds its estimated cost (prompt + max output, at the model's token prices) until its "
            "answer says what it cost, so calls at once cannot overspend. Past it: 429 until midnight UTC, "
            "or COLALAMO_BUDGET_FALLBACK_MODEL.")
    budget_fallback_model: str | None = setting(
        None, "past a budget, answer with this model instead of refusing", example="", section=ACCOUNT,
        doc="Past either budget, answer with this (cheaper) model instead of refusing, with an "
            "X-Colalamo-Model-Fallback header.")
    # Claude Code's start-up "Warmup" call: None picks a model the catalogue does not bill,
    # "" sends it to the model it names
    small_model: str | None = setting(
        None, "answers Claude Code's start-up `Warmup` call (the client sees its own model name); set but "
              "empty: no redirect", shown="unset: a model the catalogue does not bill", example="",
        section=ACCOUNT,
        doc="Claude Code's start-up \"Warmup\" call (no tools) is answered by this model; the client still "
            "sees the model it asked for. Unset: a model the catalogue does not bill (gpt-4o-mini, gpt-4.1, "
            "gpt-4o...). Set but empty: no redirect, the warmup goes to the model it names.")
    # state kept on disk: the database (request history, today's counts, stored responses)
    data_dir: Path | None = setting(
        None, "where colalamo keeps its database (request history, today's counts, stored responses) and "
              "the back-off its workers share", shown="the token file's directory", example="", section=STATE)
    history_days: int = setting(30, "days of request history kept (`GET /usage?days=N`, `colalamo usage --days N`)",
                                section=STATE)
    # several replicas share back-off, rate limit, budgets, stored responses and models here
    redis_url: str | None = setting(
        None, "Redis shared by every replica (`redis://host:6379/0`): back-off, rate limit, budgets, stored "
              "responses, the model list", shown="unset: no Redis", example="", secret=True, section=STATE,
        doc="Redis shared by every replica (redis://host:6379/0; rediss:// for TLS, unix:///path for a socket): "
            "the 429 back-off, the rate limit, the budgets, stored responses and the model list. Unset: each "
            "machine keeps its own (its --workers share the database above). Needs pip install 'colalamo[redis]'.")
    redis_prefix: str = setting("colalamo:", "prefix of every key colalamo writes in Redis (several colalamo "
                                "deployments can share one Redis)", section=STATE)

    def __post_init__(self) -> None:
        _check_port(self.port)
        _check_url("COLALAMO_GITHUB_URL", self.github_url)
        if not self.github_api_url:
            object.__setattr__(self, "github_api_url", derived_github_api_url(self.github_url))
        for name in ("github_api_url", "copilot_api_url"):
            value = getattr(self, name)
            if value is not None:
                _check_url(_env_name(name), value)
        for f in fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ConfigError(f"{_env_name(f.name)} must be one of {', '.join(choices)}, "
                                  f"not {getattr(self, f.name)!r}")
        for name in ("connect_timeout", "read_timeout", "github_timeout", "token_wait", "stream_keepalive",
                     "queue_timeout", "max_body_mb", "idle_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_env_name(name)} must be a positive number")
        for name in ("max_concurrency", "max_queue", "shutdown_grace"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{_env_name(name)} must not be negative")
        if self.rate_limit < 0:
            raise ConfigError("COLALAMO_RATE_LIMIT must not be negative")
        if self.history_days < 1:
            raise ConfigError("COLALAMO_HISTORY_DAYS must be at least 1")
        for name in ("premium_budget", "credit_budget"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"{_env_name(name)} must not be negative")
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise ConfigError(f"COLALAMO_CA_BUNDLE names no file: {self.ca_bundle}")
        _check_versions(self.editor_version, self.plugin_version, self.api_version)
        if self.redis_url is not None:
            _check_redis_url(self.redis_url)

    @property
    def state_dir(self) -> Path:
        """Where colalamo keeps its database and the back-off file shared by its workers."""
        return self.data_dir if self.data_dir is not None else self.token_file.parent

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


def _env_name(field_name: str) -> str:
    return "COLALAMO_" + field_name.upper()


def default_text(f: dataclasses.Field[Any]) -> str:
    """A setting's default as it is written in the environment ("" when it has none)."""
    default = f.default
    if isinstance(default, bool):
        return str(int(default))
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return "" if default is None or default == () else str(default)


def shown_default(f: dataclasses.Field[Any]) -> str:
    """A setting's default as the README shows it."""
    if f.metadata.get("shown"):
        return str(f.metadata["shown"])
    written = default_text(f)
    return f"`{written}`" if written else "unset"


def choices(name: str) -> tuple[str, ...]:
    """The values a setting takes, when it takes a fixed few (for the CLI's flags)."""
    return tuple(Settings.__dataclass_fields__[name].metadata["choices"])


#: COLALAMO_<NAME> -> (the default as shown, the one-line help), from the declarations above.
SETTINGS_HELP: dict[str, tuple[str, str]] = {
    _env_name(f.name): (shown_default(f), f.metadata["help"]) for f in fields(Settings)
}


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


def _check_redis_url(value: str) -> None:
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("COLALAMO_REDIS_URL must be a Redis URL such as redis://host:6379/0 "
                          "(rediss:// for TLS, unix:///path/to/socket)")


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
    if Settings.__dataclass_fields__[name].metadata.get("choices"):
        return raw.lower()
    return raw


def _kind(annotation: Any) -> type:
    """The type a setting's text is parsed into: its field's type, without `| None`."""
    if isinstance(annotation, types.UnionType):
        annotation = next(t for t in typing.get_args(annotation) if t is not type(None))
    kind = typing.get_origin(annotation) or annotation
    return kind if isinstance(kind, type) else str


_KINDS: dict[str, type] = {name: _kind(annotation) for name, annotation in typing.get_type_hints(Settings).items()}
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
        names = (_env_name(f.name), ALIASES[f.name]) if f.name in ALIASES else (_env_name(f.name),)
        # the environment beats .env whichever of a setting's names each uses
        raw = next((source[n] for source in (environ, from_file) for n in names if n in source), None)
        if raw is not None and (raw != "" or f.name in EMPTY_IS_A_VALUE):
            values[f.name] = _parse(f.name, raw, _KINDS[f.name])
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    return Settings(**values)
