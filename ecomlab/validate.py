"""Boundary checks shared by every public function, widget callback and CLI flag.

Each check raises :class:`ecomlab.errors.InvalidInput` with the parameter's name, the bad value
(``repr``) and what would have been accepted, and returns the value (converted) when it is valid.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from ecomlab.errors import InvalidInput, choices_text

__all__ = ["choice", "integer", "number", "output_dir", "output_file", "probability"]

T = TypeVar("T")


def integer(name: str, value: object, *, minimum: int | None = None,
            maximum: int | None = None, why: str = "") -> int:
    """Return ``value`` as an int within [minimum, maximum]; bools and floats are refused.

    ``why`` says what the maximum protects (memory, time) and is added to the message.
    """
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
    _check_range(name, value, minimum, maximum, why)
    return value


def number(name: str, value: object, *, minimum: float | None = None,
           maximum: float | None = None, min_inclusive: bool = True,
           max_inclusive: bool = True, why: str = "") -> float:
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
        raise InvalidInput(f"{name} must be {op} {maximum}, got {value!r}{_because(why)}")
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


def _check_range(name: str, value: int, minimum: int | None, maximum: int | None,
                 why: str = "") -> None:
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{name} must be <= {maximum}, got {value!r}{_because(why)}")


def _because(why: str) -> str:
    return f" ({why})" if why else ""


def output_file(name: str, value: object) -> Path:
    """Return ``value`` as the path of a file that can be written, checked before any work.

    Refused: an empty path, an existing folder or special file (a device such as /dev/full, a
    pipe), a path whose folder does not exist or cannot be written.
    """
    path = _path(name, value)
    if path.exists() and not path.is_file():
        raise InvalidInput(f"{name} must name a regular file, got {str(value)!r} "
                           f"({'a folder' if path.is_dir() else 'not a regular file'})")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInput(f"{name}: the folder {str(folder)!r} does not exist")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise InvalidInput(f"{name}: {str(value)!r} cannot be written (no permission)")
    return path


def output_dir(name: str, value: object) -> Path:
    """Return ``value`` as a folder that exists or can be created, and can be written."""
    path = _path(name, value)
    if path.exists():
        if not path.is_dir():
            raise InvalidInput(f"{name} must name a folder, got {str(value)!r} (a file)")
        target = path
    else:
        target = next((p for p in path.parents if p.exists()), Path("."))
        if not target.is_dir():
            raise InvalidInput(f"{name}: {str(target)!r} in {str(value)!r} is not a folder")
    if not os.access(target, os.W_OK | os.X_OK) or _is_pseudo_fs(target):
        raise InvalidInput(f"{name}: {str(value)!r} cannot be written (no permission "
                           f"in {str(target)!r})")
    return path


def _path(name: str, value: object) -> Path:
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise InvalidInput(f"{name} must be a path, got {value!r}")
    if "\0" in str(value):
        raise InvalidInput(f"{name} must not contain a NUL character, got {value!r}")
    return Path(value)


def _is_pseudo_fs(path: Path) -> bool:
    """Kernel file systems (/proc, /sys) accept no new files even for root."""
    resolved = path.resolve()
    return any(resolved == Path(p) or Path(p) in resolved.parents for p in ("/proc", "/sys"))
