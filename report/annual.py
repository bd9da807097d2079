"""The annual review's report (HTML + one CSV per table): domain code, Telegram-free, used by
`vvs-admin stats` (admin/stats.py) and the operators' console.

The report reads `vvs.stats.read_period` (raw events and monthly aggregates in one shape),
the content snapshot (entries validated or in draft, directory contacts verified or to
verify) and the `content_publication` audit. With `--publish`, every count from 1 to N-1
shows as « < N », and enough other cells are hidden (« masqué ») that no hidden count can be
recovered by subtraction from a total of its row or column; shares and durations computed
from a hidden count are hidden too. Without it (the internal report for admins) every count
is exact. Report text is French (admins and the partnership); numbers and dates go
through babel.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.content import Snapshot
from vvs.departements import IDF_DEPARTMENTS
from vvs.stats import ALL, NONE, Durations, Period, Summary, read_period, whole_days

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn
    from matplotlib.figure import Figure

LOCALE = "fr_FR"
DEFAULT_THRESHOLD = 5
IDF = IDF_DEPARTMENTS  # the one list (vvs/departements.py)
OTHER_DEPT, UNKNOWN = "autre", NONE
SMALL, MASKED = "small", "masked"

# ------------------------------------------------------------------ tables


@dataclass
class Line:
    """One row: a code (CSV), a label (HTML) and its values."""

    code: str
    label: str
    values: list[Any]


@dataclass
class Table:
    """A report table; `counts` are the columns that count people's actions (suppressed
    when small), `parts`/`whole` say that column `whole` is the sum of columns `parts`,
    `derived` maps a share or duration column to the count columns it is computed from."""

    name: str
    title: str
    key_header: str
    columns: list[str]
    lines: list[Line]
    total: Line | None = None
    counts: frozenset[int] = frozenset()
    parts: tuple[int, ...] = ()
    whole: int | None = None
    derived: dict[int, tuple[int, ...]] = field(default_factory=dict)
    formats: dict[int, str] = field(default_factory=dict)  # 'share', 'minutes', 'text'
    note: str = ""
    chart: str | None = None  # inline SVG
    hidden: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) → state

    def all_lines(self) -> list[Line]:
        return [*self.lines, *([self.total] if self.total else [])]


def suppress(table: Table, threshold: int) -> None:
    """Hide small counts and whatever would give them away (see the module docstring)."""
    lines = table.all_lines()
    hidden = table.hidden
    for r, line in enumerate(lines):
        for c in table.counts:
            value = line.values[c]
            if isinstance(value, int) and 0 < value < threshold:
                hidden[(r, c)] = SMALL
    equations: list[list[tuple[int, int]]] = []
    if table.total is not None:
        for c in table.counts:
            equations.append([(r, c) for r in range(len(lines))])
    if table.whole is not None:
        for r in range(len(lines)):
            equations.append([(r, c) for c in (*table.parts, table.whole)])

    def unknown(cell: tuple[int, int]) -> bool:
        return cell in hidden or lines[cell[0]].values[cell[1]] is None

    changed = True
    while changed:
        changed = False
        for members in equations:
            if sum(unknown(m) for m in members) != 1:
                continue
            if not any(m in hidden for m in members):
                continue  # the one unknown is "not available", not a hidden count
            candidates = [m for m in members if not unknown(m)
                          and lines[m[0]].values[m[1]] != 0]
            if not candidates:
                continue  # the others are all zero: the hidden one is zero too
            pick = min(candidates, key=lambda m: (lines[m[0]].values[m[1]], m))
            hidden[pick] = MASKED
            changed = True
    for r in range(len(lines)):
        for c, sources in table.derived.items():
            if any((r, s) in hidden for s in sources):
                hidden[(r, c)] = MASKED


def cell_text(table: Table, r: int, c: int, threshold: int, *, for_csv: bool) -> str:
    """A cell as shown: « < N » or « masqué » when hidden, else formatted."""
    state = table.hidden.get((r, c))
    if state == SMALL:
        return f"< {threshold}"
    if state == MASKED:
        return "masqué"
    value = table.all_lines()[r].values[c]
    if value is None:
        return "" if for_csv else "n/d"
    kind = table.formats.get(c)
    if for_csv:
        if kind == "share":
            return f"{value:.4f}"
        if isinstance(value, float):
            return f"{value:.1f}"
        return str(value)
    if kind == "share":
        return format_percent(value, "#,##0.0 %", locale=LOCALE)
    if kind == "minutes":
        return minutes_fr(value)
    if isinstance(value, int | float):
        return format_decimal(value, locale=LOCALE)
    return str(value)


def minutes_fr(minutes: float) -> str:
    if minutes < 120:
        return f"{format_decimal(round(minutes), locale=LOCALE)} min"
    if minutes < 2880:
        return f"{format_decimal(round(minutes / 60, 1), locale=LOCALE)} h"
    return f"{format_decimal(round(minutes / 1440, 1), locale=LOCALE)} j"


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def dept_label(code: str) -> str:
    return {UNKNOWN: "inconnu", OTHER_DEPT: "hors Île-de-France"}.get(code, code)


def dept_of(code: str) -> str:
    return code if code in IDF or code == UNKNOWN else OTHER_DEPT


def month_label(month: date) -> str:
    return format_date(month, "MMMM y", locale=LOCALE)


def _by_dept(counter: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for code, n in counter.items():
        if code != ALL:
            out[dept_of(code)] += n
    return out


DEPT_COLUMNS = (*IDF, OTHER_DEPT, UNKNOWN)


# ------------------------------------------------------------------ content snapshot


@dataclass(frozen=True)
class Labels:
    """What the content snapshot tells the report: names and the content's state."""

    flows: dict[str, str]
    outcomes: dict[tuple[str, str], str]
    steps: dict[tuple[str, str], str]
    themes: dict[str, str]  # theme code → label
    entry_theme: dict[str, str]  # entry id → theme code
    entries: Counter[str]  # status → count
    contacts: Counter[str]  # status → count
    loaded: bool


