"""JSON on the hot path: orjson, which the benchmark (bench/run.py) showed to pay for itself on
streams, where every event is parsed once and written once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

__all__ = ["MAPPING", "MAX_DEPTH", "dumps", "dumps_kept", "loads", "nested_deeper_than"]

loads = orjson.loads

#: `isinstance(x, MAPPING)` is `isinstance(x, Mapping)` with dicts, all that JSON parses to,
#: answered first: an ABC's isinstance costs twice a type's, and a request asks a few dozen.
MAPPING = (dict, Mapping)

#: orjson reads up to 1,024 levels but writes only 254; colalamo writes what clients send
#: back out, often a few levels deeper (a tool's schema inside the request to Copilot).
MAX_DEPTH = 200


def nested_deeper_than(raw: bytes, value: Any, limit: int) -> bool:
    """Whether `value` (parsed from `raw`) nests arrays and objects more than `limit` deep."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the usual case, decided at C speed
        return False
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


dumps: Callable[[Any], bytes] = orjson.dumps  # no wrapper: it is called once per streamed event


def dumps_kept(value: Any) -> bytes:
    """For bytes held a while (a request body, while its answer streams): orjson's output of
    a small value holds a 4 KiB buffer; a copy holds only its size (4 KiB less per stream)."""
    out = orjson.dumps(value)
    return bytes(memoryview(out)) if len(out) < 4096 else out
