"""The console's aiohttp routes, mounted under /console on the bot's own server.

Every page needs a session, except the confirmation page of a link (`/login`) and the page
saying how to get one; every POST carries the session's CSRF token. Pages are Jinja2
templates (autoescaped), readable on a phone, with no script at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from annuaire.admin import coverage_grid
from annuaire.model import CHANNEL_TYPES, USES
from annuaire.model import Entry as DirectoryEntry
from annuaire.purposes import PURPOSES
from bot.console import access, channel_form, files
from bot.console.access import Keys, Operator
from bot.console.models import ADMIN, REFERENT
from bot.services import Services
from escalation.figures import escalation_figures
from escalation.texts import CATEGORIES, REGIONAL
from knowledge import queue as editors_queue
from knowledge.model import THEMES, Entry, content_hash
from knowledge.render import render_details, render_entry
from report.annual import Report, build_report, csv_text, labels_of, minutes_fr, render_html
from vvs.db import transaction
from vvs.departements import IDF_DEPARTMENT_NAMES, IDF_DEPARTMENTS
from vvs.identity import KIND_LABELS
from vvs.settings import Settings
from vvs.stats import whole_days

log = logging.getLogger(__name__)

COOKIE = "vvs_console"
TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
PUBLIC = ("/login", "/static/console.css")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs from the settings, resolved once."""

    base_url: str  # e.g. https://bot.example.org/console
    secure: bool  # cookies get Secure (https)
    lifetime: timedelta
    audit_retention: timedelta
    keys: Keys

    @classmethod
    def from_settings(cls, settings: Settings, pseudonym_key: bytes) -> ConsoleConfig | None:
        """None when the console must not start (its URL is http outside loopback)."""
        if settings.console_problem():
            return None
        url = settings.resolved_console_url()
        return cls(url, url.startswith("https://"),
                   timedelta(hours=settings.console_session_hours),
                   timedelta(days=settings.console_audit_retention_days),
                   Keys.derive(pseudonym_key))

    def link(self, token: str) -> str:
        return f"{self.base_url}/login?t={token}"


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
CONFIG: web.AppKey[ConsoleConfig] = web.AppKey("config", ConsoleConfig)
ENV: web.AppKey[jinja2.Environment] = web.AppKey("env", jinja2.Environment)
LOCK: web.AppKey[asyncio.Lock] = web.AppKey("lock", asyncio.Lock)
OPERATOR: web.RequestKey[Operator] = web.RequestKey("operator", Operator)
CSRF: web.RequestKey[str] = web.RequestKey("csrf", str)

STATE_LABELS = {"verified": "vérifié", "to_verify": "à vérifier", "dated": "daté",
                "missing": "manquant"}


