"""`python -m annuaire`: JSON lines, stdin queries, and the shared development set."""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path

import pytest

from annuaire import cli
from annuaire.gazetteer import default_gazetteer
from annuaire.loader import load_directory

FIXTURE = Path(__file__).parent / "data" / "annuaire"
DEV_SET = Path("/work/shared/eval/annuaire-dev.tsv")
REPO = Path(__file__).resolve().parent.parent


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_search_json_one_line_per_stdin_query(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("tribunal bobigny\n\numj creteil\n"))
    assert cli.main(["search", "--json", "--content-dir", str(FIXTURE)]) == 0
    first, second = _lines(capsys)
    assert first["query"] == "tribunal bobigny"
    assert first["results"][0]["id"] == "parquet-bobigny"
    assert 0 < first["results"][0]["score"] <= 1
    assert second["results"][0]["id"] == "umj-creteil"


def test_search_with_filters_and_args(capsys) -> None:
    assert cli.main(["search", "--json", "--kind", "parquet", "--department", "77",
                     "--top", "2", "--content-dir", str(FIXTURE), "tribunal"]) == 0
    (result,) = _lines(capsys)
    assert len(result["results"]) == 2
    assert {r["department"] for r in result["results"]} == {"77"}


def test_near_json(capsys) -> None:
    assert cli.main(["near", "--json", "--postcode", "93000", "--kind", "parquet",
                     "--content-dir", str(FIXTURE)]) == 0
    (result,) = _lines(capsys)
    assert result["place"]["insee"] == "93008" and result["place"]["department"] == "93"
    assert result["results"][0]["id"] == "parquet-bobigny"
    assert "distance_km" in result["results"][0]
    assert cli.main(["near", "--json", "--place", "zzzzqqq", "--content-dir",
                     str(FIXTURE)]) == 1


def test_place_json(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("75018\nsaint denis\n"))
    assert cli.main(["place", "--json", "--top", "2"]) == 0
    paris, saint_denis = _lines(capsys)
    assert paris["results"][0] == {"commune": "Paris 18e Arrondissement", "insee": "75118",
                                   "postcode": "75018", "department": "75", "lat": 48.8923,
                                   "lon": 2.3447, "score": 1.0, "via": "postcode"}
    assert [r["department"] for r in saint_denis["results"]] == ["93", "974"]


def _dev_cases() -> list[tuple[str, str, str]]:
    if not DEV_SET.exists():
        return []
    lines = DEV_SET.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line.strip()
            and not line.startswith("#")]  # type: ignore[misc]


def _run(mode: str, query: str) -> dict:
    gaz = default_gazetteer()
    if mode == "place":
        return cli.run_place(gaz, query)
    directory, _ = load_directory(REPO)
    assert directory is not None
    if mode == "search":
        return cli.run_search(directory, query)
    args = cli.build_parser().parse_args(["near", *shlex.split(query)])
    return cli.run_near(directory, gaz, args.postcode, args.place, args.lat, args.lon,
                        args.kind)


@pytest.mark.skipif(not DEV_SET.exists(), reason="shared development set absent")
@pytest.mark.parametrize(("mode", "query", "expected"), _dev_cases())
def test_development_set(mode: str, query: str, expected: str) -> None:
    result = _run(mode, query)
    assert result["results"], result
    first = result["results"][0]
    for pair in expected.split():
        key, allowed = pair.split("=", 1)
        key = {"dept": "department"}.get(key, key)
        assert str(first.get(key)) in allowed.split("|"), (key, first)
