"""Emergency first: free text suggesting immediate danger shows the numbers at once.

A false alarm costs one extra line; a miss can cost a life, so the detector is generous.

How it works (pure Python, no network, no model):
1. `normalise` lower-cases, strips accents and apostrophes, squeezes letters typed three
   times or more ("dangerrr") and keeps sentence punctuation as a `#` token.
2. SMS spellings are expanded ("jsuis" -> "je suis", "ki" -> "qui", "1" -> "un").
3. Every word of four letters or more is mapped onto the danger lexicon through a rough
   French phonetic key ("menass", "menacé", "menaces" -> "menace"; "couto" -> "couteau"),
   then, for words of five letters or more, through fuzzy matching on that key (typos).
4. Rules (regular expressions over the canonical words) fire. *Strong* rules always fire
   ("il a un couteau", "il me menace", "je suis en danger"). *Weak* rules (a danger word on
   its own: "danger", "arme", "menace" as a noun) fire unless the message is framed as a
   legal, definitional or procedural question ("le danger immédiat au sens du 226-14 ?").
   A weak word next to "maintenant", "ce soir", "en ce moment"... becomes strong.

The text examined is never logged or stored; a match only carries the rule's name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from rapidfuzz.distance import OSA

from vvs.i18n import _
from vvs.ui import Reply

# --- normalisation -------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"[’'`´‘]")
_BOUNDARY = re.compile(r"[.!?;:,…\n()\[\]\"«»]+")
_OTHER = re.compile(r"[^a-z0-9# ]+")
_TRIPLED = re.compile(r"([a-z])\1{2,}")


def normalise(text: str) -> str:
    """Lower-case, strip accents and apostrophes, collapse repeated letters and spaces.

    Sentence punctuation becomes a `#` token so that rules do not run across sentences.
    """
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("œ", "oe").replace("æ", "ae")
    text = _APOSTROPHES.sub(" ", text)
    text = _BOUNDARY.sub(" # ", text)
    text = _OTHER.sub(" ", text)
    text = _TRIPLED.sub(r"\1", text)  # "aidezzz" -> "aidez": nobody types a letter 3 times
    return re.sub(r"\s+", " ", text).strip()


# SMS and phonetic spellings, expanded before anything else (whole tokens only).
_SMS = {
    "jsuis": "je suis", "jsui": "je suis", "chui": "je suis", "chuis": "je suis",
    "jss": "je suis", "jui": "je suis", "shui": "je suis", "suiis": "suis",
    "jai": "j ai", "g": "j ai", "ya": "il y a", "yas": "il y a", "ia": "il y a",
    "1": "un", "ki": "qui", "kil": "qu il", "kel": "qu elle", "ke": "que", "k": "que",
    "ds": "dans", "dan": "dans", "ms": "mais", "tt": "tout", "pr": "pour",
    "ac": "avec", "avc": "avec", "avk": "avec", "ak": "avec", "vs": "vous", "ns": "nous",
    "mtn": "maintenant", "mnt": "maintenant", "mntn": "maintenant", "mnnt": "maintenant",
    "dvt": "devant", "dvnt": "devant", "bb": "bebe", "ptit": "petit", "ptite": "petite",
    "koi": "quoi", "kan": "quand", "keum": "mec", "meuf": "femme", "cc": "salut",
    "m": "me", "t": "te", "j": "je", "s": "se", "d": "de", "n": "ne",
    "il2": "il", "el": "elle", "ell": "elle", "i": "il", "pa": "pas",
    "oci": "aussi", "tjr": "toujours", "tjrs": "toujours", "stp": "", "svp": "", "pls": "",
    "tte": "toute", "vx": "veux", "veu": "veut", "e": "est", "devan": "devant",
    "secour": "secours", "secourt": "secours", "o": "au", "tap": "tape", "frap": "frappe",
    "tapp": "tape", "fra": "frappe", "vien": "vient", "ici": "ici", "icii": "ici",
}

# --- phonetic key and lexicon --------------------------------------------------------------

_ENDINGS = re.compile(r"(aient|ait|ais|ent|ez|er|es|e|x)$")
_REWRITES = (
    (re.compile(r"c$"), "s"),          # "menac(e)" after the ending went: soft c
    (re.compile(r"c(?=[eiy])"), "s"),
    (re.compile(r"g(?=[eiy])"), "j"),
    (re.compile(r"eau|au"), "o"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"qu|ck|c"), "k"),
    (re.compile(r"(?<![cs])h"), ""),
    (re.compile(r"[yz]"), lambda m: "i" if m.group(0) == "y" else "s"),
    (re.compile(r"ai|ei"), "e"),
)


def _key(word: str) -> str:
    """A rough French phonetic key: same key for "menace", "menaces", "menass"."""
    word = re.sub(r"([a-z])\1+", r"\1", word)
    if len(word) > 3:
        word = _ENDINGS.sub("", word) or word
    for regex, repl in _REWRITES:
        word = regex.sub(repl, word)
    return word


# Word classes used by the rules. Variants need not be listed: the phonetic key and fuzzy
# matching reach them. Only the first word of a class with a given key is canonical.
_CLASSES: dict[str, tuple[str, ...]] = {
    "THREAT": ("menace", "menacer", "menacant", "menacante"),
    "KILL": ("tuer", "tue", "buter", "egorger", "etrangler", "crever", "assassiner",
             "poignarder", "poignard", "trucider", "zigouiller"),
    "WEAPON": ("couteau", "arme", "fusil", "carabine", "pistolet", "revolver", "flingue",
               "hache", "machette", "sabre", "cutter", "lame", "poignard", "matraque",
               "batte", "barre", "marteau", "tournevis", "ciseaux", "seringue", "acide",
               "essence", "bouteille", "tesson", "gun", "calibre", "kalachnikov", "grenade",
               "explosif", "bombe", "gourdin", "baton", "chaine", "ceinture", "batte"),
    "HARDWEAPON": ("couteau", "arme", "fusil", "carabine", "pistolet", "revolver", "flingue",
                   "hache", "machette", "sabre", "cutter", "poignard", "kalachnikov",
                   "grenade", "explosif", "calibre"),
    "VIOLENCE": ("frappe", "frapper", "tape", "taper", "cogne", "cogner", "bat", "battre",
                 "gifle", "gifler", "secoue", "secouer", "etrangle", "etrangler", "viole",
                 "violer", "brule", "bruler", "agresse", "agresser", "tabasse", "tabasser",
                 "defonce", "defoncer", "etouffe", "etouffer", "mord", "mordre",
                 "attaque", "attaquer", "violente", "violenter", "maltraite", "maltraiter",
                 "torture", "torturer", "strangule", "egorge", "poignarde",
                 "casse", "massacre", "lynche", "menace", "attache", "enferme",
                 "sequestre", "niquer", "tuer", "tue", "bute", "claque", "boxe", "cogne"),
    "TARGET": ("enfant", "enfants", "bebe", "nourrisson", "petit", "petite", "gosse",
               "gamin", "gamine", "fille", "fils", "femme", "epouse", "compagne", "copine",
               "mere", "maman", "soeur", "frere", "patiente", "patient", "victime",
               "grand", "personne", "fillette", "garcon", "ado", "adolescent", "adolescente",
               "nounou", "secretaire", "assistante", "infirmiere", "collegue", "medecin",
               "docteur", "interne", "chien"),
    "AGGRESSIVE": ("agressif", "agressive", "violent", "violente", "menacant", "menacante",
                   "enerve", "enervee", "furieux", "furieuse", "ivre", "alcoolise",
                   "drogue", "hurle", "hurler", "crie", "crier", "insulte", "insulter",
                   "excite", "incontrolable", "dechaine", "dechainee", "forcene",
                   "hysterique", "casse", "beugle", "gueule", "vocifere", "agite",
                   "agitee", "armee", "arme"),
    "PLACE": ("salle", "attente", "cabinet", "accueil", "secretariat", "couloir", "bureau",
              "consultation", "parking", "porte", "escalier", "hall", "immeuble", "entree",
              "pharmacie", "maison", "domicile", "appartement", "chambre", "cuisine",
              "dehors", "ici", "maintenant", "moment", "actuellement", "urgence", "urgent"),
    "NOW": ("maintenant", "actuellement", "immediatement", "urgent", "vite", "soir", "nuit",
            "encore"),
    "SUICIDE": ("suicide", "suicider", "suicidaire", "pendre", "defenestrer", "noyer"),
    "SEQUESTER": ("sequestre", "sequestree", "enferme", "enfermee", "kidnappe", "otage",
                  "barricade", "cache", "cachee", "prisonnier", "prisonniere"),
    "STALK": ("attend", "attendre", "guette", "guetter", "suit", "poursuit",
              "traque", "traquer", "harcele", "espionne", "surveille",
              "rode", "roder", "epie", "piste"),
    "COMING": ("est", "sont", "arrive", "arrivent", "revient", "reviennent", "revenu",
               "debarque", "rode", "attend", "entre", "rentre", "monte", "traine", "reste",
               "campe", "planque", "cache", "tourne", "vient", "sonne", "tambourine"),
    "FORCE": ("defonce", "defoncer", "force", "forcer", "enfonce", "enfoncer", "casse",
              "casser", "tambourine", "frappe", "cogne", "tape", "secoue", "martele",
              "fracasse", "fracturer", "fracture"),
    "HELP": ("secours", "aide", "aidez", "aider", "sauvez", "sauver", "police", "gendarmes",
             "gendarmerie", "flics", "pompiers", "samu", "help"),
    "DANGER": ("danger", "dangereux", "dangereuse", "peril"),
    "FEAR": ("peur", "crains", "craint", "craindre", "terrorise", "terrorisee", "terrifie",
             "terrifiee", "panique", "paniquee", "effraye", "effrayee", "angoisse"),
}

# Classes whose words carry danger: variants reach them by phonetic key and by typo.
_FUZZY_CLASSES = ("THREAT", "KILL", "HARDWEAPON", "VIOLENCE", "DANGER", "SUICIDE",
                  "SEQUESTER", "FEAR")
# Classes also reached by phonetic key (conjugations), but not by typo.
_KEYED_CLASSES = (*_FUZZY_CLASSES, "WEAPON", "STALK", "FORCE", "AGGRESSIVE", "HELP")

# Words that are never mapped to the lexicon: ordinary words whose key is too close.
_STOPWORDS = frozenset({
    "tu", "te", "ta", "tes", "ton", "la", "le", "les", "est", "sont", "elle", "elles",
    "porte", "couts", "cout", "couteux", "couteuse", "armee", "arret", "arme", "secours",
    "secourir", "secouriste", "dangereux", "attente", "attendu", "attendre", "suite",
    "suivi", "suivie", "suivre", "tuteur", "tutelle", "tutrice", "batterie", "bateau",
    "batiment", "frappant", "tapis", "etape", "etapes", "risque", "risques", "touche",
    "cache", "cachet", "cachets", "force", "forces", "forcement", "baton", "barre", "reste",
    "entre", "entree", "vient", "monte", "tourne", "sonne", "traine", "chaine", "lame",
    "acide", "essence", "bouteille", "ceinture", "bombe", "mord", "pousse", "jette",
    "casse", "claque", "boxe", "attache", "patient", "patiente", "personne", "medecin",
    "grand", "petit", "petite", "enfant", "enfants", "victime", "violent", "violente",
    "violence", "violences", "viol", "agression", "agressions", "menaces", "suicide",
    "voile", "voiles", "voila", "train", "danse", "danses", "dansent", "dansait", "mordu",
    "adresse", "adresser", "adresses", "adressee", "menage", "menages", "menager",
    "menagere", "etranger", "etrangere", "etrangers", "etrangeres", "projet", "projets",
    "bute", "butee", "dangers", "agree", "etrange", "etranges", "danser", "violet",
    "violets", "violette", "tortue", "tortues", "cachee", "agreee", "couter", "coute",
    "battu", "battue", "battus", "battues", "abattu", "abattue",
})


def _canonical_table() -> tuple[dict[str, str], dict[str, str], list[str]]:
    exact: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for cls, words in _CLASSES.items():
        for word in words:
            exact.setdefault(word, word)
            if cls in _KEYED_CLASSES:
                by_key.setdefault(_key(word), word)
    # Fuzzy matching only reaches the words that carry danger, never places or people.
    fuzzy_keys = sorted({_key(w) for cls in _FUZZY_CLASSES for w in _CLASSES[cls]
                         if len(w) >= 5 and len(_key(w)) >= 4})
    return exact, by_key, fuzzy_keys


def _fuzzy_words() -> dict[str, str]:
    return {w: w for cls in _FUZZY_CLASSES for w in _CLASSES[cls] if len(w) >= 6}


_EXACT, _BY_KEY, _FUZZY_KEYS = _canonical_table()
_FUZZY_WORDS = _fuzzy_words()


@cache
def _canon(token: str) -> str:
    """Map one token onto the canonical lexicon word it most likely spells, or itself."""
    if token in _STOPWORDS or len(token) < 4 or not token.isalpha():
        return _EXACT.get(token, token)
    key = _key(token)
    if key in _BY_KEY:
        return _BY_KEY[key]
    if len(token) >= 5:
        best = _nearest_key(key)
        if best is not None:
            return _BY_KEY[best]
    if len(token) >= 6:
        # The spelling itself one typo away ("cuteau"), when the key moved too far.
        for word in _FUZZY_WORDS:
            if word[0] == token[0] and OSA.distance(token, word, score_cutoff=1) <= 1:
                return _BY_KEY.get(_key(word), word)
    return token


def _nearest_key(key: str) -> str | None:
    """The lexicon key one typo away (two for long words); short keys allow a swap only."""
    max_edits = 2 if len(key) >= 9 else 1
    for candidate in _FUZZY_KEYS:
        if candidate[0] != key[0] and sorted(candidate) != sorted(key):
            continue
        if OSA.distance(key, candidate, score_cutoff=max_edits) > max_edits:
            continue
        if len(key) >= 5 or sorted(candidate) == sorted(key):
            return candidate
    return None


def _tokens(text: str) -> str:
    """The normalised text, SMS-expanded, each word replaced by its canonical form."""
    words: list[str] = []
    for token in normalise(text).split():
        expansion = _SMS.get(token, token)
        words.extend(expansion.split())
    return " " + " ".join(_canon(w) for w in words) + " "


# --- rules ---------------------------------------------------------------------------------


def _alt(cls: str) -> str:
    words = _CLASSES[cls]
    forms = {_canon(w) for w in words} | set(words)
    forms |= {_BY_KEY[_key(w)] for w in words if _key(w) in _BY_KEY}
    return "(?:" + "|".join(sorted(forms, key=len, reverse=True)) + ")"


_W = {name: _alt(name) for name in _CLASSES}
_W.update({
    "SUBJ": r"(?:il|elle|ils|elles|on|qui|ca|mari|conjoint|compagnon|copain|ex|pere|mere|"
            r"parent|parents|patient|patiente|homme|femme|mec|type|gars|frere|fils|voisin|"
            r"individu|quelqu un|accompagnant|famille|beau pere|agresseur|lui|client)",
    "OBJ": r"(?:me|te|se|la|le|l|les|nous|vous|lui|leur|y|ma|ta)",
    "ART": r"(?:l|le|la|les|son|sa|ses|mon|ma|mes|ton|ta|un|une|des|notre|nos|leur|leurs|"
           r"cet|cette|ce|du|de|d)",
    "AUX": r"(?:a|ont|va|vont|veut|veulent|vient de|est en train de|sont en train de|"
           r"continue de|continue a|recommence a|essaie de|essaye de|tente de|menace de|"
           r"arrete pas de|n arrete pas de|ne cesse de|commence a|avait|allait|"
           r"voulait|peut|pourrait|se met a|va encore)",
    "OBJV": r"(?:me|te|la|le|l|les|nous|vous|lui|leur|ma|ta)",
    "NOTPERSON": r"(?! (?:\S+ )?(?:secret|loi|regle|regles|droit|droits|obligation|contrat|"
                 r"code|charte|confidentialite|texte|dossier|tete|sonnette|clavier))",
    "BE": r"(?:suis|sommes|es|est|etes|sont|sens|sent|sentons|serait|serais|soit|sera|"
          r"serons|reste|restons|me sens|se sent|me trouve|se trouve|mettre|met|mets)",
    "NOWX": r"(?:maintenant|actuellement|en ce moment|tout de suite|ce soir|"
            r"cette nuit|la maintenant|a l instant|toujours la|encore la|urgent|urgence|"
            r"vite|aujourd hui|demain)",
})


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.format(**_W))


# Strong rules: fire whatever the framing of the message.
_STRONG: dict[str, re.Pattern[str]] = {name: _rule(p) for name, p in {
    "threat_me": r" (?:me|m|ma|nous|te|moi) (?:a |ont |avait |l a )?(?:menace|menacant)",
    "threat_other": r" (?:il|elle|ils|elles|on|qui|{SUBJ}) (?:la|le|l|les|lui|leur|vous) "
                    r"(?:a |ont |avait )?(?:menace|menacant)",
    "threatened": r" {BE} (?:\S+ )?(?:menace|menacant)",
    "death_threat": r" (?:menace|menacant|menaces) (?:de {OBJ} ?{KILL}|de {KILL}|"
                    r"avec|de la |de le |du |de me |de nous |de l )",
    "kill_obj": r" {OBJ} (?:a |ont |avait |aurait )?{KILL} ",
    "kill_idiom": r" (?:{OBJ}|{SUBJ}) (?:\S+ )?(?:faire la peau|casser la gueule|defoncer la "
                  r"gueule|regler son compte|faire la misere|faire du mal|egorger|saigner|"
                  r"planter|tu) ",
    "kill_aux": r" (?:va|vais|vas|veut|veux|voulait|vont|allait|essaie de|essaye de|tente de"
                r"|a essaye de|a tente de|peut|pourrait|capable de) (?:{OBJ} )?(?:\S+ )?"
                r"{KILL} ",
    "violence_subj": r" {SUBJ} (?:ne )?(?:{OBJV} )?(?:{AUX} )?(?:{OBJV} )?{VIOLENCE}"
                     r"{NOTPERSON} ",
    "violence_target": r" {VIOLENCE} (?:{ART} )?(?:\S+ )?{TARGET} ",
    "made_to_suffer": r" (?:se fait|se font|me fais|me fait|s est fait|me suis fait|"
                      r"vient de se faire) {VIOLENCE}",
    "blows": r" (?:{OBJ}|{SUBJ}) (?:a |ont )?(?:donne|donnent|met|mis|mettre|roue|ruer|"
             r"file|filer|colle|coller) (?:des |de )?(?:coups|coup|claques|baffes|gifles|"
             r"beignes|patates|pains|raclee)",
    "weapon_held": r" (?:a|as|avait|ont|avec|sort|sorti|sortir|sortent|tient|tenait|"
                   r"brandit|brandi|brandissant|porte|portait|pointe|agite|muni|cache|"
                   r"arme|menace|possede|garde|prend|pris|prendre|chercher|cherche|"
                   r"il y a) (?:{ART} )?(?:\S+ )?{WEAPON} ",
    "armed": r" (?:{SUBJ}|homme|individu|quelqu un|personne) (?:est |sont |etait )?"
             r"(?:arme|armee|armes) ",
    "gunfire": r" (?:coups? de feu|tire sur|tirer sur|a tire|tirs|fusillade|met le feu|"
               r"mis le feu|mettre le feu|a l acide|vitriol|prise? d otage|otages?|"
               r"forcene|attentat|explosion) ",
    "in_danger": r" {BE} (?:\S+ )?(?:en |gravement en |vraiment en |reellement en |"
                 r"tres en )?{DANGER} (?!juridique|legal|au sens)",
    "danger_of_death": r" (?:danger de mort|danger imminent|ma vie est|sa vie est|"
                       r"nos vies|vie est en jeu|vie en danger)",
    "fear_for_life": r" (?:{FEAR}|peur) (?:pour|de perdre) (?:ma|sa|leur|notre|nos|mes|"
                     r"ses|la) (?:vie|peau|securite|enfants|enfant|bebe|fille|fils|jours)",
    "fear_of_him": r" (?:{FEAR}|peur) (?:qu|que) (?:il|elle|ils|on) (?:ne )?(?:{OBJ} )?"
                   r"(?:\S+ )?(?:{KILL}|{VIOLENCE}|revienne|reviennent|vienne|rentre|"
                   r"retrouve|fasse|recommence|passe a l acte|s en prenne)",
    "terrified": r" (?:{BE}|suis|est) (?:\S+ )?(?:terrorise|terrorisee|terrifie|"
                 r"terrifiee|paniquee|panique) ",
    "going_to_die": r" (?:je vais|on va|je risque de|je peux|elle va|il va la|il va me) "
                    r"(?:\S+ )?(?:mourir|crever|y passer|y rester)",
    "help": r" (?:au {HELP}|a l aide|aidez moi|aide moi|aidez nous|aidez la|sauvez moi|"
            r"sos|help|mayday|appelez (?:la |les |le )?(?:{HELP}|17|112|15|18)|"
            r"venez vite|vite vite)",
    "at_door": r" (?:devant|derriere|contre|sous) (?:ma|la|mon|notre|sa|leur|chez|nos|"
               r"le|les|l) ?(?:\S+ )?(?:porte|fenetre|fenetres|cabinet|maison|domicile|"
               r"immeuble|voiture|bureau|moi|nous|elle|appartement|appart|ecole|creche) ",
    "stalked": r" (?:me|m|nous|la|l|te|les|vous) (?:\S+ )?{STALK} ",
    "is_here": r" (?:il|elle|ils|elles|{SUBJ}) (?:est|sont|arrive|arrivent|revient|"
               r"reviennent|est revenu|debarque|rode|attend|traine|campe|reste|est encore|"
               r"est toujours|monte|entre|rentre|est entre|a sonne|sonne) (?:\S+ )?"
               r"(?:la #|la $|ici|dehors|devant|en bas|derriere|au cabinet|chez moi|"
               r"chez nous|chez elle|dans le cabinet|dans la salle|dans le hall|"
               r"dans l immeuble|dans le couloir|dans mon bureau|dans l escalier|sur le "
               r"parking|a l accueil|a la porte|en haut|sur le palier|la maintenant|"
               r"la devant|la dehors|a la maison|pour moi|pour me)",
    "forcing_in": r" (?:essaie|essaye|tente|veut|cherche|va|menace) (?:de |d )?"
                  r"(?:entrer|rentrer|forcer|{FORCE}|monter|penetrer|enfoncer|casser)"
                  r"|{FORCE} (?:\S+ )?(?:la|ma|notre|les|sa|une|sur la|a la|contre la) "
                  r"(?:porte|portes|fenetre|vitre|vitres)",
    "wont_leave": r" (?:refuse|refusent|veut pas|veulent pas|ne veut pas|ne part pas|"
                  r"part pas|refus) (?:de )?(?:partir|sortir|quitter|s en aller|"
                  r"laisser|repartir|le cabinet|la salle)",
    "rampage": r" (?:casse tout|tout casser|tout casse|saccage|detruit tout|renverse tout|"
               r"jette tout|balance tout|fou furieux|hors de lui|hors de controle|"
               r"pete les plombs|pete un cable|en crise)",
    "aggressive_here": r" (?:{AGGRESSIVE}|{VIOLENCE})(?: \S+){{0,8}} (?:{PLACE}|{NOWX}) "
                       r"(?:.*)(?:{NOWX}|refuse|crie|hurle|insulte|frappe|menace|tape) ",
    "confined": r" (?:{OBJ}|{BE}) (?:a |ont |avait |suis |est )?{SEQUESTER} "
                r"| {SUBJ} {OBJV} (?:a |ont |avait |tient )?(?:{SEQUESTER}|attache|attachee)"
                r"| (?:a|ont) enleve (?:{ART} )?{TARGET} "
                r"|(?:empeche|empechent|interdit) de (?:sortir|partir|quitter|appeler)"
                r"|contre (?:mon|son|leur) gre",
    "suicide_now": r" (?:me|se|te|nous) (?:\S+ )?(?:{SUICIDE}|{KILL}|jeter|foutre en l air"
                   r"|ouvrir les veines|faire du mal|mutiler|scarifier) "
                   r"| (?:en finir|finir avec la vie|mettre fin a (?:mes|ses|leurs) jours|"
                   r"veux mourir|veut mourir|envie de mourir|plus envie de vivre) ",
    "suffered_now": r" (?:est|sont|suis|sommes|se fait|se font) (?:\S+ )?{VIOLENCE}"
                    r"{NOTPERSON} ",
    "lunged": r" (?:jete|jetee|rue|ruee|precipite|precipitee|lance|foncer|fonce|saute) sur "
              r"(?:moi|nous|elle|lui|la|le|ma|mon|l) ",
    "coming_back": r" (?:il|elle|ils|{SUBJ}) (?:\S+ )?(?:recommence\w*|reviendr\w*|revient|"
                   r"rentre|rentrera|arrive|debarque) (?:\S+ )?(?:ce soir|cette nuit|"
                   r"tout de suite|dans \S+ minutes|bientot|d une minute) "
                   r"| vite (?:\S+ ){{0,3}}(?:arrive|vient|revient|entre|monte|est la) ",
    "rape_now": r" (?:viol|violee|viole) (?:en cours|maintenant|ici|la|ce soir)",
    "weak_now": r" (?:{DANGER}|{HARDWEAPON}|menace|menaces|{KILL}|{AGGRESSIVE})"
                r"(?: \S+){{0,5}} {NOWX} |{NOWX}(?: \S+){{0,5}} (?:{DANGER}|{HARDWEAPON}|"
                r"menace|menaces|{KILL}) ",
}.items()}

# Weak rules: a danger word alone. Suppressed by a legal/definitional/procedural framing.
_WEAK: dict[str, re.Pattern[str]] = {name: _rule(p) for name, p in {
    "danger_word": r" (?:en )?{DANGER} ",
    "threat_word": r" (?:menace|menaces|menacant) ",
    "peril": r" peril imminent ",
    "weapon_word": r" {HARDWEAPON} ",
    "kill_word": r" {KILL} ",
    "aggressive_place": r" {AGGRESSIVE}(?: \S+){{0,8}} (?:{PLACE}|{NOWX}) ",
    "fear_word": r" (?:terrorise|terrorisee|terrifie|terrifiee|peur de (?:lui|son|sa|mon|"
                 r"ma|rentrer|mourir|represailles)) ",
    "suicide_word": r" (?:{SUICIDE}|va mourir) ",
    "call_police": r" (?:appeler|appelle|appel|prevenir) (?:la |les |le )?"
                   r"(?:police|gendarmes|gendarmerie|flics|17|112) ",
}.items()}

_FRAMING = re.compile(
    r" (?:c est quoi|qu est ce qu|qu est ce que|que signifie|signifie|signification|"
    r"definition|definir|notion|au sens|veut dire|veulent dire|art|article|articles|code|"
    r"loi|lois|jurisprudence|difference|differences|legal|legale|legalement|juridique|"
    r"juridiquement|droit|penal|penale|peine|peines|sanction|sanctions|infraction|delit|"
    r"qualification|qualifier|226|information preoccupante|crip|procureur|parquet|"
    r"certificat|formation|statistique|statistiques|chiffres|theorie|hypothese|exemple|"
    r"en general|criteres|critere|evaluer|evaluation|grille|echelle|questionnaire|"
    r"depistage|reperer|reperage|signes|indices|a quoi sert|c est pour|quel numero|"
    r"numero|119|3919|114|ordonnance de protection|deontologie|ordre|cnom|cdom|"
    r"responsabilite|obligation|obligatoire|faut il|dois je|puis je|peut on|doit on|"
    r"mise en danger|enfance en danger|enfant en danger|enfants en danger|mineur en danger|"
    r"mineurs en danger|port d arme|permis|assurance|plainte|main courante|ordonnance|"
    r"cours|conference|these|memoire|rapport|guide|fiche|protocole|telephone grave danger|"
    r"tgd|bracelet|psychiatrie|procedure) "
)


@dataclass(frozen=True)
class EmergencyMatch:
    """Which rule fired; `excerpt` is the canonical words matched (never stored)."""

    pattern: str
    excerpt: str


def detect_emergency(text: str) -> EmergencyMatch | None:
    """Return a match when `text` suggests immediate danger, else None."""
    if not text or not text.strip():
        return None
    words = _tokens(text)
    for name, regex in _STRONG.items():
        found = regex.search(words)
        if found:
            return EmergencyMatch(name, found.group(0).strip())
    if _FRAMING.search(words):
        return None
    for name, regex in _WEAK.items():
        found = regex.search(words)
        if found:
            return EmergencyMatch(name, found.group(0).strip())
    return None


def emergency_text() -> str:
    """The emergency numbers, shortest form first (shown before anything else)."""
    return _(
        "🚨 <b>En cas de danger immédiat</b>\n"
        "• <b>17</b> police / gendarmerie\n"
        "• <b>112</b> urgences (depuis tout téléphone)\n"
        "• <b>114</b> par SMS (si parler est impossible ou dangereux)\n"
        "• <b>15</b> SAMU pour les soins"
    )


def all_numbers_text() -> str:
    """The full list for /urgence."""
    return emergency_text() + "\n" + _(
        "• <b>119</b> enfance en danger (24 h/24, gratuit)\n"
        "• <b>3919</b> violences femmes info (24 h/24, gratuit, anonyme)\n"
        "Ce service n'est pas une ligne d'urgence : en cas de danger, appelez."
    )


def emergency_reply() -> Reply:
    return Reply(emergency_text())
