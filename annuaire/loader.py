"""Load and validate `annuaire/data/*.yaml` into a `Directory` (a `vvs.content.ContentSet`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from annuaire.gazetteer import Gazetteer, default_gazetteer
from annuaire.model import (
    AUDIENCES,
    CHANNEL_TYPES,
    GEO_PRECISIONS,
    KINDS,
    SHORT_MAX,
    STATUSES,
    USES,
    Channel,
    Directory,
    Entry,
)
from vvs import yamlfile
from vvs.content import ContentError, Severity
from vvs.i18n import _

SUBDIR = "annuaire/data"
FIELDS = ("id", "name", "short", "kind", "aliases", "department", "serves", "commune", "postcode",
          "address", "channels", "website", "hours", "lat", "lon", "geo_precision",
          "audience", "source", "verified_on", "status", "notes", "caution")
TEXT_FIELDS = ("name", "short", "commune", "address", "website", "hours", "source", "notes",
               "postcode", "caution")
CHANNEL_FIELDS = ("type", "value", "uses", "instructions", "source", "source_date",
                  "verified_on", "hours", "notes")
# Fields replaced by `channels`: named in the error so an admin knows what to write instead.
FORMER_FIELDS = ("phone", "email")
# Internal notes belong in `notes`: physicians read names, addresses and instructions as they
# are written, so these markers are refused there.
_INTERNAL_NOTE = re.compile(r"localisation seulement|d[ée]pliant|mentionn[ée]e?s?,? à confirmer|"
                            r"\[U\]|\[S(?:-sec)?\]|à v[ée]rifier|à confirmer|non sourc|"
                            r"idf-directory|legal-(?:brief|review)", re.IGNORECASE)
_SOURCE_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_POSTCODE = re.compile(r"^\d{5}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:[/?#]\S*)?$")
_PHONE_SEPARATORS = re.compile(r"[ .\-\u00a0]")
# Metropolitan France and the overseas départements: (lat min, lat max, lon min, lon max).
FRANCE_BOXES = ((41.0, 51.5, -5.8, 10.0), (15.8, 16.6, -61.9, -60.9), (14.3, 15.0, -61.3, -60.7),
                (2.0, 6.0, -54.7, -51.5), (-21.5, -20.8, 55.1, 56.0), (-13.1, -12.5, 44.9, 45.4))
NO_ADDRESS_KINDS = frozenset({"ligne-nationale", "urgences"})


def valid_phone(phone: str) -> bool:
    """French numbers: 2–6 digit short numbers, 10 digits starting with 0, or +33 and 9."""
    if not phone:
        return False
    digits = _PHONE_SEPARATORS.sub("", phone)
    if digits.startswith("+33"):
        return len(digits) == 12 and digits[3:].isdigit() and digits[3] != "0"
    if not digits.isdigit():
        return False
    if digits[0] == "0":  # short numbers (15, 3919, 116 006) never start with 0
        return len(digits) == 10
    return 2 <= len(digits) <= 6


def in_france(lat: float, lon: float) -> bool:
    """True when a point lies in metropolitan France or an overseas département."""
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in FRANCE_BOXES)


def _blank(value: object, key: str, required: bool,
           error: Callable[[str | None, str], None]) -> bool:
    """True for a missing or empty value; a required one is reported."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            error(key, _("champ obligatoire manquant"))
        return True
    return False