# -- plumbing --------------------------------------------------------------------------------
def page(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    """Render a template with the operator, the CSRF token and the base path."""
    env = request.app[ENV]
    text = env.get_template(template).render(
        operator=request.get(OPERATOR), csrf=request.get(CSRF, ""), base=_base(request),
        **values)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _base(request: web.Request) -> str:
    """The mount point as the browser sees it (/console)."""
    return request.app.router["home"].url_for().path.rstrip("/")


def how_to(request: web.Request, status: int = 403) -> web.Response:
    """Anyone without a session (or with a used, expired or forged link) gets only this."""
    return page(request, "how_to.html", status=status)


def refuse(request: web.Request, reason: str) -> web.Response:
    return page(request, "refused.html", status=403, reason=reason)


def see_other(request: web.Request, path: str) -> web.HTTPSeeOther:
    """A redirect after a POST (raise it)."""
    return web.HTTPSeeOther(_base(request) + path)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on everything; a session on every page but the public ones; the
    CSRF token on every POST."""
    response = await _guarded(request, handler)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.update({
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
        "Cache-Control": "no-store"})
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    services = request.app[SERVICES]
    relative = request.path.removeprefix(_base(request)) or "/"
    async with services.sessions() as session:
        found = await access.current(session, services.clock.now(),
                                     request.cookies.get(COOKIE), services.settings.admin_ids)
    if found is not None:
        request[OPERATOR], request[CSRF] = found
    if relative in PUBLIC:
        return await handler(request)
    if found is None:
        return how_to(request)
    if request.method == "POST":
        form = await request.post()
        given = str(form.get("csrf", ""))
        if not given or not hmac.compare_digest(given.encode(), found[1].encode()):
            return refuse(request, "Jeton de formulaire absent ou invalide : rechargez la "
                                   "page et recommencez.")
    try:
        return await handler(request)
    except files.Refused as exc:
        return page(request, "refused.html", status=422, reason=exc.reason,
                    findings=exc.findings)


def operator_of(request: web.Request) -> Operator:
    return request[OPERATOR]


async def _audit(request: web.Request, action: str, target: str = "",
                 detail: str | None = None) -> None:
    services = request.app[SERVICES]
    async with transaction(services.sessions) as session:
        await access.audit(session, services.clock.now(), operator_of(request), action,
                           target, detail)


# -- access ----------------------------------------------------------------------------------
async def login_page(request: web.Request) -> web.Response:
    """The link's page: a button that opens the session (a GET consumes nothing)."""
    services, config = request.app[SERVICES], request.app[CONFIG]
    token = request.query.get("t", "")
    async with services.sessions() as session:
        link = await access.pending_link(session, config.keys, services.clock.now(), token)
    if link is None:
        return how_to(request)
    return page(request, "login.html", token=token, form_token=config.keys.form_token(token))


async def login(request: web.Request) -> web.Response:
    """Consume the link and open the session (cookie HttpOnly, SameSite=Strict)."""
    services, config = request.app[SERVICES], request.app[CONFIG]
    form = await request.post()
    token = str(form.get("t", ""))
    given = str(form.get("csrf", ""))
    if not token or not hmac.compare_digest(given.encode(),
                                            config.keys.form_token(token).encode()):
        return how_to(request)
    now = services.clock.now()
    async with transaction(services.sessions) as session:
        opened = await access.open_session(session, config.keys, now, token,
                                           services.settings.admin_ids, config.lifetime)
        if opened is not None:
            await access.audit(session, now, opened.operator, "connexion")
            await access.purge(session, now, config.audit_retention)
    if opened is None:
        return how_to(request)
    response = web.HTTPSeeOther(_base(request) + "/")
    response.set_cookie(COOKIE, opened.token, max_age=int(config.lifetime.total_seconds()),
                        path=_base(request) + "/", httponly=True, samesite="Strict",
                        secure=config.secure)
    raise response


async def logout(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await _audit(request, "déconnexion")
    async with transaction(services.sessions) as session:
        await access.close_session(session, request.cookies.get(COOKIE, ""))
    response = web.HTTPSeeOther(_base(request) + "/")
    response.del_cookie(COOKIE, path=_base(request) + "/")
    raise response


async def stylesheet(request: web.Request) -> web.FileResponse:
    return web.FileResponse(TEMPLATES / "console.css")


async def home(request: web.Request) -> web.Response:
    waiting = None
    if operator_of(request).validates:  # the editors' queue, for the commission
        async with request.app[SERVICES].sessions() as session:
            waiting = await editors_queue.count(session)
    return page(request, "home.html", waiting=waiting)


# -- content ---------------------------------------------------------------------------------
def _need_validator(request: web.Request) -> None:
    if not operator_of(request).validates:
        raise web.HTTPForbidden(text="réservé aux administrateurs et aux validateurs")


async def content_list(request: web.Request) -> web.Response:
    """Every knowledge entry, flow and directory file with its status and dates."""
    _need_validator(request)
    snapshot = request.app[SERVICES].content
    entries = sorted(snapshot["knowledge"].entries.values(), key=lambda e: (e.theme, e.id))
    flows = sorted(snapshot["flows"].flows.values(), key=lambda f: f.id)
    directory: dict[str, list[Any]] = {}
    for entry in snapshot["annuaire"].entries:
        directory.setdefault(Path(entry.file).name, []).append(entry)
    return page(request, "content.html", entries=entries, flows=flows, themes=THEMES,
                directory=sorted(directory.items()),
                drafts=sum(1 for e in entries if e.is_draft))


def _telegram_html(text: str) -> Markup:
    """The bot's Telegram HTML (escaped by the renderer: b, i, a, code) for a page."""
    return Markup(text.replace("\n", "<br>\n"))


async def entry_page(request: web.Request) -> web.Response:
    """An entry rendered as a physician sees it, its sources, validation and versions."""
    _need_validator(request)
    services = request.app[SERVICES]
    entry_id = request.match_info["entry"]
    kb = services.content["knowledge"]
    entry = kb.get(entry_id)
    if entry is None:
        raise web.HTTPNotFound(text="fiche inconnue")
    path = f"{files.KNOWLEDGE_DIR}/{entry_id}.md"
    async with services.sessions() as session:
        versions = await files.revisions(session, path)
    return page(request, "entry.html", entry=entry, path=path, digest=content_hash(entry),
                card=_telegram_html(render_entry(entry).text),
                details=_telegram_html(render_details(kb, entry).text), versions=versions,
                theme=THEMES.get(entry.theme, entry.theme))


async def _entry_on_disk(request: web.Request) -> tuple[str, str, Any]:
    services = request.app[SERVICES]
    entry_id = request.match_info["entry"]
    path = f"{files.KNOWLEDGE_DIR}/{entry_id}.md"
    text = files.read(services.registry.root, path)
    return path, text, files.parse_knowledge(services.registry.root, path, text)


async def validate_entry(request: web.Request) -> web.Response:
    """Validate what the validator read: refused if the file changed since the page."""
    _need_validator(request)
    services, form = request.app[SERVICES], await request.post()
    path, text, entry = await _entry_on_disk(request)
    digest = content_hash(entry)
    if str(form.get("digest", "")) != digest:
        raise files.Refused("La fiche a changé depuis l'ouverture de la page : relisez-la.")
    new = files.validated_text(text, operator_of(request), services.clock.now().date(), digest)
    await files.publish_file(services, request.app[LOCK], operator_of(request), path, new,
                             "validation", f"empreinte {digest}")
    raise see_other(request, f"/fiches/{entry.id}")


async def reject_entry(request: web.Request) -> web.Response:
    """Back to draft, with the rejection note in `review_notes`."""
    _need_validator(request)
    services, form = request.app[SERVICES], await request.post()
    note = " ".join(str(form.get("note", "")).split())[:400]
    if not note:
        raise files.Refused("Une note est obligatoire pour refuser une fiche.")
    path, text, entry = await _entry_on_disk(request)
    new = files.rejected_text(text, operator_of(request), services.clock.now().date(), note,
                              entry.review_notes)
    await files.publish_file(services, request.app[LOCK], operator_of(request), path, new,
                             "refus", note)
    raise see_other(request, f"/fiches/{entry.id}")


# -- editing any file ------------------------------------------------------------------------
def _editable_path(request: web.Request, path: str) -> str:
    if not files.may_edit(operator_of(request), path):
        raise web.HTTPForbidden(text="ce fichier ne vous est pas ouvert")
    return path


async def edit_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    path = _editable_path(request, request.query.get("path", ""))
    text = files.read(services.registry.root, path)
    async with services.sessions() as session:
        versions = await files.revisions(session, path)
    return page(request, "edit.html", path=path, text=text, versions=versions)


async def edit_submit(request: web.Request) -> web.Response:
    """`preview`: the same validation as the files and a diff; `publish`: write and swap."""
    services, form = request.app[SERVICES], await request.post()
    path = _editable_path(request, str(form.get("path", "")))
    text = str(form.get("text", "")).replace("\r\n", "\n")
    current = files.read(services.registry.root, path)
    if form.get("action") == "publish":
        published = await files.publish_file(services, request.app[LOCK],
                                             operator_of(request), path, text, "modification")
        return page(request, "published.html", path=path, published=published)
    checked = await _checked(request, path, current, text)
    return page(request, "edit.html", status=422 if checked["errors"] else 200,
                path=path, text=text, versions=[], **checked)


async def _checked(request: web.Request, path: str, current: str, text: str
                   ) -> dict[str, Any]:
    """« Vérifier »: the validation of `/recharger` on a staged copy with `text` as `path`
    (nothing written), and the diff with the file in service, for a page (`checked.html`)."""
    services = request.app[SERVICES]
    findings = await asyncio.to_thread(files.stage, services.registry.root,
                                       services.registry.sets, {path: text})
    return {"errors": files.errors_of(findings), "previewed": True,
            "warnings": [f for f in findings if f.severity == "warning" and f.file == path],
            "diff": files.diff(current, text, path)}


async def restore(request: web.Request) -> web.Response:
    """Roll a file back to an earlier version (validated and published like an edit)."""
    services, form = request.app[SERVICES], await request.post()
    try:
        revision_id = int(str(form.get("revision", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="version invalide") from None
    async with services.sessions() as session:
        revision = await files.revision(session, revision_id)
    if revision is None:
        raise web.HTTPNotFound(text="version inconnue")
    path = _editable_path(request, revision.path)
    published = await files.publish_file(services, request.app[LOCK], operator_of(request),
                                         path, revision.text, "restauration",
                                         f"version n° {revision.id}")
    return page(request, "published.html", path=path, published=published)


# -- directory -------------------------------------------------------------------------------
async def directory_grid(request: web.Request) -> web.Response:
    """Départements × purposes: verified, to verify, dated, missing (the gap report's data)."""
    directory = request.app[SERVICES].content["annuaire"]
    grid = coverage_grid(directory, request.app[SERVICES].clock.now().date())
    return page(request, "grid.html", grid=grid, purposes=list(PURPOSES.values()),
                labels=STATE_LABELS)


def _department(request: web.Request) -> str:
    dept = request.match_info["dept"]
    if dept not in IDF_DEPARTMENTS:
        raise web.HTTPNotFound(text="département inconnu")
    operator = operator_of(request)
    if not (operator.keeps(dept) or operator.validates):
        raise web.HTTPForbidden(text="ce département n'est pas le vôtre")
    return dept


async def department_page(request: web.Request) -> web.Response:
    """A département's entries with each channel's uses, source and verification."""
    dept = _department(request)
    directory = request.app[SERVICES].content["annuaire"]
    entries = [e for e in directory.entries if e.department == dept]
    return page(request, "department.html", dept=dept, entries=entries,
                may_confirm=operator_of(request).keeps(dept),
                path=f"{files.ANNUAIRE_DIR}/{dept}.yaml")


def _directory_entry(request: web.Request) -> tuple[str, DirectoryEntry, str]:
    """The département, the entry of the URL (one of that département's) and its file."""
    dept = _department(request)
    entry = request.app[SERVICES].content["annuaire"].get(request.match_info["entry"])
    if entry is None or entry.department != dept:
        raise web.HTTPNotFound(text="entrée inconnue dans ce département")
    return dept, entry, f"{files.ANNUAIRE_DIR}/{Path(entry.file).name}"


async def confirm_entry(request: web.Request) -> web.Response:
    """A referent (or an admin) confirms a contact of their own département."""
    if not operator_of(request).keeps(_department(request)):
        raise web.HTTPForbidden(text="ce département n'est pas le vôtre")
    dept, entry, path = _directory_entry(request)
    services = request.app[SERVICES]
    text = files.read(services.registry.root, path)
    new = files.confirmed_directory_text(text, entry.id, services.clock.now().date())
    await files.publish_file(services, request.app[LOCK], operator_of(request), path, new,
                             "confirmation", entry.id)
    raise see_other(request, f"/annuaire/{dept}")


def _channels_page(request: web.Request, entry: DirectoryEntry, path: str, text: str,
                   rows: list[channel_form.Row], status: int = 200,
                   **checked: Any) -> web.Response:
    return page(request, "channels.html", status=status, entry=entry, path=path, rows=rows,
                digest=channel_form.digest(text),
                types=list(CHANNEL_TYPES.items()), uses=list(USES.items()), **checked)


async def channels_page(request: web.Request) -> web.Response:
    """The entry form: each channel's type, value, uses, instructions, source, dates; one
    empty row adds a channel (admins and validators: any département; a referent: theirs)."""
    _dept, entry, path = _directory_entry(request)
    text = files.read(request.app[SERVICES].registry.root, path)
    return _channels_page(request, entry, path, text,
                          channel_form.rows_of(files.directory_channels(text, entry.id)))


async def channels_submit(request: web.Request) -> web.Response:
    """`preview`: the entry's new `channels:` block in the file (every other line kept),
    checked like the file editor's « Vérifier », with its diff; `publish`: the same text
    published like the file editor's « Publier » (audited, versions kept)."""
    _dept, entry, path = _directory_entry(request)
    services, form = request.app[SERVICES], await request.post()
    text = files.read(services.registry.root, path)
    if str(form.get("digest", "")) != channel_form.digest(text):
        raise files.Refused("Le fichier a changé depuis l'ouverture du formulaire : "
                            "rouvrez-le.")
    existing = files.directory_channels(text, entry.id)
    rows = channel_form.rows_from_form(form, len(existing))
    new = files.channels_text(text, entry.id, channel_form.channels_of(rows, existing))
    if form.get("action") == "publish":
        try:
            published = await files.publish_file(services, request.app[LOCK],
                                                 operator_of(request), path, new,
                                                 "coordonnées corrigées", entry.id)
        except files.Refused as exc:
            return _channels_page(request, entry, path, text, rows, status=422,
                                  errors=list(exc.findings), refused=exc.reason)
        return page(request, "published.html", path=path, published=published,
                    back=f"/annuaire/{entry.department}/{entry.id}")
    checked = await _checked(request, path, text, new)
    return _channels_page(request, entry, path, text, rows,
                          status=422 if checked["errors"] else 200, **checked)


async def journal(request: web.Request) -> web.Response:
    """The audit (admins): who did what, when."""
    if operator_of(request).role != "admin":
        raise web.HTTPForbidden(text="réservé aux administrateurs")
    services = request.app[SERVICES]
    async with services.sessions() as session:
        rows = await access.recent_audit(session)
    return page(request, "journal.html", rows=rows,
                retention=services.settings.console_audit_retention_days)


# -- statistics ------------------------------------------------------------------------------
def _need_admin(request: web.Request) -> None:
    if operator_of(request).role != "admin":
        raise web.HTTPForbidden(text="réservé aux administrateurs")


def _period(request: web.Request) -> tuple[dt.date, dt.date, bool]:
    """?du=&au=&publier=1; default: the last twelve months."""
    today = request.app[SERVICES].clock.now().date()
    try:
        start = dt.date.fromisoformat(request.query.get("du") or
                                      (today - timedelta(days=365)).isoformat())
        end = dt.date.fromisoformat(request.query.get("au") or today.isoformat())
    except ValueError:
        raise web.HTTPBadRequest(text="dates attendues au format AAAA-MM-JJ") from None
    if end < start:
        raise web.HTTPBadRequest(text="la fin de la période précède son début")
    return start, end, request.query.get("publier") == "1"


async def _report(request: web.Request) -> Report:
    services = request.app[SERVICES]
    start, end, publish = _period(request)
    async with services.sessions() as session:
        return await build_report(session, start, end, labels=labels_of(services.content),
                                  publish=publish,
                                  threshold=services.settings.stats_publish_threshold,
                                  now=services.clock.now())


async def stats_page(request: web.Request) -> web.Response:
    """The annual review for a chosen period: the report and its CSV tables (admins)."""
    _need_admin(request)
    report = await _report(request)
    await _audit(request, "statistiques", f"{report.start}..{report.end}",
                 "publiable" if report.published else "interne")
    return page(request, "stats.html", report=report, tables=list(report.tables.values()),
                query=request.query_string)


async def stats_report(request: web.Request) -> web.Response:
    """The self-contained HTML report, as `vvs-admin stats report` writes it."""
    _need_admin(request)
    # The report is self-contained (inline CSS and SVG): its own policy allows inline styles
    # and still forbids any script or fetch.
    return web.Response(text=render_html(await _report(request)), content_type="text/html",
                        headers={"Content-Security-Policy": REPORT_CSP})


async def stats_csv(request: web.Request) -> web.Response:
    """One table of the report as CSV."""
    _need_admin(request)
    report = await _report(request)
    table = report.tables.get(request.match_info["table"])
    if table is None:
        raise web.HTTPNotFound(text="tableau inconnu")
    return web.Response(text=csv_text(report, table), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{table.name}.csv"'})


# -- the editors' queue (knowledge.queue) --------------------------------------------------------
QUESTION_MAX = 200  # characters of a sample question written into a sheet
ORIGIN_LABELS = {editors_queue.ANSWER: "« Cette fiche ne répond pas »",
                 editors_queue.ABSTENTION: "Sans réponse de l'assistant"}
DONE = {"ajoutee": "La question reformulée est dans la fiche, qui est publiée (et repasse en "
                   "brouillon si elle était validée) ; la question reçue est supprimée.",
        "ecartee": "La question est écartée : son texte est supprimé."}


@dataclass(frozen=True)
class QueueItem:
    """A queued question with the sheets to show beside it (no pseudonym: never read)."""

    id: int
    received_on: dt.datetime
    origin: str
    text: str
    flagged: Entry | None  # the sheet judged not to answer
    nearest: list[Entry]  # the search's suggestions when the question was sent


def _question_id(request: web.Request) -> int:
    value = request.match_info["question"]
    if not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound(text="question inconnue")
    return int(value)


async def questions_page(request: web.Request) -> web.Response:
    """The questions physicians sent to the editors, with the nearest sheets (validators and
    admins): reword one into a sheet, or dismiss it; its text is deleted either way."""
    _need_validator(request)
    services = request.app[SERVICES]
    kb = services.content["knowledge"]
    async with services.sessions() as session:
        rows = await editors_queue.pending(session)
    items = []
    for row in rows:
        flagged = kb.get(row.entry_id) if row.entry_id else None
        nearest = [e for e in (kb.get(i) for i in row.nearest) if e is not None
                   and e is not flagged]
        items.append(QueueItem(int(row.id or 0), row.received_on,
                               ORIGIN_LABELS.get(row.origin, row.origin), row.text, flagged,
                               nearest))
    return page(request, "questions.html", items=items,
                entries=sorted(kb.entries.values(), key=lambda e: e.title.casefold()),
                retention=services.settings.question_retention_days,
                done=DONE.get(request.query.get("fait", "")), maxlength=QUESTION_MAX)


async def reword_question(request: web.Request) -> web.Response:
    """Write a reworded sample question into an entry's `questions:` (validated and published
    like any edit: a validated entry returns to draft), then delete the question received."""
    _need_validator(request)
    services, form = request.app[SERVICES], await request.post()
    question_id = _question_id(request)
    async with services.sessions() as session:
        if await editors_queue.get(session, question_id) is None:
            raise web.HTTPNotFound(text="question inconnue ou déjà traitée")
    try:  # the queue's own check, with the length of a sample question
        question = editors_queue.check(str(form.get("question", "")), QUESTION_MAX)
    except editors_queue.Empty:
        raise files.Refused("Écrivez la question reformulée, telle qu'elle figurera dans la "
                            "fiche.") from None
    except editors_queue.TooLong:
        raise files.Refused(f"La question reformulée dépasse {QUESTION_MAX} caractères."
                            ) from None
    except editors_queue.IdentityInText as exc:
        kinds = ", ".join(KIND_LABELS[f.kind] for f in exc.findings)
        raise files.Refused(f"La question reformulée semble contenir {kinds} : une fiche est "
                            "publique, reformulez sans ces éléments.") from None
    path = f"{files.KNOWLEDGE_DIR}/{form.get('entry', '')}.md"
    if not files.editable(path) or services.content["knowledge"].get(
            str(form.get("entry", ""))) is None:
        raise web.HTTPNotFound(text="fiche inconnue")
    root = services.registry.root
    text = files.read(root, path)
    entry = files.parse_knowledge(root, path, text)
    await files.publish_file(services, request.app[LOCK], operator_of(request), path,
                             files.with_question(text, question, entry.questions),
                             "question ajoutée", f"question reçue n° {question_id}")
    async with transaction(services.sessions) as session:
        await editors_queue.remove(session, question_id)
    raise see_other(request, "/questions?fait=ajoutee")


async def dismiss_question(request: web.Request) -> web.Response:
    """Delete a question without using it (audited without its text)."""
    _need_validator(request)
    services = request.app[SERVICES]
    question_id = _question_id(request)
    async with transaction(services.sessions) as session:
        gone = await editors_queue.remove(session, question_id)
        if gone:
            await access.audit(session, services.clock.now(), operator_of(request),
                               "question écartée", f"question reçue n° {question_id}")
    if not gone:
        raise web.HTTPNotFound(text="question inconnue ou déjà traitée")
    raise see_other(request, "/questions?fait=ecartee")


# -- escalation figures ------------------------------------------------------------------------
def _escalation_scope(request: web.Request) -> tuple[str, ...]:
    """The départements whose requests this operator sees: every one for an admin or a
    regional referent, their own for a referent; validators have no business here."""
    operator = operator_of(request)
    if operator.role == ADMIN or (operator.role == REFERENT
                                  and operator.department == REGIONAL):
        return IDF_DEPARTMENTS
    if operator.role == REFERENT and operator.department in IDF_DEPARTMENTS:
        return (operator.department,)
    raise web.HTTPForbidden(text="réservé aux administrateurs et aux référents")


async def escalations_page(request: web.Request) -> web.Response:
    """Referent requests: open ones by département and age, the overdue ones, and the times
    to take in charge and to close (median, 90th percentile) over a period. Never a
    physician's name, phone or message."""
    departments = _escalation_scope(request)
    services = request.app[SERVICES]
    start, end, _publish = _period(request)
    config = services.escalations.config
    begin, finish = whole_days(start, end)
    async with services.sessions() as session:
        figures = await escalation_figures(
            session, services.clock.now(), departments=departments, start=begin, end=finish,
            reminder=config.reminder, regional=config.regional)
    return page(request, "escalations.html", figures=figures, start=start, end=end,
                names=IDF_DEPARTMENT_NAMES, categories=CATEGORIES,
                reminder=minutes_fr(config.reminder.total_seconds() / 60),
                regional=minutes_fr(config.regional.total_seconds() / 60))


@web.middleware
async def forbidden_page(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP errors raised by a page become a readable page (a redirect passes through)."""
    try:
        return await handler(request)
    except web.HTTPRedirection:
        raise
    except web.HTTPException as exc:
        if exc.status in (403, 404, 400):
            return page(request, "refused.html", status=exc.status, reason=exc.text or "")
        raise


def make_console(services: Services, config: ConsoleConfig) -> web.Application:
    """The console as an aiohttp sub-application (mount it at /console)."""
    app = web.Application(middlewares=[guard, forbidden_page], client_max_size=1 << 20)
    app[SERVICES], app[CONFIG], app[LOCK] = services, config, asyncio.Lock()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["date_fr"] = _date_fr
    env.globals["may_edit"] = files.may_edit
    env.filters["minutes"] = lambda value: "—" if value is None else minutes_fr(value)
    app[ENV] = env
    app.router.add_get("/", home, name="home")
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/static/console.css", stylesheet)
    app.router.add_get("/contenu", content_list)
    app.router.add_get("/fiches/{entry}", entry_page)
    app.router.add_post("/fiches/{entry}/valider", validate_entry)
    app.router.add_post("/fiches/{entry}/refuser", reject_entry)
    app.router.add_get("/fichier", edit_page)
    app.router.add_post("/fichier", edit_submit)
    app.router.add_post("/fichier/restaurer", restore)
    app.router.add_get("/annuaire", directory_grid)
    app.router.add_get("/annuaire/{dept}", department_page)
    app.router.add_post("/annuaire/{dept}/{entry}/confirmer", confirm_entry)
    app.router.add_get("/annuaire/{dept}/{entry}", channels_page)
    app.router.add_post("/annuaire/{dept}/{entry}", channels_submit)
    app.router.add_get("/journal", journal)
    app.router.add_get("/statistiques", stats_page)
    app.router.add_get("/statistiques/rapport", stats_report)
    app.router.add_get("/statistiques/{table}.csv", stats_csv)
    app.router.add_get("/questions", questions_page)
    app.router.add_post("/questions/{question}/reformuler", reword_question)
    app.router.add_post("/questions/{question}/ecarter", dismiss_question)
    app.router.add_get("/demandes", escalations_page)
    return app


def _date_fr(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M UTC")
    return value.strftime("%d/%m/%Y")
