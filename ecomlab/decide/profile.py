"""The shop profile: what the decision framework knows about a shop (public input).

A profile is a YAML or JSON mapping; unknown keys are errors. Every field but
``team.developers`` has a default::

    name: my-shop                      # text; default "my-shop"
    team:
      developers: 12                   # >= 1; REQUIRED
      teams: 2                         # >= 1; default ceil(developers / 8)
    domain:
      complexity: moderate             # simple | moderate | complex; default moderate
      bounded_contexts: 4              # >= 1; default 4
      per_domain_technology: false     # different technology requirements per domain
      independent_scaling: false       # parts of the shop with very different load
      regulatory_isolation: false      # a regulated part must run apart
      cross_domain_consistency: false  # strong consistency required across domains
    phase: growth                      # prototype | growth | mature; default growth
    load:
      peak_orders_per_s: 50            # >= 0; default 50
      read_write_ratio: 50             # > 0 (reads per write); default 50
      peak_to_mean: 5                  # >= 1; default 5
    catalog:
      products: 100000                 # >= 1; default 100000
      schema_changes_per_month: 2      # >= 0; default 2
      attribute_variety: low           # low | high; default low
    search:
      typo_tolerance: false            # default false
      facets: false                    # default false
    data: [payments, refunds, inventory, auth, catalog, activity, recommendations, analytics]
                                       # the data items the shop holds; default all eight
    compliance: []                     # free labels (pci, gdpr...); any entry counts as a
                                       # regulatory requirement; default none

:func:`parse_profile` validates a mapping and returns the normalized profile (every default
filled in); :func:`load_profile` reads a file. A bad profile raises
:class:`~ecomlab.errors.InvalidInput` naming the field, the value and the valid values.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecomlab.errors import InvalidInput, choices_text

__all__ = ["BOOLEAN_DRIVERS", "DATA_ITEMS", "FIELDS", "PROFILE_HELP", "Field", "default_profile",
           "field_value", "load_profile", "parse_profile"]

#: the data items a profile may list (each gets its own consistency decision)
DATA_ITEMS: tuple[str, ...] = ("payments", "refunds", "inventory", "auth", "catalog",
                               "activity", "recommendations", "analytics")

_REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """One profile field: its dotted path, type, default and the valid values."""

    path: str
    kind: str  # text | int | number | bool | choice | items | labels
    default: Any
    valid: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    exclusive: bool = False
    help: str = ""


FIELDS: tuple[Field, ...] = (
    Field("name", "text", "my-shop", "a non-empty text", help="the shop's name"),
    Field("team.developers", "int", _REQUIRED, "a whole number >= 1", minimum=1,
          help="developers working on the shop (required)"),
    Field("team.teams", "int", None, "a whole number >= 1", minimum=1,
          help="teams; default ceil(developers / 8)"),
    Field("domain.complexity", "choice", "moderate", "", ("simple", "moderate", "complex"),
          help="how complex the business domain is"),
    Field("domain.bounded_contexts", "int", 4, "a whole number >= 1", minimum=1,
          help="bounded contexts (catalog, orders, payments...)"),
    Field("domain.per_domain_technology", "bool", False, "true or false",
          help="different technology requirements per domain"),
    Field("domain.independent_scaling", "bool", False, "true or false",
          help="parts of the shop with very different load"),
    Field("domain.regulatory_isolation", "bool", False, "true or false",
          help="a regulated part must be isolated from the rest"),
    Field("domain.cross_domain_consistency", "bool", False, "true or false",
          help="strong consistency required across domains"),
    Field("phase", "choice", "growth", "", ("prototype", "growth", "mature"),
          help="the product's phase"),
    Field("load.peak_orders_per_s", "number", 50, "a number >= 0", minimum=0,
          help="orders per second at peak"),
    Field("load.read_write_ratio", "number", 50, "a number > 0", minimum=0, exclusive=True,
          help="catalog reads per write"),
    Field("load.peak_to_mean", "number", 5, "a number >= 1", minimum=1,
          help="peak load over mean load"),
    Field("catalog.products", "int", 100000, "a whole number >= 1", minimum=1,
          help="products in the catalog"),
    Field("catalog.schema_changes_per_month", "number", 2, "a number >= 0", minimum=0,
          help="new attributes or fields per month"),
    Field("catalog.attribute_variety", "choice", "low", "", ("low", "high"),
          help="how much product attributes differ between categories"),
    Field("search.typo_tolerance", "bool", False, "true or false",
          help="search must forgive typos"),
    Field("search.facets", "bool", False, "true or false", help="faceted search (filters with "
          "counts)"),
    Field("data", "items", list(DATA_ITEMS), "", DATA_ITEMS,
          help="the data items the shop holds (each gets a consistency decision)"),
    Field("compliance", "labels", [], "a list of texts",
          help="regulatory labels (pci, gdpr...); any entry is a regulatory requirement"),
)

_BY_PATH = {f.path: f for f in FIELDS}
_SECTIONS = {f.path.split(".")[0] for f in FIELDS if "." in f.path}

#: the boolean drivers the what-if control toggles
BOOLEAN_DRIVERS: tuple[str, ...] = tuple(f.path for f in FIELDS if f.kind == "bool")


def _default_text(f: Field) -> str:
    if f.default is _REQUIRED:
        return "required"
    if f.path == "team.teams":
        return "ceil(developers / 8)"
    if f.path == "data":
        return "all eight"
    if isinstance(f.default, bool):
        return "true" if f.default else "false"
    if isinstance(f.default, list):
        return "none" if not f.default else ", ".join(f.default)
    return str(f.default)


def _valid_text(f: Field) -> str:
    if f.kind == "choice":
        return choices_text(f.choices)
    if f.kind == "items":
        return "a list of " + choices_text(f.choices)
    return f.valid


#: one line per field, for ``ecomlab decide --help``
PROFILE_HELP = "\n".join(f"  {f.path}: {_valid_text(f)}; default {_default_text(f)}"
                         for f in FIELDS)


def _bad(path: str, value: Any, valid: str) -> InvalidInput:
    return InvalidInput(f"profile field {path!r}: got {value!r}; valid: {valid}")


def _check(f: Field, value: Any) -> Any:
    valid = _valid_text(f)
    if f.kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise _bad(f.path, value, valid)
        return value.strip()
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise _bad(f.path, value, valid)
        return value
    if f.kind in ("int", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(f.path, value, valid)
        if f.kind == "int" and not (isinstance(value, int) or float(value).is_integer()):
            raise _bad(f.path, value, valid)
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(f.path, value, valid)
        if f.minimum is not None and (value <= f.minimum if f.exclusive
                                      else value < f.minimum):
            raise _bad(f.path, value, valid)
        return int(value) if f.kind == "int" else value
    if f.kind == "choice":
        if value not in f.choices:
            raise _bad(f.path, value, valid)
        return value
    if f.kind == "items":
        if not isinstance(value, list):
            raise _bad(f.path, value, valid)
        for item in value:
            if item not in f.choices:
                raise InvalidInput(f"profile field {f.path!r}: unknown data item {item!r}; "
                                   f"valid: {choices_text(f.choices)}")
        return [i for i in DATA_ITEMS if i in value]
    if f.kind == "labels":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            raise _bad(f.path, value, valid)
        return [v.strip() for v in value]
    raise AssertionError(f.kind)  # pragma: no cover


def parse_profile(data: Any) -> dict[str, Any]:
    """Validate a profile mapping and return it normalized, every default filled in.

    Raises:
        InvalidInput: an unknown key, a wrong type, an out-of-range value or an unknown data
            item; the message names the field, the value and the valid values.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(f"a profile is a mapping of fields, got {data!r}")
    top_valid = choices_text(sorted({f.path.split(".")[0] for f in FIELDS}))
    for key in data:
        if key not in _SECTIONS and key not in _BY_PATH:
            raise InvalidInput(f"profile: unknown key {key!r}; valid: {top_valid}")
    for section in sorted(_SECTIONS):
        value = data.get(section)
        if value is None and section not in data:
            continue
        if not isinstance(value, Mapping):
            raise InvalidInput(f"profile field {section!r}: got {value!r}; valid: a mapping "
                               f"with keys {choices_text(_keys(section))}")
        for key in value:
            if f"{section}.{key}" not in _BY_PATH:
                raise InvalidInput(f"profile: unknown key '{section}.{key}'; valid: "
                                   f"{choices_text(_keys(section))}")
    out: dict[str, Any] = {}
    for f in FIELDS:
        present, raw = _lookup(data, f.path)
        if not present:
            if f.default is _REQUIRED:
                raise InvalidInput(f"profile field {f.path!r} is required; valid: "
                                   f"{_valid_text(f)}")
            if f.path == "team.teams":
                value = max(1, math.ceil(field_value(out, "team.developers") / 8))
            else:
                value = copy.deepcopy(f.default)
        else:
            value = _check(f, raw)
        _store(out, f.path, value)
    return out


