"""Latency recording with HdrHistogram (the ``hdrhistogram`` package): record, correct, merge.

Values are recorded in whole microseconds from 1 us to one hour with 3 significant digits
(quantization error under 0.1 %), and read back in milliseconds as a
:class:`~ecomlab.measure.LatencySummary` (count, mean, p50, p95, p99, max).

Coordinated omission: an open-loop generator records each latency from the request's
*intended* send time, which is already the correction. A closed-loop client waits for each
answer before sending the next request, so one stall hides the requests it would have sent
meanwhile; :func:`corrected` back-fills them as HdrHistogram's
``copyCorrectedForCoordinatedOmission`` does, with ``record_corrected_value`` and the
client's expected interval between requests.

Reading a histogram walks its 23,552 counters; the library does that in Python per call (a
percentile: milliseconds; the recorded-values iterator: tens of milliseconds). Here the
walks run in numpy over the same counters, with the library's own index-to-value rules, so
the answers are the library's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from hdrh.histogram import HdrHistogram

from ecomlab.measure import LatencySummary

__all__ = ["Histogram", "corrected", "decode", "histogram", "percentiles_us", "record_ms",
           "summary"]

_LOWEST_US = 1
_HIGHEST_US = 3_600_000_000
_DIGITS = 3


class Histogram(HdrHistogram):  # type: ignore[misc]
    """An HdrHistogram that also keeps the exact sum of what was recorded (the library's
    ``get_mean_value`` walks every bucket in Python: a quarter of a second per call)."""

    def __init__(self) -> None:
        super().__init__(_LOWEST_US, _HIGHEST_US, _DIGITS)
        self.sum_us = 0
        self.exact_sum = True  # False once counts arrive by decode_and_add

    def record_value(self, value: int, count: int = 1) -> bool:
        ok = bool(super().record_value(value, count))
        if ok:
            self.sum_us += value * count
        return ok

    def decode_and_add(self, encoded: bytes) -> None:
        super().decode_and_add(encoded)
        self.exact_sum = False

    def mean_us(self) -> float:
        n = self.get_total_count()
        if not n:
            return math.nan
        return self.sum_us / n if self.exact_sum else _bucket_mean_us(self)


def _counts(hist: HdrHistogram) -> np.ndarray:
    """The histogram's counters as a numpy view (no copy)."""
    n = min(int(hist.counts_len), int(hist.encoder.payload.counts_len))
    return np.ctypeslib.as_array(hist.counts)[:n]


def _bucket_mean_us(hist: HdrHistogram) -> float:
    """The mean from the buckets (each count at its bucket's median value), as the
    library's ``get_mean_value``."""
    counts = _counts(hist)
    nonzero = np.flatnonzero(counts)
    total = sum(int(counts[i]) * hist._hdr_median_equiv_value(
        hist.get_highest_equivalent_value(hist.get_value_from_index(int(i))))
        for i in nonzero)
    n = int(hist.get_total_count())
    return total / n if n else math.nan


def percentiles_us(hist: HdrHistogram, percentiles: Iterable[float]) -> list[float]:
    """``get_value_at_percentile`` for each percentile, in one cumulative sum (us)."""
    cum = np.cumsum(_counts(hist))
    out = []
    for p in percentiles:
        index = int(np.searchsorted(cum, hist.get_target_count_at_percentile(p)))
        if index >= cum.size:
            out.append(0.0)
            continue
        value = hist.get_value_from_index(index)
        out.append(float(hist.get_highest_equivalent_value(value) if p
                         else hist.get_lowest_equivalent_value(value)))
    return out


def histogram() -> Histogram:
    """An empty histogram of microseconds (1 us to 1 h, 3 significant digits)."""
    return Histogram()


def record_ms(hist: HdrHistogram, ms: float) -> None:
    """Record one latency given in milliseconds (clamped to the histogram's range)."""
    us = min(_HIGHEST_US, max(_LOWEST_US, round(ms * 1000.0)))
    hist.record_value(us)


def corrected(hist: HdrHistogram, expected_interval_ms: float) -> Histogram:
    """A copy of ``hist`` corrected for coordinated omission at ``expected_interval_ms``.

    Every recorded value ``v`` larger than the interval also adds ``v - i``, ``v - 2i``, ...
    down to the interval: the latencies the requests a stalled client did not send would
    have seen.
    """
    out = histogram()
    interval = max(_LOWEST_US, round(expected_interval_ms * 1000.0)) \
        if math.isfinite(expected_interval_ms) and expected_interval_ms > 0 else 0
    counts = _counts(hist)
    for index in np.flatnonzero(counts):  # a bucket's lowest value, as Java's copy does
        value = hist.get_highest_equivalent_value(hist.get_value_from_index(int(index)))
        out.record_corrected_value(hist.get_lowest_equivalent_value(value), interval,
                                   int(counts[index]))
    return out


def summary(hist: HdrHistogram) -> LatencySummary:
    """Percentiles in ms (NaNs and count 0 for an empty histogram)."""
    n = int(hist.get_total_count())
    if n == 0:
        nan = math.nan
        return LatencySummary(0, nan, nan, nan, nan, nan)
    p50, p95, p99 = (v / 1000.0 for v in percentiles_us(hist, (50, 95, 99)))
    mean_us = hist.mean_us() if isinstance(hist, Histogram) else _bucket_mean_us(hist)
    return LatencySummary(n, mean_us / 1000.0, p50, p95, p99, hist.get_max_value() / 1000.0)


def decode(encoded: Iterable[bytes | str]) -> HdrHistogram:
    """Merge histograms sent as HdrHistogram's base64 text (replicas of one service; the
    merged one has no exact sum, so its mean comes from the buckets)."""
    out = histogram()
    for item in encoded:
        out.decode_and_add(item.encode() if isinstance(item, str) else item)
    return out
