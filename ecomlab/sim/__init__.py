"""Discrete-event models (SimPy) in virtual time and the closed forms that check them.

Every figure a model produces is labelled ``simulated``; each model is held against a closed
form (Erlang C, Little's law, Che's approximation, the TTL-cache formula) with a stated tolerance.
"""

from __future__ import annotations

__all__: list[str] = []
