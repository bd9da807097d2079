"""Load and validate the flow files, twice: first their shape, then their graph.

Shape: unknown or missing fields, wrong types (with the line, from `vvs.yamlfile`), and the
English of every shown text (`en:` on each step and outcome, `title_en`): missing, not
matching the choices, or translating a French text that has since changed (its `source`
hash). Graph:
unknown links, unreachable steps, paths that never reach an outcome, outcomes without a
legal basis or citing unknown knowledge entries, unknown resolvers or documents. Every
error names the file and the step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from bot.flows.documents import DOCUMENT_KINDS
from bot.flows.model import (
    STEP_TYPES,
    Choice,
    English,
    Entry,
    Flow,
    Flows,
    French,
    Outcome,
    Step,
    Validation,
    french_hash,
)
from bot.flows.resolvers import RESOLVERS
from vvs import yamlfile
from vvs.content import ContentError, Severity, print_findings

log = logging.getLogger(__name__)
T = TypeVar("T")

SUBDIR = "bot/flows/data"
ROOT = Path(__file__).resolve().parents[2]
# Ids travel in callback data (`f:c:<step>:<n>`, 64 bytes at most): keep them short and plain.
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
FLOW_FIELDS = {"id", "title", "title_en", "en_validated", "category", "start", "steps",
               "outcomes", "menu", "report", "patient"}
VALIDATION_FIELDS = {"by", "date", "english"}
ENTRY_FIELDS = {"order", "label", "label_en"}
STEP_FIELDS = {"id", "type", "text", "choices", "next", "goto", "en"}
CHOICE_FIELDS = {"label", "next"}
OUTCOME_FIELDS = {"id", "title", "now", "addressee", "basis", "send", "write", "avoid",
                  "mention", "documents", "referent", "category", "en"}
# Documents that print the outcome's legal mention.
DRAFTS = {"signalement", "alerte-administrative", "ip"}
# A draft addressed to the CRIP only where the outcome's addressee is the CRIP: never for an
# adult (the CRIP handles minors only; legal-review #11).
IP_PURPOSE = "information-preoccupante"
MAX_LABEL = 60  # a button label; Telegram cuts longer ones
MAX_TEXT = 3000  # a Telegram message holds 4096 characters, the outcome adds addressees


class _Shape:
    """Shape checks for one file; collects findings."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[ContentError] = []

    def error(self, line: int | None, field: str | None, message: str,
              severity: Severity = "error") -> None:
        self.findings.append(ContentError(self.file, line, field, message, severity))

    def mapping(self, raw: object, where: str, line: int) -> yamlfile.LineDict | None:
        if not isinstance(raw, yamlfile.LineDict):
            self.error(line, None, f"{where} : un dictionnaire est attendu")
            return None
        return raw

    def unknown(self, raw: yamlfile.LineDict, allowed: set[str], where: str) -> None:
        for key in raw:
            if key not in allowed:
                self.error(raw.line_of(key), str(key), f"{where} : champ inconnu « {key} »")

    def text(self, raw: yamlfile.LineDict, key: str, where: str, required: bool = True,
             field: str | None = None) -> str:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(raw.line_of(key), field or key, f"{where} : texte manquant")
            return ""
        if not isinstance(value, str):
            self.error(raw.line_of(key), field or key, f"{where} : du texte est attendu")
            return ""
        return value.strip()

    def ident(self, raw: yamlfile.LineDict, key: str, where: str) -> str:
        value = self.text(raw, key, where)
        if value and not ID_RE.match(value):
            self.error(raw.line_of(key), key,
                       f"{where} : identifiant « {value} » invalide (a-z, 0-9, -, 40 max.)")
        return value

    def strings(self, raw: yamlfile.LineDict, key: str, where: str,
                field: str | None = None) -> tuple[str, ...]:
        value = raw.get(key, [])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(raw.line_of(key), field or key,
                       f"{where} : une liste de textes est attendue")
            return ()
        return tuple(value)

    def english(self, item: yamlfile.LineDict, where: str, french: French) -> English | None:
        """The `en:` of a step or outcome: every shown French field translated (no more), as
        many choice labels as choices, and `source` = the hash of the current French."""
        if "en" not in item:
            self.error(item.line, "en", f"{where} : traduction anglaise manquante (en)")
            return None
        en = self.mapping(item["en"], f"{where}, en", item.line_of("en"))
        if en is None:
            return None
        where = f"{where}, en"
        self.unknown(en, {"source", *french}, where)
        values: dict[str, Any] = {}
        for key, fr in french.items():
            if isinstance(fr, tuple):
                labels = self.strings(en, key, where, f"en.{key}")
                if len(labels) != len(fr) or not all(label.strip() for label in labels):
                    self.error(en.line_of(key), f"en.{key}", f"{where} : {len(fr)} libellé(s) "
                               f"attendu(s), dans l'ordre des choix ({len(labels)} trouvé(s))")
                values["labels"] = tuple(label.strip() for label in labels)
            elif fr:
                values[key] = self.text(en, key, where, field=f"en.{key}")
            elif key in en:
                self.error(en.line_of(key), f"en.{key}",
                           f"{where} : « {key} » n'a pas de texte français à traduire")
        expected = french_hash(french)
        source = self.text(en, "source", where, field="en.source")
        if source and source != expected:
            self.error(en.line_of("source"), "en.source", f"{where} : le texte français a "
                       f"changé depuis cette traduction (source {source}) : mettez l'anglais "
                       f"à jour, puis écrivez source: {expected}")
        return English(source=source or expected, **values)


