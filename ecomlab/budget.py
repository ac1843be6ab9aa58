"""What a run will cost before it starts: memory checked against this machine, time announced.

A run whose inputs would not fit in memory is refused up front (:class:`InvalidInput` naming the
value, what it needs, what the machine has and the largest value that fits); a run that will
take more than :data:`ANNOUNCE_AFTER_S` seconds says so on stderr before it starts, with how the
estimate was made, so nobody waits on a silent terminal.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ecomlab.errors import InvalidInput

__all__ = ["ANNOUNCE_AFTER_S", "MEMORY_SHARE", "announce", "check_memory", "gib"]

#: a run estimated to take longer than this (s) is announced before it starts
ANNOUNCE_AFTER_S = 10.0
#: the share of the machine's available memory one run may plan to use
MEMORY_SHARE = 0.6


def gib(n_bytes: float) -> str:
    """``1.5 GiB`` / ``300 MiB``."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.1f} GiB"
    return f"{n_bytes / 2**20:.0f} MiB"


def available_memory() -> int:
    """Bytes of memory available to new allocations on this machine (psutil)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_memory(name: str, value: int, bytes_per_unit: float, *, basis: str,
                 available: int | None = None) -> float:
    """Refuse ``value`` units if they need more than :data:`MEMORY_SHARE` of free memory.

    Args:
        name: the parameter (``products``), as the user typed it.
        value: how many units the run would hold.
        bytes_per_unit: the estimated memory per unit.
        basis: how ``bytes_per_unit`` was obtained, quoted in the message.
        available: the machine's available memory (default: asked of the OS).

    Returns:
        The estimated bytes.
    """
    need = value * bytes_per_unit
    free = available_memory() if available is None else available
    budget = MEMORY_SHARE * free
    if need > budget:
        fits = max(int(budget / bytes_per_unit), 0)
        raise InvalidInput(
            f"{name}={value:,} needs about {gib(need)} of memory ({basis}); this machine has "
            f"{gib(free)} available and a run may plan on {MEMORY_SHARE:.0%} of it: choose "
            f"{name} <= {fits:,}")
    return need


def announce(what: str, seconds: float, need_bytes: float | None = None, *, basis: str,
             stream: TextIO | None = None) -> bool:
    """Print ``ecomlab: <what>: about N s [and M of memory] (<basis>)`` if it is a long run."""
    if seconds <= ANNOUNCE_AFTER_S:
        return False
    memory = f" and {gib(need_bytes)} of memory" if need_bytes else ""
    print(f"ecomlab: {what}: about {seconds:.0f} s{memory} ({basis})",
          file=stream or sys.stderr, flush=True)
    return True