def empty_labels() -> Labels:
    """Labels when no content could be loaded (the report says so)."""
    from knowledge.model import THEMES

    themes = {code: str(label) for code, label in THEMES.items()}
    return Labels({}, {}, {}, themes, {}, Counter(), Counter(), False)


def labels_of(snapshot: Snapshot) -> Labels:
    """The report's names and content figures from a content snapshot (knowledge, annuaire,
    flows), as the bot serves it or as `vvs-admin` loads it."""
    from annuaire.model import Directory
    from bot.flows.model import Flows
    from knowledge.model import KnowledgeBase

    labels = empty_labels()
    knowledge = snapshot.of("knowledge", KnowledgeBase)
    directory = snapshot.of("annuaire", Directory)
    flows = snapshot.of("flows", Flows)
    return Labels(
        flows={f.id: f.title for f in flows.flows.values()},
        outcomes={(f.id, o.id): o.title for f in flows.flows.values()
                  for o in f.outcomes.values()},
        steps={(f.id, s.id): s.id for f in flows.flows.values() for s in f.steps.values()},
        themes=labels.themes,
        entry_theme={e.id: e.theme for e in knowledge.entries.values()},
        entries=Counter(e.status for e in knowledge.entries.values()),
        contacts=Counter(e.status for e in directory.entries),
        loaded=True)


# ------------------------------------------------------------------ building the tables


def _with_total(lines: list[Line], columns: Iterable[int], label: str = "Total") -> Line:
    columns = list(columns)
    width = len(lines[0].values) if lines else max(columns, default=-1) + 1
    values: list[Any] = [None] * width
    for c in columns:
        values[c] = sum(line.values[c] or 0 for line in lines)
    return Line("total", label, values)


