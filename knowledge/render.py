"""Knowledge replies as `vvs.ui.Reply`: answer cards, details, related entries, themes.

Callback data (prefix `k`): `k:e:<id>` open an entry, `k:more:<id>` its details,
`k:rel:<id>` related entries, `k:nr:<id>` « Cette fiche ne répond pas » (`k:not:<id>`, on
cards sent before, opens the same screen), `k:theme:<theme>` entries of a theme, `k:t` the
themes; the editors' queue (`knowledge.queue`): `k:ed` / `k:ed:<id>` write a question for
the editors (after an abstention / after « ne répond pas » on that sheet), `k:edok` send it,
`k:edno` send nothing.
The referent contact button is `e:new:question` (escalation).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from babel.dates import format_date

from knowledge.model import THEMES, Entry, KnowledgeBase, Source
from knowledge.search import SearchResult
from vvs.errors import StaleAction
from vvs.events import EntryOpened, QuestionAbstained, QuestionAnswered, QuestionNotHelpful
from vvs.i18n import _, current_language
from vvs.identity import Finding, identity_warning
from vvs.ui import CALLBACK_MAX_BYTES, MESSAGE_MAX_CHARS, Button, Reply

PREFIX = "k"
ESCALATE_DATA = "e:new:question"
LABEL_MAX = 60
ENTRY_KINDS = ("e", "more", "rel", "not", "nr")
# the editors' queue: the handler runs these (they read and change the conversation state)
EDITORS_WRITE, EDITORS_YES, EDITORS_NO = "ed", "edok", "edno"
EDITOR_ACTIONS = frozenset({EDITORS_WRITE, EDITORS_YES, EDITORS_NO})
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_DATA = re.compile(r"^[a-z0-9:-]+$")


@dataclass(frozen=True)
class Action:
    """A parsed, validated knowledge button press."""

    kind: str  # "e" | "more" | "rel" | "not" | "nr" | "theme" | "themes" | "ed" | "edok"
    # | "edno"
    arg: str | None = None


def parse_callback(data: str, kb: KnowledgeBase) -> Action:
    """Parse `k:…` callback data; raise StaleAction when forged or no longer valid."""
    if (not isinstance(data, str) or len(data.encode()) > CALLBACK_MAX_BYTES
            or not _DATA.match(data)):
        raise StaleAction(f"invalid knowledge callback: {data!r}")
    parts = data.split(":")
    if parts[0] != PREFIX:
        raise StaleAction(f"not a knowledge callback: {data!r}")
    if parts[1:] == ["t"]:
        return Action("themes")
    if len(parts) == 2 and parts[1] in EDITOR_ACTIONS:
        return Action(parts[1])
    if len(parts) == 3 and parts[1] == EDITORS_WRITE and parts[2] in kb.entries:
        return Action(EDITORS_WRITE, parts[2])
    if len(parts) == 3 and parts[1] in ENTRY_KINDS and parts[2] in kb.entries:
        return Action(parts[1], parts[2])
    if len(parts) == 3 and parts[1] == "theme" and parts[2] in kb.themes:
        return Action("theme", parts[2])
    raise StaleAction(f"unknown knowledge callback: {data!r}")


def handle_callback(kb: KnowledgeBase, data: str,
                    suggestions: Sequence[str] = ()) -> Reply:
    """The reply to a knowledge button; `suggestions` are the last search's other ids."""
    action = parse_callback(data, kb)
    if action.kind in EDITOR_ACTIONS:  # the handler's (they need the conversation state)
        raise StaleAction(f"editors' action without its handler: {data!r}")
    if action.kind == "themes":
        return render_themes(kb)
    if action.kind == "theme":
        return render_theme(kb, str(action.arg))
    entry = kb.entries[str(action.arg)]
    if action.kind == "more":
        return replace(render_details(kb, entry), events=(EntryOpened(entry.id),))
    if action.kind == "rel":
        return render_related(kb, entry)
    if action.kind in ("nr", "not"):  # `not`: the same screen, from cards sent earlier
        return replace(render_not_helpful(kb, entry, suggestions),
                       events=(QuestionNotHelpful(entry.id),))
    return replace(render_entry(entry), events=(EntryOpened(entry.id),))


