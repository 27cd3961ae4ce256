"""The per-request metrics, kept as plain numbers (colalamo/_server/metric_series.py), are
written out exactly as prometheus_client's own Counter and Histogram write the same counts."""

from __future__ import annotations

import itertools

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from colalamo._server import metric_series
from colalamo._server.metric_series import CounterSeries, HistogramSeries
from colalamo._server.metrics import LATENCY_BUCKETS


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same `_created` timestamps for both: one clock, ticking at each label set made."""
    ticks = itertools.count(1_700_000_000)
    import prometheus_client.metrics

    for module in (prometheus_client.metrics, metric_series):
        monkeypatch.setattr(module.time, "time", lambda: float(next(ticks) // 2))


def _pair() -> tuple[CollectorRegistry, CollectorRegistry]:
    return CollectorRegistry(), CollectorRegistry()


@pytest.mark.usefixtures("clock")
def test_counters_write_what_prometheus_client_writes() -> None:
    theirs, ours = _pair()
    reference = Counter("colalamo_ai_credits", "AI credits spent", ["model", "key"], registry=theirs)
    series = CounterSeries("colalamo_ai_credits", "AI credits spent", ["model", "key"], ours)
    amounts = [("gpt-4.1", "default", 0.000123), ("o3-mini", "key-1", 0.33), ("gpt-4.1", "default", 1),
               ("other", 'a "quoted"\nkey', 2.5e-7), ("o3-mini", "key-1", 0.1)]
    for model, key, amount in amounts:  # alternating, so both clocks tick in the same order
        reference.labels(model, key).inc(amount)
        series.inc((model, key), amount)
    assert generate_latest(ours) == generate_latest(theirs)
    assert b"_created" in generate_latest(ours)


@pytest.mark.usefixtures("clock")
def test_histograms_write_what_prometheus_client_writes() -> None:
    theirs, ours = _pair()
    reference = Histogram("colalamo_request_duration_seconds", "Time to answer", ["route"],
                          buckets=LATENCY_BUCKETS, registry=theirs)
    series = HistogramSeries("colalamo_request_duration_seconds", "Time to answer", ["route"], LATENCY_BUCKETS, ours)
    # on a bound, between bounds, below the first, past the last, and zero
    durations = [("/v1/chat/completions", 0.005), ("/v1/messages", 0.0071), ("/v1/chat/completions", 0.0001),
                 ("/v1/chat/completions", 1000.0), ("/v1/messages", 0.0), ("/v1/chat/completions", 2.5)]
    for route, seconds in durations:
        reference.labels(route).observe(seconds)
        series.observe((route,), seconds)
    assert generate_latest(ours) == generate_latest(theirs)


@pytest.mark.usefixtures("clock")
def test_without_created_series_as_prometheus_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import prometheus_client.metrics

    monkeypatch.setattr(prometheus_client.metrics, "_use_created", False)
    theirs, ours = _pair()
    Counter("c", "a counter", ["x"], registry=theirs).labels("1").inc()
    CounterSeries("c", "a counter", ["x"], ours).inc(("1",))
    Histogram("h", "a histogram", ["x"], registry=theirs).labels("1").observe(0.2)
    HistogramSeries("h", "a histogram", ["x"], Histogram.DEFAULT_BUCKETS, ours).observe(("1",), 0.2)
    assert generate_latest(ours) == generate_latest(theirs)
    assert b"_created" not in generate_latest(ours)
