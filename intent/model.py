"""The readings of a free text: typed results, ranked, for the bot to act on or to offer."""

from __future__ import annotations

from dataclasses import dataclass

from annuaire.gazetteer import Place
from knowledge.search import SearchResult


@dataclass(frozen=True)
class DirectoryReading:
    """Look something up in the directory: a kind and/or a place, or a resource named."""

    score: float
    kind: str | None  # annuaire.model.KINDS, None when no single kind was named
    place: Place | None
    entry: str | None = None  # the id of a directory entry named by the text

    name = "directory"


@dataclass(frozen=True)
class ProcedureReading:
    """Start a guided procedure (a flow id of the snapshot)."""

    score: float
    flow: str

    name = "procedure"


@dataclass(frozen=True)
class QuestionReading:
    """A legal question answered by a knowledge entry (with the search's close alternatives)."""

    score: float
    entry: str
    alternatives: tuple[str, ...] = ()

    name = "question"


Reading = DirectoryReading | ProcedureReading | QuestionReading
DECISIVE_LEAD = 0.15  # a best reading this far ahead of the next is acted on


@dataclass(frozen=True)
class Intent:
    """The readings of a text, best first; empty when none is plausible."""

    readings: tuple[Reading, ...] = ()
    # the knowledge search of the text (read once: the answer shows it)
    search: SearchResult | None = None

    @property
    def best(self) -> Reading | None:
        return self.readings[0] if self.readings else None

    @property
    def unsure(self) -> bool:
        """Several readings are plausible and the best does not lead the next by
        `DECISIVE_LEAD`: offer them as buttons (else act on the best: "crip 93" is the
        directory, although what the CRIP is stays a plausible second reading)."""
        return len(self.readings) > 1 and \
            self.readings[0].score - self.readings[1].score < DECISIVE_LEAD
