"""Addressee resolvers: the named functions an outcome's `addressee` refers to.

Each takes the directory snapshot (or None) and the chosen département (or None / "x" for
"autre") and returns the lines to show. A line names the competent services (found by the
annuaire's competence lookup, "à confirmer" when several may be competent) and, for each, only
the channels whose use fits the line's purpose (`annuaire.purposes`): an information-only
switchboard is never shown as the place to send, and a couple-only mailbox only where the
outcome is about violence within the couple. When nothing fit is known, a last line gives what
does work (emergency numbers, the national line for this kind of case), so no outcome ends
without a next step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from annuaire.model import USES, Channel, Directory, Entry
from annuaire.purposes import PURPOSES, national_channels, suitable
from annuaire.render import channel_status, channel_text
from annuaire.search import competent
from bot.flows.model import DEPARTMENTS
from vvs.i18n import N_, _

log = logging.getLogger(__name__)
FALLBACK = "fallback"  # AddresseeLine.kind of the "what works now" line


@dataclass(frozen=True)
class ShownChannel:
    """A channel as an outcome shows it, with the use that made it fit."""

    channel: Channel
    use: str  # a key of annuaire.model.USES

    @classmethod
    def of(cls, channel: Channel, uses: frozenset[str]) -> ShownChannel:
        return cls(channel, next((u for u in channel.uses if u in uses), channel.uses[0]))


@dataclass(frozen=True)
class Contact:
    """A directory entry reduced to what an outcome shows (entries stay in the annuaire)."""

    name: str
    channels: tuple[ShownChannel, ...] = ()
    address: str | None = None  # where the service is (orientation lines only)
    website: str | None = None
    caution: str | None = None

    @property
    def missing_contact(self) -> bool:
        return not (self.channels or self.address)


@dataclass(frozen=True)
class AddresseeLine:
    """One role ("destinataire", "copie à", "orientation") and the contacts that may fill it."""

    role: str  # untranslated French label (N_), translated at display time
    kind: str
    contacts: tuple[Contact, ...]
    certain: bool
    purpose: str = ""  # a key of annuaire.purposes.PURPOSES ("" for the fallback line)
    sending: bool = False

    @property
    def usable(self) -> bool:
        """At least one contact with a channel fit for the purpose."""
        return any(c.channels for c in self.contacts)




def _competent(directory: Directory | None, kind: str,
               department: str | None) -> tuple[tuple[Entry, ...], bool]:
    """Entries of `kind` competent for a département, via the annuaire; (entries, certain)."""
    if directory is None or department not in DEPARTMENTS:
        return (), False
    place = directory.index.gaz.department(department)
    if place is None:
        log.warning("no gazetteer place for département %s", department)
        return (), False
    found = competent(directory, kind, place)
    entries, certain = found.entries, found.certain
    if not entries:  # non-territorial kinds (associations): every entry of the département
        entries = tuple(e for e in directory.entries
                        if e.kind == kind and e.department == department)
        certain = len(entries) == 1
    return entries, certain


def _contact(entry: Entry, purpose_id: str) -> Contact:
    purpose = PURPOSES[purpose_id]
    channels = tuple(ShownChannel.of(c, purpose.uses) for c in suitable(entry, purpose))
    return Contact(name=entry.name, channels=channels,
                   address=None if purpose.sending else entry.address,
                   website=None if purpose.sending else entry.website, caution=entry.caution)


def _line(directory: Directory | None, role: str, purpose_id: str,
          department: str | None) -> AddresseeLine:
    """A sending line is "à confirmer" when several services may be competent; an
    orientation line lists options, each a valid choice."""
    purpose = PURPOSES[purpose_id]
    entries, certain = _competent(directory, purpose.kind, department)
    return AddresseeLine(role, purpose.kind, tuple(_contact(e, purpose_id) for e in entries),
                         certain or not purpose.sending, purpose_id, purpose.sending)


def _fallback(directory: Directory | None, *uses: str) -> AddresseeLine:
    """What works whatever the département: national lines chosen by their uses."""
    contacts = []
    for use in uses:
        for entry, channel in national_channels(directory, use):
            shown = ShownChannel.of(channel, frozenset({use}))
            contacts.append(Contact(name=entry.name, channels=(shown,)))
    return AddresseeLine(N_("Ce qui fonctionne dès maintenant"), FALLBACK, tuple(contacts),
                         True)


@dataclass(frozen=True)
class ResolverSpec:
    """An outcome's addressee: (role, purpose) lines, and the national uses to fall back on."""

    name: str
    lines: tuple[tuple[str, str], ...]
    fallback: tuple[str, ...] = ()

    @property
    def purposes(self) -> tuple[str, ...]:
        return tuple(purpose for _role, purpose in self.lines)

    def __call__(self, directory: Directory | None,
                 department: str | None) -> tuple[AddresseeLine, ...]:
        lines = tuple(_line(directory, role, purpose, department)
                      for role, purpose in self.lines)
        if not lines or all(line.usable for line in lines):
            return lines
        return (*lines, _fallback(directory, *self.fallback))


_PARQUET_FAITS = N_("Procureur de la République (parquet du lieu des faits)")
_PARQUET_ENFANT = N_("Procureur de la République (résidence habituelle de l'enfant)")
_COPIE_CRIP = N_("Copie à la CRIP du département")
_CDOM = N_("Votre conseil départemental de l'Ordre des médecins")

