"""Sentences for notebook 05 written from a run's own tables, so the prose holds on every run.

Each function takes a table built by :mod:`ecomlab.architecture.experiment` and returns
Markdown; numbers come from the table, comparisons are stated the way the table came out.
"""

from __future__ import annotations

import pandas as pd

from ecomlab.architecture.scaling import USL_MIN_R2

__all__ = [
    "availability_summary",
    "cascade_summary",
    "compare_summary",
    "consistency_summary",
    "curve_summary",
    "replica_summary",
    "scaling_summary",
    "usl_summary",
]


def _row(df: pd.DataFrame, **where: object) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for col, value in where.items():
        mask &= df[col] == value
    return df[mask].iloc[0]


def consistency_summary(table: pd.DataFrame) -> str:
    """What each variant left behind over the trials (measured)."""
    seed = _row(table, variant="seed")
    saga = _row(table, variant="saga")
    outbox = _row(table, variant="outbox")
    mono = table[table["variant"].str.startswith("monolith")].iloc[0]
    n, orders = int(seed["trials"]), int(seed["orders"])
    return (
        f"Over **{n} seeded fault trials** ({orders} orders per variant) the seed's "
        f"orchestration left **{int(seed['total'])} inconsistent end states**: "
        f"{int(seed['charged_without_order'])} customers charged without an order, "
        f"{int(seed['reserved_without_order'])} reservations without an order and "
        f"{int(seed['events_lost'])} confirmed orders whose confirmation never went out, "
        f"in {int(seed['trials_with_any'])} of {n} trials. The saga brought money and stock "
        f"back in line ({int(saga['charged_without_order'])} charged, "
        f"{int(saga['reserved_without_order'])} reserved without an order) but still lost "
        f"{int(saga['events_lost'])} events on crashes between the commit and the publish; "
        f"saga + outbox left **{int(outbox['total'])}**, and the monolith's single "
        f"transaction **{int(mono['total'])}**.")


def compare_summary(compare: pd.DataFrame, waterfall: pd.DataFrame) -> str:
    """Cost of the split without faults: latency, CPU, hops, and the waterfall's split."""
    mono = _row(compare, style="monolith")
    micro = _row(compare, style="microservices")
    hops = waterfall[(waterfall["style"] == "microservices") & waterfall["network_ms"].notna()]
    net = float(hops["network_ms"].sum())
    handler = float(hops["handler_ms"].sum())
    whole = {str(r["style"]): float(r["duration_ms"]) for _, r in
             waterfall[waterfall["step"] == "client: whole order"].iterrows()}
    ratio = micro["p50_ms"] / mono["p50_ms"] if mono["p50_ms"] else float("nan")
    return (
        f"In this run one idle order took **{whole['monolith']:.1f} ms** "
        f"through the monolith and **{whole['microservices']:.1f} ms** "
        f"through the services. Its {len(hops)} HTTP hops spent {handler:.2f} ms inside the "
        f"callees' handlers and **{net:.1f} ms** in sockets, HTTP and JSON on both sides. "
        f"Under 4 clients the order p50 was {mono['p50_ms']:.1f} ms vs {micro['p50_ms']:.1f} "
        f"ms ({ratio:.1f}x), CPU per order {mono['cpu_ms_per_order']:.1f} ms vs "
        f"{micro['cpu_ms_per_order']:.1f} ms across the service processes, and "
        f"{micro['hops_per_order']:.1f} hops per order vs none.")


def curve_summary(curves: pd.DataFrame) -> str:
    """Where each style stopped keeping up with the offered rate (measured)."""
    parts = []
    for style, part in curves.groupby("style", sort=False):
        best = part["throughput_per_s"].max()
        behind = part[part["throughput_per_s"] < 0.8 * part["offered_per_s"]]
        knee = (f"fell behind from {behind['offered_per_s'].min():g} orders/s offered (served "
                "under 80% of the offered rate)"
                if not behind.empty else "kept up with every offered rate (served at least "
                "80% of each)")
        parts.append(f"**{style}** peaked at {best:.0f} orders/s and {knee}, with a p99 of "
                     f"{part['p99_ms'].iloc[-1]:.0f} ms at the highest rate")
    gen = curves["generator_cpu_ms_per_order"].mean()
    return ("; ".join(parts) + f". The load generator itself used {gen:.1f} ms of CPU per "
            "order on average: on two shared cores it competes with the services, so these "
            "saturation points are this machine's, not the designs' limits.")


def availability_summary(table: pd.DataFrame) -> str:
    """Measured vs closed-form availability, and isolation of the product page."""
    gaps = (table["orders_measured"] - table["orders_model"]).abs()
    worst = table.iloc[int(gaps.to_numpy().argmax())]
    down = table[table["fault"].str.endswith("=down")]
    lines = [f"The largest gap between measured and closed-form order availability was "
             f"**{gaps.max():.3f}** ({worst['style']}, {worst['fault']})."]
    for _, r in down.iterrows():
        lines.append(f"With `{r['fault']}` the {r['style']} answered "
                     f"{r['orders_measured']:.0%} of orders and {r['page_measured']:.0%} of "
                     "product pages.")
    return " ".join(lines)


