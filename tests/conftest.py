"""Fixtures shared by every test: a frozen clock, a recording messenger, real databases."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from facilitator.bootstrap import App, build_app
from facilitator.commands.arguments import Words
from facilitator.domain.events import InboundEvent
from facilitator.domain.model import Community, Platform, Role
from facilitator.i18n import Catalogue, Template
from facilitator.markup import Destination, OutboundMessage
from facilitator.observability import QUIET_LOGGERS
from facilitator.settings import Settings
from facilitator.storage.engine import create_engine
from facilitator.storage.models import Base
from tests.log_scan import LogScan

REPO_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "FACILITATOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("FACILITATOR_REQUIRE_POSTGRES") == "1"


@dataclass
class FrozenClock:
    current: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class RecordingMessenger:
    """Keeps every message the bot sent, for assertions on the transcript."""

    sent: list[tuple[Destination, OutboundMessage]] = field(default_factory=list)

    async def send(self, destination: Destination, message: OutboundMessage) -> str | None:
        self.sent.append((destination, message))
        return str(len(self.sent))

    def texts(self) -> list[str]:
        return [message.body.plain() for _, message in self.sent]

    def last(self) -> str:
        return self.sent[-1][1].body.plain()

    def clear(self) -> None:
        self.sent.clear()


# Loggers the adapters hold at INFO themselves when they build a client, because they log
# tokens below that: each test starts with them open, so that it sees what the adapter does.
TOKEN_LOGGERS = ("telegram",)


@pytest.fixture(autouse=True)
def log_scan() -> Iterator[LogScan]:
    """Every record of the test at DEBUG, with the loggers production holds at WARNING held
    there too; the test fails if a record holds a credential, or a declared message body at
    INFO or above (`log_scan.forbid_at_info`)."""
    scan = LogScan()
    root = logging.getLogger()
    quiet = [logging.getLogger(name) for name in QUIET_LOGGERS]
    opened = [logging.getLogger(name) for name in TOKEN_LOGGERS]
    levels = {logger: logger.level for logger in (root, *quiet, *opened)}
    root.addHandler(scan)
    root.setLevel(logging.DEBUG)
    for logger in quiet:
        logger.setLevel(max(logger.level, logging.WARNING))
    for logger in opened:
        logger.setLevel(logging.NOTSET)
    try:
        yield scan
    finally:
        root.removeHandler(scan)
        for logger, level in levels.items():
            logger.setLevel(level)
    problems = scan.problems()
    assert not problems, "\n".join(dict.fromkeys(problems))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


async def _postgres_problem() -> str | None:
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        return None
    except Exception as error:  # noqa: BLE001 - any failure means "not available here"
        return f"{type(error).__name__}: {error}"
    finally:
        await engine.dispose()


# Whether the server answered, asked once per test process: a server that is down stays down
# for the run, and asking again before every test costs a connection each time.
_postgres_checked: dict[str, str | None] = {}


async def _postgres_available() -> str | None:
    if POSTGRES_URL not in _postgres_checked:
        _postgres_checked[POSTGRES_URL] = await _postgres_problem()
    return _postgres_checked[POSTGRES_URL]


@functools.cache
def postgres_tables_ddl() -> str:
    """The statements `Base.metadata.create_all` runs on an empty PostgreSQL schema, compiled
    once: a test schema gets them in one round trip instead of a query per table to ask
    whether it exists, then a statement per table and index."""
    statements: list[str] = []
    mock = sqlalchemy.create_mock_engine(
        "postgresql+asyncpg://",
        lambda sql, *_, **__: statements.append(str(sql.compile(dialect=mock.dialect)).strip()),
    )
    Base.metadata.create_all(mock, checkfirst=False)
    return ";\n".join(statements) + ";"


def _asyncpg_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://", 1)


@contextlib.asynccontextmanager
async def fresh_postgres_schema(*, tables: bool = False) -> AsyncIterator[str]:
    """A new schema in the test PostgreSQL database, dropped afterwards; with `tables`, it
    holds every table of the models (as `Base.metadata.create_all` makes them).

    Where PostgreSQL is unreachable the test is skipped with the reason, unless
    FACILITATOR_REQUIRE_POSTGRES=1 (set by .ci/run), where it fails instead."""
    problem = await _postgres_available()
    if problem is not None:
        reason = f"PostgreSQL at {POSTGRES_URL} is not reachable ({problem})"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " and FACILITATOR_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    script = f'CREATE SCHEMA "{schema}";'
    if tables:
        script += f' SET LOCAL search_path TO "{schema}"; {postgres_tables_ddl()}'
    admin = await asyncpg.connect(_asyncpg_dsn())
    try:
        async with admin.transaction():
            await admin.execute(script)
    finally:
        await admin.close()
    try:
        yield schema
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn())
        try:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await admin.close()


@functools.cache
def _sqlite_tables_image() -> bytes:
    """The bytes of a SQLite file holding every table of the models, made once per test
    process by `Base.metadata.create_all`."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "tables.db"
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        try:
            Base.metadata.create_all(engine)
        finally:
            engine.dispose()
        return path.read_bytes()


