"""The exceptions ecomlab raises.

Every error a user can cause is an :class:`EcomlabError`; its message names the bad value
(``repr``) and, where there is a closed set, the valid choices. The command line prints the
message on one line and exits with status 2 for a user's mistake, 1 for an
:class:`EnvironmentFailure`.

::

    EcomlabError
    ├── InvalidInput (also ValueError)     a parameter, flag or record is out of range or unknown
    ├── ConfigError                        a URL or ECOMLAB_* setting cannot be understood
    ├── UnsupportedOperation               the chosen backend cannot do this honestly
    ├── BackendUnavailable                 a configured server did not answer (fix the URL or
    │                                      start the server)
    └── EnvironmentFailure                 not the input but the world (exit status 1)
        ├── OutputError                    a result could not be written (disk full, permissions)
        ├── RetriesExhausted (inventory)   a transaction kept conflicting
        └── ServiceDied (architecture)     a service process exited during a run
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "EcomlabError",
    "EnvironmentFailure",
    "InvalidInput",
    "OutputError",
    "UnsupportedOperation",
    "choices_text",
]


class EcomlabError(Exception):
    """Base of every error ecomlab raises on purpose."""


class InvalidInput(EcomlabError, ValueError):
    """A parameter, flag value or record is out of range, malformed or unknown."""


class ConfigError(EcomlabError):
    """A setting (an argument or an ECOMLAB_* variable) cannot be understood."""


class EnvironmentFailure(EcomlabError):
    """Not the user's input but the world: a server gone, a disk full, retries exhausted.

    The command line prints one line and exits with status 1 (user mistakes exit 2).
    """


class BackendUnavailable(EcomlabError):
    """A configured server could not be reached within its connect timeout."""


class UnsupportedOperation(EcomlabError):
    """The selected backend cannot perform this operation faithfully, so ecomlab refuses."""


class OutputError(EnvironmentFailure):
    """A result could not be written (disk full, permissions); nothing partial is left."""


def choices_text(choices: Iterable[object]) -> str:
    """Render valid choices for an error message: ``'a', 'b' or 'c'``."""
    items = [repr(c) for c in choices]
    if not items:
        return "(none)"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]
