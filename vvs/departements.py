"""The Île-de-France départements: the one place that lists their codes and names."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Code → name, in the order every screen offers them.
IDF_DEPARTMENT_NAMES: Mapping[str, str] = MappingProxyType({
    "75": "Paris", "77": "Seine-et-Marne", "78": "Yvelines", "91": "Essonne",
    "92": "Hauts-de-Seine", "93": "Seine-Saint-Denis", "94": "Val-de-Marne",
    "95": "Val-d'Oise",
})
IDF_DEPARTMENTS: tuple[str, ...] = tuple(IDF_DEPARTMENT_NAMES)