def activity_by_month(period: Period) -> Table:
    columns = ["Médecins distincts", "Sessions", "Questions", "Démarches commencées",
               "Recherches annuaire", "Documents", "Demandes de référent"]
    kinds = ["question", "flow_start", "annuaire_search", "flow_document",
             "escalation_created"]
    lines = [Line(m.strftime("%Y-%m"), month_label(m),
                  [s.physicians[ALL], s.sessions[ALL], *(s.count(k) for k in kinds)])
             for m, s in period.months.items()]
    total = _with_total(lines, range(1, len(columns)), "Période")
    total.values[0] = period.physicians[ALL] if period.physicians is not None else None
    return Table("activite_par_mois", "Activité par mois", "mois", columns, lines, total,
                 counts=frozenset(range(len(columns))),
                 note="Médecins distincts de la période : chacun compté une fois "
                      "(non disponible sur des mois agrégés). Une session est une suite de "
                      "messages sans pause de plus de 30 minutes.")


def people_by_month_and_dept(period: Period, what: str) -> Table:
    physicians = what == "physicians"
    columns = [dept_label(d) for d in DEPT_COLUMNS] + ["Tous"]
    lines = []
    for month, summary in period.months.items():
        counter = summary.physicians if physicians else summary.sessions
        by = _by_dept(counter)
        lines.append(Line(month.strftime("%Y-%m"), month_label(month),
                          [by.get(d, 0) for d in DEPT_COLUMNS] + [counter[ALL]]))
    total = _with_total(lines, range(len(columns)), "Période")
    if physicians:
        if period.physicians is None:
            total.values = [None] * len(columns)
        else:
            by = _by_dept(period.physicians)
            total.values = [by.get(d, 0) for d in DEPT_COLUMNS] + [period.physicians[ALL]]
    name, title = (("medecins_par_departement", "Médecins distincts par mois et département")
                   if physicians else ("sessions_par_departement",
                                       "Sessions par mois et département"))
    note = ("Un médecin est compté dans chaque département où il a agi dans le mois ; "
            "« Tous » le compte une fois." if physicians else
            "Département de la session : le premier connu parmi ses événements.")
    return Table(name, title, "mois", columns, lines, total,
                 counts=frozenset(range(len(columns))),
                 parts=tuple(range(len(DEPT_COLUMNS))), whole=len(DEPT_COLUMNS), note=note)


def activity_by_dept(total: Summary) -> Table:
    columns = ["Questions", "Démarches commencées", "Démarches abouties",
               "Recherches annuaire", "Documents", "Demandes de référent"]
    kinds = ["question", "flow_start", "flow_outcome", "annuaire_search", "flow_document",
             "escalation_created"]
    per = [_by_dept(total.by(k, "department")) for k in kinds]
    lines = [Line(d or "inconnu", dept_label(d), [p.get(d, 0) for p in per])
             for d in DEPT_COLUMNS]
    return Table("activite_par_departement", "Activité par département", "département",
                 columns, lines, _with_total(lines, range(len(columns))),
                 counts=frozenset(range(len(columns))),
                 note="Département de l'événement (celui du médecin, ou celui choisi dans "
                      "la démarche ou la recherche).")


def procedures(total: Summary, labels: Labels) -> Table:
    started, done = total.by("flow_start", "category"), total.by("flow_outcome", "category")
    quit_, docs = total.by("flow_quit", "category"), total.by("flow_document", "category")
    codes = sorted(set(started) | set(done) | set(quit_) | set(labels.flows))
    lines = [Line(c or "inconnue", labels.flows.get(c, c or "démarche inconnue"),
                  [started[c], done[c], quit_[c], share(done[c], started[c]), docs[c]])
             for c in codes]
    table = Table("demarches", "Démarches guidées", "démarche",
                  ["Commencées", "Abouties", "Abandonnées", "Part abouties", "Documents"],
                  lines, None, counts=frozenset({0, 1, 2, 4}), derived={3: (0, 1)},
                  formats={3: "share"},
                  note="Aboutie : la démarche a atteint une issue. Abandonnée : quittée à "
                       "une étape, avant toute issue (autre fonction, /annuler, autre "
                       "démarche ou « Recommencer ») ; une démarche laissée sans suite "
                       "jusqu'à son expiration n'est comptée ni aboutie ni abandonnée. Le "
                       "parcours « médecin victime » est la démarche victime.")
    table.total = _with_total(lines, (0, 1, 2, 4))
    table.total.values[3] = share(table.total.values[1], table.total.values[0])
    return table