def render_search(kb: KnowledgeBase, result: SearchResult) -> Reply:
    """The answer card of the best entry (with the close alternatives the search was unsure
    about), or an honest abstention with suggestions."""
    if result.answered and result.results:
        entry = kb.entries[result.results[0][0]]
        alternatives = [kb.entries[i] for i in result.alternatives if i in kb.entries]
        return replace(render_entry(entry, alternatives),
                       events=(QuestionAnswered(entry.id, unsure=bool(alternatives)),))
    suggestions = [i for i, _s in result.results]
    nearest = suggestions[0] if suggestions else None  # its theme counts, never the text
    return replace(render_abstention(kb, suggestions), events=(QuestionAbstained(nearest),))


# -- cards ---------------------------------------------------------------------------------
def render_entry(entry: Entry, alternatives: Sequence[Entry] = ()) -> Reply:
    """Title, summary, draft mention, sources, review date; buttons to go further.

    `alternatives` (when the search was unsure) follow as « Vouliez-vous plutôt : », one
    button each that opens the entry's card (`k:e:<id>`); the card is shortened, never them.
    """
    return _card(entry, tuple(alternatives), current_language())


# A card depends only on its entries (compared by value: an edited entry is another key) and
# the language; the most asked ones are built once (the date and the sources' formatting
# cost about as much as the search's fuzzy matching)
@functools.lru_cache(maxsize=256)
def _card(entry: Entry, alternatives: tuple[Entry, ...], _language: str) -> Reply:
    lines = [f"<b>{esc(title(entry))}</b>", *draft_banner(entry)]
    lines += ["", *markdown_lines(entry.summary), "", *source_lines(entry), "",
              "<i>" + esc(_("Mis à jour le {date}").format(
                  date=long_date(entry))) + "</i>"]
    buttons = [Button(_("En savoir plus"), f"{PREFIX}:more:{entry.id}")]
    tail = ""
    if alternatives:
        tail = "\n\n" + "\n".join([esc(_("Vouliez-vous plutôt :")),
                                     *("• " + esc(title(other)) for other in alternatives)])
        buttons += [Button(short(title(other)), f"{PREFIX}:e:{other.id}")
                    for other in alternatives]
    if entry.related:
        buttons.append(Button(_("Fiches liées"), f"{PREFIX}:rel:{entry.id}"))
    buttons += [Button(_("Cette fiche ne répond pas"), f"{PREFIX}:nr:{entry.id}"),
                Button(_(THEMES[entry.theme]), f"{PREFIX}:theme:{entry.theme}")]
    return Reply(fit(lines, MESSAGE_MAX_CHARS - len(tail)) + tail, tuple((b,) for b in buttons))


def render_details(kb: KnowledgeBase, entry: Entry) -> Reply:
    """The entry's body (details), with a way back to the card.

    Also opened straight from a procedure's outcome (its 📚 buttons), without the card: the
    draft banner is therefore shown here too.
    """
    lines = [f"<b>{esc(title(entry))}</b>", *draft_banner(entry), "",
             *markdown_lines(entry.details)]
    buttons = [Button(_("Résumé et sources"), f"{PREFIX}:e:{entry.id}")]
    if entry.related:
        buttons.append(Button(_("Fiches liées"), f"{PREFIX}:rel:{entry.id}"))
    return Reply(fit(lines), tuple((b,) for b in buttons))


def draft_banner(entry: Entry) -> list[str]:
    """« Contenu en cours de validation » while the entry is not validated; for an
    English-speaking physician, a line saying the sheet itself is in French."""
    lines = []
    if entry.is_draft:
        lines.append("<i>" + esc(_("Contenu en cours de validation")) + "</i>")
    if current_language() == "en":
        lines.append("<i>" + esc(_("Cette fiche est en français ; seul son titre est "
                                   "traduit.")) + "</i>")
    return lines


def title(entry: Entry) -> str:
    """The entry's title in the physician's language (the sheet stays French)."""
    return entry.title_in(current_language())


def render_related(kb: KnowledgeBase, entry: Entry) -> Reply:
    """The entries related to `entry`, one button each."""
    text = _("Fiches liées à « {title} » :").format(title=title(entry))
    ids = [i for i in entry.related if i in kb.entries]
    return Reply(esc(text), (*entry_buttons(kb, ids), (theme_list_button(),)))


