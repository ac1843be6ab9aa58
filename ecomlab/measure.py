"""Timing, latency and throughput summaries, and the records every experiment returns.

* :class:`Stopwatch` / :func:`timed` — wall-clock timing with ``perf_counter_ns``.
* :class:`LatencySummary` — count, mean, p50, p95, p99 and max of a set of latencies (ms).
* :class:`ThroughputSummary` — a rate (per second) over repeated runs, with its spread.
* :class:`Result` — what an experiment returns: label (``measured`` or ``simulated``), seed,
  backends, parameters, metrics and package versions; converts to JSON and to a DataFrame.
* :class:`Claim` — one claim of the design literature with the verdict our measurements give.
* :func:`progress` — a ``tqdm.auto`` bar that appears only when a run lasts more than ~2 s.
"""

from __future__ import annotations

import json
import math
import platform
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from ecomlab.errors import InvalidInput, choices_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLAIM_LABELS",
    "LABELS",
    "VERDICTS",
    "Claim",
    "LatencySummary",
    "Result",
    "Stopwatch",
    "ThroughputSummary",
    "claim_id",
    "claims_frame",
    "join_or_stop",
    "one_row",
    "package_versions",
    "progress",
    "timed",
    "worker_pool",
]

Label = Literal["measured", "simulated"]
Verdict = Literal["supported", "refuted", "qualified", "not measurable here"]
LABELS: tuple[str, ...] = ("measured", "simulated")
VERDICTS: tuple[str, ...] = ("supported", "refuted", "qualified", "not measurable here")
CLAIM_LABELS: tuple[str, ...] = ("measured", "simulated", "model")


def claim_id(approach: str, claim: str) -> str:
    """The slug that names a claim: lower-case words of approach and claim joined by ``-``."""
    words = re.findall(r"[a-z0-9]+", f"{approach} {claim}".lower())
    return "-".join(words)


T = TypeVar("T")

_VERSIONED = ("ecomlab", "numpy", "pandas", "sqlalchemy", "duckdb", "redis", "fakeredis",
              "pymongo", "mongomock", "simpy", "psycopg", "kombu", "tantivy")


class Stopwatch:
    """Elapsed wall-clock time from ``perf_counter_ns``; read it while running or after."""

    def __init__(self) -> None:
        self.start_ns = time.perf_counter_ns()
        self.stop_ns: int | None = None

    def stop(self) -> float:
        """Stop and return the elapsed milliseconds."""
        self.stop_ns = time.perf_counter_ns()
        return self.elapsed_ms

    @property
    def elapsed_ns(self) -> int:
        end = self.stop_ns if self.stop_ns is not None else time.perf_counter_ns()
        return end - self.start_ns

    @property
    def elapsed_ms(self) -> float:
        return self.elapsed_ns / 1e6

    @property
    def elapsed_s(self) -> float:
        return self.elapsed_ns / 1e9


@contextmanager
def timed() -> Iterator[Stopwatch]:
    """``with timed() as sw: ...`` then ``sw.elapsed_ms``."""
    sw = Stopwatch()
    try:
        yield sw
    finally:
        sw.stop()


