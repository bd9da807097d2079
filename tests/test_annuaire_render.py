"""Result cards, buttons and callback parsing."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest

from annuaire.loader import load_directory
from annuaire.model import Entry
from annuaire.render import Action, card, kind_keyboard, parse_action, pin_reply, results_reply
from annuaire.search import Hit, search
from vvs.errors import StaleAction

FIXTURE = Path(__file__).parent / "data" / "annuaire"


@pytest.fixture(scope="module")
def directory():
    return load_directory(FIXTURE)[0]


def test_card_escapes_and_flags() -> None:
    entry = Entry(id="x", name="A <b> & C", kind="other", source="s", status="to_verify")
    text = card(entry, distance_km=3.25)
    assert "A &lt;b&gt; &amp; C" in text
    assert "coordonnées à confirmer" in text and "pas encore vérifiée" in text
    assert "3,2 km" in text


def test_verified_entry_card(directory) -> None:
    text = card(directory.get("parquet-bobigny"))
    assert "☎ 01 23 45 67 89 — signalement d&#x27;un mineur au procureur ; signalement " \
        "d&#x27;un majeur au procureur · vérifié le 15/01/2025" in text
    assert "✉ contact@example.org — information ou standard seulement" in text
    assert "à vérifier" not in text and "Fiche vérifiée le 15/01/2025." in text
    assert "1 rue de l&#x27;Exemple 93000 Bobigny" in text


def test_card_says_what_each_channel_is_for_and_how_old_it_is() -> None:
    repo = Path(__file__).resolve().parent.parent
    directory, _ = load_directory(repo)
    pontoise = card(directory.get("parquet-pontoise"))
    assert "☎ 01 72 58 70 00 — information ou standard seulement : ne reçoit pas de " \
        "signalement" in pontoise
    assert "à vérifier — source de 2024" in pontoise
    crip75 = card(directory.get("crip-75"))
    assert "crip75@paris.fr — information préoccupante" in crip75
    assert "à vérifier — source de 2015" in crip75
    assert "01 42 76 26 17" not in crip75 and "Diderot" not in crip75  # contradicted
    ccip78 = card(directory.get("crip-78"))
    assert "01 39 07 74 30" in ccip78 and "source non datée" in ccip78


def test_results_reply_pages_and_pins(directory) -> None:
    hits = search(directory, "tribunal", top=10)
    reply = results_reply(hits)
    data = [b.data for row in reply.buttons for b in row]
    assert data[:3] == [f"a:pin:{h.entry.id}" for h in hits[:3]]
    assert data[-1] == "a:more:3"
    last = results_reply(hits, offset=3)
    assert all(not d.startswith("a:more") for row in last.buttons for d in [row[0].data])
    assert results_reply([]).text == "Aucun résultat dans l&#x27;annuaire."


def test_pin_reply_has_a_venue(directory) -> None:
    reply = pin_reply(directory.get("umj-bondy"))
    (venue,) = reply.venues
    assert (venue.lat, venue.lon) == (48.9022, 2.4828)
    assert pin_reply(directory.get("cdom-92")).venues == ()


def test_kind_keyboard() -> None:
    data = [b.data for row in kind_keyboard().buttons for b in row]
    assert "a:kind:umj" in data and "a:kind:crip" in data


def test_parse_action(directory) -> None:
    assert parse_action("a:pin:umj-bondy", directory) == Action("pin", "umj-bondy")
    assert parse_action("a:more:6") == Action("more", 6)
    assert parse_action("a:kind:crip") == Action("kind", "crip")


@pytest.mark.parametrize("data", ["a:pin:nope", "a:pin:../x", "a:more:-1", "a:more:99999",
                                  "a:kind:bank", "k:pin:umj-bondy", "a:pin", "a:pin:a:b",
                                  "", "a:more:" + "9" * 70])
def test_parse_action_rejects_forged_data(directory, data: str) -> None:
    with pytest.raises(StaleAction):
        parse_action(data, directory)


def test_hit_json_shape(directory) -> None:
    hit = Hit(directory.get("umj-bondy"), distance_km=1.234)
    data = hit.as_dict()
    assert data["distance_km"] == 1.23 and "score" not in data
    for key in ("id", "name", "kind", "department", "commune", "postcode", "address",
                "channels", "lat", "lon", "status"):
        assert key in data


def test_cards_and_pin_buttons_carry_the_same_numbers_and_distinct_labels() -> None:
    """UMJ near Paris: the Hôtel-Dieu comes first but has no map pin; the first pin button
    used to read like the first card's. Now each button repeats its card's number."""
    from annuaire.search import near

    repo = Path(__file__).resolve().parent.parent
    directory, _ = load_directory(repo)
    hits = near(directory, 48.8566, 2.3522, kind="umj", top=12)
    assert hits[0].entry.id == "umj-hotel-dieu" and not hits[0].entry.has_geo
    reply = results_reply(hits)
    cards = reply.text.split("\n\n")
    pins = [b for row in reply.buttons for b in row if b.data.startswith("a:pin:")]
    assert pins
    for button in pins:
        number = int(button.label.split()[1].rstrip("."))
        entry = directory.get(button.data.split(":")[2])
        assert cards[number - 1].startswith(f"<b>{number}. {escape(entry.name)}</b>")
    labels = [e.label for e in directory.entries]
    assert len(labels) == len(set(labels))  # every button label tells its entry apart
