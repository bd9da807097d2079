"""The directory entry form: an entry's channels as rows of a form, and back.

Row `i` of the form is the entry's `i`-th channel in the file (the form carries a digest of
the file it was read from, so the rows cannot drift from the channels); the last row is a new,
optional channel. A channel keeps the fields the form does not show (its internal `notes`);
an optional field left empty is removed. Nothing is judged here: the loader does that on the
staged copy, so the form refuses exactly what the files refuse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from multidict import MultiMapping

from annuaire.loader import CHANNEL_FIELDS
from annuaire.model import USES

# the loader's channel fields but the internal `notes` (kept as they are, never shown)
FIELDS = tuple(f for f in CHANNEL_FIELDS if f != "notes")
REQUIRED = ("type", "value", "uses", "source")  # written even when empty: the loader says so
TEXTS = tuple(f for f in FIELDS if f != "uses")  # one text input each
MAX_CHANNELS = 50


@dataclass
class Row:
    """One channel as the form shows it (every value a string, as typed)."""

    type: str = "phone"
    value: str = ""
    uses: list[str] = field(default_factory=list)
    instructions: str = ""
    source: str = ""
    source_date: str = ""
    verified_on: str = ""
    hours: str = ""
    delete: bool = False
    new: bool = False

    @property
    def blank(self) -> bool:
        """A new row left empty adds nothing (its type has a default: it says nothing)."""
        return not (self.uses or any(getattr(self, key) for key in TEXTS if key != "type"))


def digest(text: str) -> str:
    """What the form remembers of the file it was read from."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _row(values: Mapping[str, str], uses: list[str], delete: bool = False,
         new: bool = False) -> Row:
    """A row from the text fields (`TEXTS`, named as the row's attributes) and the uses."""
    return Row(**{key: values[key] for key in TEXTS}, uses=uses, delete=delete, new=new)


def rows_of(channels: Sequence[Mapping[str, object]]) -> list[Row]:
    """The rows of the entry's channels, and an empty new one."""
    rows = []
    for channel in channels:
        uses = channel.get("uses")
        rows.append(_row({key: _text(channel.get(key)) for key in TEXTS},
                         [str(u) for u in uses] if isinstance(uses, list) else []))
    return [*rows, Row(new=True)]


def rows_from_form(form: MultiMapping[object], count: int) -> list[Row]:
    """The rows posted: `c<i>-<field>` for the `count` channels and the new one (uses in
    the order of `USES`; an unknown one is kept for the loader to refuse)."""
    rows = []
    for index in range(count + 1):
        name = f"c{index}-"
        ticked = [str(u) for u in form.getall(name + "uses", [])]
        rows.append(_row({key: " ".join(str(form.get(name + key, "")).split())
                          for key in TEXTS},
                         [u for u in USES if u in ticked] + [u for u in ticked if u not in USES],
                         delete=bool(form.get(name + "delete")), new=index == count))
    return rows


def _date(value: str) -> dt.date | str:
    """A valid date as a date (written bare), anything else as typed (the loader says why)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return value


def channels_of(rows: Sequence[Row], existing: Sequence[Mapping[str, object]]
                ) -> list[dict[str, object]]:
    """The channels to write: each kept row over the channel it was read from."""
    channels = []
    for index, row in enumerate(rows):
        if row.delete or (row.new and row.blank):
            continue
        channel = dict(existing[index]) if not row.new and index < len(existing) else {}
        for key in FIELDS:
            value: object = row.uses if key == "uses" else getattr(row, key)
            if key == "verified_on" and value:
                value = _date(str(value))
            if value or key in REQUIRED:
                channel[key] = value
            else:
                channel.pop(key, None)
        channels.append(channel)
    return channels