class _Checker:
    """Validate one entry mapping; collect findings with file, line and field."""

    def __init__(self, file: str, raw: yamlfile.LineDict, gazetteer: Gazetteer) -> None:
        self.file, self.raw, self.gaz = file, raw, gazetteer
        self.findings: list[ContentError] = []

    def error(self, key: str | None, message: str, severity: Severity = "error") -> None:
        line = self.raw.line_of(key) if key else self.raw.line
        self.findings.append(ContentError(self.file, line, key, message, severity))

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if _blank(value, key, required, self.error):
            return None
        if isinstance(value, int | float) and key in ("postcode", "phone"):
            self.error(key, _("à écrire entre guillemets (texte), par ex. \"75015\""))
            return None
        if not isinstance(value, str):
            self.error(key, _("doit être un texte"))
            return None
        return value.strip()

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(key, _("doit être une liste de textes (codes entre guillemets)"))
            return ()
        return tuple(v.strip() for v in value)

    def entry(self) -> Entry | None:
        """The validated entry, or None when a blocking error was found."""
        for key in self.raw:
            if key in FORMER_FIELDS:
                self.error(key, _("champ remplacé par « channels » : une liste de canaux, "
                                  "chacun avec type, value, uses et source"))
            elif key not in FIELDS:
                self.error(key, _("champ inconnu (ignoré)"), "warning")
        values = {k: self.text(k, k in ("id", "name", "kind", "source", "status"))
                  for k in ("id", "name", "kind", "status", *TEXT_FIELDS[1:])}
        entry_id, kind, status = values["id"], values["kind"], values["status"]
        if entry_id and not _ID.match(entry_id):
            self.error("id", _("identifiant invalide : minuscules, chiffres et tirets"))
        if kind and kind not in KINDS:
            self.error("kind", _("type inconnu « {kind} » ; types possibles : {kinds}")
                       .format(kind=kind, kinds=", ".join(KINDS)))
        if status and status not in STATUSES:
            self.error("status", _("statut inconnu : verified ou to_verify"))
        department = self.department()
        serves = self.serves()
        self.formats(values)
        self.no_internal_notes(values)
        channels = self.channels()
        lat, lon = self.coordinates()
        audience = self.audience()
        verified_on = self.verified_on(status)
        if any(f.severity == "error" for f in self.findings):
            return None
        self.missing(values, kind or "")
        if status == "verified":  # verifying a fiche verifies the channels it lists
            channels = tuple(c if c.verified_on else replace(c, verified_on=verified_on)
                             for c in channels)
        return Entry(
            id=entry_id or "", name=values["name"] or "", short=values["short"], kind=kind or "",
            source=values["source"] or "", status=status or "to_verify",
            aliases=self.strings("aliases"), department=department, serves=serves,
            commune=values["commune"], postcode=values["postcode"], address=values["address"],
            channels=channels, website=values["website"],
            hours=values["hours"], lat=lat, lon=lon, geo_precision=self.raw.get("geo_precision"),
            audience=audience, verified_on=verified_on, notes=values["notes"],
            caution=values["caution"],
            file=self.file, line=self.raw.line)

    def department(self) -> str | None:
        value = self.raw.get("department")
        if value is None:
            return None
        if not isinstance(value, str) or value.upper() not in self.gaz.departements:
            self.error("department", _("département invalide « {value} » (texte, ex. \"93\")")
                       .format(value=value))
            return None
        return value.upper()

    def serves(self) -> tuple[str, ...]:
        codes = self.strings("serves")
        for code in codes:
            ok = (len(code) == 5 and self.gaz.by_code(code) is not None) or (
                len(code) in (2, 3) and code.upper() in self.gaz.departements)
            if not ok:
                self.error("serves", _("code inconnu « {code} » : code INSEE de commune (5 "
                                       "caractères) ou code de département").format(code=code))
        return tuple(c.upper() for c in codes)

    def formats(self, values: Mapping[str, str | None]) -> None:
        if values["website"] and not _URL.match(values["website"]):
            self.error("website", _("adresse web invalide (commencer par https://)"))
        if values["postcode"] and not _POSTCODE.match(values["postcode"]):
            self.error("postcode", _("code postal invalide (5 chiffres)"))
        precision = self.raw.get("geo_precision")
        if precision is not None and precision not in GEO_PRECISIONS:
            self.error("geo_precision", _("précision inconnue : address, commune ou vide"))

    def no_internal_notes(self, values: Mapping[str, str | None]) -> None:
        if values["short"] and len(values["short"]) > SHORT_MAX:
            self.error("short", _("nom court trop long : {n} caractères au plus")
                       .format(n=SHORT_MAX))
        for key in ("name", "short", "address", "commune", "hours", "caution"):
            if values[key] and _INTERNAL_NOTE.search(values[key] or ""):
                self.error(key, _("note interne dans un champ affiché aux médecins : "
                                  "la mettre dans « notes »"))

    def channels(self) -> tuple[Channel, ...]:
        raw = self.raw.get("channels")
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.error("channels", _("doit être une liste de canaux"))
            return ()
        lines = getattr(raw, "item_lines", [])
        found = []
        for index, item in enumerate(raw):
            line = lines[index] if index < len(lines) else self.raw.line_of("channels")
            channel = _ChannelChecker(self, item, line, index + 1).channel()
            if channel is not None:
                found.append(channel)
        return tuple(found)

    def coordinates(self) -> tuple[float | None, float | None]:
        lat, lon = self.raw.get("lat"), self.raw.get("lon")
        if lat is None and lon is None:
            return None, None
        if not (isinstance(lat, int | float) and isinstance(lon, int | float)
                and not isinstance(lat, bool) and not isinstance(lon, bool)):
            self.error("lat" if lat is None or not isinstance(lat, int | float) else "lon",
                       _("lat et lon vont ensemble et sont des nombres"))
            return None, None
        if not in_france(float(lat), float(lon)):
            self.error("lat", _("coordonnées hors de France ({lat}, {lon})")
                       .format(lat=lat, lon=lon))
            return None, None
        return float(lat), float(lon)

    def audience(self) -> tuple[str, ...]:
        values = self.strings("audience")
        for value in values:
            if value not in AUDIENCES:
                self.error("audience", _("public inconnu « {value} » : adults, minors, "
                                         "physicians").format(value=value))
        return values

    def verified_on(self, status: str | None) -> dt.date | None:
        value = self.raw.get("verified_on")
        date: dt.date | None = None
        if isinstance(value, dt.date):
            date = value
        elif isinstance(value, str):
            try:
                date = dt.date.fromisoformat(value)
            except ValueError:
                self.error("verified_on", _("date invalide (AAAA-MM-JJ)"))
        elif value is not None:
            self.error("verified_on", _("date invalide (AAAA-MM-JJ)"))
        if status == "verified" and date is None:
            self.error("status", _("status verified exige une date verified_on"))
        return date

    def missing(self, values: Mapping[str, str | None], kind: str) -> None:
        types = {c.get("type") for c in self.raw.get("channels") or () if isinstance(c, dict)}
        absent = [k for k in ("phone", "email") if k not in types]
        if kind not in NO_ADDRESS_KINDS and not values["address"]:
            absent.append("address")
        if absent:
            self.error(None, _("coordonnées à confirmer : {fields} manquant(s)")
                       .format(fields=", ".join(absent)), "warning")