def outcomes_by_dept(total: Summary, labels: Labels) -> Table:
    cells: Counter[tuple[str, str, str]] = Counter()
    for (kind, dept, flow, outcome), n in total.counts.items():
        if kind == "flow_outcome":
            cells[(flow, outcome, dept_of(dept))] += n
    keys = sorted({(f, o) for f, o, _d in cells})
    lines = [Line(f"{f}:{o}", f"{labels.flows.get(f, f)} — {labels.outcomes.get((f, o), o)}",
                  [cells[(f, o, d)] for d in DEPT_COLUMNS]
                  + [sum(cells[(f, o, d)] for d in DEPT_COLUMNS)]) for f, o in keys]
    n = len(DEPT_COLUMNS) + 1
    return Table("demarches_issues", "Issues des démarches, par département", "issue",
                 [dept_label(d) for d in DEPT_COLUMNS] + ["Total"], lines,
                 _with_total(lines, range(n)), counts=frozenset(range(n)),
                 parts=tuple(range(n - 1)), whole=n - 1,
                 note="Département choisi dans la démarche (celui du lieu des faits).")


def abandons(total: Summary, labels: Labels) -> Table:
    cells: Counter[tuple[str, str]] = Counter()
    for (kind, _dept, flow, step), n in total.counts.items():
        if kind == "flow_quit":
            cells[(flow, step)] += n
    lines = [Line(f"{f}:{s}", f"{labels.flows.get(f, f or 'démarche inconnue')} — "
                               f"{'étape inconnue' if not s else 'étape ' + s}", [n])
             for (f, s), n in sorted(cells.items())]
    return Table("demarches_abandons", "Où les démarches sont abandonnées", "étape",
                 ["Abandons"], lines, _with_total(lines, [0]), counts=frozenset({0}))


QUESTION_COLUMNS = (("answered", "Répondues"), ("abstained", "Sans réponse"),
                    ("clarified", "Répondues, avec choix proposé"))
# judgements on questions already counted above (kinds of their own): beside the total
QUESTION_FOLLOW_UPS = (("question_not_helpful", "« Ne répond pas »"),
                       ("question_to_editors", "Transmises aux rédacteurs"))


def questions(total: Summary, labels: Labels) -> Table:
    cells: Counter[tuple[str, str]] = Counter()
    for (kind, _dept, category, entry), n in total.counts.items():
        if kind == "question":
            cells[(labels.entry_theme.get(entry, NONE), category)] += n
        elif kind in dict(QUESTION_FOLLOW_UPS):
            cells[(labels.entry_theme.get(entry, NONE), kind)] += n
    codes = [*labels.themes, NONE]
    asked = len(QUESTION_COLUMNS)  # the column of the total
    lines = []
    for theme in codes:
        values: list[Any] = [cells[(theme, c)] for c, _l in QUESTION_COLUMNS]
        values.append(sum(values))
        values.append(share(values[0] + values[2], values[asked]))
        values += [cells[(theme, kind)] for kind, _l in QUESTION_FOLLOW_UPS]
        lines.append(Line(theme or "inconnu",
                          labels.themes.get(theme, "thème inconnu (aucune fiche proche)"),
                          values))
    counted = (*range(asked + 1), asked + 2, asked + 3)
    table = Table("questions_par_theme", "Questions par thème", "thème",
                  [label for _c, label in QUESTION_COLUMNS] + ["Total", "Part répondues"]
                  + [label for _k, label in QUESTION_FOLLOW_UPS],
                  lines, None, counts=frozenset(counted), parts=tuple(range(asked)),
                  whole=asked, derived={asked + 1: (0, 2, asked)},
                  formats={asked + 1: "share"},
                  note="Thème de la fiche donnée en réponse ; pour une question sans réponse, "
                       "thème de la fiche la plus proche. « Avec choix proposé » : la réponse "
                       "était accompagnée de « Vouliez-vous plutôt » (recherche hésitante) ; "
                       "la part répondue les compte. « Ne répond pas » : réponses jugées "
                       "insuffisantes par le médecin (déjà comptées comme répondues) ; "
                       "« Transmises aux rédacteurs » : questions que le médecin a choisi "
                       "d'envoyer à la commission (thème de la fiche jugée insuffisante, sinon "
                       "de la plus proche). Le texte des questions n'est jamais conservé ici.")
    table.total = _with_total(lines, counted)
    table.total.values[asked + 1] = share(table.total.values[0] + table.total.values[2],
                                          table.total.values[asked])
    return table


