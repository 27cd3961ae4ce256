"""A tokenizer-free token estimate that errs on the high side.

Agents compact their context when a count says it is nearly full; a count that falls short
makes them compact too late and fail. So this estimate is built to overshoot a real tokenizer
slightly rather than undershoot it: every run of letters costs one token per 4 characters
(rounded up), every run of digits one per 3, every other visible character (punctuation,
operators, brackets: dense in code) one token each, and each line break one; the sum is then
raised by 10%.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PIECES = re.compile(r"[^\W\d_]+|\d+|\n|[^\s\w]|_", re.UNICODE)
MARGIN = 1.10
PER_MESSAGE = 4  # role markers and separators around each message


def estimate_text_tokens(text: str) -> int:
    total = 0
    for piece in _PIECES.findall(text):
        if piece[0].isdigit():
            total += math.ceil(len(piece) / 3)
        elif piece[0].isalpha():
            total += math.ceil(len(piece) / 4) if piece.isascii() else len(piece)
        else:
            total += 1
    return math.ceil(total * MARGIN)


def estimate_tokens(value: Any) -> int:
    """Estimate the tokens of a string, or of any JSON value (messages, tools, schemas)."""
    if isinstance(value, str):
        return estimate_text_tokens(value)
    return estimate_text_tokens(json.dumps(value, ensure_ascii=False))
