"""JSON on the hot path: orjson, which the benchmark (bench/run.py) showed to pay for itself on
streams, where every event is parsed once and written once."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["dumps", "dumps_text", "loads"]

loads = orjson.loads


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def dumps_text(value: Any) -> str:
    """For aiohttp's `json_response(dumps=...)`, which wants text."""
    return orjson.dumps(value).decode()