SEARCH_HOW = (("text", "Par texte"), ("place", "Par lieu"), ("location", "Par position"))


def searches_by_kind(total: Summary) -> Table:
    from annuaire.model import KINDS

    count: Counter[tuple[str | None, str | None]] = Counter()
    zeros: Counter[str | None] = Counter()
    for (kind, _dept, what, how), n in total.counts.items():
        if kind == "annuaire_search":
            count[(what, how)] += n
    for (kind, _dept, what, _how), n in total.zeros.items():
        if kind == "annuaire_search":
            zeros[what] += n
    codes = sorted({w for w, _h in count} | set(KINDS), key=lambda c: (c == NONE, c))
    if NONE not in codes:
        codes.append(NONE)
    lines = []
    for code in codes:
        values: list[Any] = [count[(code, how)] for how, _l in SEARCH_HOW]
        whole = sum(n for (w, _h), n in count.items() if w == code)
        values += [whole, zeros[code], share(zeros[code], whole)]
        lines.append(Line(code or "tous", str(KINDS.get(code, "tous types")) if code
                          else "tous types", values))
    table = Table("annuaire_par_type", "Recherches dans l'annuaire, par type de structure",
                  "type", [label for _h, label in SEARCH_HOW]
                  + ["Total", "Sans résultat", "Part sans résultat"], lines, None,
                  counts=frozenset(range(5)), parts=(0, 1, 2), whole=3, derived={5: (3, 4)},
                  formats={5: "share"},
                  note="Les recherches sans résultat montrent les manques de l'annuaire.")
    table.total = _with_total(lines, range(5))
    table.total.values[5] = share(table.total.values[4], table.total.values[3])
    return table


def searches_by_dept(total: Summary) -> Table:
    count = _by_dept(total.by("annuaire_search", "department"))
    zeros = _by_dept(total.by("annuaire_search", "department", zeros=True))
    lines = [Line(d or "inconnu", dept_label(d), [count[d], zeros[d], share(zeros[d], count[d])])
             for d in DEPT_COLUMNS]
    table = Table("annuaire_par_departement", "Recherches dans l'annuaire, par département",
                  "département", ["Recherches", "Sans résultat", "Part sans résultat"], lines,
                  None, counts=frozenset({0, 1}), derived={2: (0, 1)}, formats={2: "share"},
                  note="Département du lieu cherché ; pour une recherche par nom, celui du "
                       "médecin (retenu, ou choisi dans sa démarche) quand il est connu.")
    table.total = _with_total(lines, (0, 1))
    table.total.values[2] = share(table.total.values[1], table.total.values[0])
    return table


DOCUMENT_LABELS = {"signalement": "Signalement (modèle)",
                   "alerte-administrative": "Alerte à l'autorité administrative (modèle)",
                   "ip": "Information préoccupante (modèle)", "record": "Relevé de décision"}


def documents(total: Summary) -> Table:
    by = total.by("flow_document", "detail")
    codes = sorted(set(by) | set(DOCUMENT_LABELS))
    lines = [Line(c or "inconnu", DOCUMENT_LABELS.get(c, c or "type inconnu"), [by[c]])
             for c in codes]
    return Table("documents", "Documents générés", "type", ["Documents"], lines,
                 _with_total(lines, [0]), counts=frozenset({0}),
                 note="Modèles indicatifs générés en mémoire, jamais conservés.")


def victim_route(period: Period) -> Table:
    lines = [Line(m.strftime("%Y-%m"), month_label(m),
                  [s.count("flow_start", category="victime"),
                   s.count("flow_outcome", category="victime"),
                   s.count("flow_quit", category="victime")])
             for m, s in period.months.items()]
    return Table("parcours_victime", "Parcours « médecin victime »", "mois",
                 ["Commencés", "Aboutis", "Abandonnés"], lines,
                 _with_total(lines, range(3), "Période"), counts=frozenset(range(3)))


