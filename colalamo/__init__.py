"""colalamo: GitHub Copilot's chat models outside the IDE, as a library and as an
OpenAI-compatible server."""

from ._version import __version__
from .config import Settings, load_settings
from .exceptions import (
    AuthError,
    ColalamoError,
    ConfigError,
    CopilotNotEnabled,
    GitHubTokenRejected,
    InvalidRequest,
    LoginFailed,
    LoginRequired,
    RateLimited,
    TokenFileError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamStreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from .library import AsyncCopilot, Copilot

__all__ = [
    "AsyncCopilot",
    "AuthError",
    "ColalamoError",
    "ConfigError",
    "Copilot",
    "CopilotNotEnabled",
    "GitHubTokenRejected",
    "InvalidRequest",
    "LoginFailed",
    "LoginRequired",
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
