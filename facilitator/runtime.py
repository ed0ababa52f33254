"""Long-running processes: `facilitator run` (polling, sockets) and the ASGI app of `serve`."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from facilitator.bootstrap import App, build_adapters, build_app, build_web
from facilitator.domain.errors import StorageUnavailable
from facilitator.metrics import CONTENT_TYPE, PrometheusMetrics, read_backlogs
from facilitator.observability import configure_logging
from facilitator.ports import PlatformAdapter
from facilitator.scheduling import Scheduler
from facilitator.settings import Settings

log = logging.getLogger(__name__)


async def prepare(settings: Settings) -> tuple[App, list[PlatformAdapter]]:
    if settings.auto_migrate:
        await upgrade(settings)
    app = build_app(settings)
    adapters = build_adapters(settings, app)
    for adapter in adapters:
        app.attach(
            adapter.platform, adapter.messenger, adapter.decoder, adapter.files, adapter.members
        )
    return app, adapters


async def upgrade(settings: Settings) -> None:
    """Apply the migrations; Alembic is imported only when they run (`serve` runs them before
    it starts its workers, which then skip them)."""
    from facilitator.storage import migrate

    await migrate.upgrade_async(settings.database_url, "head", settings.database_schema)


async def run_until_cancelled(settings: Settings) -> None:
    """`facilitator run`: every configured adapter receives, one inbox worker processes."""
    app, adapters = await prepare(settings)
    scheduler = start_jobs(app)
    terminated = stop_on_sigterm()
    try:
        for adapter in adapters:
            await adapter.start()
        async with asyncio.TaskGroup() as group:
            group.create_task(keep_running("inbox", app.inbox.run_forever))
            group.create_task(app.dispatcher.run_forever())
            for adapter in adapters:
                group.create_task(adapter.receive())
    except asyncio.CancelledError:
        if not terminated.is_set():
            raise
        log.info("stopping on SIGTERM")
    finally:
        scheduler.shutdown()
        # Sends in flight finish and claimed messages are handed back: none lost or repeated.
        await app.dispatcher.stop()
        await app.inbox.replies.close()
        for adapter in adapters:
            with contextlib.suppress(Exception):
                await adapter.stop()
        await app.aclose()


async def keep_running(
    name: str, work: Callable[[], Awaitable[None]], pause: float = 1.0, max_pause: float = 10.0
) -> None:
    """Run a worker loop for as long as the process lives. A failure (the database restarting,
    say) is logged and the loop started again after a pause that grows while it keeps failing,
    instead of ending the worker while the process goes on answering webhooks."""
    loop = asyncio.get_running_loop()
    delay = pause
    while True:
        started = loop.time()
        try:
            await work()
            return
        except Exception as error:  # whatever stopped it, the process needs the worker back
            if loop.time() - started > 60:  # it had been working: the trouble is new
                delay = pause
            if isinstance(error, StorageUnavailable):  # an outage: its traceback says nothing
                log.warning("worker stopped: %s; restarting", error, extra={"worker": name})
            else:
                log.exception("worker stopped by an error; restarting", extra={"worker": name})
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_pause)


def stop_on_sigterm() -> asyncio.Event:
    """SIGTERM (systemd, docker stop) ends `run` cleanly, through `finally`; the event tells
    that cancellation from a real one."""
    terminated = asyncio.Event()
    task = asyncio.current_task()

    def on_sigterm() -> None:
        terminated.set()
        if task is not None:
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_sigterm)
    return terminated


def start_jobs(app: App) -> Scheduler:
    scheduler = Scheduler(app.clock)
    for job in app.jobs:
        scheduler.add(job)
    for source in app.schedules:
        scheduler.add_source(source)
    scheduler.start()
    return scheduler


def create_asgi_app(settings: Settings | None = None) -> Starlette:
    """The one ASGI app of `facilitator serve`: webhooks of every adapter, health, readiness,
    metrics."""
    settings = settings or Settings()
    state: dict[str, object] = {}
    metrics = PrometheusMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        app = state["app"]
        adapters = state["adapters"]
        assert isinstance(app, App) and isinstance(adapters, list)
        if settings.auto_migrate:
            # uvicorn builds this app inside its event loop: Alembic runs in a thread.
            await upgrade(settings)
        for adapter in adapters:
            await adapter.start()
        errors = metrics.error_counter()
        logging.getLogger().addHandler(errors)
        worker = asyncio.create_task(keep_running("inbox", app.inbox.run_forever))
        dispatcher = asyncio.create_task(app.dispatcher.run_forever())
        scheduler = start_jobs(app)
        try:
            yield
        finally:
            scheduler.shutdown()
            await app.dispatcher.stop()
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await app.inbox.replies.close()
            for adapter in adapters:
                with contextlib.suppress(Exception):
                    await adapter.stop()
            await app.aclose()
            logging.getLogger().removeHandler(errors)

    app = build_app(settings, metrics=metrics)
    adapters = build_adapters(settings, app)
    for adapter in adapters:
        app.attach(
            adapter.platform, adapter.messenger, adapter.decoder, adapter.files, adapter.members
        )
    state.update(app=app, adapters=adapters)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        """200 when this worker can do its work: the database answers, every adapter is
        connected, and the inbox is not falling behind (its oldest event still to handle
        arrived less than `ready_max_backlog_seconds` ago). The body also shows the
        conversations under a platform's flood wait and the replies waiting to go out, which
        alone do not make a worker unready: they wait, the rest goes on."""
        database = await app.storage.ping()
        platforms = {a.platform.value: a.ready() for a in adapters}
        backlog_seconds = 0.0
        if database:
            backlogs = await read_backlogs(app.uow_factory, app.clock.now())
            if backlogs is not None and backlogs.inbox.oldest is not None:
                waited = backlogs.now - backlogs.inbox.oldest
                backlog_seconds = round(max(waited.total_seconds(), 0.0), 1)
        behind = backlog_seconds > settings.ready_max_backlog_seconds
        waits = {a.platform.value: a.waits() for a in adapters}
        body = {
            "database": database,
            "adapters": platforms,
            "inbox_backlog_seconds": backlog_seconds,
            "replies_waiting": app.inbox.replies.waiting,
            "replies_oldest_seconds": round(app.inbox.replies.oldest_seconds(), 1),
            "flood_waits": {
                platform: {
                    "conversations": len(held),
                    "longest_seconds": round(max(held.values(), default=0.0), 1),
                }
                for platform, held in waits.items()
            },
        }
        ok = database and all(platforms.values()) and not behind
        return JSONResponse(body, status_code=200 if ok else 503)

    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    async def exposition(request: Request) -> Response:
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("unauthorized", status_code=401)
        backlogs = await read_backlogs(app.uow_factory, app.clock.now())
        return Response(metrics.exposition(backlogs), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", exposition),
    ]
    for adapter in adapters:
        routes.extend(adapter.routes())
    routes.extend(build_web(settings, app))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={StorageUnavailable: answer_unavailable},
    )


async def answer_unavailable(request: Request, error: Exception) -> Response:
    """Any route that needed the database while it was out of reach: 503 and one line, no
    traceback (the webhook routes answer so themselves; this covers the rest)."""
    log.warning("request not served: %s", error, extra={"path": request.url.path})
    return PlainTextResponse("unavailable", status_code=503, headers={"Retry-After": "5"})


def asgi_factory() -> Starlette:
    """Entry point for uvicorn workers (`--factory`): each worker builds its own app."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_asgi_app(settings)
