"""Issue 13: a physician's journey without dead ends, through the real bot.

One text box (free text at the menu reaches the directory, a procedure or the knowledge
base), a directory kind that applies to one search only, a way back from every end screen,
typed answers inside a procedure and at the referent request's département question.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.botharness import Chat, buttons, make_settings, running_bot, texts

DOCTOR = 1301


# -- item 1: one text box --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "header", "card"), [
    ("crip 93", "CRIP (informations préoccupantes) — Seine-Saint-Denis (93)",
     "(CRIP) de la Seine-Saint-Denis"),
    ("umj bobigny", "Unité médico-judiciaire (UMJ) près de Bobigny", "UMJ"),
    ("cdom 94", "Conseil départemental de l'Ordre des médecins — Val-de-Marne (94)",
     "(CDOM 94)"),
])
async def test_directory_queries_typed_at_the_menu_reach_the_directory(
        db, tmp_path: Path, text: str, header: str, card: str) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start")
        sent = await chat.say(text)
        shown = texts(sent)
        assert header in shown and card in shown.split(header, 1)[1], shown
        assert "1. " in shown and "Menu" in " ".join(buttons(sent))
        assert "Sources" not in shown  # not a legal sheet


async def test_a_wish_to_act_offers_the_procedure(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        sent = await chat.say("je veux faire une information préoccupante")
        assert any("Démarche" in b and "Information préoccupante" in b for b in buttons(sent))
        sent = await chat.press("Démarche")
        assert "Information préoccupante" in texts(sent)
        assert any("Retour" in b or "Recommencer" in b for b in buttons(sent))


async def test_close_readings_are_offered_as_buttons(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        sent = await chat.say("je dois faire un signalement pour un enfant")
        labels = buttons(sent)
        assert any(b.startswith("▶️") for b in labels) and any(b.startswith("📚") for b in labels)
        sent = await chat.press("▶️")
        assert "danger grave et immédiat" in texts(sent)
        await chat.command("/annuler")
        # a question read first is answered, the directory one tap away
        sent = await chat.say("uaped")
        assert "Sources" in texts(sent) and "UAPED" in texts(sent)
        sent = await chat.press("📍")
        assert "UAPED" in texts(sent) and "indiquez une ville" in texts(sent)
        sent = await chat.say("93")
        assert "UAPED" in texts(sent) and "Seine-Saint-Denis (93) :" in texts(sent)


async def test_a_question_still_gets_the_knowledge_answer(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        sent = await chat.say("c'est quoi l'ITT ?")
        assert "Sources" in texts(sent) and "Mis à jour" in texts(sent)
        assert "🏠 Menu" in buttons(sent)


# -- item 4: a kind for one search only --------------------------------------------------------

async def test_a_kind_chosen_applies_to_one_search_and_is_shown(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/annuaire")
        sent = await chat.press_data("a:kind:umj")
        assert "Unité médico-judiciaire (UMJ)" in texts(sent)
        sent = await chat.say("crip 93")  # the text names another kind: that one
        shown = texts(sent)
        assert "CRIP (informations préoccupantes) — Seine-Saint-Denis (93)" in shown
        assert "(CRIP) de la Seine-Saint-Denis" in shown and "UMJ" not in shown
        sent = await chat.say("crip versaille")
        assert "Yvelines" in texts(sent) and "(CCIP)" in texts(sent)
        await chat.press_data("a:kind:umj")
        sent = await chat.say("bobigny")
        assert "Unité médico-judiciaire (UMJ) près de Bobigny" in texts(sent)
        sent = await chat.say("bobigny")  # the next search starts without the kind
        assert "1. " in texts(sent) and "(UMJ) près de" not in texts(sent)
        assert "Tribunal judiciaire de Bobigny" in texts(sent)


# -- item 5: a way back from everywhere --------------------------------------------------------

async def test_every_end_screen_has_menu_and_a_sheet_returns_to_its_step(
        db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start mineur")
        await chat.press("Non")
        await chat.press("infraction")
        sent = await chat.press("Seine-Saint-Denis")
        assert "🏠 Menu" in buttons(sent)
        sheet = next(b for b in buttons(sent) if b.startswith("📚"))
        sent = await chat.press(sheet)
        assert "⬅️ Retour à la démarche" in buttons(sent)
        assert "Tous les thèmes" not in buttons(sent)
        sent = await chat.press("Résumé et sources")
        assert buttons(sent)[-1] == "⬅️ Retour à la démarche"
        assert not any("thèmes" in b.lower() for b in buttons(sent))
        sent = await chat.press("Retour à la démarche")
        assert "Base légale" in texts(sent) and "✅ Terminer" in buttons(sent)
        sent = await chat.press("Terminer")
        assert "🏠 Menu" in buttons(sent)
        sent = await chat.press("🏠 Menu")
        assert "Que souhaitez-vous faire" in texts(sent)
        await chat.command("/annuaire")
        sent = await chat.say("93200")
        assert "🏠 Menu" in buttons(sent)
        sent = await chat.say("xylophone quantique")  # an abstention is an end screen too
        assert "🏠 Menu" in buttons(sent)
        sent = await chat.command("/urgence")
        assert "🏠 Menu" in buttons(sent)


async def test_typed_answers_inside_a_procedure(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start mineur")
        sent = await chat.say("non")  # item 6: not a legal question
        assert "Sources" not in texts(sent)
        assert any("infraction" in b for b in buttons(sent))
        sent = await chat.say("oui")
        assert "Dans quel département" in texts(sent)
        sent = await chat.say("je ne sais pas trop ce que vous voulez dire")
        shown = texts(sent)
        assert "toujours en cours" in shown and "Dans quel département" in shown
        assert "C'est annulé" not in shown and "Sources" not in shown
        sent = await chat.say("seine saint denis")
        assert "Base légale" in texts(sent) and "Bobigny" in texts(sent)
        await chat.press("Retour")
        sent = await chat.say("93")
        assert "Base légale" in texts(sent)


async def test_a_number_chooses_a_button_of_the_step(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start mineur")
        sent = await chat.say("2")
        assert any("infraction" in b for b in buttons(sent))
        sent = await chat.say("3")
        assert "Dans quel département" in texts(sent)


# -- item 6: the referent request's département, typed ----------------------------------------

async def test_text_at_the_requests_department_question_keeps_the_request(
        db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start")
        sent = await chat.press_data("e:new:question")
        assert "Dans quel département exercez-vous" in texts(sent)
        sent = await chat.say("je ne sais pas")
        shown = texts(sent)
        assert "Dans quel département exercez-vous" in shown and "abandonnée" not in shown
        sent = await chat.say("seine saint denis")
        assert "partager votre numéro" in texts(sent)
        sent = await chat.say("Ne pas partager")
        sent = await chat.press("Passer")
        assert "votre département : 93" in texts(sent)


async def test_typed_answers_in_english(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR, language="en")
        await chat.command("/start mineur")
        sent = await chat.say("no")
        assert any("offence" in b or "offense" in b for b in buttons(sent)), buttons(sent)
        sent = await chat.say("what?")
        assert "still in progress" in texts(sent)
        sent = await chat.say("crip 93")  # inside a procedure: not a directory search
        assert "still in progress" in texts(sent) and "(CRIP) de la" not in texts(sent)
        await chat.command("/annuler")
        sent = await chat.say("crip 93")  # at the menu: the directory, headed in English
        assert "CRIP (child-protection intake unit) — Seine-Saint-Denis (93)" in texts(sent)
        assert "🏠 Menu" in buttons(sent)


async def test_menu_on_an_outcome_closes_the_procedure(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start mineur")
        for answer in ("non", "oui", "93"):
            sent = await chat.say(answer)
        assert "Base légale" in texts(sent)
        sent = await chat.say("crip 93")  # at the outcome: how to leave, and the outcome
        assert "arrivée à son terme" in texts(sent) and "Base légale" in texts(sent)
        sent = await chat.press("🏠 Menu")
        assert "Que souhaitez-vous faire" in texts(sent)
        sent = await chat.say("crip 93")  # the procedure is over: the one text box again
        assert "(CRIP) de la Seine-Saint-Denis" in texts(sent)


# -- item 10: results and buttons agree --------------------------------------------------------

async def test_directory_cards_and_pin_buttons_carry_the_same_numbers(db, tmp_path: Path) -> None:
    """UMJ near Paris: the Hôtel-Dieu comes first without a map pin; each pin button repeats
    its card's number and a short name, so [1] is never another UMJ than card 1."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/annuaire")
        await chat.press_data("a:kind:umj")
        sent = await chat.exchange(lambda: api.send_location(DOCTOR, 48.8566, 2.3522))
        shown = texts(sent)
        assert "1. Unité médico-judiciaire (UMJ) de l'Hôtel-Dieu" in shown
        pins = [b for b in buttons(sent) if b.startswith("📍")]
        assert pins and not any(b.startswith("📍 1.") for b in pins)
        for pin in pins:
            number = pin.split()[1]  # « 2. »
            card = next(block for block in shown.split("\n\n") if block.startswith(number))
            short = pin.split(" ", 2)[2].removesuffix(" (commune)")
            assert short.split()[-1] in card, (pin, card)  # « Créteil », « Jean-Verdier »
        names = [pin.split(" ", 2)[2] for pin in pins]  # without « 📍 2. »: still distinct
        assert len(set(names)) == len(names), names
        assert all(len(name) <= 40 and not name.endswith("…") for name in names), names


