"""colalamo: GitHub Copilot's chat models outside the IDE, as a library and as an
OpenAI-compatible server."""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import Settings, load_settings
from .exceptions import (
    AuthError,
    BadUpstreamReply,
    ColalamoError,
    ConfigError,
    ContextTooLong,
    CopilotNotEnabled,
    GitHubTokenRejected,
    InvalidRequest,
    LoginFailed,
    LoginRequired,
    OutOfCredits,
    RateLimited,
    TokenFileError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamStreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)

__all__ = [
    "AsyncCopilot",
    "AuthError",
    "BadUpstreamReply",
    "ColalamoError",
    "ConfigError",
    "ContextTooLong",
    "Copilot",
    "CopilotNotEnabled",
    "GitHubTokenRejected",
    "InvalidRequest",
    "LoginFailed",
    "LoginRequired",
    "OutOfCredits",
    "RateLimited",
    "Settings",
    "TokenFileError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamStreamError",
    "UpstreamTimeout",
    "UpstreamUnreachable",
    "__version__",
    "load_settings",
]

if TYPE_CHECKING:
    from ._library import AsyncCopilot, Copilot


def __getattr__(name: str) -> Any:
    # The client classes bring in aiohttp and the whole core: imported on first use, so that
    # `colalamo --help` and `from colalamo.config import Settings` stay quick.
    if name in ("AsyncCopilot", "Copilot"):
        from . import _library
        return getattr(_library, name)
    raise AttributeError(f"module 'colalamo' has no attribute {name!r}")
