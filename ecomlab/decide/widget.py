"""The notebook's decision widgets: a profile form, a live recommendation table and a what-if
chart of where each recommendation flips with team size.

:func:`explore_decision` is the callback (a profile in; a note, the table, the flip table and
the chart out); it runs no experiment, only the rules, so it answers in milliseconds.
:func:`decide_explorer` wires it to the form and re-runs it on every change.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ecomlab.decide.engine import MAIN_DECISIONS, decide, evaluate
from ecomlab.decide.ledger import Ledger, bundled_ledger
from ecomlab.decide.profile import BOOLEAN_DRIVERS, DATA_ITEMS, FIELDS, parse_profile
from ecomlab.decide.rules import CHOICES, RuleSet, load_rules
from ecomlab.errors import EcomlabError

__all__ = ["decide_explorer", "disagreements", "driver_table", "explore_decision",
           "flip_table", "recommendation_table", "segments", "whatif_figure"]

TEAM_RANGE = (1, 200)
_PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2")


def recommendation_table(result: Mapping[str, Any], *, reasons: int = 2) -> pd.DataFrame:
    """One row per decision (and per data item's consistency): choice, confidence, the top
    reasons (the heaviest rules for the choice), the verdicts of its evidence rows, the rules
    against it and the conflict, if any."""
    rows = []
    decisions = result["decisions"]
    for name in MAIN_DECISIONS:
        rows.append(_row(name, decisions[name], reasons))
    for item, rec in decisions.get("consistency", {}).items():
        rows.append(_row(f"consistency: {item}", rec, reasons))
    return pd.DataFrame(rows).set_index("decision")


def _row(name: str, rec: Mapping[str, Any], reasons: int) -> dict[str, Any]:
    top = sorted(rec["fired_rules"], key=lambda r: -r["weight"])[:reasons]
    conflict = rec.get("conflict")
    verdicts: dict[str, int] = {}
    for row in rec.get("evidence", []):
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    return {"decision": name, "choice": rec["choice"], "confidence": rec["confidence"],
            "top reasons": "; ".join(r["rationale"] for r in top) or "no rule holds",
            "evidence": ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) or "-",
            "against": ", ".join(r["id"] for r in rec["against"]) or "-",
            "conflict": (f"{' vs '.join(conflict['between'])}: {conflict['cost']}"
                         if conflict else "-")}


def segments(profile: Mapping[str, Any], *, rules: RuleSet | None = None,
             team_range: tuple[int, int] = TEAM_RANGE) -> pd.DataFrame:
    """For each decision, the team-size ranges over which its choice stays the same (columns
    decision, from, to, choice, confidence), other fields as in ``profile``."""
    rs = rules or load_rules()
    p = copy.deepcopy(dict(profile))
    rows: list[dict[str, Any]] = []
    for d in MAIN_DECISIONS:
        current: dict[str, Any] | None = None
        for n in range(team_range[0], team_range[1] + 1):
            p["team"] = {**p["team"], "developers": n}
            res = evaluate(p, d, rules=rs)
            key = (res["choice"], res["confidence"])
            if current is not None and (current["choice"], current["confidence"]) == key:
                current["to"] = n
                continue
            current = {"decision": d, "from": n, "to": n, "choice": key[0],
                       "confidence": key[1]}
            rows.append(current)
    return pd.DataFrame(rows, columns=["decision", "from", "to", "choice", "confidence"])


def flip_table(profile: Mapping[str, Any], *, rules: RuleSet | None = None) -> pd.DataFrame:
    """Where each recommendation changes choice as the team grows from 1 to 200 developers."""
    seg = segments(profile, rules=rules)
    rows = []
    for d in MAIN_DECISIONS:
        part = seg[seg["decision"] == d]
        merged: list[list[Any]] = []
        for _, s in part.iterrows():
            if merged and merged[-1][2] == s["choice"]:
                merged[-1][1] = s["to"]
            else:
                merged.append([s["from"], s["to"], s["choice"]])
        rows.append({"decision": d, "choices by team size": " | ".join(
            f"{a}-{b}: {c}" for a, b, c in merged),
            "flips at": ", ".join(str(m[0]) for m in merged[1:]) or "never"})
    return pd.DataFrame(rows).set_index("decision")


def driver_table(profile: Mapping[str, Any], *, rules: RuleSet | None = None) -> pd.DataFrame:
    """For each boolean driver: what changes if it is toggled (decision: old -> new)."""
    rs = rules or load_rules()
    base = {d: evaluate(profile, d, rules=rs)["choice"] for d in MAIN_DECISIONS}
    rows = []
    for path in BOOLEAN_DRIVERS:
        section, key = path.split(".")
        p = copy.deepcopy(dict(profile))
        p[section] = {**p[section], key: not p[section][key]}
        changed = [f"{d}: {base[d]} -> {c}" for d in MAIN_DECISIONS
                   if (c := evaluate(p, d, rules=rs)["choice"]) != base[d]]
        rows.append({"driver": path, "now": profile[section][key],
                     "if toggled": "; ".join(changed) or "no change"})
    return pd.DataFrame(rows).set_index("driver")


def whatif_figure(profile: Mapping[str, Any], *, rules: RuleSet | None = None) -> Any:
    """A plotly chart: one band per decision over team sizes 1-200, coloured by choice, with
    the profile's team size marked (the rules only: no experiment runs)."""
    import plotly.graph_objects as go

    seg = segments(profile, rules=rules)
    fig = go.Figure()
    shown: set[str] = set()
    for _, s in seg.iterrows():
        colour = _PALETTE[CHOICES[s["decision"]].index(s["choice"]) % len(_PALETTE)]
        opacity = {"high": 1.0, "medium": 0.7, "low": 0.4}[s["confidence"]]
        fig.add_trace(go.Bar(
            x=[s["to"] - s["from"] + 1], y=[s["decision"]], base=[s["from"] - 0.5],
            orientation="h", marker={"color": colour, "opacity": opacity},
            text=[s["choice"]], textposition="inside", insidetextanchor="middle",
            name=f"{s['decision']}: {s['choice']}", showlegend=False,
            hovertemplate=(f"{s['decision']}: {s['choice']} ({s['confidence']})<br>"
                           f"{s['from']}-{s['to']} developers<extra></extra>")))
        shown.add(s["decision"])
    n = profile["team"]["developers"]
    fig.add_vline(x=n, line_dash="dash", line_color="black",
                  annotation_text=f"{n} developers", annotation_position="top")
    fig.update_layout(barmode="overlay", height=360, margin={"l": 10, "r": 10, "t": 40, "b": 40},
                      title="Where each recommendation flips with team size (rules; opacity = "
                            "confidence)",
                      xaxis={"title": "developers", "range": [0.5, TEAM_RANGE[1] + 0.5]},
                      yaxis={"categoryorder": "array",
                             "categoryarray": list(reversed(MAIN_DECISIONS))})
    return fig


def explore_decision(profile: Mapping[str, Any], *, rules: RuleSet | None = None,
                     ledger: Ledger | None = None
                     ) -> tuple[str, pd.DataFrame, pd.DataFrame, Any]:
    """The widget's callback: validate the profile, recommend (evidence from ``ledger``, the
    bundled one by default), and chart the flips."""
    rs = rules or load_rules()
    norm = parse_profile(profile)
    result = decide(norm, rules=rs, ledger=ledger)
    arch = result["decisions"]["architecture"]
    note = (f"<p><b>{html.escape(norm['name'])}</b>, {norm['team']['developers']} developers: "
            f"{html.escape(arch['summary'])}</p>")
    return note, recommendation_table(result), driver_table(norm, rules=rs), \
        whatif_figure(norm, rules=rs)


def disagreements(ledger: Ledger | None = None, *, rules: RuleSet | None = None,
                  seed_only: bool = True) -> pd.DataFrame:
    """The rules whose cited claims the ledger does not plainly support: one row per (rule,
    claim) with verdict refuted, qualified or not measurable here (read from the ledger)."""
    led = ledger if ledger is not None else bundled_ledger()
    rs = rules or load_rules()
    rows = []
    for r in rs.rules:
        if seed_only and not r.seed:
            continue
        for topic, claim in r.cites:
            c = led.find(topic, claim)
            verdict = c.verdict if c is not None else "not measurable here"
            if verdict == "supported":
                continue
            rows.append({"rule": r.id, "effect": f"{'supports' if r.supports else 'opposes'} "
                                                 f"{r.choice}",
                         "topic": topic, "claim": claim, "verdict": verdict,
                         "label": c.label if c is not None else "-",
                         "evidence": c.evidence if c is not None else
                         f"topic {topic!r}: {led.status(topic)} in this ledger"})
    return pd.DataFrame(rows, columns=["rule", "effect", "topic", "claim", "verdict", "label",
                                       "evidence"])


def _form(initial: Mapping[str, Any]) -> dict[str, Any]:
    import ipywidgets as w

    style = {"description_width": "170px"}
    layout = w.Layout(width="330px")
    controls: dict[str, Any] = {}
    for f in FIELDS:
        if f.path == "team.teams":
            continue  # derived from developers unless the profile file sets it
        section, _, key = f.path.partition(".")
        value = initial[section][key] if key else initial[section]
        label = (key or section).replace("_", " ")
        kw: dict[str, Any] = {"description": label, "style": style, "layout": layout}
        if f.path == "team.developers":
            ctl = w.IntSlider(value=value, min=TEAM_RANGE[0], max=TEAM_RANGE[1], **kw)
        elif f.kind == "bool":
            ctl = w.Checkbox(value=value, indent=False, **kw)
        elif f.kind == "choice":
            ctl = w.Dropdown(options=list(f.choices), value=value, **kw)
        elif f.kind == "int":
            ctl = w.IntText(value=value, **kw)
        elif f.kind == "number":
            ctl = w.FloatText(value=value, **kw)
        elif f.kind == "items":
            ctl = w.SelectMultiple(options=list(DATA_ITEMS), value=tuple(value), rows=4, **kw)
        elif f.kind == "labels":
            ctl = w.Text(value=", ".join(value), placeholder="pci, gdpr", **kw)
        else:
            ctl = w.Text(value=value, **kw)
        controls[f.path] = ctl
    return controls


def _profile_from(controls: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path, ctl in controls.items():
        f = next(x for x in FIELDS if x.path == path)
        value = ctl.value
        if f.kind == "items":
            value = list(value)
        elif f.kind == "labels":
            value = [t.strip() for t in str(value).split(",") if t.strip()]
        section, _, key = path.partition(".")
        if key:
            data.setdefault(section, {})[key] = value
        else:
            data[section] = value
    return data


def decide_explorer(profile: Mapping[str, Any] | None = None, *,
                    rules: RuleSet | None = None) -> Any:
    """The widget: the profile form (team size 1-200 and each boolean driver are the what-if
    controls), the live recommendation table, what toggling each driver changes, and the
    chart of where each recommendation flips with team size. Updates on every change."""
    import ipywidgets as w
    from IPython.display import HTML

    from ecomlab.notebook import display_output

    rs = rules or load_rules()
    initial = parse_profile(profile or {"team": {"developers": 30}})
    controls = _form(initial)
    out = w.Output()
    message = w.HTML("")

    def update(_: object = None) -> None:
        try:
            note, table, drivers, fig = explore_decision(_profile_from(controls), rules=rs)
        except EcomlabError as exc:
            # the last good answer stays below; the mistake is shown in one line above it
            message.value = ('<b style="color:#b00">'
                             f'{html.escape(f"{type(exc).__name__}: {exc}")}</b>')
            return
        message.value = ""
        # set as the Output widget's state, not displayed inside ``with out:`` (see
        # ecomlab.notebook.explorer: a headless run then cannot stall on jupyter/nbclient#312)
        out.outputs = tuple(display_output(item) for item in (HTML(note), table, drivers, fig))

    for ctl in controls.values():
        ctl.observe(update, names="value")
    update()
    form = w.GridBox(list(controls.values()),
                     layout=w.Layout(grid_template_columns="repeat(3, 340px)"))
    return w.VBox([w.HTML("<h4>Shop profile (what-if: move the team size, tick a driver)</h4>"),
                   form, message, out])