@dataclass(frozen=True)
class LatencySummary:
    """Latency percentiles in milliseconds over ``count`` samples."""

    count: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of_ms(cls, samples_ms: Iterable[float]) -> LatencySummary:
        """Summarize latencies given in milliseconds (an empty set gives NaNs and count 0)."""
        arr = np.asarray(list(samples_ms) if not isinstance(samples_ms, np.ndarray)
                         else samples_ms, dtype=float)
        if arr.size == 0:
            nan = math.nan
            return cls(0, nan, nan, nan, nan, nan)
        p50, p95, p99 = np.percentile(arr, [50, 95, 99])
        return cls(int(arr.size), float(arr.mean()), float(p50), float(p95), float(p99),
                   float(arr.max()))

    @classmethod
    def of_ns(cls, samples_ns: Iterable[int]) -> LatencySummary:
        """Summarize latencies given in nanoseconds (``perf_counter_ns`` differences)."""
        return cls.of_ms(np.asarray(list(samples_ns), dtype=float) / 1e6)

    def as_dict(self, digits: int = 3) -> dict[str, float | int]:
        """The summary as a plain dict, floats rounded to ``digits``."""
        return {k: (v if isinstance(v, int) else _round(v, digits))
                for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ThroughputSummary:
    """Operations per second over repeated runs: mean, standard deviation, min and max."""

    runs: int
    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of_runs(cls, operations: Sequence[int], seconds: Sequence[float]) -> ThroughputSummary:
        """Summarize ``operations[i]`` done in ``seconds[i]`` for each run ``i``."""
        if len(operations) != len(seconds) or not operations:
            raise InvalidInput(
                f"need one duration per run, got {len(operations)} counts and "
                f"{len(seconds)} durations")
        rates = np.asarray(operations, dtype=float) / np.asarray(seconds, dtype=float)
        std = float(rates.std(ddof=1)) if rates.size > 1 else 0.0
        return cls(int(rates.size), float(rates.mean()), std, float(rates.min()),
                   float(rates.max()))

    def as_dict(self, digits: int = 2) -> dict[str, float | int]:
        return {k: (v if isinstance(v, int) else _round(v, digits))
                for k, v in asdict(self).items()}


def package_versions(names: Iterable[str] = _VERSIONED) -> dict[str, str]:
    """Installed versions of the packages that shape a result (missing ones are left out)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@dataclass
class Result:
    """What an experiment returns.

    Attributes:
        experiment: a short name (``inventory``, ``queue``...).
        label: ``measured`` (real code, wall clock) or ``simulated`` (virtual time).
        seed: the seed every random choice came from.
        backends: which store served each role, e.g. ``{"sql": {"backend": "duckdb", ...}}``.
        params: the validated parameters.
        metrics: the figures; nested dicts allowed (``latency_ms: {p50, p95, p99}``).
        versions: package versions at run time.
        created_at: UTC timestamp (ISO 8601).
    """

    experiment: str
    label: Label
    seed: int | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    backends: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=package_versions)
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise InvalidInput(f"unknown label {self.label!r}; choose {choices_text(LABELS)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (numpy scalars and NaN converted)."""
        return _jsonable(asdict(self))

    def flat(self) -> dict[str, Any]:
        """Metrics and parameters in one flat dict, with ``label`` and ``seed`` on top.

        This is the shape of the command line's ``--json`` output: the public keys of each
        experiment sit at the top level, e.g. ``{"label": ..., "latency_ms": {"p50": ...}}``.
        """
        out: dict[str, Any] = {"experiment": self.experiment, "label": self.label,
                               "seed": self.seed}
        out.update(self.params)
        out.update(self.metrics)
        out["backends"] = self.backends
        out["versions"] = self.versions
        return _jsonable(out)

    def to_json(self, **kwargs: Any) -> str:
        """The result as one JSON object."""
        return json.dumps(self.to_dict(), sort_keys=True, **kwargs)

    def to_frame(self) -> pd.DataFrame:
        """One row: label, seed, parameters and metrics flattened with dotted names."""
        import pandas as pd

        row: dict[str, Any] = {"experiment": self.experiment, "label": self.label,
                               "seed": self.seed}
        row.update(_flatten(self.params, "param."))
        row.update(_flatten(self.metrics, ""))
        return pd.DataFrame([row])


@dataclass(frozen=True)
class Claim:
    """One claim of the design literature and what our measurements say about it.

    Attributes:
        topic: the topic (``inventory``, ``catalog``...).
        approach: the design the claim is about (``strong consistency``...).
        claim: the claim's words, quoted.
        kind: ``pro`` or ``con``.
        verdict: ``supported``, ``refuted``, ``qualified`` or ``not measurable here``.
        evidence: the figure(s) behind the verdict, with their label (measured/simulated).
        conditions: when the verdict holds (backend, load, sizes).
        label: what the evidence is: ``measured``, ``simulated`` or ``model`` (a closed form
            or a stated assumption, no run).
        command: the ``ecomlab ...`` command that reproduces the evidence ("" if none).

    :attr:`id` is derived from the approach and the claim's words, so it is stable while they
    are: the decision framework cites claims by ``(topic, id)``.
    """

    topic: str
    approach: str
    claim: str
    kind: Literal["pro", "con"]
    verdict: Verdict
    evidence: str
    conditions: str = ""
    label: str = "measured"
    command: str = ""

    @property
    def id(self) -> str:
        """A stable slug of approach and claim (``strong-consistency-no-overselling``)."""
        return claim_id(self.approach, self.claim)

    def __post_init__(self) -> None:
        if self.label not in CLAIM_LABELS:
            raise InvalidInput(
                f"unknown claim label {self.label!r}; choose {choices_text(CLAIM_LABELS)}")
        if self.verdict not in VERDICTS:
            raise InvalidInput(
                f"unknown verdict {self.verdict!r}; choose {choices_text(VERDICTS)}")
        if self.kind not in ("pro", "con"):
            raise InvalidInput(f"unknown claim kind {self.kind!r}; choose 'pro' or 'con'")


def claims_frame(claims: Iterable[Claim]) -> pd.DataFrame:
    """The claims as a table (one row each), for a notebook's decision summary."""
    import pandas as pd

    rows = [asdict(c) for c in claims]
    return pd.DataFrame(rows, columns=["topic", "approach", "kind", "claim", "verdict",
                                       "evidence", "conditions"])


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "",
             disable: bool | None = None) -> Iterable[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar shown only after 2 s of work."""
    from tqdm.auto import tqdm

    bar: Iterable[T] = tqdm(iterable, total=total, desc=desc, delay=2.0, disable=disable,
                            leave=False)
    return bar


def _round(value: float, digits: int) -> float:
    return value if math.isnan(value) else round(value, digits)


def _flatten(d: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value


@contextmanager
def worker_pool(workers: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, when the block raises (Ctrl-C), drops its queued work at once.

    ``with ThreadPoolExecutor(...)`` waits for every queued task on the way out, so an
    interrupted run of 20,000 queued orders kept going for seconds; here only the tasks already
    running finish.
    """
    pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def join_or_stop(threads: Sequence[threading.Thread], stop: threading.Event,
                 grace_s: float = 0.2) -> None:
    """Wait for ``threads``; on Ctrl-C set ``stop``, give them ``grace_s`` to leave, re-raise.

    A plain ``join()`` keeps a Ctrl-C'd process alive until every worker has finished its list
    (26 s for a 200,000-request cache run); the workers check ``stop`` between units of work
    and should be daemon threads, so the process can exit once the grace is over.
    """
    try:
        for t in threads:
            while t.is_alive():  # a bounded join lets Ctrl-C reach this thread
                t.join(0.1)
    except KeyboardInterrupt:
        stop.set()
        deadline = time.monotonic() + grace_s
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0.0))
        raise


def one_row(df: pd.DataFrame, where: Mapping[str, object], hint: str = "") -> pd.Series:
    """The single row of ``df`` whose columns equal ``where``; :class:`InvalidInput` otherwise.

    Claims builders read their figures this way, so a table that lacks the run a claim needs
    (or holds it twice) is an error naming the row, never a silently wrong figure. ``hint``
    says how to build the right table.
    """
    import pandas as pd

    mask = pd.Series(True, index=df.index)
    for col, value in where.items():
        mask &= df[col] == value
    rows = df[mask]
    if len(rows) != 1:
        raise InvalidInput(f"expected one row for {where!r}, found {len(rows)}"
                           + (f"; {hint}" if hint else ""))
    return rows.iloc[0]
