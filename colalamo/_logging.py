"""Logging set-up, and the masking that keeps tokens out of every log line."""

from __future__ import annotations

import json
import logging
import re

__all__ = ["JsonFormatter", "SecretMaskingFilter", "configure_logging", "mask_secrets"]

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


def configure_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