class _ChannelChecker:
    """Validate one item of an entry's `channels`; errors name the item's own line."""

    def __init__(self, entry: _Checker, raw: object, line: int, number: int) -> None:
        self.entry, self.line, self.number = entry, line, number
        self.is_mapping = isinstance(raw, dict)
        self.raw: dict[Any, Any] = raw if isinstance(raw, dict) else {}

    def error(self, key: str | None, message: str) -> None:
        line = self.raw.line_of(key) if key and isinstance(self.raw, yamlfile.LineDict) \
            else self.line
        field = f"channels[{self.number}]" + (f".{key}" if key else "")
        self.entry.findings.append(ContentError(self.entry.file, line, field, message))

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if _blank(value, key, required, self.error):
            return None
        if not isinstance(value, str):
            self.error(key, _("doit être un texte (entre guillemets)"))
            return None
        return value.strip()

    def channel(self) -> Channel | None:
        if not self.is_mapping:
            self.error(None, _("chaque canal est un dictionnaire (type, value, uses, source)"))
            return None
        for key in self.raw:
            if key not in CHANNEL_FIELDS:
                self.error(key, _("champ inconnu ; champs possibles : {fields}")
                           .format(fields=", ".join(CHANNEL_FIELDS)))
        kind, value = self.text("type", True), self.text("value", True)
        source, instructions = self.text("source", True), self.text("instructions")
        source_date, hours = self.text("source_date"), self.text("hours")
        if kind and kind not in CHANNEL_TYPES:
            self.error("type", _("type de canal inconnu « {type} » : {types}")
                       .format(type=kind, types=", ".join(CHANNEL_TYPES)))
        if kind and value:
            self.value(kind, value)
        uses = self.uses()
        if source_date and not _SOURCE_DATE.match(source_date):
            self.error("source_date", _("date de la source invalide : AAAA, AAAA-MM ou "
                                        "AAAA-MM-JJ, entre guillemets"))
        if instructions and _INTERNAL_NOTE.search(instructions):
            self.error("instructions", _("note interne dans un champ affiché aux médecins : "
                                         "la mettre dans « notes »"))
        verified_on = self.verified_on()
        if not (kind and value and source and uses) or kind not in CHANNEL_TYPES:
            return None
        return Channel(type=kind, value=value, uses=uses, source=source,
                       instructions=instructions, source_date=source_date,
                       verified_on=verified_on, hours=hours, line=self.line)

    def value(self, kind: str, value: str) -> None:
        if kind == "phone" and not valid_phone(value):
            self.error("value", _("numéro invalide : numéro court (2 à 6 chiffres) ou "
                                  "10 chiffres (ex. 01 23 45 67 89)"))
        elif kind == "email" and not _EMAIL.match(value):
            self.error("value", _("adresse e-mail invalide"))
        elif kind == "web" and not _URL.match(value):
            self.error("value", _("adresse web invalide (commencer par https://)"))

    def uses(self) -> tuple[str, ...]:
        value = self.raw.get("uses")
        if not value:
            self.error("uses", _("canal sans usage : dites à quoi il sert ({uses})")
                       .format(uses=", ".join(USES)))
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error("uses", _("doit être une liste d'usages ({uses})")
                       .format(uses=", ".join(USES)))
            return ()
        unknown = [v for v in value if v not in USES]
        if unknown:
            self.error("uses", _("usage inconnu « {use} » ; usages possibles : {uses}")
                       .format(use=unknown[0], uses=", ".join(USES)))
            return ()
        return tuple(value)

    def verified_on(self) -> dt.date | None:
        value = self.raw.get("verified_on")
        if value is None or isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.error("verified_on", _("date invalide (AAAA-MM-JJ)"))
            return None


