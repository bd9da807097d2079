"""Categories, outcomes and the texts of escalation notifications (French, via `vvs.i18n`)."""

from __future__ import annotations

import html

from escalation.models import Escalation, Referent
from vvs.i18n import N_, _, use_language
from vvs.outbox import OutboundMessage
from vvs.ui import Button

REGIONAL = "idf"  # referents of the regional council: may act on every département

CATEGORIES = {
    "victime": N_("Médecin victime de violences"),
    "vss": N_("Violences sexistes ou sexuelles"),
    "majeur": N_("Signalement : victime majeure"),
    "mineur": N_("Signalement : victime mineure"),
    "ip": N_("Information préoccupante"),
    "question": N_("Question juridique restée sans réponse"),
    "autre": N_("Autre demande"),
}

# Outcome categories at closing, counted in the annual review of the scheme.
OUTCOMES = {
    "conseil": N_("Conseil ou information donnés"),
    "orientation": N_("Orientation vers une ressource"),
    "plainte": N_("Accompagnement au dépôt de plainte"),
    "plainte_ordre": N_("Plainte déposée par l'Ordre pour le compte du médecin"),
    "soutien": N_("Écoute et soutien"),
    "injoignable": N_("Médecin injoignable ou sans suite"),
    "hors_champ": N_("Hors du champ du dispositif"),
    "abus": N_("Usage abusif (médecin bloqué)"),
}
CLOSING_OUTCOMES = tuple(k for k in OUTCOMES if k != "abus")


def category_label(code: str) -> str:
    return _(CATEGORIES.get(code, CATEGORIES["autre"]))


def outcome_label(code: str) -> str:
    return _(OUTCOMES.get(code, code))


def referent_title(ref: Referent) -> str:
    """'Dr Martin (référent 93)', escaped for HTML."""
    name = ref.name.strip()
    if not name.lower().startswith(("dr", "pr")):
        name = _("Dr {name}").format(name=name)
    if ref.department == REGIONAL:
        return _("{name} (conseil régional)").format(name=html.escape(name))
    return _("{name} (référent {dept})").format(name=html.escape(name), dept=ref.department)


def referent_buttons(esc_id: int) -> list[list[Button]]:
    return [[Button(_("Je prends en charge"), f"e:take:{esc_id}"),
             Button(_("Clore"), f"e:close:{esc_id}")]]


def taken_buttons(esc_id: int) -> list[list[Button]]:
    """What the referent in charge can do."""
    return [[Button(_("Répondre"), f"e:reply:{esc_id}"), Button(_("Clore"), f"e:close:{esc_id}")],
            [Button(_("Rendre la demande"), f"e:rel:{esc_id}"),
             Button(_("Confier à un autre référent"), f"e:ra:{esc_id}")],
            [Button(_("Bloquer ce médecin (abus)"), f"e:block:{esc_id}")]]


def physician_link(esc: Escalation) -> str:
    """The Telegram name the physician agreed to share (their summary lists no Telegram id
    nor profile link: referents answer through the bot)."""
    return html.escape(esc.physician_name or _("Médecin"))


def notification(esc: Escalation, message: str | None, kind: str,
                 private: bool = True) -> OutboundMessage:
    """The card referents receive: new request, reminder, regional escalation. In a group
    (`private=False`) it carries no name, phone or message: those go, in private, to the
    referent who takes the request (`details`)."""
    with use_language("fr"):
        head = {
            "new": _("🔔 <b>Nouvelle demande n°{id}</b>"),
            "reopened": _("🔔 <b>Demande n°{id} à nouveau sans référent</b>"),
            "reminder": _("⏰ <b>Rappel : demande n°{id} toujours sans référent</b>"),
            "regional": _("🚩 <b>Demande n°{id} transmise au conseil régional</b>"),
        }[kind].format(id=esc.id)
        lines = [head,
                 _("Motif : {cat}").format(cat=category_label(esc.category)),
                 _("Département : {dept}").format(dept=esc.department)]
        if private:
            lines += _personal_lines(esc, message)
        if kind == "regional":
            lines.append(_("Aucun référent départemental ne l'a prise en charge (ou aucun "
                           "n'est inscrit, ou la notification n'a pu être remise)."))
        if private:
            lines.append(_("Ce médecin souhaite être recontacté. Prenez la demande en charge "
                           "pour lui répondre par ce bot ; il ne voit pas votre identifiant "
                           "Telegram."))
        else:
            lines.append(_("Ce médecin souhaite être recontacté. Son nom, son téléphone et son "
                           "message sont transmis en privé au référent qui prend la demande "
                           "en charge."))
        return OutboundMessage.of("\n".join(lines), referent_buttons(int(esc.id or 0)))


def _personal_lines(esc: Escalation, message: str | None) -> list[str]:
    lines = [_("Médecin : {who}").format(who=physician_link(esc)),
             _("Téléphone : {phone}").format(
                 phone=html.escape(esc.phone) if esc.phone else _("non communiqué"))]
    if message:
        lines.append(_("Message : {text}").format(text=html.escape(message)))
    return lines


def details(esc: Escalation) -> OutboundMessage:
    """In private, to the referent who took the request from a group: who, how to reach them,
    their message, and the controls."""
    with use_language("fr"):
        lines = [_("Vous avez pris en charge la demande n°{id} (depuis le groupe). Écrivez au "
                   "médecin avec « Répondre ».").format(id=esc.id),
                 _("Motif : {cat}").format(cat=category_label(esc.category)),
                 _("Département : {dept}").format(dept=esc.department),
                 *_personal_lines(esc, esc.message)]
        return OutboundMessage.of("\n".join(lines), taken_buttons(int(esc.id or 0)))


def open_the_bot(esc: Escalation, who: str) -> OutboundMessage:
    """To the group, when the bot cannot write to the referent who took the request: they
    never started it. The deep link's `{bot}` is the bot's username, filled by the sender."""
    with use_language("fr"):
        text = _("{who} : je ne peux pas vous écrire en privé. Pour recevoir les détails de la "
                 "demande n°{id}, ouvrez le bot avec le bouton ci-dessous et appuyez sur "
                 "« Démarrer ».").format(who=html.escape(who), id=esc.id)
        return OutboundMessage.of(text, [[Button(_("Ouvrir le bot"),
                                                 url=f"https://t.me/{{bot}}?start={START_ARG}")]])


START_ARG = "dossiers"  # `/start dossiers`: no flow has that id, /start runs as usual


def info(text: str, lang: str = "fr", buttons: list[list[Button]] | None = None
         ) -> OutboundMessage:
    """A plain informational message."""
    return OutboundMessage.of(text, buttons or (), lang)