def parse_flow(path: Path, root: Path) -> tuple[Flow | None, list[ContentError]]:
    """Parse one flow file and check its shape (not its graph)."""
    file = str(path.relative_to(root))
    shape = _Shape(file)
    try:
        raw = yamlfile.load_file(path)
    except yamlfile.YamlSyntaxError as exc:
        return None, [ContentError(file, exc.line, None, f"YAML invalide : {exc}")]
    top = shape.mapping(raw, "fichier", 1)
    if top is None:
        return None, shape.findings
    shape.unknown(top, FLOW_FIELDS, "parcours")
    flow_id = shape.ident(top, "id", "parcours")
    if flow_id and flow_id != path.stem:
        shape.error(top.line_of("id"), "id", f"parcours : l'id « {flow_id} » doit être "
                    f"le nom du fichier « {path.stem} »")
    category = shape.text(top, "category", "parcours")
    if category and not CATEGORY_RE.match(category):
        shape.error(top.line_of("category"), "category", "parcours : catégorie invalide")
    steps = _items(shape, top, "steps", _parse_step)
    outcomes = _items(shape, top, "outcomes", _parse_outcome)
    flow = Flow(id=flow_id, title=shape.text(top, "title", "parcours"),
                title_en=shape.text(top, "title_en", "parcours"), category=category,
                start=shape.text(top, "start", "parcours"),
                steps=MappingProxyType({s.id: s for s in steps}),
                outcomes=MappingProxyType({o.id: o for o in outcomes}), file=file,
                menu=_parse_entry(shape, top, "menu"), report=_parse_entry(shape, top, "report"),
                patient=_flag(shape, top, "patient", True, "parcours"))
    _duplicates(shape, steps, outcomes)
    return replace(flow, en_validated=_parse_validation(shape, top, flow)), shape.findings


def _parse_validation(shape: _Shape, top: yamlfile.LineDict, flow: Flow) -> Validation | None:
    """`en_validated: {by, date, english}`: who validated the English, when, and the hash of
    the English they read (`vvs-admin flows hash`); an English edited since is flagged."""
    if "en_validated" not in top:
        return None
    item = shape.mapping(top["en_validated"], "en_validated", top.line_of("en_validated"))
    if item is None:
        return None
    shape.unknown(item, VALIDATION_FIELDS, "en_validated")
    by = shape.text(item, "by", "en_validated", field="en_validated.by")
    date = item.get("date")
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            date = None
    if not isinstance(date, dt.date):
        shape.error(item.line_of("date"), "en_validated.date",
                    "en_validated : date AAAA-MM-JJ attendue")
    english = shape.text(item, "english", "en_validated", field="en_validated.english")
    if english and english != flow.english_hash():
        shape.error(item.line_of("english"), "en_validated.english", "en_validated : "
                    "l'anglais a changé depuis sa validation : faites-le valider à nouveau, "
                    f"puis écrivez english: {flow.english_hash()} (ou retirez en_validated)")
    if not (by and isinstance(date, dt.date) and english == flow.english_hash()):
        return None
    return Validation(by, date, english)


