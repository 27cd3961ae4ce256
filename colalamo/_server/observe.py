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

#: nginx's status for a client that closed the connection before its answer was complete
CLIENT_CLOSED = 499

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Observed:
    """What one request leaves behind, in one object under one request key.

    Not a key each: aiohttp's Request answers `get` and `in` through the Mapping ABC, a Python
    frame per read and, for a key not set (most of these, on most requests), a KeyError raised
    and caught; the dozen reads a request made cost more than the rest of this module."""

    __slots__ = ("request_id", "started", "call", "model", "usage", "first_byte", "upstream_status", "client_gone",
                 "body")

    def __init__(self, request_id: str, started: float) -> None:
        self.request_id = request_id
        self.started = started  # time.monotonic()
        self.call: CallContext | None = None  # costs and model fallback of the call (access.py)
        self.model: str | None = None
        self.usage: dict[str, Any] | None = None
        self.first_byte: float | None = None
        self.upstream_status: int | None = None
        self.client_gone = False  # the client left before its answer was whole
        self.body: str | None = None  # only kept when --log-bodies asked for it


OBSERVED = web.RequestKey("observed", Observed)


def observed(request: web.BaseRequest) -> Observed | None:
    """The request's record; None for one that never reached the app (malformed HTTP)."""
    return request.get(OBSERVED)


def call_of(request: web.BaseRequest) -> CallContext | None:
    record = request.get(OBSERVED)
    return record.call if record is not None else None


# The notes are kept only on a request the front door began (front.py): an app without it
# (a test's) has no record to keep them in, and nothing that would read them.

def note_model(request: web.Request, model: Any) -> None:
    record = request.get(OBSERVED)
    if record is not None and isinstance(model, str):
        record.model = model


def note_usage(request: web.Request, usage: Any) -> None:
    record = request.get(OBSERVED)
    if record is not None and isinstance(usage, dict):
        record.usage = usage


def note_first_byte(request: web.Request) -> None:
    record = request.get(OBSERVED)
    if record is not None and record.first_byte is None:
        record.first_byte = time.monotonic()


def note_upstream_status(request: web.BaseRequest, status: int) -> None:
    record = request.get(OBSERVED)
    if record is not None:
        record.upstream_status = status


def note_body(request: web.Request, body: str) -> None:
    record = request.get(OBSERVED)
    if record is not None:
        record.body = body


def note_client_gone(request: web.BaseRequest) -> None:
    record = request.get(OBSERVED)
    if record is not None:
        record.client_gone = True


def client_gone(request: web.BaseRequest) -> bool:
    """Whether the client has closed its connection (aiohttp drops the transport then)."""
    record = request.get(OBSERVED)
    transport = request.transport
    return (record is not None and record.client_gone) or transport is None or transport.is_closing()


def final_status(request: web.BaseRequest, status: int) -> int:
    """The status to log and count: 499 when the client left before its answer was whole."""
    record = request.get(OBSERVED)
    return CLIENT_CLOSED if record is not None and record.client_gone else status


def request_id(request: web.BaseRequest) -> str:
    record = request.get(OBSERVED)
    return record.request_id if record is not None else "-"


def begin_request(request: web.Request) -> Observed:
    """Give the request its record: its id (the client's `X-Request-Id` when it sent a sane
    one) and its start (time.monotonic())."""
    incoming = request.headers.get("X-Request-Id", "")
    record = request[OBSERVED] = Observed(incoming if _SANE_ID.match(incoming) else fast_uuid4_hex(),
                                          time.monotonic())
    return record


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: streams get these too, before their first byte."""
    record = request.get(OBSERVED)
    if record is None:
        return
    call = record.call
    response.headers["X-Request-Id"] = record.request_id
    response.headers["Server-Timing"] = server_timing(call, record.started, time.monotonic())
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


def premium_cost(record: Observed) -> float:
    """Premium requests the request's calls to Copilot were charged."""
    call = record.call
    return call.premium_cost if call is not None else 0.0


def credits(record: Observed) -> float:
    """AI credits the request's calls to Copilot were charged."""
    call = record.call
    return round(call.credits, 6) if call is not None else 0.0


def billed_model(record: Observed) -> str | None:
    """The Copilot model that was charged (after aliases and budget fallback), else the
    model the client asked for."""
    call = record.call
    if call is not None and (call.billed_model or call.fallback_to):
        return str(call.billed_model or call.fallback_to)
    return record.model


def tokens(record: Observed) -> tuple[int | None, int | None]:
    usage = record.usage or {}
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    return prompt, completion


def cached_tokens(record: Observed) -> int | None:
    """Prompt tokens Copilot read from its cache, as each format reports them."""
    usage = record.usage or {}
    for details in ("prompt_tokens_details", "input_tokens_details"):  # chat; Responses
        cached = (usage.get(details) or {}).get("cached_tokens")
        if isinstance(cached, int):
            return cached
    cached = usage.get("cache_read_input_tokens")  # Anthropic
    return cached if isinstance(cached, int) else None


def time_to_first_byte(record: Observed) -> float | None:
    first = record.first_byte
    return first - record.started if first is not None else None