def escalations(total: Summary) -> Table:
    columns = ["Créées", "Relancées", "Part relancées", "Envoyées à la région",
               "Part envoyées à la région", "Prises en charge", "Délai de prise en charge "
               "(médiane)", "Délai de prise en charge (90e centile)", "Closes",
               "Délai de clôture (médiane)", "Délai de clôture (90e centile)"]

    def row(dept_filter: set[str] | None) -> list[Any]:
        def n(kind: str) -> int:
            return sum(v for d, v in _by_dept(total.by(kind, "department")).items()
                       if dept_filter is None or d in dept_filter)

        def durations(kind: str) -> Durations:
            if dept_filter is None:
                return total.duration(kind)
            out = Durations()
            for code in {c for k in total.durations if k[0] == kind
                         for c in [k[1]] if dept_of(c) in dept_filter}:
                out.add(total.duration(kind, department=code))
            return out

        created, reminded, regional = (n("escalation_created"), n("escalation_reminded"),
                                       n("escalation_escalated"))
        taken, closed = durations("escalation_taken"), durations("escalation_closed")
        return [created, reminded, share(reminded, created), regional,
                share(regional, created), n("escalation_taken"), taken.quantile(0.5),
                taken.quantile(0.9), n("escalation_closed"), closed.quantile(0.5),
                closed.quantile(0.9)]

    lines = [Line(d or "inconnu", dept_label(d), row({d})) for d in DEPT_COLUMNS]
    fmt = {2: "share", 4: "share", 6: "minutes", 7: "minutes", 9: "minutes", 10: "minutes"}
    exact = all(d.exact for k, d in total.durations.items() if k[0].startswith("escalation"))
    return Table("demandes_referent", "Demandes de mise en relation avec un référent",
                 "département", columns, lines, Line("total", "Total", row(None)),
                 counts=frozenset({0, 1, 3, 5, 8}),
                 derived={2: (0, 1), 4: (0, 3), 6: (5,), 7: (5,), 9: (8,), 10: (8,)},
                 formats=fmt,
                 note="Délais depuis la création de la demande ; en CSV, en minutes. "
                      "Une demande est relancée aux référents, puis envoyée à la région si "
                      "personne ne la prend en charge."
                      + ("" if exact else " Sur des mois agrégés, médianes et centiles sont "
                         "estimés à partir d'histogrammes (classes fixes)."))


def escalation_outcomes(total: Summary) -> Table:
    from escalation.texts import OUTCOMES

    cells: Counter[tuple[str, str]] = Counter()
    for (kind, dept, _category, outcome), n in total.counts.items():
        if kind == "escalation_closed":
            cells[(outcome, dept_of(dept))] += n
    codes = sorted({o for o, _d in cells} | set(OUTCOMES))
    n = len(DEPT_COLUMNS) + 1
    lines = [Line(o or "inconnue", str(OUTCOMES.get(o, o or "issue inconnue")),
                  [cells[(o, d)] for d in DEPT_COLUMNS]
                  + [sum(cells[(o, d)] for d in DEPT_COLUMNS)]) for o in codes]
    return Table("demandes_issues", "Issues des demandes closes, par département", "issue",
                 [dept_label(d) for d in DEPT_COLUMNS] + ["Total"], lines,
                 _with_total(lines, range(n)), counts=frozenset(range(n)),
                 parts=tuple(range(n - 1)), whole=n - 1)


