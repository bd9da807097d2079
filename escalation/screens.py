"""What physicians and referents see in the bot (`vvs.ui.Reply`), Telegram-free."""

from __future__ import annotations

import html

from escalation import texts
from escalation.models import OPEN, TAKEN, Escalation, Referent
from escalation.state import EscalationDraft
from escalation.texts import category_label, outcome_label
from vvs.departements import IDF_DEPARTMENTS
from vvs.i18n import _
from vvs.ui import Button, Reply, rows


def intro(regional_hours: int) -> Reply:
    """First screen: what this is (and is not), and when to expect an answer."""
    return Reply(_(
        "<b>Être recontacté par un référent de l'Ordre</b>\n"
        "⚠️ Ce n'est pas une ligne d'urgence : en cas de danger, appelez le <b>17</b> ou le "
        "<b>112</b>.\n"
        "Un référent de votre département (conseil départemental de l'Ordre des médecins) "
        "verra votre demande et vous répondra ici, par ce bot. Les référents sont bénévoles : "
        "comptez en général quelques heures ouvrées ; si personne ne l'a prise en charge "
        "sous {hours} h, elle est transmise au conseil régional.\n"
        "Je vais vous montrer exactement ce qui sera transmis avant tout envoi."
    ).format(hours=regional_hours))


def ask_department(remembered: str | None = None) -> Reply:
    """Which département; the remembered one is shown first, as a default to confirm or
    change (never used without the physician's tap)."""
    buttons = [Button(d, f"e:dept:{d}") for d in IDF_DEPARTMENTS]
    text = _("Dans quel département exercez-vous ?")
    if remembered in IDF_DEPARTMENTS:
        text += "\n" + _("Département retenu : {d}. Confirmez-le, ou choisissez-en un "
                         "autre.").format(d=remembered)
        return Reply(text, ((Button(_("📍 {d} (retenu)").format(d=remembered),
                                    f"e:dept:{remembered}"),),
                            *rows(*buttons, per_row=4), (Button(_("Annuler"), "e:abort"),)))
    return Reply(text, (*rows(*buttons, per_row=4), (Button(_("Annuler"), "e:abort"),)))


def ask_contact() -> Reply:
    return Reply(_(
        "Souhaitez-vous partager votre numéro de téléphone pour être rappelé ? Le référent "
        "le verra. Utilisez le bouton « Partager mon numéro » ci-dessous, ou « Ne pas "
        "partager »."), request_contact=True)


def ask_message() -> Reply:
    return Reply(_(
        "Ajoutez si vous le souhaitez un court message pour le référent (ce qui vous amène, "
        "quand vous êtes joignable). <b>N'y mettez aucune identité</b> : ni patient, ni "
        "tiers. Sinon, appuyez sur « Passer »."),
        ((Button(_("Passer"), "e:skip"), Button(_("Annuler"), "e:abort")),))


def summary(draft: EscalationDraft, name: str) -> Reply:
    """Exactly what will be shared, before anything is sent."""
    lines = [
        _("<b>Voici exactement ce qui sera transmis au référent :</b>"),
        _("• votre nom Telegram : {name}").format(name=html.escape(name)),
        _("• votre département : {dept}").format(dept=draft.dept),
        _("• le motif : {cat}").format(cat=category_label(draft.cat)),
        _("• votre téléphone : {phone}").format(
            phone=html.escape(draft.phone) if draft.phone else _("non communiqué")),
        _("• votre message : {msg}").format(
            msg=html.escape(draft.msg) if draft.msg else _("aucun")),
        _("Le référent pourra aussi vous écrire par ce bot. Votre identifiant Telegram est "
          "conservé le temps de la demande, puis effacé."),
    ]
    return Reply("\n".join(lines), (
        (Button(_("Envoyer"), "e:send"), Button(_("Annuler"), "e:abort")),
        (Button(_("Modifier le message"), "e:msg"),),
    ))


def sent(esc: Escalation) -> Reply:
    return Reply(_(
        "✅ Demande n°{id} envoyée. Vous serez prévenu ici dès qu'un référent la prendra en "
        "charge. Suivi et annulation : /mademande."
    ).format(id=esc.id))


def status_label(esc: Escalation) -> str:
    return {OPEN: _("en attente d'un référent"), TAKEN: _("prise en charge")}.get(
        esc.status, esc.status)


def physician_cases(cases: list[Escalation]) -> Reply:
    """/mademande: status of each live request, with a cancel button."""
    if not cases:
        return Reply(_("Vous n'avez aucune demande en cours."))
    lines = [_("<b>Vos demandes en cours</b>")]
    buttons = []
    for esc in cases:
        lines.append(_("• n°{id} — {cat} — {status}").format(
            id=esc.id, cat=category_label(esc.category), status=status_label(esc)))
        row = [Button(_("Annuler la n°{id}").format(id=esc.id), f"e:cancel:{esc.id}")]
        if esc.status == TAKEN:
            row.insert(0, Button(_("Écrire (n°{id})").format(id=esc.id), f"e:reply:{esc.id}"))
        buttons.append(tuple(row))
    return Reply("\n".join(lines), tuple(buttons))


def referent_cases(ref: Referent, cases: list[Escalation]) -> list[Reply]:
    """/dossiers: open requests of the département and those the referent took."""
    if not cases:
        return [Reply(_("Aucune demande en attente ni en cours pour vous."))]
    out = []
    for esc in cases:
        head = _("<b>Demande n°{id}</b> — {cat} — {dept} — {status}").format(
            id=esc.id, cat=category_label(esc.category), dept=esc.department,
            status=status_label(esc))
        who = _("Médecin : {who}").format(who=texts.physician_link(esc))
        buttons = texts.taken_buttons(int(esc.id or 0)) if esc.status == TAKEN \
            else texts.referent_buttons(int(esc.id or 0))
        out.append(Reply(f"{head}\n{who}", tuple(tuple(r) for r in buttons)))
    return out


def outcomes(esc_id: int) -> Reply:
    """Closing asks for an outcome category (counted in the annual review)."""
    buttons = [Button(outcome_label(k), f"e:out:{esc_id}:{k}") for k in texts.CLOSING_OUTCOMES]
    return Reply(_("Clore la demande n°{id} : quelle a été l'issue ?").format(id=esc_id),
                 rows(*buttons))


def reassign_choices(esc_id: int, others: list[Referent]) -> Reply:
    if not others:
        return Reply(_("Aucun autre référent inscrit pour ce département."))
    return Reply(_("À quel référent confier la demande n°{id} ?").format(id=esc_id),
                 rows(*(Button(texts.referent_title(r), f"e:rato:{esc_id}:{r.id}")
                        for r in others)))


def confirm_block(esc_id: int) -> Reply:
    return Reply(_(
        "Bloquer ce médecin ? Il ne pourra plus envoyer de demande, et la demande n°{id} "
        "sera close (issue : usage abusif). À réserver aux abus manifestes."
    ).format(id=esc_id), ((Button(_("Oui, bloquer"), f"e:blockyes:{esc_id}"),
                           Button(_("Non"), "e:noop")),))


def write_prompt(to_physician: bool) -> Reply:
    text = _("Écrivez votre message pour le médecin ; il le recevra signé de votre nom et "
             "de votre département.") if to_physician else _(
        "Écrivez votre message pour le référent (sans identité de patient ni de tiers).")
    return Reply(text, ((Button(_("Annuler"), "e:abort"),),))