def parse_file(path: Path, root: Path, gazetteer: Gazetteer
               ) -> tuple[list[Entry], list[ContentError]]:
    """Entries and findings of one YAML file (`file` in findings is relative to `root`)."""
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        data = yamlfile.load_file(path)
    except yamlfile.YamlSyntaxError as exc:
        return [], [ContentError(rel, exc.line, None, _("YAML illisible : {e}").format(e=exc))]
    if not isinstance(data, yamlfile.LineDict) or not isinstance(data.get("entries"), list):
        return [], [ContentError(rel, 1, "entries", _("le fichier doit contenir « entries: » "
                                                      "suivi d'une liste"))]
    entries: list[Entry] = []
    findings: list[ContentError] = []
    items: yamlfile.LineList = data["entries"]
    for index, raw in enumerate(items):
        if not isinstance(raw, yamlfile.LineDict):
            line = items.item_lines[index] if hasattr(items, "item_lines") else None
            findings.append(ContentError(rel, line, None, _("chaque entrée est un dictionnaire")))
            continue
        checker = _Checker(rel, raw, gazetteer)
        entry = checker.entry()
        findings.extend(checker.findings)
        if entry:
            entries.append(entry)
    return entries, findings


def check_duplicates(entries: list[Entry]) -> list[ContentError]:
    """An error for every id, or short name, already used by an earlier entry (any file):
    buttons must tell entries apart."""
    findings = []
    for field in ("id", "short"):
        seen: dict[str, Entry] = {}
        for entry in entries:
            value = getattr(entry, field)
            first = seen.setdefault(value, entry) if value else entry
            if first is not entry:
                findings.append(ContentError(entry.file, entry.line, field, _(
                    "« {value} » déjà utilisé ({file}:{line})").format(
                        value=value, file=first.file, line=first.line)))
    return findings


def load_directory(root: Path, gazetteer: Gazetteer | None = None
                   ) -> tuple[Directory | None, list[ContentError]]:
    """Parse every `root/annuaire/data/*.yaml`; a Directory only when there is no error."""
    gaz = gazetteer or default_gazetteer()
    entries: list[Entry] = []
    findings: list[ContentError] = []
    for path in sorted((root / SUBDIR).glob("*.yaml")):
        found, errs = parse_file(path, root, gaz)
        entries.extend(found)
        findings.extend(errs)
    findings.extend(check_duplicates(entries))
    if any(f.severity == "error" for f in findings):
        return None, findings
    return Directory.of(entries), findings


class AnnuaireSet:
    """The directory as a content set of the registry."""

    name = "annuaire"
    subdir = SUBDIR

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self.gazetteer = gazetteer

    def load(self, root: Path, loaded: Mapping[str, object]
             ) -> tuple[Directory | None, list[ContentError]]:
        """Parse and validate the directory files; see `vvs.content.ContentSet`."""
        return load_directory(root, self.gazetteer)
