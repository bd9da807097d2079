"""Load and validate knowledge entries (`knowledge/entries/*.md`) and `knowledge/links.yaml`.

Every finding names the file, the line and the field. Errors stop the snapshot from being
served; warnings (unlinked references, review notes, stale review dates) are listed for
the reviewers.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TypeGuard

from knowledge.model import (
    LEGIFRANCE_HOST,
    STATUSES,
    THEMES,
    Entry,
    KnowledgeBase,
    Link,
    Source,
    content_hash,
)
from knowledge.search import build_index
from vvs.content import ContentError
from vvs.yamlfile import LineDict, LineList, YamlSyntaxError, load_file, loads

SUBDIR = "knowledge/entries"
LINKS_FILE = "knowledge/links.yaml"
SUMMARY_MAX = 700
BODY_MAX = 2500
ID_MAX = 40  # "k:more:<id>" must fit in 64 bytes of callback data
REVIEW_MAX_AGE = timedelta(days=365)
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
REQUIRED = ("id", "title", "theme", "questions", "keywords", "summary", "sources", "related",
            "reviewed_on", "status")
OPTIONAL = ("validated_by", "review_notes", "title_en", "validated_role", "validated_on",
            "validated_hash")
VALIDATOR_ROLES = ("admin", "validator")
SOURCE_KEYS = ("ref", "url")
LINK_KEYS = ("url", "legiarti", "source", "note")
HASH_RE = re.compile(r"^[0-9a-f]{12}$")
LEGIARTI_RE = re.compile(r"^LEGIARTI\d{12}$")
LEGIFRANCE_PATTERN = "https://" + LEGIFRANCE_HOST + "/codes/article_lc/{}"


@dataclass
class _Ctx:
    """Where findings of one file go."""

    file: str
    findings: list[ContentError]

    def error(self, line: int | None, field: str | None, message: str) -> None:
        self.findings.append(ContentError(self.file, line, field, message))

    def warn(self, line: int | None, field: str | None, message: str) -> None:
        self.findings.append(ContentError(self.file, line, field, message, "warning"))


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, line of the body) or None when the `---` fences are missing."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]).strip(), i + 2
    return None


def legifrance_url(legiarti: str) -> str:
    """The one URL pattern of a Légifrance article, from its LEGIARTI identifier."""
    return LEGIFRANCE_PATTERN.format(legiarti)


def load_links(root: Path, findings: list[ContentError]) -> dict[str, Link]:
    """Read links.yaml (canonical ref → link); a missing file is a warning.

    A row is either a URL (a page that is not on Légifrance), or a table: `{url, note?}`,
    or `{legiarti, source, note?}` for a Légifrance link. The Légifrance URL is always built
    from the identifier with LEGIFRANCE_PATTERN, and the identifier must appear in `source`,
    the address of the cited page where it was read: an identifier is never guessed. Every
    Légifrance link is listed (warning) for a reviewer to open, since it cannot be opened
    when the content is written.
    """
    path = root / LINKS_FILE
    ctx = _Ctx(LINKS_FILE, findings)
    if not path.exists():
        ctx.warn(None, None, "fichier absent : aucune référence n'a de lien")
        return {}
    try:
        data = load_file(path)
    except YamlSyntaxError as exc:
        ctx.error(exc.line, None, f"YAML invalide : {exc}")
        return {}
    if data is None:
        return {}
    if not isinstance(data, LineDict):
        ctx.error(1, None, "doit être une table « référence : lien »")
        return {}
    links: dict[str, Link] = {}
    for ref, value in data.items():
        line = data.line_of(ref)
        if not isinstance(ref, str):
            ctx.error(line, str(ref), "la référence doit être du texte")
            continue
        link = _link(ctx, line, ref, value)
        if link is not None:
            links[ref] = link
    return links


def _is_url(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _link(ctx: _Ctx, line: int, ref: str, value: object) -> Link | None:
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        ctx.error(line, ref, "lien (texte) ou table {url, note} ou {legiarti, source, note} "
                  "attendu")
        return None
    for key in value:
        if key not in LINK_KEYS:
            ctx.error(line, f"{ref}.{key}", "champ inconnu")
    note = value.get("note")
    if note is not None and (not isinstance(note, str) or not note.strip()):
        ctx.error(line, f"{ref}.note", "texte non vide attendu")
        note = None
    note = note.strip() if isinstance(note, str) else None
    url, legiarti = value.get("url"), value.get("legiarti")
    if (url is None) == (legiarti is None):
        ctx.error(line, ref, "donner soit `url`, soit `legiarti` et `source`")
        return None
    if url is not None:
        if not _is_url(url):
            ctx.error(line, ref, f"lien invalide : {url!r}")
            return None
        if "legifrance" in url.lower():
            ctx.error(line, ref, "lien Légifrance écrit à la main : donner `legiarti` (lu dans "
                      "une source citée) et `source`, le lien est construit")
            return None
        return Link(url, note=note)
    return _legifrance_link(ctx, line, ref, legiarti, value.get("source"), note)


def _legifrance_link(ctx: _Ctx, line: int, ref: str, legiarti: object, source: object,
                     note: str | None) -> Link | None:
    if not isinstance(legiarti, str) or not LEGIARTI_RE.match(legiarti):
        ctx.error(line, f"{ref}.legiarti", f"identifiant invalide : {legiarti!r} "
                  "(attendu : LEGIARTI suivi de 12 chiffres)")
        return None
    if not _is_url(source) or "legifrance" in str(source).lower():
        ctx.error(line, f"{ref}.source", "adresse de la page citée où l'identifiant a été lu "
                  "attendue (pas Légifrance elle-même)")
        return None
    if legiarti not in source:
        ctx.error(line, f"{ref}.legiarti", f"{legiarti} n'apparaît pas dans la source citée "
                  f"{source} : ne jamais deviner un identifiant")
        return None
    url = legifrance_url(legiarti)
    ctx.warn(line, ref, f"lien Légifrance construit depuis {legiarti} (lu dans {source}) : "
             f"à ouvrir et revérifier : {url}")
    return Link(url, legiarti, source, note)


def _text(ctx: _Ctx, fm: LineDict, key: str, max_len: int | None = None) -> str | None:
    value = fm.get(key)
    if not isinstance(value, str) or not value.strip():
        ctx.error(fm.line_of(key), key, "texte non vide attendu")
        return None
    if max_len is not None and len(value.strip()) > max_len:
        ctx.error(fm.line_of(key), key,
                  f"trop long : {len(value.strip())} caractères (maximum {max_len})")
    return value.strip()


def _str_list(ctx: _Ctx, fm: LineDict, key: str, non_empty: bool) -> tuple[str, ...]:
    value = fm.get(key)
    if not isinstance(value, list):
        ctx.error(fm.line_of(key), key, "liste attendue")
        return ()
    lines = value.item_lines if isinstance(value, LineList) else [fm.line_of(key)] * len(value)
    out: list[str] = []
    for item, line in zip(value, lines, strict=True):
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)  # a bare number such as 3919 is a fine keyword
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
        else:
            ctx.error(line, key, f"élément non textuel ou vide : {item!r}")
    if non_empty and not value:
        ctx.error(fm.line_of(key), key, "liste vide")
    return tuple(out)


def _sources(ctx: _Ctx, fm: LineDict, links: Mapping[str, Link]) -> tuple[Source, ...]:
    value = fm.get("sources")
    if not isinstance(value, list) or not value:
        ctx.error(fm.line_of("sources"), "sources", "au moins une source est obligatoire")
        return ()
    out: list[Source] = []
    for item in value:
        source = _source(ctx, item, fm.line_of("sources"), links)
        if source is not None:
            out.append(source)
    return tuple(out)


def _source(ctx: _Ctx, item: object, default_line: int,
            links: Mapping[str, Link]) -> Source | None:
    line = item.line if isinstance(item, LineDict) else default_line
    if not isinstance(item, dict):
        ctx.error(line, "sources", "chaque source est une table {ref, url?}")
        return None
    for key in item:
        if key not in SOURCE_KEYS:
            ctx.error(item.line_of(key) if isinstance(item, LineDict) else line,
                      f"sources.{key}", "champ inconnu")
    ref, url = item.get("ref"), item.get("url")
    if not isinstance(ref, str) or not ref.strip():
        ctx.error(line, "sources.ref", "référence manquante")
        return None
    if url is not None and (not isinstance(url, str) or not url.startswith("http")):
        ctx.error(item.line_of("url") if isinstance(item, LineDict) else line, "sources.url",
                  f"lien invalide : {url!r}")
        url = None
    if isinstance(url, str) and "legifrance" in url.lower():
        ctx.error(item.line_of("url") if isinstance(item, LineDict) else line, "sources.url",
                  "lien Légifrance en ligne interdit : le mettre dans knowledge/links.yaml")
    link = links.get(ref.strip())
    if link is not None:
        return Source(ref.strip(), link.url, link.note, from_table=True)
    if url is None:
        ctx.warn(line, "sources.ref", f"référence sans lien, à vérifier : {ref.strip()}")
    return Source(ref.strip(), url)


def _reviewed_on(ctx: _Ctx, fm: LineDict, today: date) -> date | None:
    value = fm.get("reviewed_on")
    line = fm.line_of("reviewed_on")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if not isinstance(value, date):
        ctx.error(line, "reviewed_on", "date AAAA-MM-JJ attendue")
        return None
    if today - value > REVIEW_MAX_AGE:
        ctx.warn(line, "reviewed_on", f"relue le {value.isoformat()}, il y a plus d'un an : "
                 "à revoir")
    elif value > today:
        ctx.warn(line, "reviewed_on", f"date de relecture dans le futur : {value.isoformat()}")
    return value


def _status(ctx: _Ctx, fm: LineDict) -> tuple[str, str | None]:
    status, by = fm.get("status"), fm.get("validated_by")
    if status not in STATUSES:
        ctx.error(fm.line_of("status"), "status", f"valeur inconnue {status!r} "
                  f"(attendu : {', '.join(STATUSES)})")
        status = "draft"
    if by is not None and not isinstance(by, str):
        ctx.error(fm.line_of("validated_by"), "validated_by", "texte ou null attendu")
        by = None
    by = by.strip() if isinstance(by, str) and by.strip() else None
    if status == "validated" and by is None:
        ctx.error(fm.line_of("validated_by"), "validated_by",
                  "obligatoire (nom du relecteur) quand status est validated")
    return status, by


def _fields(ctx: _Ctx, fm: LineDict) -> None:
    for key in fm:
        if key not in REQUIRED and key not in OPTIONAL:
            ctx.error(fm.line_of(key), str(key), "champ inconnu")
    for key in REQUIRED:
        if key not in fm:
            ctx.error(fm.line, key, "champ obligatoire manquant")


@dataclass(frozen=True)
class Parsed:
    """One parsed file: the entry (None when unusable), the declared id and line numbers."""

    file: str
    entry: Entry | None
    declared_id: object = None  # as written in the file (checked by the caller)
    id_line: int = 1
    related_line: int | None = None


def parse_entry(path: Path, root: Path, links: Mapping[str, Link], today: date,
                findings: list[ContentError]) -> Parsed:
    """Parse one entry file and append its findings."""
    ctx = _Ctx(str(path.relative_to(root)), findings)
    parts = split_front_matter(path.read_text(encoding="utf-8"))
    if parts is None:
        ctx.error(1, None, "en-tête YAML manquant (entre deux lignes « --- »)")
        return Parsed(ctx.file, None)
    front, body, body_line = parts
    try:
        fm = loads(front, line_offset=1)
    except YamlSyntaxError as exc:
        ctx.error(exc.line, None, f"YAML invalide : {exc}")
        return Parsed(ctx.file, None)
    if not isinstance(fm, LineDict):
        ctx.error(2, None, "l'en-tête doit être une table de champs")
        return Parsed(ctx.file, None)
    entry = _build_entry(ctx, fm, path.stem, body, body_line, links, today)
    return Parsed(ctx.file, entry, fm.get("id"), fm.line_of("id"),
                  fm.line_of("related") if "related" in fm else None)


def _build_entry(ctx: _Ctx, fm: LineDict, stem: str, body: str, body_line: int,
                 links: Mapping[str, Link], today: date) -> Entry | None:
    count = len(ctx.findings)
    _fields(ctx, fm)
    entry_id = fm.get("id")
    if entry_id != stem:
        ctx.error(fm.line_of("id"), "id", f"{entry_id!r} différent du nom du fichier {stem!r}")
    if not ID_RE.match(stem) or len(stem) > ID_MAX:
        ctx.error(fm.line_of("id"), "id", f"identifiant invalide (a-z, 0-9, tirets, "
                  f"{ID_MAX} caractères au plus)")
    theme = fm.get("theme")
    if theme not in THEMES:
        ctx.error(fm.line_of("theme"), "theme", f"thème inconnu {theme!r} "
                  f"(attendu : {', '.join(THEMES)})")
    if len(body) > BODY_MAX:
        ctx.error(body_line, "details", f"texte trop long : {len(body)} caractères "
                  f"(maximum {BODY_MAX})")
    if not body:
        ctx.warn(body_line, "details", "texte détaillé vide")
    notes = fm.get("review_notes")
    if notes is not None and not isinstance(notes, str):
        ctx.error(fm.line_of("review_notes"), "review_notes", "texte attendu")
    elif notes:
        ctx.warn(fm.line_of("review_notes"), "review_notes", f"note de relecture : {notes}")
    status, by = _status(ctx, fm)
    title_en = _text(ctx, fm, "title_en") if "title_en" in fm else None
    if title_en is None:  # English users see the French title, with a notice
        ctx.warn(fm.line, "title_en", "titre anglais manquant")
    validated = _validation(ctx, fm)
    entry = Entry(
        id=stem, title=_text(ctx, fm, "title") or stem, title_en=title_en, theme=str(theme),
        questions=_str_list(ctx, fm, "questions", non_empty=True),
        keywords=_str_list(ctx, fm, "keywords", non_empty=False),
        summary=_text(ctx, fm, "summary", SUMMARY_MAX) or "", details=body,
        sources=_sources(ctx, fm, links), related=_str_list(ctx, fm, "related", False),
        reviewed_on=_reviewed_on(ctx, fm, today) or date.min, status=status,
        validated_by=by, review_notes=notes if isinstance(notes, str) else None,
        validated_role=validated[0], validated_on=validated[1], validated_hash=validated[2],
    )
    errors = [f for f in ctx.findings[count:] if f.severity == "error"]
    if errors:
        return None
    if entry.status == "validated" and entry.validated_hash is not None \
            and entry.validated_hash != content_hash(entry):
        # edited since it was validated: a draft again until someone validates this text
        ctx.warn(fm.line_of("validated_hash"), "validated_hash", "fiche modifiée depuis sa "
                 "validation : affichée comme brouillon jusqu'à une nouvelle validation")
        entry = replace(entry, status="draft")
    return entry


def _validation(ctx: _Ctx, fm: LineDict) -> tuple[str | None, date | None, str | None]:
    """(role, date, hash) of the validation, each optional; a wrong shape is an error."""
    role, on, digest = fm.get("validated_role"), fm.get("validated_on"), fm.get("validated_hash")
    if role is not None and role not in VALIDATOR_ROLES:
        ctx.error(fm.line_of("validated_role"), "validated_role", f"valeur inconnue {role!r} "
                  f"(attendu : {', '.join(VALIDATOR_ROLES)})")
        role = None
    if isinstance(on, str):
        with contextlib.suppress(ValueError):
            on = date.fromisoformat(on)
    if on is not None and not isinstance(on, date):
        ctx.error(fm.line_of("validated_on"), "validated_on", "date AAAA-MM-JJ attendue")
        on = None
    if digest is not None and not (isinstance(digest, str) and HASH_RE.match(digest)):
        ctx.error(fm.line_of("validated_hash"), "validated_hash",
                  "12 chiffres hexadécimaux attendus")
        digest = None
    return role, on, digest


def check_related(parsed: list[Parsed], entries: Mapping[str, Entry],
                  findings: list[ContentError]) -> None:
    """Every related id must name another existing entry."""
    # a file that failed to parse still names an entry: do not cascade into its referrers
    known = {Path(p.file).stem for p in parsed}
    for item in parsed:
        if item.entry is None:
            continue
        for rel in item.entry.related:
            if rel == item.entry.id:
                findings.append(ContentError(item.file, item.related_line, "related",
                                             "une fiche ne peut pas se citer elle-même"))
            elif rel not in entries and rel not in known:
                findings.append(ContentError(item.file, item.related_line, "related",
                                             f"fiche liée inconnue : {rel!r}"))


def check_duplicates(parsed: list[Parsed], findings: list[ContentError]) -> None:
    """Two files must not declare the same id."""
    seen: dict[str, str] = {}
    for item in parsed:
        if not isinstance(item.declared_id, str):
            continue
        if item.declared_id in seen:
            findings.append(ContentError(item.file, item.id_line, "id", "identifiant en "
                                         f"double : {item.declared_id} (déjà dans "
                                         f"{seen[item.declared_id]})"))
        else:
            seen[item.declared_id] = item.file


def load_knowledge(root: Path, today: date | None = None
                   ) -> tuple[KnowledgeBase, list[ContentError]]:
    """Parse every entry under `root/knowledge/entries`, check links, build the index."""
    today = today or date.today()
    findings: list[ContentError] = []
    links = load_links(root, findings)
    paths = sorted((root / SUBDIR).glob("*.md")) if (root / SUBDIR).is_dir() else []
    if not paths:
        findings.append(ContentError(SUBDIR, None, None, "aucune fiche trouvée"))
    parsed = [parse_entry(path, root, links, today, findings) for path in paths]
    check_duplicates(parsed, findings)
    entries = {p.entry.id: p.entry for p in parsed if p.entry is not None}
    check_related(parsed, entries, findings)
    frozen = MappingProxyType(dict(sorted(entries.items())))
    return KnowledgeBase(frozen, build_index(root, tuple(frozen.values()))), findings


class KnowledgeSet:
    """The knowledge entries as a content set of the registry (`vvs.content.ContentSet`)."""

    name = "knowledge"
    subdir = SUBDIR

    def __init__(self, today: date | None = None) -> None:
        self.today = today

    def load(self, root: Path, loaded: Mapping[str, object]
             ) -> tuple[KnowledgeBase, list[ContentError]]:
        """Parse and validate the entries; the snapshot is a `KnowledgeBase`."""
        return load_knowledge(root, self.today)


def check(root: Path, today: date | None = None) -> list[ContentError]:
    """Every finding on the knowledge files under `root` (for `vvs-admin knowledge check`)."""
    return load_knowledge(root, today)[1]
