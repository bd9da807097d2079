"""Search, near and competence over the fixture directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from annuaire.gazetteer import default_gazetteer
from annuaire.loader import load_directory
from annuaire.search import competent, detect_kinds, near, search
from annuaire.text import normalize

FIXTURE = Path(__file__).parent / "data" / "annuaire"


@pytest.fixture(scope="module")
def directory():
    directory, _ = load_directory(FIXTURE)
    assert directory is not None
    return directory


@pytest.mark.parametrize(("query", "first"), [
    ("tribunal bobigny", "parquet-bobigny"),
    ("procureur de meaux", "parquet-meaux"),
    ("trib melun", "parquet-melun"),
    ("tribunal fontainbleau", "parquet-fontainebleau"),  # typo
    ("hopital jean verdier", "umj-bondy"),
    ("hop jean verdeir", "umj-bondy"),  # abbreviation and typo
    ("verdier jean umj", "umj-bondy"),  # word order
    ("umj 94", "umj-creteil"),
    ("UMJ Créteil", "umj-creteil"),
    ("cdom 92", "cdom-92"),
    ("ordre des medecins hauts de seine", "cdom-92"),
    ("crip 93", "crip-93"),
    ("asso aide victimes pres de meaux", "asso-meaux"),
    ("aide aux victimes paris", "asso-paris"),
    ("violences femmes info", "ligne-3919"),
    ("3919", "ligne-3919"),
    ("enfance en danger", "ligne-119"),
])
def test_search_first_result(directory, query: str, first: str) -> None:
    hits = search(directory, query)
    assert hits and hits[0].entry.id == first, [(h.entry.id, h.score) for h in hits]
    assert all(0 <= h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_filters_are_hard(directory) -> None:
    assert {h.entry.kind for h in search(directory, "meaux", kind="association")} == {
        "association"}
    assert {h.entry.department for h in search(directory, "tribunal",
                                                department="77", top=10)} == {"77"}
    assert search(directory, "tribunal", kind="crip") == []
    assert search(directory, "qwxz") == []


def test_kind_words() -> None:
    assert detect_kinds(normalize("asso aide victimes")) == {"association"}
    assert detect_kinds(normalize("procureur")) == {"parquet"}
    assert detect_kinds(normalize("Ordre des médecins")) == {"cdom"}


def test_near_point_by_distance(directory) -> None:
    hits = near(directory, 48.79, 2.45, kind="umj")
    assert [h.entry.id for h in hits] == ["umj-creteil", "umj-bondy"]
    assert hits[0].distance_km < 2 < hits[1].distance_km


def test_near_territorial_serving_first(directory) -> None:
    bondy = default_gazetteer().postcode("93140")[0]
    # Bobigny's parquet serves 93: it comes first even if a 77 court were closer.
    hits = near(directory, bondy.lat, bondy.lon, kind="parquet", place=bondy)
    assert hits[0].entry.id == "parquet-bobigny" and hits[0].serves_place
    assert not hits[1].serves_place
    # CDOM 92 has no coordinates but serves Nanterre: it is still listed, without distance.
    nanterre = default_gazetteer().lookup("nanterre")[0].place
    (cdom,) = near(directory, nanterre.lat, nanterre.lon, kind="cdom", place=nanterre)
    assert cdom.entry.id == "cdom-92" and cdom.distance_km is None


def test_competent(directory) -> None:
    gaz = default_gazetteer()
    meaux = gaz.lookup("meaux")[0].place
    three = competent(directory, "parquet", meaux)
    assert not three.certain
    assert {e.id for e in three.entries} == {"parquet-meaux", "parquet-melun",
                                             "parquet-fontainebleau"}
    bondy = gaz.postcode("93140")[0]
    one = competent(directory, "parquet", bondy)
    assert one.certain and [e.id for e in one.entries] == ["parquet-bobigny"]
    # A commune-level entry wins over the département-wide one.
    saint_denis = gaz.by_code("93066")
    assert [e.id for e in competent(directory, "crip", saint_denis).entries] == [
        "crip-93-nord"]
    assert [e.id for e in competent(directory, "crip", bondy).entries] == ["crip-93"]
    nowhere = competent(directory, "uaped", bondy)
    assert nowhere.entries == () and not nowhere.certain


def test_kind_words_specific_and_masked() -> None:
    # The national / regional Ordre is not a departmental council.
    assert detect_kinds(normalize("ordre national des medecins")) == {"cnom"}
    assert detect_kinds(normalize("ordre regional des medecins")) == {"crom"}
    # A juvenile or local court is not the parquet, though "tribunal" is in its name.
    assert detect_kinds(normalize("tribunal pour enfants versailles")) == set()
    assert detect_kinds(normalize("trib de proximité gonesse")) == set()
    assert detect_kinds(normalize("tribunal de gonesse")) == {"parquet"}


def test_phrase_prefers_the_label_that_says_just_that() -> None:
    repo, _ = load_directory(Path(__file__).resolve().parent.parent)
    assert repo is not None
    # "police" is the alias of the 17 and a word of "référents police médecins 95".
    assert search(repo, "police")[0].entry.id == "ligne-17"


@pytest.mark.parametrize(("query", "first"), [
    ("crip boulogne", "crip-92"),  # short form of Boulogne-Billancourt
    ("parquet saint maur", "parquet-creteil"),  # "saint" is not "Seine-Saint-Denis"
    ("tribunal ivry sur seine", "parquet-creteil"),  # nor "seine" "Hauts-de-Seine"
    ("aide victimes rueil", "adavip-92"),  # the 92 association before the regional one
])
def test_places_in_queries_on_the_real_directory(query: str, first: str) -> None:
    repo, _ = load_directory(Path(__file__).resolve().parent.parent)
    assert repo is not None
    hits = search(repo, query)
    assert hits[0].entry.id == first, [(h.entry.id, round(h.score, 3)) for h in hits]