def render_abstention(kb: KnowledgeBase, suggestions: Sequence[str]) -> Reply:
    """No sure answer: say so, offer the closest entries, the themes, to send the question
    to the editors, and a referent."""
    lines = [esc(_("Je n'ai pas de réponse sûre à cette question dans mes fiches."))]
    ids = [i for i in suggestions if i in kb.entries]
    if ids:
        lines.append(esc(_("Les fiches les plus proches sont peut-être utiles :")))
    lines.append(esc(_("Vous pouvez aussi reformuler, parcourir les thèmes, ou "
                               "être contacté par un référent de l'Ordre.")))
    lines.append(esc(_("Les rédacteurs des fiches (commission VVS) complètent les fiches à "
                       "partir des questions restées sans réponse : vous pouvez leur "
                       "transmettre la vôtre, si vous le souhaitez.")))
    themes, referent = way_out()
    return Reply("\n".join(lines), (*entry_buttons(kb, ids), themes,
                                    (editors_button(),), referent))


# -- the editors' queue (knowledge.queue) --------------------------------------------------
def render_not_helpful(kb: KnowledgeBase, entry: Entry,
                       suggestions: Sequence[str] = ()) -> Reply:
    """« Cette fiche ne répond pas »: other candidates (the search's suggestions, else the
    related entries), the offer to send the question to the editors (nothing is kept unless
    the physician writes and confirms it), the themes and a referent."""
    ids = [i for i in suggestions if i != entry.id and i in kb.entries]
    ids = ids or [i for i in entry.related if i in kb.entries]
    lines = [_("Merci de l'avoir signalé.")]
    if ids:
        lines.append(_("Voici d'autres fiches qui pourraient correspondre."))
    lines.append(_("Les rédacteurs des fiches (commission VVS) complètent les fiches à partir "
                   "des questions restées sans réponse : voulez-vous leur transmettre la "
                   "vôtre ? Vous pouvez aussi parcourir les thèmes ou être contacté par un "
                   "référent."))
    themes, referent = way_out()
    return Reply(esc(" ".join(lines)), (*entry_buttons(kb, ids[:4]),
                                       (editors_button(entry.id),), themes, referent))


def editors_button(entry_id: str | None = None) -> Button:
    data = f"{PREFIX}:{EDITORS_WRITE}" + (f":{entry_id}" if entry_id else "")
    return Button(_("📨 Transmettre ma question aux rédacteurs"), data)


def editors_cancel_button() -> Button:
    return Button(_("Annuler"), f"{PREFIX}:{EDITORS_NO}")


def ask_editors_text() -> Reply:
    """Before anything is kept: what to write, and what never to write."""
    return Reply(esc(_(
        "Écrivez la question à transmettre aux rédacteurs, en une ou deux phrases (vous pouvez "
        "reprendre celle que vous m'avez posée). N'y mettez rien qui permette d'identifier un "
        "patient ou un tiers : nom, date de naissance, adresse, téléphone… Je vous la "
        "montrerai avant de l'envoyer.")), ((editors_cancel_button(),),))


def confirm_editors(text: str, retention_days: int) -> Reply:
    """The checked text, shown back: sent only with the explicit « Oui »."""
    intro = _("Voici ce qui sera transmis aux rédacteurs des fiches, sans votre nom ni votre "
              "identifiant, et conservé au plus {days} jours :").format(days=retention_days)
    hint = _("Pour le corriger, écrivez-le de nouveau.")
    return Reply(f"{esc(intro)}\n\n« <i>{esc(text)}</i> »\n\n{esc(hint)}", (
        (Button(_("✅ Oui, transmettre"), f"{PREFIX}:{EDITORS_YES}"),),
        (Button(_("Non, ne rien transmettre"), f"{PREFIX}:{EDITORS_NO}"),)))


def editors_refused(findings: list[Finding]) -> Reply:
    """A text that seems to hold someone's identity: refused, nothing of it kept."""
    return Reply(esc(identity_warning(findings)) + "\n" + esc(_(
        "Je n'ai rien gardé de ce message et rien n'a été transmis. Écrivez votre question de "
        "nouveau, sans ces éléments, ou annulez.")), ((editors_cancel_button(),),))


