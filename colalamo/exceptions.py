"""colalamo's errors: one small hierarchy, shared by the library, the server and the CLI.

    ColalamoError
    ├── ConfigError               a setting has a bad value
    ├── InvalidRequest            a request the model cannot take (400)
    ├── RateLimited               held back locally: back-off, rate limit, budget (429)
    ├── AuthError                 GitHub login and the Copilot token exchange
    │   ├── LoginRequired         no GitHub token and no way to ask for one
    │   ├── LoginFailed           the device flow ended without a token
    │   ├── TokenFileError        the stored token cannot be read or is not a token
    │   ├── GitHubTokenRejected   GitHub refused the token (401): log in again
    │   └── CopilotNotEnabled     the account has no Copilot (403/404)
    └── UpstreamError             a Copilot API call failed
        ├── UpstreamStatusError   the API answered with an error status
        │   ├── ContextTooLong    the prompt is longer than the model takes (400)
        │   └── OutOfCredits      the account has no AI credits left (402)
        ├── BadUpstreamReply      an answer colalamo cannot read (maps to 502)
        ├── UpstreamUnreachable   no connection could be made (maps to 502)
        ├── UpstreamTimeout       the API did not answer in time (maps to 504)
        └── UpstreamStreamError   a stream broke after it had begun
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "AuthError",
    "BadUpstreamReply",
    "ColalamoError",
    "ConfigError",
    "ContextTooLong",
    "CopilotNotEnabled",
    "GitHubTokenRejected",
    "InvalidRequest",
    "LoginFailed",
    "LoginRequired",
    "OutOfCredits",
    "RateLimited",
    "TokenFileError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamStreamError",
    "UpstreamTimeout",
    "UpstreamUnreachable",
]


class ColalamoError(Exception):
    """Base of every error colalamo raises on purpose."""

    #: The HTTP status the server answers with when this error reaches a client.
    status: int = 500
    #: An OpenAI-style error code (`error.code`), where one fits.
    code: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ColalamoError):
    """A setting (flag, environment variable or `.env` line) has a bad value."""


class InvalidRequest(ColalamoError):
    """A request that colalamo refuses before sending it (the model cannot take it)."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class RateLimited(ColalamoError):
    """colalamo holds the request back itself, to protect the account (429, Retry-After)."""

    status = 429

    def __init__(self, message: str, *, code: str, retry_after: float) -> None:
        super().__init__(message)
        self.code = code
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


class AuthError(ColalamoError):
    status = 401


class LoginRequired(AuthError):
    code = "login_required"


class LoginFailed(AuthError):
    """The device flow ended without a token (denied, expired, or GitHub said no)."""

    code = "login_failed"


class TokenFileError(AuthError):
    code = "token_file_unusable"


class GitHubTokenRejected(AuthError):
    code = "github_token_rejected"

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "GitHub rejected the stored GitHub token (401 Bad credentials): run `colalamo login`"
        )


class CopilotNotEnabled(AuthError):
    status = 403
    code = "copilot_not_enabled"


class UpstreamError(ColalamoError):
    status = 502


class UpstreamStatusError(UpstreamError):
    """The Copilot API answered with an error status; `body` is what it said."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        body: str = "",
        reason: str = "",
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.reason = reason
        self.code = code
        self.param = param
        self.error_type = error_type
        #: Headers worth passing on to the client (Retry-After and friends).
        self.headers = dict(headers or {})


class ContextTooLong(UpstreamStatusError):
    """The prompt is longer than the model's context: the client should shorten (compact) it."""

    def __init__(self, prompt_tokens: int, limit: int, *, param: str, upstream_message: str = "") -> None:
        super().__init__(
            400,
            f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
            f"{prompt_tokens} tokens. Please reduce the length of the messages.",
            code="context_length_exceeded", param=param, error_type="invalid_request_error",
            body=upstream_message,
        )
        self.prompt_tokens = prompt_tokens
        self.limit = limit


class OutOfCredits(UpstreamStatusError):
    """Copilot answered 402: the account has no AI credits (or premium requests) left."""

    def __init__(self, upstream_message: str = "") -> None:
        super().__init__(
            402,
            "Copilot refused the request: this GitHub account has no AI credits left for this billing "
            "period (Copilot said: " + (upstream_message or "no quota") + "). Retrying will not help; "
            "add credits or wait for the quota to reset (`colalamo usage` shows when).",
            code="quota_exceeded", error_type="insufficient_quota", body=upstream_message,
            headers={"x-should-retry": "false"},
        )


class BadUpstreamReply(UpstreamError):
    """Copilot (or GitHub) answered, but not in the shape its API has (no choices, not JSON...)."""

    status = 502
    code = "bad_upstream_reply"


class UpstreamUnreachable(UpstreamError):
    status = 502
    code = "upstream_unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class UpstreamStreamError(UpstreamError):
    """A stream from the Copilot API broke after it had begun."""

    status = 502
    code = "upstream_stream_error"
