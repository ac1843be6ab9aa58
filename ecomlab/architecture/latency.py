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
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

from ecomlab.measure import LatencySummary

__all__ = ["Histogram", "corrected", "decode", "histogram", "record_ms", "summary"]

_LOWEST_US = 1
_HIGHEST_US = 3_600_000_000
_DIGITS = 3


class Histogram(HdrHistogram):  # type: ignore[misc]
    """An HdrHistogram that also keeps the exact sum of what was recorded (the library's
    ``get_mean_value`` walks every bucket in Python: a quarter of a second per call)."""

    def __init__(self) -> None:
        super().__init__(_LOWEST_US, _HIGHEST_US, _DIGITS)
        self.sum_us = 0

    def record_value(self, value: int, count: int = 1) -> bool:
        ok = bool(super().record_value(value, count))
        if ok:
            self.sum_us += value * count
        return ok

    def mean_us(self) -> float:
        n = self.get_total_count()
        return self.sum_us / n if n else math.nan


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
    for item in hist.get_recorded_iterator():  # a bucket's lowest value, as Java's copy does
        low = hist.get_lowest_equivalent_value(item.value_iterated_to)
        out.record_corrected_value(low, interval, item.count_added_in_this_iter_step)
    return out


def summary(hist: HdrHistogram) -> LatencySummary:
    """Percentiles in ms (NaNs and count 0 for an empty histogram)."""
    n = int(hist.get_total_count())
    if n == 0:
        nan = math.nan
        return LatencySummary(0, nan, nan, nan, nan, nan)
    p50, p95, p99 = (hist.get_value_at_percentile(p) / 1000.0 for p in (50, 95, 99))
    mean_us = hist.mean_us() if isinstance(hist, Histogram) else hist.get_mean_value()
    return LatencySummary(n, mean_us / 1000.0, p50, p95, p99, hist.get_max_value() / 1000.0)


def decode(encoded: Iterable[bytes | str]) -> HdrHistogram:
    """Merge histograms sent as HdrHistogram's base64 text (replicas of one service; the
    merged one has no exact sum, so its mean comes from the buckets)."""
    out = histogram()
    for item in encoded:
        out.decode_and_add(item.encode() if isinstance(item, str) else item)
    return out
