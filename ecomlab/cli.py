"""The ``ecomlab`` command: the workbook's experiments, headless.

Thin by design: parse, call the package, print. Every subcommand that produces results takes
``--json`` and then prints exactly one JSON object on stdout. User mistakes print one line on
stderr (``ecomlab: error: ...``) and exit with status 2; failures of the environment (a server
gone, a full disk, retries exhausted) print ``ecomlab: failed: ...`` and exit with status 1;
never a traceback.

Topics add themselves to ``ecomlab run`` and ``ecomlab simulate`` through the topic registry
(:data:`ecomlab.topics.TOPICS`): each entry's ``cli`` module defines ``register(run, simulate)``,
which adds sub-parsers whose ``func(args) -> dict`` returns the JSON object to print. A topic's
``cli`` module may also define ``register_commands(commands)`` to add top-level commands
(``ecomlab search``, ``ecomlab decide``) to the same sub-parser set as ``run``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ecomlab.errors import EcomlabError, EnvironmentFailure
from ecomlab.topics import TOPICS

__all__ = ["TOPIC_COMMANDS", "add_json_flag", "add_seed_flag", "build_parser", "int_arg", "main",
           "number_arg", "strict_json", "topic_commands"]


def topic_commands() -> tuple[str, ...]:
    """The modules that register ``run`` / ``simulate`` subcommands, in topic order."""
    return tuple(topic.cli for topic in TOPICS if topic.cli)


#: modules that register ``run`` / ``simulate`` subcommands (read from the topic registry)
TOPIC_COMMANDS: tuple[str, ...] = topic_commands()

Handler = Callable[[argparse.Namespace], dict[str, Any]]


class UsageError(Exception):
    """A command-line mistake detected by argparse."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports mistakes in one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def int_arg(text: str) -> int:
    """argparse type: a whole number (range checks belong to the package's validation)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def number_arg(text: str) -> float:
    """argparse type: a number (range checks belong to the package's validation)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = int_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def _seed(text: str) -> int:
    value = int_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` (print one JSON object) to a results-producing subcommand."""
    parser.add_argument("--json", action="store_true",
                        help="print exactly one JSON object on stdout")


def add_seed_flag(parser: argparse.ArgumentParser, default: int = 42) -> None:
    """Add ``--seed`` (a non-negative integer)."""
    parser.add_argument("--seed", type=_seed, default=default,
                        help=f"random seed (default {default})")


def _cmd_stores(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab.stores import describe_stores

    out = describe_stores(check=not args.no_check)
    if not args.json:  # JSON keeps null; people read "(embedded)"
        for entry in out.values():
            if isinstance(entry, dict) and entry.get("url") is None:
                entry["url"] = "(embedded)"
    return out


def _cmd_clean(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab import runs

    show = None if args.json else (lambda line: print(line, file=sys.stderr))
    return runs.clean(dry_run=args.dry_run, progress=show)


def _cmd_generate_catalog(args: argparse.Namespace) -> dict[str, Any]:
    from ecomlab import budget, validate
    from ecomlab.datagen import SAMPLE_PRODUCTS, estimate_catalog, generate_catalog, write_catalog
    from ecomlab.measure import timed

    validate.output_dir("--out", args.out)  # before the work, not after it
    if args.products > 10 * SAMPLE_PRODUCTS:
        seconds, peak, basis = estimate_catalog(args.products, args.seed)
        budget.check_memory("--products", args.products, peak / args.products, basis=basis)
        budget.announce(f"generating {args.products:,} products", seconds, peak, basis=basis)
    with timed() as sw:
        catalog = generate_catalog(args.products, seed=args.seed, progress=True)
    gen_s = sw.elapsed_s
    with timed() as sw:
        files = write_catalog(catalog, args.out, args.format)
    return {
        "label": "measured",
        "products": len(catalog),
        "categories": len(catalog.categories),
        "brands": len(catalog.brands),
        "attributes": len(catalog.attributes),
        "seed": args.seed,
        "format": args.format,
        "files": [str(f) for f in files],
        "generate_s": round(gen_s, 3),
        "write_s": round(sw.elapsed_s, 3),
    }


def build_parser() -> Parser:
    """The full parser, with every topic's subcommands registered."""
    parser = Parser(prog="ecomlab", description=(
        "Run the ecomlab workbook's experiments headless. Stores are embedded unless an "
        "ECOMLAB_*_URL variable names a server."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("stores", help="which backend serves each kind of store",
                       description="Show the backend of each kind of store (sql, pg, kv, "
                                   "documents, broker, search); real servers are pinged (3 s "
                                   "timeout).")
    add_json_flag(p)
    p.add_argument("--no-check", action="store_true",
                   help="do not connect to configured servers")
    p.set_defaults(func=_cmd_stores)

    p = sub.add_parser("clean", help="remove what killed runs left on the stores",
                       description="Remove the objects (PostgreSQL schemas, Redis keys, "
                                   "RabbitMQ queues, MongoDB databases, temporary folders) "
                                   "of runs whose process is gone, on the stores configured "
                                   "now. A live run's objects are never touched.")
    p.add_argument("--dry-run", action="store_true", help="list what would be removed")
    add_json_flag(p)
    p.set_defaults(func=_cmd_clean)

    p = sub.add_parser("generate", help="write generated data sets",
                       description="Write seeded data sets to files.")
    gen = p.add_subparsers(dest="dataset", metavar="DATASET", parser_class=Parser)
    gen.required = True
    g = gen.add_parser("catalog", help="a product catalog (categories, brands, products, "
                                       "attributes)",
                       description="Generate a catalog and write its four tables.")
    g.add_argument("--products", type=_positive_int, default=1000,
                   help="number of products (default 1000)")
    add_seed_flag(g)
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--format", choices=("parquet", "jsonl"), default="parquet",
                   help="file format (default parquet)")
    add_json_flag(g)
    g.set_defaults(func=_cmd_generate_catalog)

    run = sub.add_parser("run", help="run a topic's experiment against real or embedded stores "
                                     "(measured)",
                         description="Run a topic's experiment (label: measured).")
    run_sub = run.add_subparsers(dest="topic", metavar="TOPIC", parser_class=Parser)
    run_sub.required = True
    simulate = sub.add_parser("simulate", help="run a discrete-event or cache model "
                                               "(simulated)",
                              description="Run a model in virtual time (label: simulated).")
    sim_sub = simulate.add_subparsers(dest="model", metavar="MODEL", parser_class=Parser)
    sim_sub.required = True
    for module in topic_commands():
        topic_cli = importlib.import_module(module)
        topic_cli.register(run_sub, sim_sub)
        # a topic may also add top-level commands (``ecomlab search``, ``ecomlab decide``)
        register_commands = getattr(topic_cli, "register_commands", None)
        if register_commands is not None:
            register_commands(sub)
    return parser


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON ``null``).

    A statistic of nothing (the p50 of zero completed orders) is NaN inside the package; strict
    JSON parsers reject ``NaN``, so the command line prints ``null`` for it.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    try:
        import numpy as np

        if isinstance(value, np.floating):
            return strict_json(float(value))
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.ndarray):
            return strict_json(value.tolist())
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return value


def _print_human(data: dict[str, Any], indent: int = 0) -> None:
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, dict):
            print(f"{pad}{key}:")
            _print_human(value, indent + 1)
        elif isinstance(value, list) and len(value) > 8:
            print(f"{pad}{key}: [{len(value)} items]")
        else:
            print(f"{pad}{key}: {value}")


def _interrupted(as_json: bool) -> int:
    """Ctrl-C: say what the run completed and whether it left anything behind; exit 130."""
    from ecomlab import budget, runs

    tally = budget.current()
    left = runs.left_behind()
    behind = ("nothing left behind" if not left else
              f"left behind {len(left)} object(s) that `ecomlab clean` removes once this "
              "process has exited")
    if tally is not None:
        tally.close()  # the progress bar goes before the report
        print(f"ecomlab: interrupted after {tally.counts()} ({tally.elapsed_s:.1f} s); {behind}",
              file=sys.stderr, flush=True)
    else:
        print(f"ecomlab: interrupted; {behind}", file=sys.stderr, flush=True)
    if as_json:
        report: dict[str, Any] = {"interrupted": True, "left_behind": left}
        report.update(tally.summary() if tally is not None else {})
        with contextlib.suppress(BrokenPipeError):
            print(json.dumps(strict_json(report), sort_keys=True, allow_nan=False), flush=True)
    return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 user mistake, 1 unexpected failure,
    130 interrupted).

    Run as the command (``argv`` read from ``sys.argv``), the objects left when it returns are
    frozen out of the garbage collector: the interpreter's final collection would otherwise
    walk every record of a large run before the process exits (5-8 s after an interrupted
    100,000-order inventory run on a loaded 2-core machine), though nothing is left to do.
    """
    if argv is not None:
        return _main(argv)
    try:
        return _main(None)
    finally:
        gc.freeze()


def _main(argv: Sequence[str] | None) -> int:
    from ecomlab import budget, plans

    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        func: Handler = args.func
        plans.begin(args)
        data = func(args)
    except KeyboardInterrupt:
        return _interrupted(bool(getattr(args, "json", False)))
    except UsageError as exc:
        print(f"{exc}", file=sys.stderr)
        return 2
    except EnvironmentFailure as exc:  # the world, not the input: a server gone, a full disk
        print(f"ecomlab: failed: {exc}", file=sys.stderr)
        return 1
    except EcomlabError as exc:
        print(f"ecomlab: error: {exc}", file=sys.stderr)
        return 2
    finally:
        budget.finish()
    try:
        if getattr(args, "json", False):
            print(json.dumps(strict_json(data), sort_keys=True, default=str, allow_nan=False))
        else:
            _print_human(data)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