SPECS: tuple[ResolverSpec, ...] = (
    ResolverSpec("aucun", ()),
    # Adult who agrees to a signalement.
    ResolverSpec("parquet_majeur", ((_PARQUET_FAITS, "signalement-majeur"),),
                 ("urgence", "aide-victimes")),
    # Adult who cannot protect herself: the 3977 advises professionals on such cases.
    ResolverSpec("parquet_vulnerable", ((_PARQUET_FAITS, "signalement-majeur"),),
                 ("urgence", "conseil-vulnerable")),
    # Adult, violence within the couple (226-14 3°): the couple mailbox where there is one.
    ResolverSpec("parquet_couple", ((_PARQUET_FAITS, "violences-conjugales"),),
                 ("urgence", "conseil-couple")),
    # Minor, signalement: the procureur of the child's usual residence, copy to the CRIP.
    ResolverSpec("parquet_et_crip_enfant", ((_PARQUET_ENFANT, "signalement-mineur"),
                                            (_COPIE_CRIP, "information-preoccupante")),
                 ("urgence", "conseil-enfance")),
    # Minor in immediate danger: the parquet's permanence first, copy to the CRIP.
    ResolverSpec("parquet_urgent_enfant", ((_PARQUET_ENFANT, "signalement-mineur-urgent"),
                                           (_COPIE_CRIP, "information-preoccupante")),
                 ("urgence", "conseil-enfance")),
    # Minor, information préoccupante: the CRIP of the child's usual residence.
    ResolverSpec("crip_enfant", ((N_("CRIP (résidence habituelle de l'enfant)"),
                                  "information-preoccupante"),),
                 ("conseil-enfance", "urgence")),
    # Minor, doubt: the CRIP for advice, the UAPED, and the 119.
    ResolverSpec("conseil_enfance", ((N_("Conseil : la CRIP du département"),
                                      "information-preoccupante"),
                                     (N_("UAPED"), "uaped")),
                 ("conseil-enfance", "urgence")),
    # Adult without consent: where to orient the victim, and the CDOM for the physician.
    ResolverSpec("orientation_majeur", (
        (N_("Orientation : unité médico-judiciaire (UMJ)"), "umj"),
        (N_("Orientation : aide aux victimes"), "aide-victimes"),
        (N_("Pour vous : commission VVS du conseil départemental de l'Ordre"),
         "ordre-medecins")), ("aide-victimes", "conseil-couple", "urgence")),
    # Physician victim: their CDOM; the Ordre's listening line belongs to this route only.
    ResolverSpec("cdom_medecin", ((_CDOM, "ordre-medecins"),), ("ecoute-medecins",)),
)
RESOLVERS: dict[str, ResolverSpec] = {spec.name: spec for spec in SPECS}


# -- presentation shared by the screen and the PDFs ----------------------------------------
@dataclass(frozen=True)
class Row:
    """One line of an addressee block: a role heading, a service, a channel, or a note."""

    level: str  # role | contact | channel | detail | note
    text: str


def present(lines: tuple[AddresseeLine, ...], department: str | None, *, referent: bool = False,
            drafts: bool = False, icons: bool = True) -> tuple[Row, ...]:
    """The addressee block as rows (translated). `drafts` leaves out the fallback line: a
    draft names only where to send; `referent` mentions the outcome's referent button."""
    rows: list[Row] = []
    for line in lines:
        if line.kind == FALLBACK:
            if not drafts:
                rows += _fallback_rows(line, referent, icons)
            continue
        rows.append(Row("role", _(line.role)))
        rows += _line_rows(line, department, icons)
    return tuple(rows)


def _line_rows(line: AddresseeLine, department: str | None, icons: bool) -> list[Row]:
    if not line.contacts:
        if department in DEPARTMENTS:
            return [Row("note", _("Non trouvé dans l'annuaire."))]
        return [Row("note", _("Hors Île-de-France : l'annuaire ne couvre que l'Île-de-France ; "
                              "recherchez le service compétent de votre département."))]
    rows: list[Row] = []
    for contact in line.contacts:
        name = contact.name if line.certain else _("{name} — à confirmer").format(
            name=contact.name)
        rows.append(Row("contact", name))
        if contact.caution:
            rows.append(Row("note", contact.caution))
        rows += [Row("channel", _channel_text(c, icons)) for c in contact.channels]
        rows += [Row("detail", d) for d in (contact.address, contact.website) if d]
        if not contact.channels and line.sending:
            rows.append(Row("note", _("Aucun moyen de transmission confirmé pour cet usage : "
                                      "à obtenir.")))
    return rows


def _fallback_rows(line: AddresseeLine, referent: bool, icons: bool) -> list[Row]:
    """One row per use: a lone service in full, several numbers of one use on one row."""
    rows = [Row("role", _(line.role))]
    by_use: dict[str, list[tuple[str, ShownChannel]]] = {}
    for contact in line.contacts:
        for channel in contact.channels:
            by_use.setdefault(channel.use, []).append((contact.name, channel))
    for use, found in by_use.items():
        if use != "urgence":
            rows += [Row("channel", f"{name} : {_channel_text(channel, icons)}")
                     for name, channel in found]
            continue
        # The emergency numbers on one row: the physician needs the numbers, not five names.
        channels = [shown.channel for _name, shown in found]
        values = ", ".join(c.value + (f" ({c.instructions})" if c.instructions else "")
                           for c in channels)
        label = _(USES[use])
        rows.append(Row("channel", f"{label[:1].upper()}{label[1:]} : {values} · "
                                   f"{channel_status(min(channels, key=_certainty))}"))
    if referent:
        rows.append(Row("channel", _("Votre conseil départemental de l'Ordre (commission VVS) : "
                                     "bouton « Être contacté par un référent »")))
    return rows


def _certainty(channel: Channel) -> tuple[int, int]:
    """Verified first, then by source year: the minimum is the least certain channel."""
    return (1 if channel.verified else 0, channel.source_year or 0)


def _channel_text(shown: ShownChannel, icons: bool) -> str:
    return channel_text(shown.channel, shown.use, icons)
