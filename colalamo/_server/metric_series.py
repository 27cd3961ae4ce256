"""Labelled counters and histograms kept as plain numbers, written out as prometheus_client's
own `Counter` and `Histogram` write them.

Why: a prometheus_client child takes a lock and three or four Python calls per `inc()` or
`observe()`, and `labels()` validates and locks again; a request counted five times paid that
on every request. Here a count is one dict lookup and an addition, and the work of shaping the
samples is done when /metrics is scraped. The samples (names, labels, values, the `_created`
timestamp of each label set, the order of everything) are those prometheus_client writes.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Iterator, Sequence

from prometheus_client import metrics as _prometheus_metrics
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString


def _created_series() -> bool:
    """Whether `_created` samples are written (PROMETHEUS_DISABLE_CREATED_SERIES, or
    prometheus_client's disable_created_metrics(), turn them off for its own metrics too)."""
    return bool(_prometheus_metrics._use_created)


class CounterSeries(Collector):
    """A counter with labels: `inc(labels, amount)`, one running total per label set."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        # label values -> [total, created]; a dict keeps the order label sets first appeared in
        self._cells: dict[tuple[str, ...], list[float]] = {}
        registry.register(self)

    def inc(self, labels: tuple[str, ...], amount: float = 1.0) -> None:
        cell = self._cells.get(labels)
        if cell is None:
            cell = self._cells[labels] = [0.0, time.time()]
        cell[0] += amount

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        created = _created_series()
        for labels, (total, since) in list(self._cells.items()):
            family.add_metric(labels, total, created=since if created else None)
        yield family


class HistogramSeries(Collector):
    """A histogram with labels: `observe(labels, amount)`; the buckets' upper bounds are
    `buckets`, and +Inf."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float],
                 registry: CollectorRegistry) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._bounds = [float(b) for b in buckets]
        if self._bounds[-1] != math.inf:
            self._bounds.append(math.inf)
        self._les = [floatToGoString(b) for b in self._bounds]  # type: ignore[no-untyped-call]
        # label values -> [count in each bucket..., sum, created]
        self._cells: dict[tuple[str, ...], list[float]] = {}
        registry.register(self)

    def observe(self, labels: tuple[str, ...], amount: float) -> None:
        cell = self._cells.get(labels)
        if cell is None:
            cell = self._cells[labels] = [0.0] * len(self._bounds) + [0.0, time.time()]
        cell[-2] += amount
        # the first bucket whose bound is at least `amount`, found in C (amounts are durations:
        # never NaN, which no bucket would take)
        cell[bisect.bisect_left(self._bounds, amount)] += 1.0

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        created = _created_series()
        width = len(self._bounds)
        for labels, cell in list(self._cells.items()):
            cumulative, total = [], 0.0
            for le, count in zip(self._les, cell[:width], strict=True):
                total += count
                cumulative.append((le, total))
            family.add_metric(labels, cumulative, cell[width])
            if created:
                named = dict(zip(self._labelnames, labels, strict=True))
                family.add_sample(f"{self._name}_created", named, cell[width + 1])
        yield family