def editors_too_long(limit: int) -> Reply:
    return Reply(esc(_("Votre question est trop longue pour les rédacteurs ({limit} caractères "
                       "au plus). Résumez-la en une ou deux phrases.").format(limit=limit)),
                 ((editors_cancel_button(),),))


def editors_sent() -> Reply:
    return Reply(esc(_("Merci : votre question est transmise aux rédacteurs des fiches. Elle "
                       "est conservée sans votre nom ni votre identifiant ; /effacer la "
                       "supprime si vous changez d'avis.")))


def editors_declined() -> Reply:
    return Reply(esc(_("Entendu : rien n'a été transmis ni gardé.")))


def render_themes(kb: KnowledgeBase) -> Reply:
    """The list of themes that have entries."""
    buttons = tuple((Button(_(THEMES[t]), f"{PREFIX}:theme:{t}"),) for t in kb.themes)
    return Reply(esc(_("Choisissez un thème :")), buttons)


def render_theme(kb: KnowledgeBase, theme: str) -> Reply:
    """The entries of one theme."""
    text = f"<b>{esc(_(THEMES[theme]))}</b>"
    return Reply(text, (*entry_buttons(kb, kb.themes.get(theme, ())), (theme_list_button(),)))


# -- helpers -------------------------------------------------------------------------------
def esc(text: str) -> str:
    """Escape text for Telegram HTML (quotes need no escaping outside attributes)."""
    return html.escape(text, quote=False)


def entry_buttons(kb: KnowledgeBase, ids: Sequence[str]) -> tuple[tuple[Button, ...], ...]:
    """One button per entry, labelled with its (shortened) title."""
    return tuple((Button(short(title(kb.entries[i])), f"{PREFIX}:e:{i}"),) for i in ids)


def way_out() -> tuple[tuple[Button, ...], ...]:
    """The themes, then the referent contact."""
    return (theme_list_button(),), (escalate_button(),)


def theme_list_button() -> Button:
    return Button(_("Tous les thèmes"), f"{PREFIX}:t")


def escalate_button() -> Button:
    return Button(_("Être contacté par un référent"), ESCALATE_DATA)


def short(text: str, limit: int = LABEL_MAX) -> str:
    """Cut a label at a word boundary."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def long_date(entry: Entry) -> str:
    """The review date, spelled out in the current language."""
    return format_date(entry.reviewed_on, format="long", locale=current_language())


def markdown_lines(text: str) -> list[str]:
    """The small Markdown used in entries (**bold**, '- ' bullets) as escaped HTML lines."""
    out = []
    for raw in text.strip().splitlines():
        line = esc(raw.rstrip())
        line = _BOLD.sub(r"<b>\1</b>", line)
        stripped = line.lstrip()
        if stripped.startswith(("- ", "* ")):
            line = "• " + stripped[2:]
        elif stripped.startswith("#"):
            line = "<b>" + stripped.lstrip("#").strip() + "</b>"
        out.append(line)
    return out


def source_lines(entry: Entry) -> list[str]:
    """'Sources :' then one line per source, linked when a link is known."""
    lines = ["<b>" + esc(_("Sources :")) + "</b>"]
    for source in entry.sources:
        lines.append("• " + source_line(source))
    return lines


def source_line(source: Source) -> str:
    """One source: its link, « copie non officielle » / « site non officiel » for a third
    party's page, and the links table's note (for example an article to re-check)."""
    ref = esc(source.ref)
    if not source.url:
        return f"{ref} " + esc(_("(référence à vérifier)"))
    line = f'<a href="{html.escape(source.url, quote=True)}">{ref}</a>'
    marks = []
    if not source.official:
        marks.append(_("copie non officielle") if source.from_table else _("site non officiel"))
    if source.note:
        marks.append(source.note)
    return line + (" (" + esc(" ; ".join(marks)) + ")" if marks else "")


def fit(lines: Sequence[str], limit: int = MESSAGE_MAX_CHARS) -> str:
    """Join lines, dropping whole lines from the end (tags stay balanced) to fit `limit`."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 2  # room for "\n…"
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:  # a single huge first line: cut it as plain text
        plain = html.unescape(re.sub(r"<[^>]+>", "", lines[0]))
        cut = limit - 2
        while len(esc(plain[:cut])) > limit - 2:
            cut -= 16
        return esc(plain[:cut]) + "\n…"
    return "\n".join(kept) + "\n…"
