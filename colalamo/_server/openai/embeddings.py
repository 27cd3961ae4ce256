"""`POST /v1/embeddings`: strings or token-id arrays in; floats or base64 out.

Copilot answers floats; `encoding_format: "base64"` (the OpenAI SDK's default) is made here:
little-endian float32, base64-encoded, as the SDK decodes it.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from aiohttp import web

from ...exceptions import BadUpstreamReply
from ..app_keys import CORE
from ..observe import note_model, note_usage
from ..request_body import read_json_object
from ..validation.common import bad, check_number, check_type

MAX_INPUTS = 2048


def validate_embeddings_request(body: dict[str, Any]) -> None:
    _input(body.get("input"))
    check_type(body, "model", str, "a string")
    check_number(body, "dimensions", int, 1, None)
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise bad("'encoding_format' must be float or base64", "encoding_format")


def _input(value: Any) -> None:
    if value is None:
        raise bad("'input' is required", "input")
    if isinstance(value, str):
        if not value:
            raise bad("'input' must not be empty", "input")
        return
    if not isinstance(value, list) or not value:
        raise bad("'input' must be a string, a list of strings, or token-id arrays", "input")
    if len(value) > MAX_INPUTS:
        raise bad(f"'input' holds at most {MAX_INPUTS} items", "input")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return
    for n, item in enumerate(value):
        if isinstance(item, str) and item:
            continue
        if isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            continue
        raise bad(f"'input[{n}]' must be a non-empty string or a non-empty list of token ids", f"input[{n}]")


def as_base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


async def embeddings(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    validate_embeddings_request(body)
    encoding = body.pop("encoding_format", None) or "float"
    note_model(request, body.get("model"))
    result = await request.app[CORE].copilot.embeddings(body)
    note_usage(request, result.get("usage"))
    data = result.get("data")
    if not isinstance(data, list) or not data:
        raise BadUpstreamReply("Copilot's embeddings answer has no data")
    for position, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("embedding"), list):
            raise BadUpstreamReply("Copilot's embeddings answer is malformed")
        item.setdefault("index", position)
        item["object"] = "embedding"
        if encoding == "base64":
            item["embedding"] = as_base64(item["embedding"])
    result["object"] = "list"
    return web.json_response(result)