def sqlite_with_tables(path: Path) -> str:
    """The URL of a SQLite file at `path` with every table of the models, copied from the one
    made for the test run (creating them for each test took longer than most tests). A file
    already there is kept as it is: a test that starts the bot again finds its rows."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_sqlite_tables_image())
    return f"sqlite+aiosqlite:///{path}"


@functools.cache
def _parsed_prompts(root: Path) -> Mapping[str, Mapping[str, Template]]:
    loaded = Catalogue.load(root)
    return MappingProxyType(
        {locale: MappingProxyType(dict(entries)) for locale, entries in loaded.messages.items()}
    )


def prompt_catalogue(root: Path = REPO_ROOT / "prompts") -> Catalogue:
    """The prompts under `root`, read and parsed once per test process. Each call gives a
    catalogue of its own over the same read-only templates, so that every app still logs a
    missing key once."""
    return Catalogue(_parsed_prompts(root))


def prompt_words() -> Words:
    """The words members may type for choices and flags, from the repository's prompts."""
    return Words.from_catalogue(_parsed_prompts(REPO_ROOT / "prompts"))


def build_test_app(settings: Settings, **options: Any) -> App:
    """`build_app` with the prompt catalogue parsed once for the run, unless a test passes
    one of its own."""
    options.setdefault("catalogue", prompt_catalogue(settings.prompts_dir))
    return build_app(settings, **options)


@dataclass
class Database:
    url: str
    schema: str | None
    engine: AsyncEngine


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The same tests over SQLite and PostgreSQL, tables created from the models."""
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url, schema = sqlite_with_tables(tmp_path / "test.db"), None
        else:
            schema = await stack.enter_async_context(fresh_postgres_schema(tables=True))
            url = POSTGRES_URL
        engine = create_engine(url, schema=schema)
        stack.push_async_callback(engine.dispose)
        yield Database(url, schema, engine)


def make_settings(database_url: str, schema: str | None = None, **overrides: object) -> Settings:
    # Lookups by words unless a test asks for a semantic backend (tests/unit/knowledge/
    # test_semantic*.py run the real encoders).
    overrides.setdefault("semantic", "off")
    # Transcripts give many commands within one frozen minute: the budget is off unless a
    # test turns it on (tests/security/test_flood.py).
    overrides.setdefault("member_budget_per_minute", 0)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        database_schema=schema,
        prompts_dir=REPO_ROOT / "prompts",
        data_dir=REPO_ROOT / "data",
        **overrides,  # type: ignore[arg-type]
    )


@dataclass
class Harness:
    """The real core on a real database, with the console decoder and a recording messenger."""

    app: App
    messenger: RecordingMessenger
    clock: FrozenClock
    seq: int = 0
    said: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def last_id(self) -> str:
        """The message id of the line said last."""
        return f"t:{self.seq}"

    async def job(self, job_id: str) -> int:
        """Run one of the scheduler's jobs now, as its timer would."""
        [job] = [j for j in self.app.jobs if j.job_id == job_id]
        return int(await job.run(self.clock.now()) or 0)

    async def community(self, language: str = "en") -> Community:
        async with self.app.uow_factory() as uow:
            found = await uow.communities.by_chat(Platform.CONSOLE, "demo")
            if found is None:
                found = await uow.communities.add(
                    key="demo",
                    platform=Platform.CONSOLE,
                    chat_id="demo",
                    title="Demo network",
                    timezone="America/Santiago",
                    language=language,
                    settings={"purpose": {"en": "We learn together.", "es": "Aprendemos juntos."}},
                    now=self.clock.now(),
                )
                await uow.commit()
        return found

    async def grant(self, user: str, role: Role) -> None:
        await self.community()
        await self.app.roles.grant(Platform.CONSOLE, user, role, "demo")

    async def say(
        self,
        text: str,
        user: str = "carla",
        locale: str | None = "en",
        *,
        reply_to: str | None = None,
    ) -> list[str]:
        """One line typed in the demo chat, through the inbox; returns what the bot answered.
        `reply_to` is the id of an earlier line (`last_id` after it was said) it replies to."""
        self.seq += 1
        before = len(self.messenger.sent)
        payload: dict[str, object] = {
            "kind": "text",
            "text": text,
            "id": f"t:{self.seq}",
            "user_id": user,
            "name": user.title(),
            "locale": locale,
            "at": self.clock.now().isoformat(),
        }
        self.said[f"t:{self.seq}"] = (user, text)
        if reply_to is not None:
            author, said = self.said[reply_to]
            payload["reply_to"] = {"id": reply_to, "user_id": author, "text": said}
        await self.app.inbox.accept(
            Platform.CONSOLE, f"t:{self.seq}", json.dumps(payload), "demo", user
        )
        await self.app.inbox.process_pending()
        return [m.body.plain() for _, m in self.messenger.sent[before:]]

    async def dispatch(self, event: InboundEvent) -> list[str]:
        """Hand one event straight to the core in its own unit of work."""
        before = len(self.messenger.sent)
        async with self.app.uow_factory() as uow:
            replies = await self.app.core.handle(event, uow)
            await uow.commit()
        await self.app.sender(replies)
        return [m.body.plain() for _, m in self.messenger.sent[before:]]


