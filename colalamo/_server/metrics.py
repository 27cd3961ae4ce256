"""`GET /metrics`: Prometheus metrics, one registry per app (so several apps in one process,
as in the tests, do not mix their counts)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .access_log import log_client_gone
from .app_keys import CORE, SETTINGS
from .health import redis_up
from .metric_series import CounterSeries, HistogramSeries
from .observe import (
    Observed,
    billed_model,
    client_gone,
    final_status,
    note_client_gone,
    time_to_first_byte,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
OTHER = "other"


class TokenCollector(Collector):
    """Read the token manager's state at scrape time, instead of pushing it on every change."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        core = self._app.get(CORE)
        if core is None or not core.started:
            return
        tokens = core.tokens
        refreshes = CounterMetricFamily("colalamo_token_refreshes", "Copilot token exchanges attempted")
        refreshes.add_metric([], tokens.exchanges)
        yield refreshes
        failures = CounterMetricFamily("colalamo_token_refresh_failures", "Copilot token exchanges that failed")
        failures.add_metric([], tokens.failures)
        yield failures
        if tokens.token is not None:
            expiry = GaugeMetricFamily("colalamo_token_seconds_to_expiry", "Seconds until the Copilot token expires")
            expiry.add_metric([], tokens.token.expires_at - time.time())
            yield expiry


class RedisCollector(Collector):
    """`colalamo_redis_up`, when COLALAMO_REDIS_URL is set: 1 while the shared Redis answers."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = redis_up(self._app)
        if up is not None:
            gauge = GaugeMetricFamily("colalamo_redis_up", "1 while the Redis shared by the replicas answers, else 0")
            gauge.add_metric([], 1.0 if up else 0.0)
            yield gauge


class Metrics:
    """The server's metrics. The per-request ones are plain numbers written out at scrape
    time (metric_series.py), in the order and the form prometheus_client's would be."""

    def __init__(self, app: web.Application) -> None:
        self.registry = CollectorRegistry()
        self.requests = CounterSeries("colalamo_requests", "Requests answered", ["route", "model", "status"],
                                      self.registry)
        self.latency = HistogramSeries("colalamo_request_duration_seconds", "Time to answer, whole",
                                       ["route"], LATENCY_BUCKETS, self.registry)
        self.first_token = HistogramSeries("colalamo_time_to_first_token_seconds", "Time to the first streamed byte",
                                           ["route"], LATENCY_BUCKETS, self.registry)
        # A plain count the gauge reads when scraped: a Gauge's inc() and dec() take its lock
        # and three calls each, twice a stream.
        self.streams_in_flight = 0
        self.streams = Gauge("colalamo_streams_in_flight", "Streams being sent now", registry=self.registry)
        self.streams.set_function(lambda: self.streams_in_flight)
        self.queued = Gauge("colalamo_requests_queued", "Requests waiting for a slot (COLALAMO_MAX_CONCURRENCY)",
                            registry=self.registry)
        self.upstream_errors = CounterSeries("colalamo_upstream_errors", "Copilot API failures", ["status"],
                                             self.registry)
        self.premium = CounterSeries("colalamo_premium_requests",
                                     "Premium requests spent (times the model's multiplier)", ["model", "key"],
                                     self.registry)
        self.credits = CounterSeries("colalamo_ai_credits", "AI credits spent (as Copilot bills them, by tokens)",
                                     ["model", "key"], self.registry)
        self.registry.register(TokenCollector(app))
        self.registry.register(RedisCollector(app))
        self._app = app
        self._known: tuple[object, frozenset[str]] = (None, frozenset())

    def _model_label(self, model: str | None) -> str:
        # Clients choose model names: only Copilot's own become labels, so they stay few.
        if not model:
            return ""
        core = self._app.get(CORE)
        models = core.copilot.cached_models if core is not None and core.started else None
        if models is not self._known[0]:  # the list was fetched again: rebuild the id set
            self._known = (models, frozenset(m["id"] for m in models or []))
        return model if model in self._known[1] else OTHER

    def observe(self, request: web.Request, record: Observed, status: int, duration: float) -> None:
        resource = request.match_info.route.resource
        route = resource.canonical if resource else "unmatched"
        self.requests.inc((route, self._model_label(record.model), str(status)))
        self.latency.observe((route,), duration)
        first = time_to_first_byte(record)
        if first is not None:
            self.first_token.observe((route,), first)
        if record.upstream_status is not None:
            self.upstream_errors.inc((str(record.upstream_status),))
        call = record.call
        if call is None:
            return
        # Only calls Copilot answered are charged: whatever the final status, these were spent.
        if call.premium_cost:
            self.premium.inc((self._model_label(billed_model(record)), call.key_id), call.premium_cost)
        if call.credits:
            self.credits.inc((self._model_label(billed_model(record)), call.key_id), call.credits)


METRICS = web.AppKey("metrics", Metrics)


def count(request: web.Request, record: Observed, status: int) -> None:
    """Count a request that ended (not the scrapes of /metrics itself)."""
    if request.path != "/metrics":
        request.app[METRICS].observe(request, record, status, time.monotonic() - record.started)


def cancelled_status(request: web.Request, status: int) -> int:
    """The status to count for a handler aiohttp cancelled: a client that left is the client's
    doing, not a server error (and aiohttp writes no access line for it: this does)."""
    if client_gone(request):
        note_client_gone(request)
        status = final_status(request, status)
        log_client_gone(request, request.app[SETTINGS].log_format)
    return status


async def metrics_route(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
