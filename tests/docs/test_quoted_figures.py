"""Figures README.md and docs/ quote from a benchmark are the ones in the results file they cite.

The citation convention: a paragraph (the lines between two blank lines; a list item is part of
its paragraph) that names a file under ``benchmarks/results/`` — as a link or as a path — cites
that file, and so does a table that comes right after it.  Every figure in it, a number followed
by a unit (``ns``, ``µs``, ``ms``, ``s``, ``MB``, ``MiB``, ``GB``, ``M/s``, ``%``, ``x`` as in
``1.64x``), must be a number of that file:

* written plainly (``0.027 s``, ``1.64x``), the same digits appear in the file;
* written with a tilde (``~2.8 µs``), some number of the file rounds to it at the digits shown
  (2.83 -> ~2.8, 17.6 -> ~18).

A paragraph that quotes a benchmark figure must therefore cite its file; figures that are not
measurements (a design constant, a threshold) belong in paragraphs that cite none.  Code blocks
are not read.  The check is that the number is in the file, not that it is in the right row.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
PAGES = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]

_CITATION = re.compile(r"benchmarks/results/[\w.-]+\.md")
_FIGURE = re.compile(
    r"(?<![\w.])(?P<tilde>~?)x?(?P<number>\d[\d,]*(?:\.\d+)?)\s?"
    r"(?:µs|us|ns|ms|s|MB|MiB|GB|M/s|%|x)(?![\w/])"
)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def paragraphs(page: Path) -> list[tuple[int, str]]:
    """(first line, text) of each paragraph, with fenced code blanked out."""
    text = re.sub(
        r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), page.read_text(), flags=re.S
    )
    found, line = [], 1
    for chunk in re.split(r"(\n[ \t]*\n)", text):
        if chunk.strip() and not chunk.startswith("\n"):
            found.append((line, chunk))
        line += chunk.count("\n")
    return found


def numbers_of(results: str) -> set[Decimal]:
    return {Decimal(text.replace(",", "")) for text in _NUMBER.findall(results)}


def quoted_from(number: str, tilde: bool, numbers: set[Decimal]) -> bool:
    quoted = Decimal(number.replace(",", ""))
    if not tilde:
        return quoted in numbers
    exponent = quoted.as_tuple().exponent
    places = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    return any(value.quantize(places, ROUND_HALF_UP) == quoted for value in numbers)


def citing_paragraphs(page: Path) -> list[tuple[str, str, str]]:
    """(where, cited file, text) for each paragraph that cites a results file."""
    found: list[tuple[str, str, str]] = []
    cited: set[str] = set()
    for line, text in paragraphs(page):
        is_table = text.lstrip().startswith("|")
        cited = set(_CITATION.findall(text)) | (cited if is_table else set())
        where = f"{page.relative_to(REPOSITORY)}:{line}"
        found.extend((where, citation, text) for citation in sorted(cited))
    return found


CITING = [paragraph for page in PAGES for paragraph in citing_paragraphs(page)]


def test_the_convention_is_used() -> None:
    assert len(CITING) >= 8


def test_rounding_rule() -> None:
    numbers = {Decimal("2.83"), Decimal("17.6")}
    assert quoted_from("2.8", True, numbers)
    assert quoted_from("18", True, numbers)
    assert not quoted_from("2.8", False, numbers)
    assert not quoted_from("19", True, numbers)


@pytest.mark.parametrize(("where", "citation", "text"), CITING, ids=[c[0] for c in CITING])
def test_quoted_figures_are_in_the_cited_results(where: str, citation: str, text: str) -> None:
    results = REPOSITORY / citation
    assert results.is_file(), f"{where} cites {citation}, which is not committed"
    numbers = numbers_of(results.read_text())
    wrong = [
        match.group(0)
        for match in _FIGURE.finditer(text)
        if not quoted_from(match.group("number"), bool(match.group("tilde")), numbers)
    ]
    assert not wrong, f"{where}: not in {citation}: {wrong}"
