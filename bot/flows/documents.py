"""PDF documents offered at an outcome, generated in memory (never stored).

Drafts (signalement to the procureur, information préoccupante to the CRIP) fill in the
addressee and the legal mention and leave every fact about the patient and the physician as
a visible "[à compléter]" blank: the assistant never knows who the patient is. The decision
record is a dated summary for the physician's own file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from bot.flows.model import Outcome
from bot.flows.resolvers import AddresseeLine, present
from vvs.i18n import N_, _, use_language
from vvs.ui import Document

DOCUMENT_KINDS = ("signalement", "alerte-administrative", "ip", "record")
FONTS = Path(__file__).resolve().parent / "fonts"
BLANK = "[à compléter]"
FONT = "DejaVu"


@dataclass(frozen=True)
class DocumentContext:
    """Everything a document shows; no patient data, by construction."""

    flow_title: str
    outcome: Outcome
    addressees: tuple[AddresseeLine, ...]
    basis: tuple[tuple[str, str], ...]  # (knowledge id, title)
    answers: tuple[tuple[str, str], ...]  # (question, answer) along the path
    department: str | None
    today: dt.date


def build(kind: str, ctx: DocumentContext) -> Document:
    """Render document `kind` (one of DOCUMENT_KINDS) as a `vvs.ui.Document`.

    The PDF itself is always in French: it goes to a French authority or a French medical
    file, whatever the language of the interface; only the caption follows the user.
    """
    renderers = {
        "signalement": ("modele-signalement.pdf", signalement_pdf,
                        N_("Modèle indicatif de signalement, à compléter hors de l'assistant.")),
        "alerte-administrative": (
            "modele-alerte-autorite-administrative.pdf", administrative_pdf,
            N_("Modèle indicatif d'alerte à une autorité administrative, à compléter hors de "
               "l'assistant.")),
        "ip": ("modele-information-preoccupante.pdf", ip_pdf,
               N_("Modèle indicatif d'information préoccupante, à compléter hors de "
                  "l'assistant.")),
        "record": ("releve-decision-{date}.pdf", record_pdf,
                   N_("Relevé de décision pour votre dossier.")),
    }
    if kind not in renderers:
        raise ValueError(f"unknown document kind {kind!r}")
    pattern, render, caption = renderers[kind]
    filename = pattern.format(date=ctx.today.isoformat()) if "{date}" in pattern else pattern
    with use_language("fr"):
        content = render(ctx)
    return Document(filename, content, _(caption))


class _Pdf(FPDF):
    """A4 page with the embedded DejaVu fonts, so œ, ’ and « » print."""

    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, 16)
        self.add_page()

    def heading(self, text: str, size: int = 13) -> None:
        self.set_font(FONT, "B", size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def para(self, text: str, size: int = 10) -> None:
        self.set_font(FONT, "", size)
        self.multi_cell(0, 5, _plain(text), new_x="LMARGIN", new_y="NEXT", markdown=True)
        self.ln(2)

    def field(self, label: str, value: str = BLANK) -> None:
        self.set_font(FONT, "B", 10)
        self.multi_cell(0, 5, label, new_x="LMARGIN", new_y="NEXT")
        self.para(value)


def _plain(text: str) -> str:
    """Keep `**bold**` (fpdf markdown) but drop other markers fpdf would misread."""
    return re.sub(r"(?<!\*)__|--(?!-)", "", text.strip())


def addressee_text(lines: tuple[AddresseeLine, ...], department: str | None,
                   drafts: bool = True, referent: bool = False) -> str:
    """Plain-text addressee block: a draft names only where to send; the record also keeps
    what works when nothing is known."""
    if not lines:
        return _("Aucun destinataire : pas de transmission.")
    out = []
    for row in present(lines, department, drafts=drafts, icons=False, referent=referent):
        if row.level == "role":
            out.append(f"**{row.text}**")
        elif row.level == "contact":
            out.append(f"- {row.text}")
        else:
            out.append(f"   {row.text}")
    if drafts and not any(line.usable for line in lines if line.sending):
        out.append(f"- {BLANK}")
    return "\n".join(out)


def _official_note(pdf: _Pdf, official: str) -> None:
    pdf.set_text_color(150, 0, 0)
    pdf.heading(_("MODÈLE INDICATIF — à vérifier et compléter"), 11)
    pdf.set_text_color(0, 0, 0)
    pdf.para(official, 9)


def _author_block(pdf: _Pdf) -> None:
    pdf.field(_("Médecin (nom, prénom, qualité, n° RPPS, adresse et téléphone "
                "professionnels)"))
    pdf.field(_("Date, heure et lieu de l'examen"))


def _quoted(pdf: _Pdf) -> None:
    pdf.field(_("Propos rapportés, entre guillemets, tels quels"), f"« {BLANK} »")


def _closing(pdf: _Pdf, ctx: DocumentContext) -> None:
    """What every draft ends with: the legal basis, drafting reminders, place, signature."""
    pdf.field(_("Base légale"), ctx.outcome.mention)
    _drafting(pdf, ctx.outcome)
    pdf.field(_("Fait à"), f"{BLANK}, le {BLANK}")
    pdf.field(_("Signature"))


def _drafting(pdf: _Pdf, outcome: Outcome) -> None:
    if outcome.write or outcome.avoid:
        pdf.heading(_("Rappels de rédaction (à supprimer avant envoi)"), 10)
        pdf.para(f"{outcome.write}\n{outcome.avoid}", 9)


def signalement_pdf(ctx: DocumentContext) -> bytes:
    """Draft signalement to the procureur de la République."""
    pdf = _Pdf(_("Signalement au procureur de la République (modèle indicatif)"))
    _official_note(pdf, _(
        "Ce document n'est pas le modèle officiel. Le Conseil national de l'Ordre des médecins "
        "propose deux modèles de signalement, l'un pour une victime majeure, l'autre pour un "
        "mineur ; pour les violences au sein du couple, la fiche de signalement du vade-mecum "
        "« Secret médical et violences au sein du couple ». Préférez-les quand vous les avez."))
    pdf.heading(_("Signalement au procureur de la République"))
    pdf.field(_("Destinataire"), addressee_text(ctx.addressees, ctx.department))
    _author_block(pdf)
    pdf.field(_("Victime (identité, date de naissance, adresse ; pour un mineur, ses parents)"))
    pdf.field(_("Contexte et circonstances de la révélation"))
    _quoted(pdf)
    pdf.field(_("Constatations cliniques, physiques et psychiques, précises et datées"))
    _closing(pdf, ctx)
    pdf.para(_("Transmettez directement à l'autorité, jamais par l'intermédiaire du patient "
               "ou d'un proche ; gardez une copie."), 9)
    return bytes(pdf.output())


def administrative_pdf(ctx: DocumentContext) -> bytes:
    """Draft alert to an administrative authority about an adult who cannot protect herself
    (226-14 1°, R.4127-44 al. 2; legal-review A11). The addressee is the physician's choice:
    it is left blank, with the two authorities the review names."""
    pdf = _Pdf(_("Alerte à une autorité administrative (modèle indicatif)"))
    _official_note(pdf, _(
        "Ce document n'est pas un formulaire officiel. Il sert quand une autorité "
        "administrative convient mieux que le procureur de la République : jamais la CRIP, "
        "réservée aux mineurs."))
    pdf.heading(_("Alerte à une autorité administrative — personne majeure qui n'est pas en "
                  "mesure de se protéger"))
    pdf.field(_("Destinataire"), _(
        "{blank} — selon la situation : l'Agence régionale de santé (ARS) pour une "
        "maltraitance dans un établissement ou un service ; le service départemental de "
        "protection des adultes là où il en existe un.").format(blank=BLANK))
    _author_block(pdf)
    pdf.field(_("Personne concernée (identité, date de naissance, adresse ; établissement ou "
                "service le cas échéant)"))
    pdf.field(_("Éléments constatés, précis et datés"))
    _quoted(pdf)
    _closing(pdf, ctx)
    pdf.para(_("Transmettez directement à l'autorité, jamais par l'intermédiaire du patient "
               "ou d'un proche ; gardez une copie."), 9)
    return bytes(pdf.output())


def ip_pdf(ctx: DocumentContext) -> bytes:
    """Draft information préoccupante to the CRIP."""
    pdf = _Pdf(_("Information préoccupante (modèle indicatif)"))
    _official_note(pdf, _(
        "Ce document n'est pas un formulaire officiel. Le Conseil national de l'Ordre des "
        "médecins diffuse un kit « L'information préoccupante » ; certaines CRIP ont leur "
        "propre formulaire : renseignez-vous auprès de la CRIP de votre département."))
    pdf.heading(_("Information préoccupante — à l'attention du président du conseil "
                  "départemental (CRIP)"))
    pdf.field(_("Destinataire"), addressee_text(ctx.addressees, ctx.department))
    _author_block(pdf)
    pdf.field(_("Enfant (identité, date de naissance, adresse)"))
    pdf.field(_("Titulaires de l'autorité parentale"))
    pdf.field(_("Information préalable des parents (L.226-2-1 CASF) : faite le…, ou motif "
                "pour lequel elle serait contraire à l'intérêt de l'enfant"))
    pdf.field(_("Éléments préoccupants constatés, précis et datés"))
    _quoted(pdf)
    _closing(pdf, ctx)
    return bytes(pdf.output())


def record_pdf(ctx: DocumentContext) -> bytes:
    """Dated decision record for the physician's own file."""
    pdf = _Pdf(_("Relevé de décision"))
    pdf.heading(_("Relevé de décision — pour votre dossier"))
    pdf.para(_("Établi le {date} avec l'assistant VVS, parcours « {flow} ». Aucune donnée "
               "identifiant le patient n'y figure ni n'a été enregistrée.").format(
                   date=ctx.today.strftime("%d/%m/%Y"), flow=ctx.flow_title))
    pdf.heading(_("Questions et réponses"), 11)
    for question, answer in ctx.answers:
        pdf.para(f"**{_first_line(question)}**\n→ {answer}", 9)
    pdf.heading(_("Orientation : {title}").format(title=ctx.outcome.title), 11)
    pdf.para(ctx.outcome.now, 9)
    pdf.heading(_("Destinataire"), 11)
    pdf.para(addressee_text(ctx.addressees, ctx.department, drafts=False,
                            referent=ctx.outcome.referent), 9)
    pdf.heading(_("Base légale"), 11)
    if ctx.outcome.mention:
        pdf.para(ctx.outcome.mention, 9)
    pdf.para("\n".join(f"- {title} ({entry_id})" for entry_id, title in ctx.basis), 9)
    pdf.field(_("Décision prise et motifs (circonstances particulières le cas échéant)"))
    return bytes(pdf.output())


def _first_line(text: str) -> str:
    """The question itself: the first paragraph that asks, else the first paragraph."""
    paragraphs = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    asking = [p for p in paragraphs if "?" in p]
    chosen = (asking or paragraphs or [""])[0]
    return chosen.replace("\n", " ")
