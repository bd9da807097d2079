"""The content files as the console reads, checks, changes and versions them.

The files under CONTENT_DIR stay the source of truth: the console writes them (an admin who
prefers the files loses nothing) and keeps each version it replaced or wrote in
`content_revision`, so any earlier published version can be restored. A change is checked by
loading every content set on a staged copy (the very validation `/recharger` runs, errors
with file, line and field) before it touches the real files; publishing is the registry swap
of `/recharger` (`bot.content_service.publish`, in a worker thread).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from annuaire.loader import FIELDS as DIRECTORY_FIELDS
from bot.console.access import Operator, audit
from bot.console.models import ContentRevision
from bot.content_service import publish
from bot.services import Services
from knowledge.loader import LINKS_FILE, load_links, parse_entry
from knowledge.model import Entry
from vvs import yamlfile
from vvs.content import ContentError, ContentSet, load_all
from vvs.db import transaction

KNOWLEDGE_DIR, FLOWS_DIR, ANNUAIRE_DIR = "knowledge/entries", "bot/flows/data", "annuaire/data"
EDITABLE = re.compile(r"^(knowledge/entries/[a-z0-9-]+\.md|bot/flows/data/[a-z0-9_-]+\.yaml"
                      r"|annuaire/data/[a-z0-9_-]+\.yaml)$")
TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")
MAX_TEXT = 200_000


class Refused(Exception):
    """A change the console does not make: its findings, or a one-line reason."""

    def __init__(self, reason: str, findings: Sequence[ContentError] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.findings = tuple(findings)


def editable(path: str) -> bool:
    return bool(EDITABLE.match(path)) and ".." not in path


def may_edit(operator: Operator, path: str) -> bool:
    """Admins and validators edit every file (the commission reviews all content, as the
    directory's channel form lets them); a referent only the directory file of their own
    département."""
    if not editable(path):
        return False
    if path.startswith(ANNUAIRE_DIR + "/") and operator.keeps(Path(path).stem):
        return True
    return operator.validates


def read(root: Path, path: str) -> str:
    if not editable(path):
        raise Refused("fichier non modifiable depuis la console")
    file = root / path
    if not file.is_file():
        raise Refused(f"fichier introuvable : {path}")
    return file.read_text(encoding="utf-8")


def write(root: Path, path: str, text: str) -> None:
    """Replace the file in one rename, so a reader never sees half of it."""
    file = root / path
    tmp = file.with_name(f".{file.name}.console-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, file)


# -- validation on a staged copy ---------------------------------------------------------------
def stage(root: Path, sets: Sequence[ContentSet], changes: Mapping[str, str]
          ) -> list[ContentError]:
    """Every finding of the content with `changes` applied, the real files untouched."""
    with tempfile.TemporaryDirectory(prefix="vvs-console-") as tmp:
        staged = Path(tmp)
        for sub in [s.subdir for s in sets]:
            if (root / sub).is_dir():
                shutil.copytree(root / sub, staged / sub,
                                ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        if (root / LINKS_FILE).is_file():
            (staged / LINKS_FILE).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / LINKS_FILE, staged / LINKS_FILE)
        for path, text in changes.items():
            (staged / path).parent.mkdir(parents=True, exist_ok=True)
            (staged / path).write_text(text, encoding="utf-8")
        _snapshot, findings = load_all(staged, sets)
    return findings


def errors_of(findings: Sequence[ContentError]) -> list[ContentError]:
    return sorted(f for f in findings if f.severity == "error")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "ctx"
    text: str


def diff(old: str, new: str, path: str) -> list[DiffLine]:
    """A unified diff, line by line, for the page (empty when nothing changed)."""
    lines = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}",
                                     f"b/{path}", lineterm="", n=2):
        kind = ("hunk" if line.startswith("@@") else "ctx" if line.startswith(("---", "+++"))
                else "add" if line.startswith("+") else "del" if line.startswith("-")
                else "ctx")
        lines.append(DiffLine(kind, line))
    return lines


# -- front matter of a knowledge entry ---------------------------------------------------------
def yaml_scalar(value: object) -> str:
    """One YAML value on one line (a JSON string is a YAML double-quoted string)."""
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)


def _front_matter_lines(text: str) -> tuple[list[str], int]:
    """The entry's lines and the index of the line closing its front matter."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise Refused("en-tête YAML manquant")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise Refused("en-tête YAML non fermé")
    return lines, end


def set_front_matter(text: str, updates: Mapping[str, object]) -> str:
    """The entry with these top-level fields replaced (their whole block) or added at the end
    of the front matter; every other line is kept as it is."""
    lines, end = _front_matter_lines(text)
    front = lines[1:end]
    for key, value in updates.items():
        starts = [i for i, line in enumerate(front) if TOP_KEY.match(line)]
        mine = [i for i in starts if (m := TOP_KEY.match(front[i])) and m.group(1) == key]
        rendered = f"{key}: {yaml_scalar(value)}"
        if mine:
            start = mine[0]
            stop = next((i for i in starts if i > start), len(front))
            front[start:stop] = [rendered]
        else:
            front.append(rendered)
    return "\n".join([lines[0], *front, *lines[end:]])


def parse_knowledge(root: Path, path: str, text: str) -> Entry:
    """The entry this text of `path` holds (Refused with its findings if it does not load)."""
    findings: list[ContentError] = []
    links = load_links(root, [])
    with tempfile.TemporaryDirectory(prefix="vvs-entry-") as tmp:
        file = Path(tmp) / path
        file.parent.mkdir(parents=True)
        file.write_text(text, encoding="utf-8")
        parsed = parse_entry(file, Path(tmp), links, dt.date.today(), findings)
    if parsed.entry is None:
        raise Refused("fiche invalide", errors_of(findings))
    return parsed.entry


def validated_text(text: str, operator: Operator, today: dt.date, digest: str) -> str:
    return set_front_matter(text, {
        "status": "validated", "validated_by": operator.name, "validated_role": operator.role,
        "validated_on": today, "validated_hash": digest})


def rejected_text(text: str, operator: Operator, today: dt.date, note: str,
                  previous_notes: str | None) -> str:
    notes = f"Refusée le {today.isoformat()} par {operator.name} ({operator.role}) : {note}"
    if previous_notes:
        notes += f" — {previous_notes}"
    return set_front_matter(text, {
        "status": "draft", "validated_by": None, "validated_role": None, "validated_on": None,
        "validated_hash": None, "review_notes": notes})


def with_question(text: str, question: str, existing: Sequence[str]) -> str:
    """The entry with `question` added at the end of its `questions:` list; every other line
    is kept as it is (a block list gains one item line with the same indentation; another
    form of the field is rewritten as a block list). `existing` are the entry's questions,
    as loaded: a question already there (case and spaces aside) is refused."""
    question = " ".join(question.split())
    if not question:
        raise Refused("La question reformulée est vide.")
    if any(" ".join(q.split()).casefold() == question.casefold() for q in existing):
        raise Refused("Cette question figure déjà dans la fiche.")
    lines, end = _front_matter_lines(text)
    start = next((i for i in range(1, end) if lines[i].startswith("questions:")), None)
    if start is not None and lines[start].rstrip() == "questions:":
        stop = next((i for i in range(start + 1, end) if TOP_KEY.match(lines[i])), end)
        items = [i for i in range(start + 1, stop) if lines[i].lstrip().startswith("- ")]
        if items:
            last = lines[items[-1]]
            indent = last[: len(last) - len(last.lstrip())]
            after = items[-1] + 1
            while after < stop and lines[after].startswith(indent + " "):  # a folded item
                after += 1
            lines.insert(after, f"{indent}- {yaml_scalar(question)}")
            return "\n".join(lines)
    block = ["questions:", *(f"  - {yaml_scalar(q)}" for q in [*existing, question])]
    if start is None:
        lines[end:end] = block
    else:
        stop = next((i for i in range(start + 1, end) if TOP_KEY.match(lines[i])), end)
        lines[start:stop] = block
    return "\n".join(lines)


# -- directory files ---------------------------------------------------------------------------
# The loader's order of an entry's fields: a new `channels:` block goes before the first of
# those that follow it which the entry has (else at its end).
AFTER_CHANNELS = DIRECTORY_FIELDS[DIRECTORY_FIELDS.index("channels") + 1:]


def _directory_entry(text: str, entry_id: str
                     ) -> tuple[yamlfile.LineDict, int, yamlfile.LineDict]:
    """The parsed file, the index of the entry `entry_id` in its `entries:` and the entry."""
    try:
        data = yamlfile.loads(text)
    except yamlfile.YamlSyntaxError as exc:
        raise Refused(f"YAML invalide : {exc}") from None
    entries = data.get("entries") if isinstance(data, yamlfile.LineDict) else None
    found = next(((i, e) for i, e in enumerate(entries or ())
                  if isinstance(e, yamlfile.LineDict) and e.get("id") == entry_id), None)
    if found is None:
        raise Refused(f"entrée inconnue : {entry_id}")
    return data, found[0], found[1]


def _prefix(line: str) -> str:
    """The indentation of a key's line, with the `- ` of a list item."""
    return line[: len(line) - len(line.lstrip(" -"))]


def confirmed_directory_text(text: str, entry_id: str, today: dt.date) -> str:
    """The directory file with this entry marked verified today (its channels with it): only
    its `status` and `verified_on` lines change, the rest of the file stays as it was."""
    _data, _index, entry = _directory_entry(text, entry_id)
    lines = text.split("\n")
    indent = " " * len(_prefix(lines[entry.line_of("id") - 1]))
    for key, value in (("status", "verified"), ("verified_on", today.isoformat())):
        if key in entry:
            number = entry.line_of(key) - 1
            lines[number] = f"{_prefix(lines[number])}{key}: {value}"
        else:
            lines.insert(entry.line_of("id"), f"{indent}{key}: {value}")
    return "\n".join(lines)


def _plain(value: object) -> object:
    """Loaded YAML (LineDict, LineList) as plain dicts and lists, for yaml.safe_dump."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def directory_channels(text: str, entry_id: str) -> list[dict[str, object]]:
    """The entry's channels as written in the file (an item that is not a mapping: empty)."""
    _data, _index, entry = _directory_entry(text, entry_id)
    raw = entry.get("channels")
    if not isinstance(raw, list):
        return []
    return [{str(k): _plain(v) for k, v in c.items()} if isinstance(c, dict) else {}
            for c in raw]


def _entry_last_line(data: yamlfile.LineDict, index: int, lines: Sequence[str]) -> int:
    """The 1-based number of the entry's last line (comments and blank lines that follow it
    belong to what comes next)."""
    items: yamlfile.LineList = data["entries"]
    if index + 1 < len(items):
        after = items.item_lines[index + 1] - 1
    else:
        later = [n for n in data.key_lines.values() if n > data.line_of("entries")]
        after = min(later) - 1 if later else len(lines)
    return _trimmed(lines, items.item_lines[index], after)


def _trimmed(lines: Sequence[str], first: int, last: int) -> int:
    """`last`, moved up past blank and comment lines (never above `first`)."""
    while last > first and (not lines[last - 1].strip()
                            or lines[last - 1].lstrip().startswith("#")):
        last -= 1
    return last


def _yaml_lines(value: object, indent: str) -> list[str]:
    """`value` as yaml.safe_dump writes it (the directory files' style), indented."""
    dumped = yaml.safe_dump(_plain(value), allow_unicode=True, sort_keys=False, width=100)
    return [indent + line if line else line for line in dumped.rstrip("\n").split("\n")]


def _written_channels(entry: yamlfile.LineDict, lines: Sequence[str], start: int, stop: int
                      ) -> list[tuple[object, list[str]]]:
    """Each channel of the block (lines `start`..`stop`) with its lines as written; none when
    the list is not a block list under its key."""
    raw = entry.get("channels")
    if not isinstance(raw, yamlfile.LineList) or any(n <= start for n in raw.item_lines):
        return []
    ends = [n - 1 for n in raw.item_lines[1:]] + [stop]
    return [(_plain(item), list(lines[first - 1:end]))
            for item, first, end in zip(raw, raw.item_lines, ends, strict=True)]


def channels_text(text: str, entry_id: str, channels: Sequence[Mapping[str, object]]) -> str:
    """The directory file with this entry's `channels:` block replaced by `channels`; every
    other line of the file is kept as it was, and so is every channel left as it was (a
    changed or new one is rendered by yaml.safe_dump at the entry's indentation). An entry
    without `channels:` gains one, before the first field that follows it in the loader's
    order (else at the entry's end); without channels to write, it is left as it was."""
    data, index, entry = _directory_entry(text, entry_id)
    lines = text.split("\n")
    last = _entry_last_line(data, index, lines)
    if "channels" in entry:
        start = entry.line_of("channels")
        later = [n for n in entry.key_lines.values() if n > start]
        stop = _trimmed(lines, start, min(later) - 1 if later else last)
        prefix = _prefix(lines[start - 1])
        written = _written_channels(entry, lines, start, stop)
    elif not channels:
        return text
    else:
        following = [entry.line_of(k) for k in AFTER_CHANNELS if k in entry
                     and entry.line_of(k) != entry.line]
        start = min(following) if following else last + 1
        stop, written = start - 1, []
        prefix = " " * len(_prefix(lines[entry.line - 1]))
    block = [prefix + ("channels:" if channels else "channels: []")]
    for channel in channels:
        same = next((i for i, (old, _lines) in enumerate(written) if old == channel), None)
        block += (written.pop(same)[1] if same is not None
                  else _yaml_lines([channel], " " * len(prefix)))
    lines[start - 1:stop] = block
    return "\n".join(lines)


# -- publishing and versions -------------------------------------------------------------------
@dataclass
class Published:
    version: str | None
    warnings: list[ContentError] = field(default_factory=list)


async def publish_file(services: Services, lock: asyncio.Lock, operator: Operator, path: str,
                       text: str, action: str, detail: str | None = None) -> Published:
    """Check, write, publish (the registry swap of /recharger) and keep the version; on any
    refusal the file is left as it was and Refused is raised with the findings."""
    if len(text) > MAX_TEXT:
        raise Refused("texte trop long")
    text = text.replace("\r\n", "\n")
    root, sets = services.registry.root, services.registry.sets
    async with lock:  # one console publication at a time
        old = read(root, path)
        findings = await asyncio.to_thread(stage, root, sets, {path: text})
        if errors_of(findings):
            raise Refused("modification refusée", errors_of(findings))
        now = services.clock.now()
        async with transaction(services.sessions) as session:
            if not await _has_revisions(session, path):  # the version before the console's
                session.add(ContentRevision(path=path, text=old, created_at=now,
                                            author="(fichier)", role="", action="initial",
                                            version=services.content.version))
        write(root, path, text)
        result = await publish(services, actor_key=services.user_key(operator.telegram_id),
                               origin="console")
        if not result.ok:
            write(root, path, old)
            raise Refused("publication refusée", result.errors)
        async with transaction(services.sessions) as session:
            session.add(ContentRevision(path=path, text=text, created_at=now,
                                        author=operator.name[:80], role=operator.role,
                                        action=action, version=result.version))
            await audit(session, now, operator, action, path,
                        f"version {result.version}" + (f" ; {detail}" if detail else ""))
        return Published(result.version, [f for f in findings if f.severity == "warning"
                                          and f.file == path])


async def _has_revisions(session: AsyncSession, path: str) -> bool:
    return (await session.exec(select(ContentRevision.id).where(
        col(ContentRevision.path) == path).limit(1))).first() is not None


async def revisions(session: AsyncSession, path: str) -> list[ContentRevision]:
    return list(await session.exec(select(ContentRevision).where(
        col(ContentRevision.path) == path).order_by(col(ContentRevision.id).desc())))


async def revision(session: AsyncSession, revision_id: int) -> ContentRevision | None:
    return await session.get(ContentRevision, revision_id)
