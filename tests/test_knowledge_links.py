"""Links of legal references: Légifrance only from a sourced LEGIARTI identifier, with one URL
pattern, listed for re-check; a third party's page is labelled as such where it is shown."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from knowledge.loader import LEGIFRANCE_PATTERN, check, load_knowledge, load_links
from knowledge.model import Source
from knowledge.render import render_entry, source_line

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "domain"
FIXTURE = Path(__file__).parent / "data" / "knowledge"
TODAY = date(2026, 11, 24)
ID = "LEGIARTI000006417946"
SOURCE = f"https://www.doctrine.fr/l/texts/codes/LEGITEXT000006070719/articles/{ID}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "content")
    return tmp_path / "content"


def write_links(root: Path, text: str) -> None:
    (root / "knowledge" / "links.yaml").write_text(text, encoding="utf-8")


def findings(root: Path, severity: str) -> list:
    return [f for f in check(root, TODAY) if f.severity == severity]


def test_legifrance_link_is_built_from_a_sourced_identifier_and_listed(root: Path) -> None:
    write_links(root, f'"Code pénal, art. 226-14":\n  legiarti: {ID}\n  source: {SOURCE}\n')
    kb, found = load_knowledge(root, TODAY)
    assert [f for f in found if f.severity == "error"] == []
    url = f"https://www.legifrance.gouv.fr/codes/article_lc/{ID}"
    source = kb.entries["info-preoccupante"].sources[0]
    assert source.url == url and source.official
    listed = [f for f in found if f.file == "knowledge/links.yaml"]
    assert len(listed) == 1 and url in listed[0].message and SOURCE in listed[0].message
    assert "revérifier" in listed[0].message


@pytest.mark.parametrize("row, field", [
    # an identifier that the cited page does not carry is a guess
    (f'{{legiarti: LEGIARTI000006417947, source: "{SOURCE}"}}', "legiarti"),
    (f'{{legiarti: {ID}}}', "source"),
    (f'{{legiarti: "LEGIARTI0001", source: "{SOURCE}"}}', "legiarti"),
    (f'{{legiarti: {ID}, source: "https://www.legifrance.gouv.fr/x/{ID}"}}', "source"),
    # a Légifrance URL written by hand, whatever its pattern
    (f'"https://www.legifrance.gouv.fr/codes/article_lc/{ID}"', None),
    (f'{{url: "https://www.legifrance.gouv.fr/codes/id/{ID}"}}', None),
    (f'{{url: "https://example.org/a", legiarti: {ID}, source: "{SOURCE}"}}', None),
    ('{url: "https://example.org/a", lien: x}', "lien"),
])
def test_bad_link_rows_are_errors(root: Path, row: str, field: str | None) -> None:
    write_links(root, f'"Code pénal, art. 226-14": {row}\n')
    errs = findings(root, "error")
    assert errs and errs[0].file == "knowledge/links.yaml" and errs[0].line == 1
    if field:
        assert errs[0].field.endswith(field)


def test_every_legifrance_link_of_the_base_uses_a_shared_identifier() -> None:
    links = load_links(ROOT, [])
    built = {ref: link for ref, link in links.items() if link.legiarti}
    assert {"Code pénal, art. 226-14", "Code pénal, art. 223-6"} <= set(built)
    for link in links.values():
        assert ("legifrance" in link.url) == (link.legiarti is not None)
    for link in built.values():
        assert link.url == LEGIFRANCE_PATTERN.format(link.legiarti)
        assert link.legiarti in link.source
    if SHARED.is_dir():
        shared = " ".join(p.read_text(encoding="utf-8") for p in SHARED.glob("*.md"))
        sourced = set(re.findall(r"LEGIARTI\d{12}", shared))
        for ref, link in built.items():
            assert link.legiarti in sourced, ref
            assert link.source in shared, ref


def test_third_party_pages_are_labelled_where_shown() -> None:
    mirror = Source("Code pénal, art. 226-13", "https://kohenavocats.com/x", from_table=True)
    assert "(copie non officielle)" in source_line(mirror)
    page = Source("FNAP, résumé de la loi", "https://www.federationnationaleambulanciersprives.fr/x")
    assert "(site non officiel)" in source_line(page)
    for url in ("https://www.legifrance.gouv.fr/codes/article_lc/" + ID,
                "https://www.conseil-national.medecin.fr/code-deontologie/x",
                "https://conseil92.ordre.medecin.fr/x", "https://solidarites.gouv.fr/x"):
        assert "officiel" not in source_line(Source("x", url, from_table=True)), url
    # a look-alike host is not official
    assert "non officiel" in source_line(Source("x", "https://legifrance.gouv.fr.example.org/"))


def test_real_cards_show_official_links_mirrors_and_notes() -> None:
    kb, _f = load_knowledge(ROOT)
    card = render_entry(kb.entries["information-preoccupante"]).text
    link = f"https://www.legifrance.gouv.fr/codes/article_lc/{ID}"
    assert f'href="{link}">Code pénal, art. 226-14</a>\n' in card  # official: no label
    assert re.search(r"art\. L\.226-5</a> \(copie non officielle ; numéro d'article à "
                     r"revérifier sur Légifrance\)", card)
    card = render_entry(kb.entries["secret-professionnel"]).text
    assert re.search(r"art\. 226-13</a> \(copie non officielle\)", card)