def content(labels: Labels, publications: Counter[bool]) -> Table:
    lines = [Line("fiches_validees", "Fiches validées", [labels.entries["validated"]]),
             Line("fiches_brouillon", "Fiches en cours de validation",
                  [labels.entries["draft"]]),
             Line("contacts_verifies", "Contacts de l'annuaire vérifiés",
                  [labels.contacts["verified"]]),
             Line("contacts_a_verifier", "Contacts de l'annuaire à vérifier",
                  [labels.contacts["to_verify"]]),
             Line("publications_acceptees", "Publications de contenu acceptées (période)",
                  [publications[True]]),
             Line("publications_refusees", "Publications de contenu refusées (période)",
                  [publications[False]])]
    if not labels.loaded:
        for line in lines[:4]:
            line.values = [None]
    return Table("contenu", "Contenu", "indicateur", ["Nombre"], lines,
                 note="État du contenu au moment du rapport (pas une donnée sur les "
                      "médecins : jamais masqué)."
                      + ("" if labels.loaded else " Contenu illisible : n/d."))


COMPARED = (("sessions", "Sessions"), ("question", "Questions"),
            ("flow_start", "Démarches commencées"), ("flow_outcome", "Démarches abouties"),
            ("annuaire_search", "Recherches annuaire"), ("flow_document", "Documents"),
            ("escalation_created", "Demandes de référent"))


def year_on_year(period: Period, before: Period) -> Table:
    def value(p: Period, code: str) -> int:
        return p.total.sessions[ALL] if code == "sessions" else p.total.count(code)

    def physician_months(p: Period) -> int:
        return sum(s.physicians[ALL] for s in p.months.values())

    lines = [Line("medecins_mois", "Médecins actifs (somme des mois)",
                  [physician_months(period), physician_months(before)])]
    lines += [Line(code, label, [value(period, code), value(before, code)])
              for code, label in COMPARED]
    return Table("comparaison_annuelle", "Comparaison avec la même période un an plus tôt",
                 "indicateur", ["Période", "Un an plus tôt"], lines,
                 counts=frozenset({0, 1}),
                 note="« Médecins actifs » additionne les médecins distincts de chaque mois, "
                      "seule mesure comparable sur des mois agrégés.")


# ------------------------------------------------------------------ charts


def _svg(fig: Figure, chart_id: str) -> str:
    """A matplotlib figure as inline SVG whose ids cannot clash with another chart's."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'id="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = svg.replace("url(#", f"url(#{chart_id}-").replace('href="#', f'href="#{chart_id}-')
    return re.sub(r'<svg ', f'<svg role="img" aria-label="graphique {chart_id}" ', svg, count=1)


def _shown(table: Table, c: int) -> list[float]:
    """Column `c` of the table's lines as drawn: hidden cells are drawn as 0."""
    return [0.0 if (r, c) in table.hidden or line.values[c] is None else float(line.values[c])
            for r, line in enumerate(table.lines)]


def _bar_chart(table: Table, series: Sequence[tuple[int, str]], chart_id: str,
               horizontal: bool = False) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "vvs", "font.size": 8,
                         "axes.spines.top": False, "axes.spines.right": False})
    labels = [line.label for line in table.lines]
    fig, ax = plt.subplots(figsize=(7, 2.2 + (0.22 * len(labels) if horizontal else 0.6)))
    width = 0.8 / len(series)
    for i, (c, name) in enumerate(series):
        positions = [x + i * width - 0.4 + width / 2 for x in range(len(labels))]
        if horizontal:
            ax.barh(positions, _shown(table, c), height=width, label=name)
        else:
            ax.bar(positions, _shown(table, c), width=width, label=name)
    if horizontal:
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
    else:
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    if len(series) > 1:
        ax.legend(frameon=False)
    formatter = matplotlib.ticker.FuncFormatter(lambda v, _p: format_decimal(v, locale=LOCALE))
    (ax.xaxis if horizontal else ax.yaxis).set_major_formatter(formatter)
    return _svg(fig, chart_id)


def add_charts(tables: dict[str, Table]) -> None:
    tables["activite_par_mois"].chart = _bar_chart(
        tables["activite_par_mois"], [(0, "Médecins distincts"), (1, "Sessions")], "c1")
    tables["demarches"].chart = _bar_chart(
        tables["demarches"], [(0, "Commencées"), (1, "Abouties"), (2, "Abandonnées")], "c2")
    tables["questions_par_theme"].chart = _bar_chart(
        tables["questions_par_theme"],
        [(0, "Répondues"), (2, "Avec choix proposé"), (1, "Sans réponse")], "c3",
        horizontal=True)
    tables["annuaire_par_departement"].chart = _bar_chart(
        tables["annuaire_par_departement"], [(0, "Recherches"), (1, "Sans résultat")], "c4")
    tables["demandes_referent"].chart = _bar_chart(
        tables["demandes_referent"], [(0, "Créées"), (5, "Prises en charge")], "c5")