def _flag(shape: _Shape, item: yamlfile.LineDict, key: str, default: bool, where: str) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        shape.error(item.line_of(key), key, f"{where} : true ou false attendu")
        return default
    return value


def _items(shape: _Shape, top: yamlfile.LineDict, key: str,
           parse: Callable[[_Shape, object, int], T | None]) -> list[T]:
    value = top.get(key)
    if not isinstance(value, yamlfile.LineList) or not value:
        shape.error(top.line_of(key), key, f"parcours : liste « {key} » manquante ou vide")
        return []
    parsed = [parse(shape, item, line) for item, line in zip(value, value.item_lines,
                                                             strict=True)]
    return [p for p in parsed if p is not None]


ErrorSink = Callable[[int, str | None, str], None]  # line, field, message


def _parse_step(shape: _Shape, raw: object, line: int) -> Step | None:
    item = shape.mapping(raw, "étape", line)
    if item is None:
        return None
    step_id = shape.ident(item, "id", "étape")
    where = f"étape « {step_id or '?'} »"
    shape.unknown(item, STEP_FIELDS, where)
    kind = item.get("type", "choice")
    if kind not in STEP_TYPES:
        shape.error(item.line_of("type"), "type", f"{where} : type « {kind} » inconnu "
                    f"({', '.join(STEP_TYPES)})")
        return None
    if kind == "goto":
        if "en" in item:
            shape.error(item.line_of("en"), "en", f"{where} : un goto n'a rien à traduire")
        return _parse_goto(shape, item, step_id, where)
    text = shape.text(item, "text", where)
    if kind != "choice":
        step = Step(step_id, kind, text, next=shape.ident(item, "next", where), line=item.line)
    else:
        step = Step(step_id, kind, text, choices=_parse_choices(shape, item, where),
                    line=item.line)
    return replace(step, en=shape.english(item, where, step.french()))


def _parse_goto(shape: _Shape, item: yamlfile.LineDict, step_id: str, where: str) -> Step:
    target = shape.text(item, "goto", where)
    flow_id, _, to = target.partition("/")
    if target and not (ID_RE.match(flow_id) and ID_RE.match(to)):
        shape.error(item.line_of("goto"), "goto",
                    f"{where} : « goto » doit avoir la forme parcours/étape")
    return Step(step_id, "goto", goto=(flow_id, to), line=item.line)


def _parse_choices(shape: _Shape, item: yamlfile.LineDict, where: str) -> tuple[Choice, ...]:
    raw = item.get("choices")
    if not isinstance(raw, yamlfile.LineList) or not raw:
        shape.error(item.line_of("choices"), "choices", f"{where} : choix manquants")
        return ()
    choices = []
    for entry, line in zip(raw, raw.item_lines, strict=True):
        choice = shape.mapping(entry, f"{where}, choix", line)
        if choice is None:
            continue
        shape.unknown(choice, CHOICE_FIELDS, f"{where}, choix")
        choices.append(Choice(shape.text(choice, "label", f"{where}, choix"),
                              shape.ident(choice, "next", f"{where}, choix")))
    return tuple(choices)


def _parse_entry(shape: _Shape, top: yamlfile.LineDict, key: str) -> Entry | None:
    """`menu:` / `report:` — where the flow is offered: `order`, `label`, `label_en`."""
    if key not in top:
        return None
    item = shape.mapping(top[key], key, top.line_of(key))
    if item is None:
        return None
    shape.unknown(item, ENTRY_FIELDS, key)
    order = item.get("order")
    if not isinstance(order, int) or isinstance(order, bool):
        shape.error(item.line_of("order"), "order",
                    f"{key} : un nombre entier est attendu")
        order = 0
    label = shape.text(item, "label", key)
    if len(label) > MAX_LABEL:
        shape.error(item.line_of("label"), "label", f"{key} : libellé trop long "
                    f"({MAX_LABEL} caractères au plus)")
    return Entry(order, label, shape.text(item, "label_en", key))