# -- item 12: questions close to two sheets ----------------------------------------------------

async def test_close_questions_get_the_best_sheet_with_the_next_one_a_tap_away(
        db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start")
        sent = await chat.say("signalemnt sans accor dune femme majeur")
        assert "Victime majeure : faut-il son accord pour signaler ?" in texts(sent)
        sent = await chat.say("jai le droit de parler a lassistante sociale du secret")
        assert "Vouliez-vous plutôt" in texts(sent)
        assert any("Secret partagé" in b for b in buttons(sent))


# -- every end screen of a referent request has Menu ------------------------------------------

async def test_the_referent_requests_end_screens_have_menu(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start")
        await chat.press_data("e:new:question")
        await chat.say("93")
        await chat.say("Ne pas partager")
        sent = await chat.press("Passer")
        sent = await chat.press("Envoyer")  # nobody enrolled: the admins are notified
        assert "Menu" in " ".join(buttons(sent)), texts(sent)
        await chat.command("/start")
        await chat.press_data("e:new:question")
        await chat.say("93")
        await chat.say("Ne pas partager")
        await chat.press("Passer")
        sent = await chat.press("Annuler")
        assert "rien n'a été envoyé" in texts(sent) and "Menu" in " ".join(buttons(sent))


# -- item 7: the victim route -------------------------------------------------------------------

async def test_the_victim_route_asks_first_and_ends_with_what_fits(db, tmp_path: Path) -> None:
    """Safety question first, then only choices up to the département (no information
    screen on the way); the last screen's recap fits « Libéral » (no employer), carries no
    patient-identity footer, and gives the Ordre's support line."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        sent = await chat.command("/victime")
        assert "en sécurité" in texts(sent) and "Oui" in buttons(sent)
        for label, next_choice in (("Oui", "Agression"), ("Agression", "Libéral"),
                                   ("Libéral", "Seine-Saint-Denis")):
            sent = await chat.press(label)
            assert any(next_choice in b for b in buttons(sent)), (label, buttons(sent))
            assert not any("Continuer" in b for b in buttons(sent)), (label, buttons(sent))
        end = texts(await chat.press("Seine-Saint-Denis"))
        assert "Vos démarches et votre conseil départemental" in end
        assert "employeur" not in end and "protection fonctionnelle" not in end
        assert "URPS" in end
        assert "identité du patient" not in end and "identité d'un patient" not in end
        assert "0800 288 038" in end
        # a salaried physician's recap is the one with the employer
        await chat.command("/victime")
        for label in ("Oui", "Agression", "Salarié", "Seine-Saint-Denis"):
            sent = await chat.press(label)
        salaried = texts(sent)
        assert "protection fonctionnelle" in salaried and "0800 288 038" in salaried
        assert "identité du patient" not in salaried


async def test_menu_leaves_what_was_in_progress(db, tmp_path: Path) -> None:
    """« Menu » (the command or a button) shows the main menu and leaves the step in
    progress: text typed next is read at the menu (here: the directory), not as an answer
    to the abandoned step — a procedure's, or the editors' question."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.say("je veux faire une information préoccupante")
        await chat.press("Démarche")  # a procedure in progress
        await chat.command("/menu")
        shown = texts(await chat.say("crip 93"))
        assert "(CRIP) de la Seine-Saint-Denis" in shown, shown
        await chat.say("c'est quoi l'ITT ?")
        await chat.press("Cette fiche ne répond pas")
        asked = await chat.press("📨 Transmettre")
        assert "Écrivez la question" in texts(asked)
        await chat.press("Menu")
        shown = texts(await chat.say("crip 93"))
        assert "(CRIP) de la Seine-Saint-Denis" in shown, shown
