"""MADR 4.0 export: sections in order, numbering, refusal that changes nothing, supersede."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ecomlab.cli import main
from ecomlab.decide.adr import ADR_SLUGS, MADR_SECTIONS, export_adrs
from ecomlab.decide.engine import decide
from ecomlab.errors import InvalidInput

PROFILE = {"name": "big-shop", "team": {"developers": 120},
           "domain": {"independent_scaling": True}, "compliance": ["pci"]}


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _headings(text: str) -> list[tuple[int, str]]:
    mistune = pytest.importorskip("mistune")
    tokens: list[dict[str, Any]] = mistune.create_markdown(renderer=None)(text)
    out = []
    for t in tokens:
        if t["type"] == "heading":
            words = "".join(c.get("raw", "") for c in t["children"])
            out.append((int(t["attrs"]["level"]), words))
    return out


def _front(text: str) -> dict[str, str]:
    head = text.split("\n---", 1)[0].removeprefix("---\n")
    return dict(line.split(": ", 1) for line in head.splitlines())


def test_one_record_per_decision_with_the_madr_sections_in_order(tmp_path: Path) -> None:
    files = export_adrs(decide(PROFILE), tmp_path, decision_makers=["Ada"],
                        consulted=["Ops"], date="2026-01-31")
    assert [f.name for f in files] == [f"{i:04d}-{slug}.md"
                                       for i, slug in enumerate(ADR_SLUGS.values(), 1)]
    for f in files:
        text = f.read_text()
        front = _front(text)
        assert set(front) == {"status", "date", "decision-makers", "consulted", "informed"}
        assert front["status"] == '"proposed"' and front["date"] == "2026-01-31"
        assert front["decision-makers"] == '["Ada"]' and front["informed"] == "[]"
        body = text.split("\n---\n", 1)[1]
        heads = _headings(body)
        assert heads[0][0] == 1
        level2 = [h for lvl, h in heads if lvl == 2]
        assert level2 == list(MADR_SECTIONS), f.name
        outcome = [h for lvl, h in heads if lvl == 3]
        assert outcome[:2] == ["Consequences", "Confirmation"], f.name
        more = body.split("## More Information", 1)[1]
        # the evidence comes with the ecomlab command that reproduces it
        assert re.search(r"Reproduce: `ecomlab [a-z]+ ", more), f.name


def test_numbering_continues_the_directory(tmp_path: Path) -> None:
    (tmp_path / "0007-use-markdown-records.md").write_text("---\nstatus: accepted\n---\n# x\n")
    files = export_adrs(decide(PROFILE), tmp_path, decisions=["architecture", "search"])
    assert [f.name for f in files] == ["0008-architecture-style.md",
                                       "0009-search-technology.md"]


def test_a_second_export_without_force_refuses_and_changes_nothing(tmp_path: Path) -> None:
    result = decide(PROFILE)
    export_adrs(result, tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(InvalidInput, match=r"0001-architecture-style\.md.*nothing written"):
        export_adrs(result, tmp_path)
    assert _snapshot(tmp_path) == before


def test_force_writes_the_next_number_and_the_old_record_says_it_is_superseded(
        tmp_path: Path) -> None:
    result = decide(PROFILE)
    export_adrs(result, tmp_path, decisions=["architecture"])
    new = export_adrs(result, tmp_path, decisions=["architecture"], force=True)
    assert [f.name for f in new] == ["0002-architecture-style.md"]
    old = (tmp_path / "0001-architecture-style.md").read_text()
    assert _front(old)["status"] == '"superseded by ADR-0002"'
    assert "Superseded by [ADR-0002](0002-architecture-style.md)." in old
    assert _front(new[0].read_text())["status"] == '"proposed"'
    third = export_adrs(result, tmp_path, decisions=["architecture"], force=True)
    assert third[0].name == "0003-architecture-style.md"
    assert _front((tmp_path / "0002-architecture-style.md").read_text())["status"] == \
        '"superseded by ADR-0003"'
    assert _front((tmp_path / "0001-architecture-style.md").read_text())["status"] == \
        '"superseded by ADR-0002"'
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_the_cli_refuses_with_exit_2_and_force_supersedes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "shop.yaml"
    profile.write_text("team: {developers: 30}\n")
    adr = tmp_path / "adr"
    assert main(["decide", "--profile", str(profile), "--adr-dir", str(adr)]) == 0
    capsys.readouterr()
    before = _snapshot(adr)
    assert main(["decide", "--profile", str(profile), "--adr-dir", str(adr)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0001-architecture-style.md" in err
    assert _snapshot(adr) == before
    assert main(["decide", "--profile", str(profile), "--adr-dir", str(adr), "--force",
                 "--json"]) == 0
    names = sorted(p.name for p in adr.iterdir())
    assert len(names) == 2 * len(ADR_SLUGS)
    assert re.search(r'superseded by ADR-0009', (adr / "0001-architecture-style.md").read_text())