# ------------------------------------------------------------------ the report


@dataclass
class Report:
    """Everything rendered, before it is written."""

    start: date
    end: date  # inclusive
    generated: datetime
    published: bool
    threshold: int
    tables: dict[str, Table]
    empty: bool
    rounded: str  # the note on whole months, or ""


async def build_report(session: AsyncSession, start: date, end: date, *, labels: Labels,
                       publish: bool, threshold: int = DEFAULT_THRESHOLD,
                       now: datetime | None = None, charts: bool = True) -> Report:
    """Read the period [start, end] (whole days, UTC) and build every table."""
    from vvs.models import ContentPublication

    begin, finish = whole_days(start, end)
    period = await read_period(session, begin, finish)
    before = await read_period(session, _years_back(begin), _years_back(finish))
    at = col(ContentPublication.at)
    published = Counter(bool(a) for a in (await session.exec(
        select(col(ContentPublication.accepted)).where(at >= begin, at < finish))).all())
    total = period.total
    tables = [activity_by_month(period), people_by_month_and_dept(period, "physicians"),
              people_by_month_and_dept(period, "sessions"), activity_by_dept(total),
              procedures(total, labels), outcomes_by_dept(total, labels),
              abandons(total, labels), questions(total, labels), searches_by_kind(total),
              searches_by_dept(total), documents(total), victim_route(period),
              escalations(total), escalation_outcomes(total), content(labels, published),
              year_on_year(period, before)]
    by_name = {t.name: t for t in tables}
    if publish:
        for table in tables:
            suppress(table, threshold)
    if charts and not period.empty:
        add_charts(by_name)
    rounded = ""
    if period.aggregated:
        first, last = period.aggregated[0], period.aggregated[-1]
        rounded = (f"Les mois de {month_label(first)} à {month_label(last)} ne sont plus "
                   "conservés qu'en agrégats mensuels : pour eux, la période est arrondie aux "
                   "mois entiers, et les délais sont estimés par classes.")
    return Report(start, end, now or datetime.now(UTC), publish, threshold, by_name,
                  period.empty, rounded)


def _years_back(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - 1, day=28)


def csv_text(report: Report, table: Table) -> str:
    """One table as CSV: code, label, then the columns (comma, raw numbers)."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["code", table.key_header, *table.columns])
    for r, line in enumerate(table.all_lines()):
        writer.writerow([line.code, line.label, *(
            cell_text(table, r, c, report.threshold, for_csv=True)
            for c in range(len(table.columns)))])
    return handle.getvalue()


def write_csv(report: Report, out: Path) -> list[Path]:
    """One CSV file per table (UTF-8)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in report.tables.values():
        path = out / f"{table.name}.csv"
        path.write_text(csv_text(report, table), encoding="utf-8", newline="")
        written.append(path)
    return written


def render_html(report: Report) -> str:
    """The self-contained report: inline CSS and SVG, nothing fetched, A4 print rules."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("report", "templates"),
                      autoescape=select_autoescape(["html"]))

    def cells(table: Table) -> list[tuple[Line, list[tuple[str, str]]]]:
        rows = []
        for r, line in enumerate(table.all_lines()):
            rows.append((line, [(cell_text(table, r, c, report.threshold, for_csv=False),
                                 table.hidden.get((r, c), "")) for c in
                                range(len(table.columns))]))
        return rows

    return env.get_template("report.html").render(
        report=report, tables=list(report.tables.values()), cells=cells,
        start=format_date(report.start, "long", locale=LOCALE),
        end=format_date(report.end, "long", locale=LOCALE),
        generated=format_date(report.generated.date(), "long", locale=LOCALE))


def write_report(report: Report, out: Path) -> Path:
    write_csv(report, out)
    path = out / "rapport.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path
