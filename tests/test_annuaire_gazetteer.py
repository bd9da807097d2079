"""Gazetteer: every Île-de-France postcode and commune resolves; homonyms; tolerance."""

from __future__ import annotations

import pytest

from annuaire.gazetteer import default_gazetteer, is_ambiguous
from vvs.departements import IDF_DEPARTMENTS


@pytest.fixture(scope="module")
def gaz():
    return default_gazetteer()


def test_every_idf_postcode_resolves(gaz) -> None:
    idf = [p for p in gaz.places if p.department in IDF_DEPARTMENTS]
    codes = {c for p in idf for c in p.postcodes}
    assert len(codes) > 500
    for code in codes:
        matches = gaz.lookup(code)
        assert matches, code
        place = matches[0].place
        assert place.department in IDF_DEPARTMENTS and place.lat and place.lon, code
        assert place.postcode == code


def test_every_idf_commune_resolves_by_name_and_insee(gaz) -> None:
    idf = [p for p in gaz.places if p.department in IDF_DEPARTMENTS]
    assert len(idf) > 1200  # 1,287 communes and 20 Paris arrondissements
    for place in idf:
        assert place.lat is not None and place.lon is not None, place
        assert 48.0 < place.lat < 49.3 and 1.4 < place.lon < 3.6, place
        assert place.insee in [m.place.insee for m in gaz.lookup(place.insee)]
        found = [m.place.insee for m in gaz.lookup(place.name, limit=10)]
        assert place.insee in found, place.name


@pytest.mark.parametrize(("query", "insee"), [
    ("saint denis", "93066"), ("st denis", "93066"), ("ST-DENIS", "93066"),
    ("saint denis 974", "97411"), ("saint denis 93", "93066"), ("creteil", "94028"),
    ("Créteil", "94028"), ("nanterr", "92050"), ("sartrouvile", "78586"),
    ("st maur des fosses", "94068"), ("l'hay les roses", "94038"), ("paris 18", "75118"),
    ("75018", "75118"), ("93000", "93008"), ("evry", "91228"), ("2A004", "2A004"),
    ("marseille", "13055"), ("lyon 3e", "69383"),
])
def test_lookup(gaz, query: str, insee: str) -> None:
    assert gaz.lookup(query)[0].place.insee == insee


def test_homonyms_rank_idf_first_and_are_ambiguous(gaz) -> None:
    matches = gaz.lookup("saint-denis")
    assert [m.place.department for m in matches[:2]] == ["93", "974"]
    assert is_ambiguous(matches)
    assert not is_ambiguous(gaz.lookup("saint denis 93"))


def test_departement_and_reverse_lookup(gaz) -> None:
    (match,) = gaz.lookup("93")
    assert match.via == "departement" and match.place.name == "Seine-Saint-Denis"
    assert gaz.lookup("essonne")[0].place.department == "91"
    assert gaz.nearest(48.79, 2.45).insee == "94028"
    assert gaz.lookup("zzzzzz") == []


def test_plm_cities_have_points_and_departements(gaz) -> None:
    for insee, dept in (("75056", "75"), ("13055", "13"), ("69123", "69"), ("75101", "75"),
                        ("13203", "13"), ("69381", "69")):
        place = gaz.by_code(insee)
        assert place.department == dept and place.lat and place.lon


def test_short_forms_in_a_query(gaz) -> None:
    def named(*words: str) -> list[str | None]:
        return [p.insee for p, _ in gaz.find_in_tokens(list(words))]

    assert named("crip", "boulogne") == ["92012"]  # Boulogne-Billancourt
    assert named("umj", "aulnay") == ["93005"]  # Aulnay-sous-Bois
    assert named("parquet", "saint", "maur") == ["94068"]
    assert named("cdom", "neuilly") == []  # -sur-Seine, -sur-Marne, -Plaisance: no guess
    assert named("les", "champs") == []  # an ordinary word is no short form
    assert named("clichy") == ["92024"]  # an exact name beats a short form
