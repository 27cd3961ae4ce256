"""Logging set-up, and the masking that keeps tokens out of every log line."""

from __future__ import annotations

import json
import logging
import re
import time

__all__ = [
    "JsonFormatter",
    "TextFormatter",
    "RateLimitedAcceptErrors",
    "SecretMaskingFilter",
    "configure_logging",
    "escape_controls",
    "mask_secrets",
]

# GitHub tokens (gho_, ghu_, ghp_, ghs_, github_pat_), Copilot tokens (tid=...;exp=...), and
# whatever follows "Bearer"/"token" in an Authorization header.
_SECRET_PATTERNS = [
    re.compile(r"\b(gh[opsur]_)[A-Za-z0-9_]{6,}"),
    re.compile(r"\b(github_pat_)[A-Za-z0-9_]{6,}"),
    re.compile(r"\b(tid=)[^\s\"',]+"),
    re.compile(r"(?i)\b((?:bearer|token)\s+)[A-Za-z0-9._~+/=;:-]{8,}"),
]


def mask_secrets(text: str) -> str:
    """Replace anything that looks like a GitHub or Copilot token with a masked form."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything a terminal or
# a log shipper could take for the end of a line (or worse, an escape sequence).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape: what a client sends (a model
    name, a path with %0a) can never start a forged log line."""
    return _CONTROLS.sub(_escaped, text)


class SecretMaskingFilter(logging.Filter):
    """Masks tokens in every record, whoever logged it (our code, aiohttp, asyncio)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; an access-log line that is JSON already is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        message = record.getMessage()
        try:
            parsed = json.loads(message) if message.startswith("{") else None
        except ValueError:
            parsed = None
        entry.update(parsed if isinstance(parsed, dict) else {"message": message})
        if record.exc_info:
            entry["exception"] = mask_secrets(self.formatException(record.exc_info))
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    """The text format: the message's control characters escaped, so one record is one line
    (a traceback, which colalamo writes itself, keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


class RateLimitedAcceptErrors(logging.Filter):
    """asyncio logs a traceback for every accept() that fails for want of file descriptors, and
    retries every second per listening socket: thousands of tracebacks while the shortage lasts.
    This lets one short line through per `interval`, saying how many were left out."""

    MESSAGE = "accept() out of system resource"

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self._interval = interval
        self._last = float("-inf")
        self._left_out = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.MESSAGE not in str(record.msg):
            return True
        now = time.monotonic()
        if now - self._last < self._interval:
            self._left_out += 1
            return False
        error = record.exc_info[1] if record.exc_info else None
        record.msg = "out of file descriptors: new connections wait (%s; %d such failures left out in the last %g s)"
        record.args = (error or "accept failed", self._left_out, self._interval)
        record.exc_info, record.exc_text = None, None
        self._last, self._left_out = now, 0
        return True


def configure_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
