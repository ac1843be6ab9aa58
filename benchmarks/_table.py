"""One machine-readable line per benchmark figure, read by ``benchmarks/run_all.py``.

A benchmark keeps its human output and adds, per figure, one line starting with
:data:`PREFIX` followed by a JSON object (see :func:`emit`).
"""

from __future__ import annotations

import json
from typing import Literal

PREFIX = "BENCH-FIGURE "
Label = Literal["measured", "simulated", "model"]


def emit(figure: str, value: float, unit: str, *, label: Label, anchor: str = "",
         anchor_value: float | None = None, target: str = "", met: bool | None = None) -> None:
    """Print one figure: its value, the anchor measured in the same run, the target and verdict.

    ``ratio`` is ``value / anchor_value`` when there is an anchor.
    """
    ratio = value / anchor_value if anchor_value else None
    print(PREFIX + json.dumps({"figure": figure, "value": value, "unit": unit, "label": label,
                               "anchor": anchor, "anchor_value": anchor_value, "ratio": ratio,
                               "target": target, "met": met}), flush=True)
