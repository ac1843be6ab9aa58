"""Arbitrary text in any numeric or choice flag of any subcommand: exit 2 with one line, never
a traceback, never a hang. Values the flag would accept are left out (they start real runs);
out-of-range numbers are tried explicitly."""

from __future__ import annotations

import argparse
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomlab.cli import build_parser, int_arg, main, number_arg

#: a minimal valid command line per subcommand (the fuzzed flag is appended to it)
BASELINES: dict[tuple[str, ...], list[str]] = {
    ("run", "inventory"): ["--strategy", "row-lock", "--orders", "5"],
    ("run", "processing"): ["--mode", "sync", "--orders", "5"],
    ("run", "messaging"): ["--mode", "direct", "--orders", "5"],
    ("generate", "catalog"): ["--products", "10", "--out", "/nonexistent-dir/x/y"],
    ("simulate", "queue"): ["--arrival-rate", "1", "--service-rate", "2", "--workers", "1",
                            "--customers", "100"],
}


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
            ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    out = []
    for name, child in subs[0].choices.items():
        out += _leaves(child, (*path, name))
    return out


def _flags() -> list[tuple[tuple[str, ...], str, str, tuple[str, ...]]]:
    """(command path, flag, kind, valid choices) for every numeric or choice option."""
    found = []
    for path, leaf in _leaves(build_parser()):
        for action in leaf._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            flag = action.option_strings[-1]
            if action.choices:
                found.append((path, flag, "choice", tuple(map(str, action.choices))))
            elif action.type in (int_arg, int, number_arg, float) or (
                    callable(action.type) and "int" in getattr(action.type, "__name__", "")):
                found.append((path, flag, "number", ()))
    return found


FLAGS = _flags()


def _parses_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _run(capsys: pytest.CaptureFixture[str], argv: list[str], *, may_run: bool = False
         ) -> None:
    started = time.perf_counter()
    code = main(argv)
    err = capsys.readouterr().err
    if may_run and code == 0:
        assert "Traceback" not in err, (argv, err)
        assert time.perf_counter() - started < 60, argv  # a valid extreme still ends
        return
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert time.perf_counter() - started < 20, argv  # refused, not run


def test_every_subcommand_has_fuzzable_flags() -> None:
    commands = {path for path, *_ in FLAGS}
    assert {("run", "inventory"), ("simulate", "queue"), ("generate", "catalog")} <= commands


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("path", "flag", "kind", "choices"), FLAGS,
                         ids=[" ".join((*p, f)) for p, f, *_ in FLAGS])
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40))
def test_arbitrary_text_in_a_flag_is_refused_in_one_line(
        capsys: pytest.CaptureFixture[str], path: tuple[str, ...], flag: str, kind: str,
        choices: tuple[str, ...], text: str) -> None:
    if kind == "number" and _parses_as_number(text) and math.isfinite(float(text)):
        return  # a plausible number would start a real run; bounds are tried below
    if kind == "choice" and text in choices:
        return
    _run(capsys, [*path, *BASELINES.get(path, []), f"{flag}={text}"])


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("path", "flag"), [(p, f) for p, f, k, _ in FLAGS if k == "number"],
                         ids=[" ".join((*p, f)) for p, f, k, _ in FLAGS if k == "number"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "-1e300",
                                   "99999999999999999999"])
def test_absurd_numbers_are_refused_in_one_line(capsys: pytest.CaptureFixture[str],
                                                path: tuple[str, ...], flag: str,
                                                value: str) -> None:
    # NaN and infinities are never valid; a huge finite number may be (a price filter that
    # matches nothing), and then the run must still end quickly
    _run(capsys, [*path, *BASELINES.get(path, []), f"{flag}={value}"],
         may_run=value not in ("nan", "inf", "-inf"))
