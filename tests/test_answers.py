"""Typed answers read as a step's buttons (`vvs.answers`): a scenario table."""

from __future__ import annotations

import pytest

from vvs.answers import choice_index, department_in

DANGER = ["Oui, danger grave et immédiat", "Non", "Je ne sais pas, j'ai un doute"]
STATUS = ["Libéral", "Salarié ou hospitalier"]


@pytest.mark.parametrize(("text", "labels", "index"), [
    ("oui", DANGER, 0), ("OUI !", DANGER, 0), ("ouais", DANGER, 0), ("yes", DANGER, 0),
    ("Non.", DANGER, 1), ("non merci", DANGER, 1), ("2", DANGER, 1), ("3", DANGER, 2),
    ("je sais pas", DANGER, 2), ("doute", DANGER, 2), ("danger", DANGER, 0),
    ("liberal", STATUS, 0), ("salariée", STATUS, 1), ("hospitalier", STATUS, 1),
    ("4", DANGER, None), ("0", DANGER, None), ("", DANGER, None),
    ("oui", STATUS, None),  # no label says yes
    ("ma patiente refuse", DANGER, None),
    ("oui", ["Oui, au sein du couple", "Oui, danger immédiat"], None),  # two say yes
])
def test_choice_index(text: str, labels: list[str], index: int | None) -> None:
    assert choice_index(text, labels) == index


@pytest.mark.parametrize(("text", "code"), [
    ("93", "93"), ("le 93", "93"), ("dans le 93", "93"), ("93200", "93"),
    ("seine saint denis", "93"), ("Seine-St-Denis", "93"), ("Seine-Saint-Denis (93)", "93"),
    ("val de marne", "94"), ("Val-d'Oise", "95"), ("valdoise", "95"), ("essone", "91"),
    ("hauts de seine", "92"), ("seine et marne", "77"), ("Paris", "75"), ("75011", "75"),
    ("ivelines", "78"), ("j'exerce dans le 92", "92"),
    ("seine", None), ("92 ou 93", None), ("oui", None), ("13", None), ("13001", None),
    ("je ne sais pas", None),
])
def test_department_in(text: str, code: str | None) -> None:
    assert department_in(text) == code