def _keys(section: str) -> list[str]:
    return [f.path.split(".", 1)[1] for f in FIELDS if f.path.startswith(section + ".")]


def _lookup(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _store(out: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = out
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def field_value(profile: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of a normalized profile."""
    present, value = _lookup(profile, path)
    if not present:
        raise InvalidInput(f"no profile field {path!r}; valid: "
                           f"{choices_text(list(_BY_PATH))}")
    return value


def default_profile(developers: int = 12, **overrides: Any) -> dict[str, Any]:
    """A normalized profile with defaults, ``developers`` and dotted-path ``overrides``
    (``default_profile(30, **{"domain.independent_scaling": True})``)."""
    data: dict[str, Any] = {"team": {"developers": developers}}
    for path, value in overrides.items():
        _store(data, path, value)
    return parse_profile(data)


def _yaml_load(text: str) -> Any:
    import yaml

    loader: Callable[[str], Any] = yaml.safe_load
    return loader(text)


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON profile file and return it normalized."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read profile {str(p)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else _yaml_load(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"profile {str(p)!r} is not JSON: {exc.msg} (line {exc.lineno})"
                           ) from None
    except Exception as exc:  # yaml.YAMLError: keep the message on one line
        import yaml

        if not isinstance(exc, yaml.YAMLError):
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(f"profile {str(p)!r} is not YAML: {first}") from None
    return parse_profile(data)