def _parse_outcome(shape: _Shape, raw: object, line: int) -> Outcome | None:
    item = shape.mapping(raw, "issue", line)
    if item is None:
        return None
    out_id = shape.ident(item, "id", "issue")
    where = f"issue « {out_id or '?'} »"
    shape.unknown(item, OUTCOME_FIELDS, where)
    referent = _flag(shape, item, "referent", False, where)
    category = shape.text(item, "category", where, required=False) or None
    if category and not CATEGORY_RE.match(category):
        shape.error(item.line_of("category"), "category", f"{where} : catégorie invalide")
    outcome = Outcome(
        id=out_id, title=shape.text(item, "title", where), now=shape.text(item, "now", where),
        addressee=shape.text(item, "addressee", where),
        basis=shape.strings(item, "basis", where),
        send=shape.text(item, "send", where, required=False),
        write=shape.text(item, "write", where, required=False),
        avoid=shape.text(item, "avoid", where, required=False),
        mention=shape.text(item, "mention", where, required=False),
        documents=shape.strings(item, "documents", where), referent=referent,
        category=category, line=item.line)
    return replace(outcome, en=shape.english(item, where, outcome.french()))


def _duplicates(shape: _Shape, steps: list[Step], outcomes: list[Outcome]) -> None:
    seen: set[str] = set()
    nodes: list[Step | Outcome] = [*steps, *outcomes]
    for node in nodes:
        if node.id in seen:
            shape.error(node.line, "id", f"identifiant « {node.id} » en double")
        seen.add(node.id)


# -- graph ---------------------------------------------------------------------------------
def check_graph(flow: Flow, flows: Mapping[str, Flow],
                known_ids: set[str] | None) -> list[ContentError]:
    """Links, reachability, dead ends, legal basis, resolvers and documents of one flow."""
    errors: list[ContentError] = []

    def err(line: int, field: str | None, message: str) -> None:
        errors.append(ContentError(flow.file, line, field, message))

    if flow.start not in flow.steps:
        err(1, "start", f"parcours : étape de départ « {flow.start} » inconnue")
    for step in flow.steps.values():
        for target in step.links():
            if flow.node(target) is None:
                err(step.line, "next", f"étape « {step.id} » : lien vers « {target} » inconnu")
        if step.goto:
            _check_goto(step, flows, err)
    reachable = _reachable(flow)
    nodes: list[Step | Outcome] = [*flow.steps.values(), *flow.outcomes.values()]
    for node in nodes:
        if node.id not in reachable:
            kind = "issue" if isinstance(node, Outcome) else "étape"
            err(node.line, "id", f"{kind} « {node.id} » inaccessible depuis « {flow.start} »")
    ending = _can_end(flow)
    for step in flow.steps.values():
        if step.id in reachable and step.id not in ending:
            err(step.line, "next", f"étape « {step.id} » : aucun chemin ne mène à une issue "
                "(boucle sans sortie)")
    for outcome in flow.outcomes.values():
        _check_outcome(outcome, known_ids, err)
    return errors


def _check_goto(step: Step, flows: Mapping[str, Flow], err: ErrorSink) -> None:
    flow_id, target = step.goto or ("", "")
    other = flows.get(flow_id)
    if other is None:
        err(step.line, "goto", f"étape « {step.id} » : parcours « {flow_id} » inconnu")
    elif target not in other.steps:
        err(step.line, "goto", f"étape « {step.id} » : étape « {target} » inconnue dans "
            f"le parcours « {flow_id} »")
    elif other.steps[target].type == "goto":
        err(step.line, "goto", f"étape « {step.id} » : un « goto » ne peut viser un autre goto")


def _check_outcome(outcome: Outcome, known_ids: set[str] | None, err: ErrorSink) -> None:
    where = f"issue « {outcome.id} »"
    if not outcome.basis:
        err(outcome.line, "basis", f"{where} : base légale manquante (basis)")
    if known_ids is not None:
        for entry_id in outcome.basis:
            if entry_id not in known_ids:
                err(outcome.line, "basis", f"{where} : fiche de connaissance « {entry_id} » "
                    "inconnue")
    if outcome.addressee not in RESOLVERS:
        err(outcome.line, "addressee", f"{where} : fonction de destinataire "
            f"« {outcome.addressee} » inconnue ({', '.join(sorted(RESOLVERS))})")
    for kind in outcome.documents:
        if kind not in DOCUMENT_KINDS:
            err(outcome.line, "documents", f"{where} : document « {kind} » inconnu "
                f"({', '.join(DOCUMENT_KINDS)})")
        elif kind in DRAFTS and not outcome.mention:
            err(outcome.line, "mention", f"{where} : le modèle « {kind} » exige une mention "
                "légale (mention)")
        elif kind == "ip" and outcome.addressee in RESOLVERS \
                and IP_PURPOSE not in RESOLVERS[outcome.addressee].purposes:
            err(outcome.line, "documents", f"{where} : le modèle d'information préoccupante "
                "ne va qu'à la CRIP, pour un mineur (destinataire sans CRIP)")
    for shown in (outcome, outcome.shown_in("en")):
        if len(shown.now) + len(shown.send) + len(shown.write) + len(shown.avoid) > MAX_TEXT:
            err(outcome.line, "now", f"{where} : texte trop long pour un message")
            break


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or flow.node(node_id) is None:
            continue
        seen.add(node_id)
        node = flow.node(node_id)
        if isinstance(node, Step):
            todo.extend(node.links())
    return seen


