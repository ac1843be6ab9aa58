"""Boundary checks shared by every public function, widget callback and CLI flag.

Each check raises :class:`ecomlab.errors.InvalidInput` with the parameter's name, the bad value
(``repr``) and what would have been accepted, and returns the value (converted) when it is valid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

from ecomlab.errors import InvalidInput, choices_text

__all__ = ["choice", "integer", "number", "probability"]

T = TypeVar("T")


def integer(name: str, value: object, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """Return ``value`` as an int within [minimum, maximum]; bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        # numpy integers are fine; anything else (floats, strings) is a mistake
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
            else:
                raise TypeError
        except TypeError:
            raise InvalidInput(f"{name} must be a whole number, got {value!r}") from None
    assert isinstance(value, int)
    _check_range(name, value, minimum, maximum)
    return value


def number(name: str, value: object, *, minimum: float | None = None,
           maximum: float | None = None, min_inclusive: bool = True,
           max_inclusive: bool = True) -> float:
    """Return ``value`` as a finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np

            if not isinstance(value, np.integer | np.floating):
                raise TypeError
        except TypeError:
            raise InvalidInput(f"{name} must be a number, got {value!r}") from None
    result = float(value)  # type: ignore[arg-type,unused-ignore]
    if not math.isfinite(result):
        raise InvalidInput(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (result < minimum or (not min_inclusive and result == minimum)):
        op = ">=" if min_inclusive else ">"
        raise InvalidInput(f"{name} must be {op} {minimum}, got {value!r}")
    if maximum is not None and (result > maximum or (not max_inclusive and result == maximum)):
        op = "<=" if max_inclusive else "<"
        raise InvalidInput(f"{name} must be {op} {maximum}, got {value!r}")
    return result


def probability(name: str, value: object, *, allow_one: bool = False) -> float:
    """Return ``value`` as a probability in [0, 1) (or [0, 1] with ``allow_one``)."""
    return number(name, value, minimum=0.0, maximum=1.0, max_inclusive=allow_one)


def choice(name: str, value: T, choices: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``choices``."""
    options = list(choices)
    if value not in options:
        raise InvalidInput(f"unknown {name} {value!r}; choose {choices_text(options)}")
    return value


def _check_range(name: str, value: int, minimum: int | None, maximum: int | None) -> None:
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{name} must be <= {maximum}, got {value!r}")
