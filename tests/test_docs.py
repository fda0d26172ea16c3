"""The documentation's relative links point at files that exist (README.md, docs/*.md, and the
READMEs of brains/ and examples/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO

PAGES = sorted([REPO / "README.md", REPO / "brains" / "README.md", REPO / "examples" / "README.md",
                *(REPO / "docs").glob("*.md")])
# [text](target) and ![alt](target); the target ends at a space (a title follows) or ")"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def relative_links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())  # code blocks hold commands, not links
    return [target for target in LINK.findall(text)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_relative_links_point_at_files(page: Path) -> None:
    broken = [target for target in relative_links(page)
              if not (page.parent / target.split("#", 1)[0]).exists()]
    assert not broken, f"{page.relative_to(REPO)}: links to missing files: {broken}"


def test_the_readme_stays_short() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) <= 200