def _can_end(flow: Flow) -> set[str]:
    """Nodes from which some path reaches an outcome or a jump to another flow."""
    ending = set(flow.outcomes) | {s.id for s in flow.steps.values() if s.type == "goto"}
    changed = True
    while changed:
        changed = False
        for step in flow.steps.values():
            if step.id not in ending and any(t in ending for t in step.links()):
                ending.add(step.id)
                changed = True
    return ending


# -- content set ---------------------------------------------------------------------------
def knowledge_ids(knowledge: object) -> set[str] | None:
    """The entry ids of a knowledge snapshot, or None when they cannot be known."""
    entries = getattr(knowledge, "entries", None)
    if isinstance(entries, Mapping):
        return set(entries)
    if isinstance(entries, Iterable):
        return {str(getattr(e, "id", e)) for e in entries}
    return None


def load_flows(root: Path, knowledge: object = None
               ) -> tuple[Flows | None, list[ContentError]]:
    """Parse every flow file under `root/SUBDIR`, then check the graphs."""
    findings: list[ContentError] = []
    flows: dict[str, Flow] = {}
    for path in sorted((root / SUBDIR).glob("*.yaml")):
        flow, errs = parse_flow(path, root)
        findings.extend(errs)
        if flow is not None and flow.id:
            flows[flow.id] = flow
    if not flows:
        findings.append(ContentError(SUBDIR, None, None, "aucun parcours trouvé"))
    known = knowledge_ids(knowledge)
    if known is None:
        findings.append(ContentError(SUBDIR, None, "basis", "fiches de connaissance "
                                     "indisponibles : bases légales non vérifiées", "warning"))
    for flow in flows.values():
        findings.extend(check_graph(flow, flows, known))
    return Flows(MappingProxyType(flows)), findings


def outcome_purposes(root: Path) -> dict[str, tuple[str, ...]]:
    """"flow/outcome" → the directory purposes its addressee needs (for the directory's gap
    report: which outcomes a missing channel leaves without an addressee)."""
    flows, _findings = load_flows(root)
    if flows is None:
        return {}
    return {f"{flow.id}/{outcome.id}": RESOLVERS[outcome.addressee].purposes
            for flow in flows.flows.values() for outcome in flow.outcomes.values()
            if outcome.addressee in RESOLVERS}


class FlowSet:
    """The flows as a content set of the registry (`vvs.content.ContentSet`)."""

    name = "flows"
    subdir = SUBDIR

    def load(self, root: Path, loaded: Mapping[str, object]
             ) -> tuple[Flows | None, list[ContentError]]:
        """Parse and validate the flow files against the knowledge snapshot."""
        return load_flows(root, loaded.get("knowledge"))


