"""The topic registry is the one list of topics: the README, the CLI and the topic map agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecomlab.cli import build_parser, topic_commands
from ecomlab.errors import InvalidInput
from ecomlab.topics import TOPICS, available_topics, get_topic, load

ROOT = Path(__file__).resolve().parents[2]


def _readme_topic_rows() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\d\d_\w+)` \| (.+?) \| (.+?) \|$", text, flags=re.M)
    assert rows, "the README has no topic table"
    return rows


def test_the_readme_topic_table_is_the_registry() -> None:
    expected = [(t.notebook.removesuffix(".ipynb"), t.question, t.command)
                for t in available_topics()]
    assert _readme_topic_rows() == expected


def test_a_topic_is_available_exactly_when_its_notebook_exists() -> None:
    for topic in TOPICS:
        present = (ROOT / "notebooks" / topic.notebook).exists()
        assert present == (topic.status == "available"), topic.slug


def test_numbers_and_slugs_are_unique_and_ordered() -> None:
    numbers = [t.number for t in TOPICS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert len({t.slug for t in TOPICS}) == len(TOPICS)
    for topic in TOPICS:
        assert topic.notebook.startswith(topic.number + "_")


def test_every_reference_in_the_registry_resolves() -> None:
    for topic in available_topics():
        for ref in (topic.run, topic.claims, topic.ledger):
            if ref:
                assert callable(load(ref)), ref
        if topic.cli:
            assert callable(load(topic.cli + ":register"))


def test_the_cli_registers_what_the_registry_lists() -> None:
    assert topic_commands() == tuple(t.cli for t in TOPICS if t.cli)
    parser = build_parser()
    run = next(a for a in parser._subparsers._group_actions[0].choices["run"]._actions
               if a.dest == "topic")
    for topic in TOPICS:
        if topic.run and topic.cli:
            assert topic.slug in run.choices, topic.slug


def test_an_unknown_topic_names_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match=r"'inventory'.*'caching'"):
        get_topic("nope")
    assert get_topic("01").slug == "inventory"
    with pytest.raises(InvalidInput, match="module:attribute"):
        load("no-colon")


def test_help_imports_no_topic_experiment_code() -> None:
    import subprocess
    import sys

    code = ("import sys; from ecomlab.cli import build_parser; build_parser(); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('ecomlab'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    heavy = [m for m in loaded if m.rsplit(".", 1)[-1] in ("plots", "widget", "claims")]
    assert heavy == [], heavy
    for name in ("inventory", "catalog", "caching", "processing"):
        assert f"ecomlab.{name}.experiment" not in loaded


def test_topic_packages_export_lazily_what_they_list() -> None:
    import importlib

    for topic in available_topics():
        if topic.slug == "welcome":
            continue
        package = importlib.import_module(topic.package)
        for name in package.__all__:
            assert getattr(package, name) is not None, (topic.slug, name)


def test_every_measured_topic_shows_the_same_faces() -> None:
    """run_<slug> (or the registered run), <slug>_claims, <slug>_ledger and <slug>_explorer,
    all from the topic's package."""
    import importlib

    for topic in available_topics():
        if not topic.ledger:
            continue
        package = importlib.import_module(topic.package)
        run_name = topic.run.partition(":")[2]
        for name in (run_name, f"{topic.slug}_claims", f"{topic.slug}_ledger",
                     f"{topic.slug}_explorer"):
            assert name in package.__all__ and callable(getattr(package, name)), (
                topic.slug, name)