def cascade_summary(table: pd.DataFrame) -> str:
    """What the slow inventory did to product pages per style and resilience (measured)."""
    def page(style: str, resilience: str) -> float:
        return float(_row(table, style=style, resilience=resilience)["page_ok"])

    def amp(resilience: str) -> float:
        row = _row(table, style="microservices", resilience=resilience)
        return float(row["inventory_requests_per_order"])

    return (
        f"Monolith, no resilience: product pages answered **{page('monolith', 'none'):.0%}**"
        f" — orders held the shared workers. Timeouts alone gave "
        f"{page('monolith', 'timeouts'):.0%} (a timed-out thread keeps running and keeps its "
        f"worker); bulkheads (`full`) gave **{page('monolith', 'full'):.0%}**. In the "
        f"microservices the product service answered {page('microservices', 'none'):.0%} "
        f"even without resilience, because the slow service's callers run elsewhere; "
        f"requests reaching inventory per order were {amp('timeouts'):.2f} with timeouts (a "
        f"reservation and its compensating release), {amp('full, no breaker'):.2f} with "
        f"retries but no breaker, and {amp('full'):.2f} with retries behind the breaker.")


def scaling_summary(model: pd.DataFrame, curves: pd.DataFrame) -> str:
    """The model's ceilings beside the measured peaks (model vs measured)."""
    parts = []
    for style, part in model.groupby("style", sort=False):
        top = part[part["clients"] == part["clients"].max()]
        base = float(top[top["plan"] == "as measured"]["throughput_per_s"].iloc[0])
        scaled = top[top["plan"] != "as measured"].iloc[0]
        mine = curves[curves["style"] == style]
        measured = float(mine["throughput_per_s"].max())
        offered = float(mine["offered_per_s"].max())
        seen = (f"section 3 measured up to {measured:.0f} orders/s while keeping up with its "
                f"highest offered rate ({offered:g}/s), so its ceiling lies higher"
                if measured >= 0.8 * offered else
                f"section 3 saturated at {measured:.0f} orders/s")
        parts.append(f"**{style}**: the model predicts {base:.0f} orders/s at "
                     f"{int(part['clients'].max())} clients "
                     f"({scaled['plan']}: {float(scaled['throughput_per_s']):.0f}); {seen}")
    return ("; ".join(parts) + ". Where a measured saturation point falls short of the "
            "model, the capacity went to what the model leaves out: the load generator, the "
            "other processes sharing two cores, and waiting that is not CPU.")


def usl_summary(fits: pd.DataFrame) -> str:
    """The fitted USL parameters per style, read from the fit table; a fit whose r2 is
    under the table's threshold is reported as not describing the curve, with what the
    points did instead."""
    parts = []
    for _, f in fits.iterrows():
        if not f.get("fits", True) and f["r2"] >= USL_MIN_R2:
            parts.append(
                f"**{f['style']}**: {int(f['points'])} points are too few to judge a "
                f"three-parameter fit (r2 {f['r2']:.2f}); throughput went x{f['gain']:.2f} "
                "from the fewest clients to the most")
            continue
        if not f.get("fits", True):
            parts.append(
                f"**{f['style']}**: the USL does not describe this curve (r2 {f['r2']:.2f}): "
                f"throughput went x{f['gain']:.2f} from the fewest clients to the most, its "
                f"points spread {f['spread']:.0%} around their mean ("
                + ("a change no larger than that spread: more clients bought no throughput "
                   "this run can tell from noise" if abs(f["gain"] - 1) <= f["spread"] else
                   "a change larger than that spread, but not in the law's shape")
                + f"), so the fitted sigma ({f['sigma']:.2f}) and kappa ({f['kappa']:.4f}) are "
                "not read as contention and coherence")
            continue
        peak = (f"the fitted curve peaks near {f['peak_clients']:.0f} clients"
                if f["peak_clients"] <= 1000 else
                "the fit has no peak within 1000 clients (kappa about 0)")
        parts.append(f"**{f['style']}**: sigma (contention) **{f['sigma']:.3f}**, kappa "
                     f"(coherence) **{f['kappa']:.4f}**, one client {f['lambda']:.0f} orders/s,"
                     f" r2 {f['r2']:.2f}; {peak}")
    return "; ".join(parts) + "."


def replica_summary(check: pd.DataFrame) -> str:
    """Measured gain of a second replica and how far the model was from it."""
    parts = []
    for style, part in check.groupby("style", sort=False):
        one, many = part.iloc[0], part.iloc[-1]
        gain = many["measured_per_s"] / one["measured_per_s"] if one["measured_per_s"] else 0
        ok = int(part["within"].sum())
        parts.append(
            f"**{style}** ({int(many['replicas'])} x {many['service']}, "
            f"{int(one['clients'])} clients): {one['measured_per_s']:.0f} -> "
            f"{many['measured_per_s']:.0f} orders/s measured (x{gain:.2f}), the replicas "
            f"serving {' and '.join(str(n) for n in many['served_by_replica'])} requests over "
            f"the run; the model with a "
            f"core per replica predicted {many['model_own_cores_per_s']:.0f}, bounded by two "
            f"shared cores {many['model_on_cores_per_s']:.0f} (error "
            f"{many['error']:+.0%}); {ok} of {len(part)} points within the stated "
            f"±{float(one['tolerance']):.0%}; the run's processes got "
            f"{one['cores_used']:.2f} and {many['cores_used']:.2f} cores of CPU")
    text = "; ".join(parts) + "."
    if (check["cores_used"] > 2.0).any():
        text += (" A figure above the machine's 2 cores is the reading's resolution, not extra "
                 "CPU: each process's CPU clock advances in 10 ms ticks, and a level of a few "
                 "dozen orders lasts a few hundred milliseconds, over which the CPU read and the "
                 "wall clock do not cover exactly the same instants.")
    return text