# -- graph rendering -----------------------------------------------------------------------
def _mid(flow_id: str, node_id: str) -> str:
    return f"{flow_id}_{node_id}".replace("-", "_")


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def graph_mermaid(flow: Flow) -> str:
    """The flow as a Mermaid flowchart (committed under docs/flows/<flow>.mmd)."""
    lines = ["flowchart TD", f"    %% {flow.id} : {flow.title} "
             f"(vvs-admin flows graph {flow.id})"]
    shapes = {"choice": ("{", "}"), "info": ("[", "]"), "department": ("[/", "/]"),
              "goto": ("[[", "]]")}
    for step in flow.steps.values():
        left, right = shapes[step.type]
        name = f"{step.id} → {'/'.join(step.goto)}" if step.goto else step.id
        lines.append(f"    {_mid(flow.id, step.id)}{left}{_label(name)}{right}")
    for outcome in flow.outcomes.values():
        lines.append(f"    {_mid(flow.id, outcome.id)}([{_label(outcome.id)}])")
    for step in flow.steps.values():
        src = _mid(flow.id, step.id)
        if step.type == "choice":
            lines += [f"    {src} -->|{_label(c.label)}| {_mid(flow.id, c.next)}"
                      for c in step.choices]
        elif step.goto:
            lines.append(f"    {src} -.-> {_mid(*step.goto)}")
        elif step.next:
            lines.append(f"    {src} --> {_mid(flow.id, step.next)}")
    return "\n".join(lines) + "\n"


# -- vvs-admin flows -----------------------------------------------------------------------
def _knowledge_snapshot(root: Path) -> object:
    try:
        from knowledge.loader import KnowledgeSet
    except ImportError:
        return None
    try:
        snapshot, _findings = KnowledgeSet().load(root, MappingProxyType({}))
    except Exception:  # the knowledge set reports its own errors; flows are checked anyway
        log.exception("knowledge entries could not be loaded")
        return None
    return snapshot


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the flow files against the knowledge entries."""
    root = Path(getattr(args, "content_dir", None) or ROOT)
    _flows, findings = load_flows(root, _knowledge_snapshot(root))
    return print_findings(findings)


def cmd_graph(args: argparse.Namespace) -> int:
    """Print one flow as a Mermaid flowchart."""
    root = Path(getattr(args, "content_dir", None) or ROOT)
    flows, _findings = load_flows(root, None)
    flow = flows.get(args.flow) if flows else None
    if flow is None:
        print(f"parcours inconnu : {args.flow}", file=sys.stderr)
        return 1
    text = graph_mermaid(flow)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def hash_lines(flow: Flow) -> list[str]:
    """One line per translated step or outcome: where, its `source`, and whether it still
    matches the French (else the hash to write once the English is updated); then the
    flow's `en_validated.english`."""
    lines = []
    nodes: list[Step | Outcome] = [*flow.steps.values(), *flow.outcomes.values()]
    for node in nodes:
        if isinstance(node, Step) and node.type == "goto":
            continue
        expected = french_hash(node.french())
        recorded = node.en.source if node.en else "—"
        status = "à jour" if recorded == expected else f"à traduire de nouveau → {expected}"
        lines.append(f"{flow.file}:{node.line} {node.id} source: {recorded} {status}")
    validated = (f"validé par {flow.en_validated.by} le {flow.en_validated.date.isoformat()}"
                 if flow.en_validated else "non validé")
    lines.append(f"{flow.file} en_validated.english: {flow.english_hash()} (anglais {validated})")
    return lines


def cmd_hash(args: argparse.Namespace) -> int:
    """Print the `source` hash of every translated text, and the flow's English hash."""
    root = Path(getattr(args, "content_dir", None) or ROOT)
    flows, _findings = load_flows(root, None)
    chosen = [f for f in (flows.flows.values() if flows else ())
              if not args.flow or f.id == args.flow]
    if not chosen:
        print(f"parcours inconnu : {args.flow}", file=sys.stderr)
        return 1
    for flow in chosen:
        print("\n".join(hash_lines(flow)))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `vvs-admin flows check`, `vvs-admin flows graph FLOW`, `vvs-admin flows hash`."""
    group = subparsers.add_parser("flows", help="parcours guidés : check, graph, hash")
    inner = group.add_subparsers(dest="cmd", required=True)
    inner.add_parser("check", help="valider les parcours").set_defaults(func=cmd_check)
    hashes = inner.add_parser("hash", help="empreintes du français traduit (source) et de "
                              "l'anglais (en_validated.english)")
    hashes.add_argument("flow", nargs="?", help="un seul parcours (défaut : tous)")
    hashes.set_defaults(func=cmd_hash)
    graph = inner.add_parser("graph", help="graphe Mermaid d'un parcours")
    graph.add_argument("flow", help="identifiant du parcours (majeur, mineur, ip, victime)")
    graph.add_argument("-o", "--output", help="fichier de sortie (défaut : sortie standard)")
    graph.set_defaults(func=cmd_graph)
