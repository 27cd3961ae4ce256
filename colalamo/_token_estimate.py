"""A tokenizer-free token estimate that errs on the high side.

Agents compact their context when a count says it is nearly full; a count that falls short
makes them compact too late and fail. So this estimate is built to overshoot a real tokenizer
rather than undershoot it: a run of letters costs one token per 4 characters (rounded up;
non-Latin scripts one per character), a run of digits one per 3, a run of punctuation one per
2 characters, and a line break with its indentation one.

Measured with `bench/token_estimate.py` against the Claude tokenizer that Anthropic published
(its SDK's `tokenizer.json`), over colalamo's own code, tests and docs: the estimate was never
below 1.17 times the real count, and 1.28 times on average; English prose alone, about 1.2.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PIECES = re.compile(r"[^\W\d_]+|\d+|\n[ \t]*|[^\s\w]+|_", re.UNICODE)


def estimate_text_tokens(text: str) -> int:
    total = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first.isdigit():
            total += math.ceil(len(piece) / 3)
        elif first.isalpha():
            total += math.ceil(len(piece) / 4) if piece.isascii() else len(piece)
        elif first == "\n":
            total += 1
        else:
            total += math.ceil(len(piece) / 2)
    return total


def estimate_tokens(value: Any) -> int:
    """Estimate the tokens of a string, or of any JSON value (tool inputs, schemas)."""
    if isinstance(value, str):
        return estimate_text_tokens(value)
    return estimate_text_tokens(json.dumps(value, ensure_ascii=False))
