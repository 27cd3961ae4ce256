"""What this process served, for the status page: the last requests, and per-minute and
per-day totals for the charts. In memory and bounded; a restart forgets it.

One record per API request, taken where the access-log line is written: time, client (from
the User-Agent), surface, model, status, tokens, credits, premium requests, latency and time
to first token. Never message content, never a key or token.

The interface (`TrafficStore.add`, `.recent`, `.usage`) is all the page uses. The same request
also becomes a row of the request ledger kept on disk (state/history.py), for `/usage?days=N`.
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import web

from .._state.history import RequestRow
from .app_keys import CORE
from .observe import (
    OBSERVED,
    cached_tokens,
    credits,
    premium_cost,
    time_to_first_byte,
    tokens,
)

RECENT = 100  # rows of the recent-requests table
MINUTES_KEPT = 24 * 60  # per-minute buckets: the last day
DAYS_KEPT = 30  # per-day buckets
SAMPLES_PER_BUCKET = 500  # latencies kept per bucket for the percentiles
WINDOWS = {"hour": (60, 60), "day": (3600, 24), "30d": (86400, 30)}  # step seconds, points

#: User-Agent patterns, most specific first: the client a person would name.
_CLIENTS = (
    ("claude-code", re.compile(r"claude-cli|claude-code", re.I)),
    ("codex", re.compile(r"codex", re.I)),
    ("opencode", re.compile(r"opencode", re.I)),
    ("aider", re.compile(r"aider", re.I)),
    ("anthropic-python", re.compile(r"^Anthropic/Python", re.I)),
    ("anthropic-js", re.compile(r"^Anthropic/JS", re.I)),
    ("openai-python", re.compile(r"^OpenAI/Python", re.I)),
    ("openai-js", re.compile(r"^OpenAI/JS", re.I)),
    ("curl", re.compile(r"^curl/", re.I)),
    ("browser", re.compile(r"Mozilla/", re.I)),
    ("python-aiohttp", re.compile(r"aiohttp", re.I)),
    ("python-httpx", re.compile(r"python-httpx", re.I)),
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,31}")


def client_name(user_agent: str | None) -> str:
    """A short client name from a User-Agent: known clients by name, else its first word."""
    return _client_name(user_agent) if user_agent else "unknown"


@functools.lru_cache(maxsize=256)  # clients send the same User-Agent again and again
def _client_name(user_agent: str) -> str:
    for name, pattern in _CLIENTS:
        if pattern.search(user_agent):
            return name
    first = _NAME.match(user_agent)
    return first.group(0).lower() if first else "other"


@functools.lru_cache(maxsize=256)  # clients ask the same few paths
def surface(path: str) -> str:
    """Which API a path belongs to, as the table shows it."""
    for suffix, name in (("/chat/completions", "chat"), ("/messages/count_tokens", "count_tokens"),
                         ("/messages", "messages"), ("/responses", "responses"), ("/embeddings", "embeddings"),
                         ("/completions", "completions"), ("/models", "models"), ("/ask", "ask")):
        if suffix in path:
            return name
    return path[:40]


class RequestRecord(NamedTuple):  # a tuple: one per request, and cheaper to make than a frozen dataclass
    at: float  # epoch seconds, when it ended
    client: str
    surface: str
    model: str | None
    status: int
    prompt_tokens: int | None
    completion_tokens: int | None
    credits: float
    premium: float
    latency_ms: float | None
    ttft_ms: float | None


@dataclass
class _Bucket:
    requests: int = 0
    errors: int = 0
    credits: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # by model
    premium: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # by model
    statuses: Counter[str] = field(default_factory=Counter)
    clients: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)

    def add(self, record: RequestRecord) -> None:
        self.requests += 1
        self.errors += record.status >= 400
        model = record.model or "-"
        if record.credits:
            self.credits[model] += record.credits
        if record.premium:
            self.premium[model] += record.premium
        self.statuses[str(record.status)] += 1
        self.clients[record.client] += 1
        if record.latency_ms is not None and len(self.latencies) < SAMPLES_PER_BUCKET:
            self.latencies.append(record.latency_ms)
        if record.ttft_ms is not None and len(self.ttfts) < SAMPLES_PER_BUCKET:
            self.ttfts.append(record.ttft_ms)


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return round(ordered[rank], 1)


class TrafficStore:
    """The in-memory store. Not thread-safe: one per process, used on its event loop."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._recent: deque[RequestRecord] = deque(maxlen=RECENT)
        self._minutes: dict[int, _Bucket] = {}
        self._days: dict[int, _Bucket] = {}

    def add(self, record: RequestRecord) -> None:
        self._recent.append(record)
        for buckets, step, kept in ((self._minutes, 60, MINUTES_KEPT), (self._days, 86400, DAYS_KEPT)):
            slot = int(record.at // step)
            bucket = buckets.get(slot)
            if bucket is None:
                bucket = buckets[slot] = _Bucket()
                for old in [s for s in buckets if s <= slot - kept]:
                    del buckets[old]
            bucket.add(record)

    def recent(self, limit: int = RECENT) -> list[dict[str, Any]]:
        """The last requests, newest first."""
        return [r._asdict() for r in list(self._recent)[::-1][:limit]]

    def usage(self, window: str = "hour") -> dict[str, Any]:
        """Chart series for a window ("hour", "day", "30d"): one point per minute, hour or day."""
        step, points = WINDOWS[window]
        last = int(self._clock() // step)
        slots = range(last - points + 1, last + 1)
        merged = [self._merged(slot, step) for slot in slots]
        total = _merge(merged)
        models = sorted(set(total.credits) | set(total.premium))
        return {
            "window": window,
            "step": step,
            "t": [slot * step for slot in slots],
            "requests": [b.requests for b in merged],
            "errors": [b.errors for b in merged],
            "credits": {m: [round(b.credits.get(m, 0.0), 6) for b in merged] for m in models},
            "premium": {m: [b.premium.get(m, 0.0) for b in merged] for m in models},
            "latency_p50": [percentile(b.latencies, 0.5) for b in merged],
            "latency_p95": [percentile(b.latencies, 0.95) for b in merged],
            "ttft_p50": [percentile(b.ttfts, 0.5) for b in merged],
            "ttft_p95": [percentile(b.ttfts, 0.95) for b in merged],
            "by_status": dict(total.statuses),
            "by_client": dict(total.clients),
            "totals": {
                "requests": total.requests,
                "errors": total.errors,
                "credits": round(sum(total.credits.values()), 6),
                "premium": sum(total.premium.values()),
                "latency_p50": percentile(total.latencies, 0.5),
                "latency_p95": percentile(total.latencies, 0.95),
                "ttft_p50": percentile(total.ttfts, 0.5),
                "ttft_p95": percentile(total.ttfts, 0.95),
            },
        }

    def _merged(self, slot: int, step: int) -> _Bucket:
        if step == 86400:
            return self._days.get(slot) or _Bucket()
        per = step // 60
        return _merge(self._minutes[m] for m in range(slot * per, (slot + 1) * per) if m in self._minutes)


def _merge(buckets: Iterable[_Bucket]) -> _Bucket:
    out = _Bucket()
    lists: dict[str, list[float]] = defaultdict(list)
    for b in buckets:
        out.requests += b.requests
        out.errors += b.errors
        for model, amount in b.credits.items():
            out.credits[model] += amount
        for model, amount in b.premium.items():
            out.premium[model] += amount
        out.statuses.update(b.statuses)
        out.clients.update(b.clients)
        lists["latencies"] += b.latencies
        lists["ttfts"] += b.ttfts
    out.latencies, out.ttfts = lists["latencies"], lists["ttfts"]
    return out


# Feeding the store from the server ----------------------------------------------------------

TRAFFIC = web.AppKey("traffic", TrafficStore)
#: Not API traffic: the page, its files, probes and metrics.
UNCOUNTED = frozenset({"/", "/status", "/health", "/ready", "/metrics", "/usage", "/favicon.ico"})
UNCOUNTED_PREFIXES = ("/ui/",)


def note_request(request: web.BaseRequest, status: int, seconds: float) -> None:
    """Record an API request in its app's store (the status page) and, once it passed the key
    check, in the request ledger (called where the access log is written; it only queues)."""
    if not isinstance(request, web.Request) or (seen := request.get(OBSERVED)) is None:
        return  # never reached the app (malformed HTTP): `request.app` would fail an assert
    path = request.path
    if request.method == "OPTIONS" or path in UNCOUNTED or path.startswith(UNCOUNTED_PREFIXES):
        return
    store = request.app.get(TRAFFIC)
    call = seen.call
    core = request.app.get(CORE)
    history = core.history if core is not None and call is not None else None
    if store is None and history is None:
        return
    prompt, completion = tokens(seen)
    ttft = time_to_first_byte(seen)
    # Both tuples are made positionally, their fields named in the comments: a keyword
    # argument costs a name match each, 28 of them a request.
    record = RequestRecord(
        time.time(),  # at
        client_name(request.headers.get("User-Agent")),  # client
        surface(path),  # surface
        seen.model,  # model
        status,  # status
        prompt if isinstance(prompt, int) else None,  # prompt_tokens
        completion if isinstance(completion, int) else None,  # completion_tokens
        credits(seen),  # credits
        premium_cost(seen),  # premium
        round(seconds * 1000, 1),  # latency_ms
        None if ttft is None else round(ttft * 1000, 1),  # ttft_ms
    )
    if store is not None:
        store.add(record)
    if history is not None and call is not None:
        history.record(RequestRow(
            record.at,  # at
            call.key_id,  # key_id
            record.client,  # client
            record.surface,  # surface
            record.model,  # model_asked
            call.billed_model or call.fallback_to,  # model_used
            call.endpoint,  # endpoint
            call.initiator,  # initiator
            call.interaction,  # interaction
            status,  # status
            record.prompt_tokens,  # prompt_tokens
            record.completion_tokens,  # completion_tokens
            cached_tokens(seen),  # cached_tokens
            record.credits,  # credits
            record.premium,  # premium
            record.latency_ms,  # latency_ms
            record.ttft_ms,  # ttft_ms
        ))
