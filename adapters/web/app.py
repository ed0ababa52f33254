"""Routes of the dashboard under `/dashboard`.

Security, in one place:
- A GET never signs anyone in: the link from the chat opens a confirm page whose POST uses
  the link up (chat platforms fetch links to preview them).
- The session cookie holds a random id, signed (itsdangerous), HttpOnly, SameSite=Lax,
  `Secure` when the dashboard is reached over https, issued anew at each sign-in and expiring
  with the session; the database holds only its hash.
- Every POST carries a CSRF token bound to the session (an HMAC of its id) and must come
  from this origin when the browser says where it comes from.
- Every page asks the feature who is looking (`Dashboard.viewer`), which checks the role
  again on each request.
- Responses carry `Referrer-Policy: no-referrer`, a strict Content-Security-Policy, and are
  not cached; nothing here logs the link's token or the cookie.
"""

from __future__ import annotations

import csv
import hmac
import io
import logging
import uuid
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.http_body import read_body
from adapters.web.svg import line_chart
from facilitator import surface
from facilitator.commands.spec import parse_id
from facilitator.context import Services
from facilitator.features.dashboard.overview import TRENDS, WeekFigures
from facilitator.features.dashboard.service import SESSION_HOURS, Dashboard, Viewer
from facilitator.features.dashboard.tables import Table
from facilitator.features.participation.report import literal_cell
from facilitator.i18n import format_number
from facilitator.inbox import Inbox
from facilitator.ports import Clock
from facilitator.settings import Settings

log = logging.getLogger(__name__)

BASE = "/dashboard"
COOKIE = "facilitator_dashboard"
MAX_FORM = 4096
# The pages made of tables (each also downloads as CSV, a table at a time).
PAGES = ("members", "knowledge", "events", "network")


def _page(request: Request) -> str:
    """The page a request is for: the last part of its path, without `.csv`."""
    name = request.url.path.rsplit("/", 1)[-1].removesuffix(".csv")
    assert name in PAGES
    return name


HERE = Path(__file__).parent
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


class Wiring(Protocol):
    """What the dashboard takes from the composition root's `App`."""

    @property
    def services(self) -> Services: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def inbox(self) -> Inbox: ...


# What a row's button sends: the chat command, and how its arguments are made from the row's
# id and the field filled in (checked first: an id is an id, a member one word).
ACTIONS: dict[str, tuple[str, str]] = {
    "gap_dismiss": ("gaps", "dismiss {id}"),
    "gap_link": ("gaps", "link {id} {value}"),
    "gap_assign": ("gaps", "assign {id} {value}"),
    "approve": ("approve", "{id}"),
    "reject": ("reject", "{id} {value}"),
}
FIELD_CHECKS = {"gap_link": "id", "gap_assign": "word", "reject": "text"}
# The buttons each page draws (`pages.knowledge_tables`): an action is taken only on its page.
PAGE_ACTIONS = {"knowledge": frozenset(ACTIONS)}


def _arguments(action: str, row_id: str, value: str) -> str | None:
    """The command's arguments for a row's action, or None when the input is not valid."""
    if action not in ACTIONS or parse_id(row_id) is None:
        return None
    check = FIELD_CHECKS.get(action)
    value = " ".join(value.split())[:300]
    if check == "id" and parse_id(value) is None:
        return None
    if check == "word" and (not value or " " in value or len(value) > 100):
        return None
    if check == "text" and not value:
        return None
    return ACTIONS[action][1].format(id=int(row_id), value=value)


