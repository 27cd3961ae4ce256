"""colalamo: GitHub Copilot's chat models outside the IDE, as a library and as an
OpenAI-compatible server."""

from ._library import AsyncCopilot, Copilot
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
