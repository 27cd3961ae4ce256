"""What a request leaves behind for logs and metrics: its id, model, tokens, first-byte time.

Handlers note what they learn (`note_model`, `note_usage`); the SSE relay notes the first byte;
`begin_request` (the middleware in front.py calls it) gives every request an id (the client's
`X-Request-Id` when it sent a sane one), returned on the response with `Server-Timing`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from .._ids import fast_uuid4_hex
from .._upstream.context import CallContext

REQUEST_ID = web.RequestKey("request_id", str)
STARTED = web.RequestKey("started", float)
FIRST_BYTE = web.RequestKey("first_byte", float)
MODEL = web.RequestKey("model", str)
USAGE = web.RequestKey("usage", dict)
UPSTREAM_STATUS = web.RequestKey("upstream_status", int)
BODY = web.RequestKey("body", str)
CALL = web.RequestKey("call", CallContext)  # costs and model fallback of the call
CLIENT_GONE = web.RequestKey("client_gone", bool)  # the client left before its answer was whole
#: nginx's status for a client that closed the connection before its answer was complete
CLIENT_CLOSED = 499

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def note_model(request: web.Request, model: Any) -> None:
    if isinstance(model, str):
        request[MODEL] = model


def note_usage(request: web.Request, usage: Any) -> None:
    if isinstance(usage, dict):
        request[USAGE] = usage


def note_first_byte(request: web.Request) -> None:
    request.setdefault(FIRST_BYTE, time.monotonic())


def note_client_gone(request: web.BaseRequest) -> None:
    request[CLIENT_GONE] = True


def client_gone(request: web.BaseRequest) -> bool:
    """Whether the client has closed its connection (aiohttp drops the transport then)."""
    transport = request.transport
    return request.get(CLIENT_GONE, False) or transport is None or transport.is_closing()


def final_status(request: web.BaseRequest, status: int) -> int:
    """The status to log and count: 499 when the client left before its answer was whole."""
    return CLIENT_CLOSED if request.get(CLIENT_GONE) else status


def request_id(request: web.BaseRequest) -> str:
    return str(request.get(REQUEST_ID, "-"))


def begin_request(request: web.Request) -> float:
    """Give the request its id (the client's `X-Request-Id` when it sent a sane one) and its
    start; return the start (time.monotonic())."""
    incoming = request.headers.get("X-Request-Id", "")
    request[REQUEST_ID] = incoming if _SANE_ID.match(incoming) else fast_uuid4_hex()
    request[STARTED] = started = time.monotonic()
    return started


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: streams get these too, before their first byte."""
    if REQUEST_ID in request:
        response.headers["X-Request-Id"] = request[REQUEST_ID]
    call = request.get(CALL)
    started = request.get(STARTED)
    if started is not None:
        response.headers["Server-Timing"] = server_timing(call, started, time.monotonic())
    if call is not None and call.fallback_from:  # the budget moved this call to another model
        response.headers["X-Colalamo-Model-Fallback"] = f"{call.fallback_from} -> {call.fallback_to}"
    if call is not None and call.ignored_tools:
        named = ", ".join(call.ignored_tools)  # the client's names: printable ASCII only in a header
        response.headers["X-Colalamo-Ignored-Tools"] = _UNPRINTABLE.sub("?", named)[:1000]


def server_timing(call: CallContext | None, started: float, now: float) -> str:
    """`Server-Timing: colalamo;dur=<ms>`: the time colalamo spent itself on the request up to
    its answer's headers, from the request entering the app to the call to Copilot being
    handed to the HTTP client, plus from Copilot's answer being in (a stream's headers, a
    whole answer's body) to these headers. Without a call to Copilot, all of it."""
    own = call.own_time(started, now) if call is not None else now - started
    return f"colalamo;dur={own * 1000:.2f}"


def premium_cost(request: web.BaseRequest) -> float:
    """Premium requests the request's calls to Copilot were charged."""
    call = request.get(CALL)
    return call.premium_cost if call is not None else 0.0


def credits(request: web.BaseRequest) -> float:
    """AI credits the request's calls to Copilot were charged."""
    call = request.get(CALL)
    return round(call.credits, 6) if call is not None else 0.0


def billed_model(request: web.BaseRequest) -> str | None:
    """The Copilot model that was charged (after aliases and budget fallback), else the
    model the client asked for."""
    call = request.get(CALL)
    if call is not None and (call.billed_model or call.fallback_to):
        return str(call.billed_model or call.fallback_to)
    return request.get(MODEL)


def tokens(request: web.BaseRequest) -> tuple[int | None, int | None]:
    usage = request.get(USAGE) or {}
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    return prompt, completion


def cached_tokens(request: web.BaseRequest) -> int | None:
    """Prompt tokens Copilot read from its cache, as each format reports them."""
    usage = request.get(USAGE) or {}
    for details in ("prompt_tokens_details", "input_tokens_details"):  # chat; Responses
        cached = (usage.get(details) or {}).get("cached_tokens")
        if isinstance(cached, int):
            return cached
    cached = usage.get("cache_read_input_tokens")  # Anthropic
    return cached if isinstance(cached, int) else None


def time_to_first_byte(request: web.BaseRequest) -> float | None:
    started, first = request.get(STARTED), request.get(FIRST_BYTE)
    return first - started if started is not None and first is not None else None