class Web:
    def __init__(self, settings: Settings, app: Wiring) -> None:
        assert settings.dashboard_secret is not None
        self.secret = settings.dashboard_secret.get_secret_value()
        self.app = app
        self.dashboard = app.services.feature(Dashboard)
        self.https = (settings.public_url or "").startswith("https://")
        self.cookies = URLSafeTimedSerializer(self.secret, salt="facilitator-dashboard")
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )

    # -- helpers ---------------------------------------------------------------------------

    def now(self) -> Any:
        return self.app.clock.now()

    def session_id(self, request: Request) -> str | None:
        raw = request.cookies.get(COOKIE)
        if not raw or len(raw) > 400:
            return None
        try:
            value = self.cookies.loads(raw, max_age=SESSION_HOURS * 3600)
        except BadSignature:
            log.info("dashboard cookie refused: bad signature")
            return None
        return value if isinstance(value, str) else None

    def csrf(self, session_id: str) -> str:
        return hmac.new(self.secret.encode(), f"csrf:{session_id}".encode(), sha256).hexdigest()

    def same_origin(self, request: Request) -> bool:
        """Whether a POST comes from the dashboard's own pages, as far as the browser says:
        `Sec-Fetch-Site` when sent, and `Origin` unless it is absent or "null" (what a page
        with `Referrer-Policy: no-referrer` sends with its own forms)."""
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    async def form(self, request: Request) -> dict[str, str]:
        """An urlencoded form's fields (the dashboard's forms are a few short fields; a body
        over `MAX_FORM` bytes is not read: `read_body`, as the webhooks)."""
        body = await read_body(request, MAX_FORM)
        if body is None:
            return {}
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        return {name: values[0] for name, values in fields.items() if values}

    def page(
        self,
        template: str,
        locale: str,
        *,
        status: int = 200,
        viewer: Viewer | None = None,
        session_id: str | None = None,
        **values: Any,
    ) -> HTMLResponse:
        catalogue = self.app.services.catalogue

        def t(key: str, **kw: Any) -> str:
            return catalogue.text(locale, key, **kw)

        heading = (
            t("dashboard.web.heading", community=viewer.community.title)
            if viewer is not None
            else t("dashboard.web.title")
        )
        body = self.templates.get_template(template).render(
            t=t,
            lang=locale,
            base=BASE,
            title=heading,
            heading=heading,
            viewer=viewer,
            csrf=self.csrf(session_id) if session_id else "",
            **values,
        )
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    def message(self, locale: str, key: str, status: int) -> HTMLResponse:
        text = self.app.services.catalogue.text(locale, key)
        return self.page("message.html", locale, status=status, message=text)

    def locale_of(self, request: Request) -> str:
        wanted = request.headers.get("accept-language", "")[:100].lower()
        for part in wanted.split(","):
            code = part.split(";")[0].strip()[:2]
            if code in ("en", "es", "pt"):
                return code
        return self.app.services.settings.default_language

    async def signed_in(self, request: Request) -> tuple[Viewer, str] | Response:
        session_id = self.session_id(request)
        viewer = await self.dashboard.viewer(session_id, self.now())
        if viewer is None or session_id is None:
            return self.message(self.locale_of(request), "dashboard.web.signed_out", 401)
        return viewer, session_id

    # -- routes ----------------------------------------------------------------------------

    async def confirm(self, request: Request) -> Response:
        token = request.query_params.get("t", "")
        locale = self.locale_of(request)
        if not token or len(token) > 200:
            return self.message(locale, "dashboard.web.bad_link", 400)
        return self.page("confirm.html", locale, token=token)

    async def sign_in(self, request: Request) -> Response:
        locale = self.locale_of(request)
        if not self.same_origin(request):
            log.info("dashboard sign-in refused: another origin")
            return self.message(locale, "dashboard.web.forbidden", 403)
        form = await self.form(request)
        session_id = await self.dashboard.sign_in(form.get("t", ""), self.now())
        if session_id is None:
            return self.message(locale, "dashboard.web.link_used", 403)
        response = RedirectResponse(f"{BASE}/", status_code=303, headers=HEADERS)
        response.set_cookie(
            COOKIE,
            self.cookies.dumps(session_id),
            max_age=SESSION_HOURS * 3600,
            path=BASE,
            httponly=True,
            samesite="lax",
            secure=self.https or request.url.scheme == "https",
        )
        return response

    async def overview(self, request: Request) -> Response:
        found = await self.signed_in(request)
        if isinstance(found, Response):
            return found
        viewer, session_id = found
        trend = await self.dashboard.overview(viewer, self.now())
        return self.page(
            "overview.html",
            viewer.locale,
            viewer=viewer,
            session_id=session_id,
            weeks=[str(w.week) for w in trend],
            rows=self.rows(viewer.locale, trend),
        )

    def rows(self, locale: str, trend: list[WeekFigures]) -> list[dict[str, Any]]:
        catalogue = self.app.services.catalogue
        rows = []
        labels = [str(w.week) for w in trend]
        for name in TRENDS:
            label = catalogue.text(locale, f"dashboard.figures.{name}")
            values = [w.value(name) for w in trend]
            cells = ["–" if v is None else format_number(locale, round(v)) for v in values]
            now, before = values[-1], values[-2] if len(values) > 1 else None
            if now is None or before is None:
                change = catalogue.text(locale, "dashboard.web.no_change")
            else:
                delta = round(now - before)
                sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
                change = catalogue.text(
                    locale,
                    "dashboard.web.change",
                    delta=f"{sign}{format_number(locale, abs(delta))}",
                )
            rows.append(
                {
                    "name": name,
                    "label": label,
                    "now": cells[-1],
                    "change": change,
                    "cells": cells,
                    "svg": line_chart(label, labels, values),
                }
            )
        return rows

    async def overview_csv(self, request: Request) -> Response:
        found = await self.signed_in(request)
        if isinstance(found, Response):
            return found
        viewer, _ = found
        trend = await self.dashboard.overview(viewer, self.now())
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["week", *TRENDS])
        for week in trend:
            writer.writerow(
                [
                    str(week.week),
                    *("" if (v := week.value(n)) is None else f"{v:g}" for n in TRENDS),
                ]
            )
        headers = {
            **HEADERS,
            "Content-Disposition": f'attachment; filename="{viewer.community.key}-overview.csv"',
        }
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

    async def tables(
        self, request: Request, page: str
    ) -> tuple[Viewer, str, list[Table]] | Response:
        found = await self.signed_in(request)
        if isinstance(found, Response):
            return found
        viewer, session_id = found
        read = {
            "members": self.dashboard.members,
            "knowledge": self.dashboard.knowledge,
            "events": self.dashboard.events,
            "network": self.dashboard.network,
        }[page]
        try:
            return viewer, session_id, await read(viewer, self.now())
        except PermissionError:
            log.info("dashboard page refused: role", extra={"page": page})
            return self.message(viewer.locale, "dashboard.web.admins_only", 403)

    async def table_page(self, request: Request) -> Response:
        page = _page(request)
        found = await self.tables(request, page)
        if isinstance(found, Response):
            return found
        viewer, session_id, tables = found
        return self.page(
            "tables.html",
            viewer.locale,
            viewer=viewer,
            session_id=session_id,
            page=page,
            tables=tables,
            done=request.query_params.get("done") == "1",
        )

    async def table_csv(self, request: Request) -> Response:
        page = _page(request)
        found = await self.tables(request, page)
        if isinstance(found, Response):
            return found
        viewer, _, tables = found
        wanted = request.query_params.get("table", "")
        table = next((t for t in tables if t.name == wanted), None)
        if table is None:
            return self.message(viewer.locale, "dashboard.web.no_table", 404)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([literal_cell(cell) for cell in row])
        name = f"{viewer.community.key}-{page}-{table.name}.csv".replace(":", "_")
        headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

    async def act(self, request: Request) -> Response:
        """A row's button: the same chat command, run through the inbox as if the member had
        sent it privately in this community (facilitator/surface.py); then back to the page.
        What the command says goes to the member's private chat, as when typed there."""
        page = request.url.path.rsplit("/", 2)[-2]
        assert page in PAGES
        found = await self.signed_in(request)
        if isinstance(found, Response):
            return found
        viewer, session_id = found
        form = await self.form(request)
        if not self.same_origin(request) or not hmac.compare_digest(
            form.get("csrf", ""), self.csrf(session_id)
        ):
            log.info("dashboard action refused: CSRF token or origin")
            return self.message(viewer.locale, "dashboard.web.forbidden", 403)
        action = form.get("action", "")
        if action not in PAGE_ACTIONS.get(page, ()):
            log.info("dashboard action refused: not on this page", extra={"page": page})
            return self.message(viewer.locale, "dashboard.web.bad_input", 400)
        arguments = _arguments(action, form.get("id", ""), form.get("value", ""))
        if arguments is None:
            log.info("dashboard action refused: bad input", extra={"action": action[:32]})
            return self.message(viewer.locale, "dashboard.web.bad_input", 400)
        command = ACTIONS[action][0]
        member = viewer.member
        payload = surface.action(
            member, viewer.community.key, command, arguments, self.now(), "web"
        )
        await self.app.inbox.act(
            member.platform,
            f"{surface.SURFACE}web:{uuid.uuid4().hex}",
            payload,
            member.platform_user_id,
        )
        log.info("dashboard action", extra={"command": command, "community": viewer.community.key})
        return RedirectResponse(f"{BASE}/{page}?done=1", status_code=303, headers=HEADERS)

    async def logout(self, request: Request) -> Response:
        locale = self.locale_of(request)
        session_id = self.session_id(request)
        given = (await self.form(request)).get("csrf")
        if (
            session_id is None
            or not self.same_origin(request)
            or not isinstance(given, str)
            or not hmac.compare_digest(given, self.csrf(session_id))
        ):
            log.info("dashboard logout refused: no session or CSRF token")
            return self.message(locale, "dashboard.web.forbidden", 403)
        await self.dashboard.sign_out(session_id, self.now())
        response = self.message(locale, "dashboard.web.logged_out", 200)
        response.delete_cookie(COOKIE, path=BASE)
        return response


def routes(settings: Settings, app: Wiring) -> list[BaseRoute]:
    web = Web(settings, app)
    return [
        Route(f"{BASE}/signin", web.confirm, methods=["GET"]),
        Route(f"{BASE}/signin", web.sign_in, methods=["POST"]),
        Route(f"{BASE}/", web.overview, methods=["GET"]),
        Route(f"{BASE}/overview.csv", web.overview_csv, methods=["GET"]),
        Route(f"{BASE}/logout", web.logout, methods=["POST"]),
        *(
            route
            for page in PAGES
            for route in (
                Route(f"{BASE}/{page}", web.table_page, methods=["GET"], name=page),
                Route(f"{BASE}/{page}.csv", web.table_csv, methods=["GET"]),
                Route(f"{BASE}/{page}/act", web.act, methods=["POST"]),
            )
        ),
        Mount(f"{BASE}/static", StaticFiles(directory=HERE / "static"), name="dashboard_static"),
    ]