@contextlib.asynccontextmanager
async def harness_on(
    database_url: str, clock: FrozenClock, schema: str | None = None, **settings: object
) -> AsyncIterator[Harness]:
    """A `Harness` on the given database, which already holds the tables (`sqlite_with_tables`,
    `fresh_postgres_schema(tables=True)`)."""
    from adapters.console.adapter import ConsoleDecoder

    app = build_test_app(make_settings(database_url, schema, **settings), clock=clock)
    messenger = RecordingMessenger()
    app.attach(Platform.CONSOLE, messenger, ConsoleDecoder())
    for platform in (Platform.TELEGRAM, Platform.SLACK):
        app.sender.messengers[platform] = messenger
    try:
        yield Harness(app, messenger, clock)
    finally:
        await app.aclose()


@pytest_asyncio.fixture
async def harness(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    async with harness_on(sqlite_with_tables(tmp_path / "core.db"), clock) as found:
        yield found


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def any_harness(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """A `Harness` on SQLite, then on PostgreSQL (a fresh schema of the local server)."""
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url, schema = sqlite_with_tables(tmp_path / "any.db"), None
        else:
            schema = await stack.enter_async_context(fresh_postgres_schema(tables=True))
            url = POSTGRES_URL
        yield await stack.enter_async_context(harness_on(url, clock, schema))


@pytest.fixture
def repo_root() -> Iterator[Path]:
    yield REPO_ROOT


# Whose ERROR records count: the product and the libraries it runs on. The tests' own fake
# servers (aiohttp) log a client that went away mid-request, which tests that kill processes
# provoke on purpose.
_WATCHED = ("facilitator", "adapters", "uvicorn", "telegram", "slack", "sqlalchemy", "apscheduler")


class _Errors(logging.Handler):
    """Collects the ERROR records the product logs during a test."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_WATCHED):
            self.records.append(record)


@pytest.fixture(autouse=True)
def _no_unexpected_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """An ERROR the test did not provoke on purpose fails it: otherwise "nothing was sent"
    also passes when sending crashed. Tests that provoke errors say so
    (`@pytest.mark.expected_errors`); the fault tests kill processes and expect them."""
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    allowed = request.node.get_closest_marker(
        "expected_errors"
    ) or request.node.get_closest_marker("faults")
    if handler.records and not allowed:
        first = handler.records[0]
        pytest.fail(f"unexpected ERROR log record: {first.name}: {first.getMessage()[:200]}")
