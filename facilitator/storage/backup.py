"""Backups of the database: SQLite through its online backup API, PostgreSQL through pg_dump.

A SQLite backup copies a consistent snapshot while the bot keeps writing (WAL mode lets
readers and the writer go on side by side). A PostgreSQL backup is pg_dump's custom format
of the schema the bot uses, which pg_restore reads. Restoring refuses a database that holds
data unless forced, and reports how the restored revision compares with the migrations of
this version (an older backup needs `facilitator db upgrade`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection, make_url

from facilitator.storage.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine
from facilitator.storage.migrate import alembic_config
from facilitator.storage.models import Base

VERSION_TABLE = "alembic_version"
SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Restored:
    """The restored database's migration revision, and this version's latest."""

    revision: str | None
    head: str
    known: bool

    @property
    def needs_upgrade(self) -> bool:
        return self.known and self.revision != self.head


async def backup(url: str, schema: str | None, path: Path) -> None:
    """Write a backup of the database to `path` (replaced if it exists)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        await asyncio.to_thread(_sqlite_backup, _sqlite_file(parsed), path)
        return
    _require_postgresql(parsed)
    namespace = await _schema_in_use(url, schema)
    with _partial(path) as partial:
        await asyncio.to_thread(
            _run,
            "pg_dump",
            # Quoted: the exact name, not a pattern folded to lower case.
            ["--format=custom", f'--schema="{namespace}"', f"--file={partial}"],
            parsed,
        )


async def restore(url: str, schema: str | None, path: Path, *, force: bool = False) -> Restored:
    """Replace the database's contents with the backup at `path`.

    Refuses a database that holds data unless `force`; the bot must not be running."""
    if not await asyncio.to_thread(path.is_file):
        raise BackupError(f"no backup at {path}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if _read_header(path) != SQLITE_HEADER:
            raise BackupError(f"{path} is not a SQLite backup (made by `facilitator db backup`)")
        target = _sqlite_file(parsed)
        if not force and await _holds_data(url, schema):
            raise _refusal(target.name)
        await asyncio.to_thread(_sqlite_restore, path, target)
    else:
        _require_postgresql(parsed)
        namespace = await _schema_in_use(url, schema)
        listing = await asyncio.to_thread(_run, "pg_restore", ["--list", str(path)], parsed)
        dumped = _dumped_schemas(listing)
        if dumped and dumped != {namespace}:
            raise BackupError(
                f"the backup holds schema {', '.join(sorted(dumped))}, this database uses "
                f"{namespace}: set FACILITATOR_DATABASE_SCHEMA to restore into the same schema"
            )
        if not force and await _holds_data(url, schema):
            raise _refusal(f"{parsed.database} ({namespace})")
        await _clear(url, schema, namespace)
        await asyncio.to_thread(_pg_restore, parsed, path, listing)
    return await _revision(url, schema)


def _refusal(what: str) -> BackupError:
    return BackupError(
        f"the database {what} already holds data: stop the bot, and restore with --force to "
        "replace it"
    )


# -- SQLite ---------------------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("backups need a SQLite database file")
    return Path(database).expanduser()


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return connection


def _sqlite_backup(source: Path, path: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    with _partial(path) as partial:
        src = _sqlite_connect(source)
        dst = sqlite3.connect(partial)
        try:
            # One step: a read transaction over the whole copy, so the snapshot is consistent.
            src.backup(dst)
            # A single self-contained file, whatever the source's journal mode.
            dst.execute("PRAGMA journal_mode=DELETE")
            problem = dst.execute("PRAGMA quick_check").fetchone()
            if problem is None or problem[0] != "ok":
                raise BackupError(f"the backup failed its integrity check: {problem}")
        finally:
            dst.close()
            src.close()


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True)
    dst = _sqlite_connect(target)
    try:
        problem = src.execute("PRAGMA quick_check").fetchone()
        if problem is None or problem[0] != "ok":
            raise BackupError(f"{backup_file} failed its integrity check: {problem}")
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _read_header(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(len(SQLITE_HEADER))


@contextlib.contextmanager
def _partial(path: Path) -> Iterator[Path]:
    """A file next to `path` that becomes `path` only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# -- PostgreSQL -----------------------------------------------------------------------------


def _require_postgresql(url: URL) -> None:
    if url.get_backend_name() != "postgresql":
        raise BackupError(f"backups support SQLite and PostgreSQL, not {url.get_backend_name()}")


def _libpq_environment(url: URL) -> dict[str, str]:
    """Connection settings for pg_dump and pg_restore; the password never on a command line."""
    env = dict(os.environ)
    query = {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}
    values = {
        "PGHOST": url.host or query.get("host"),
        "PGPORT": str(url.port) if url.port else query.get("port"),
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGSSLMODE": query.get("sslmode") or query.get("ssl"),
    }
    env.update({name: str(value) for name, value in values.items() if value})
    return env


def _run(program: str, args: list[str], url: URL) -> str:
    binary = shutil.which(program)
    if binary is None:
        raise BackupError(
            f"{program} is not on PATH: install the PostgreSQL client tools (Debian and "
            "Ubuntu: postgresql-client), the server's major version or newer"
        )
    result = subprocess.run(  # noqa: S603 - a fixed program and our own arguments
        [binary, *args],
        env=_libpq_environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()}")
    return result.stdout


def _entry(line: str) -> list[str]:
    """The fields of one entry of a dump's table of contents (`pg_restore --list`):
    `<id>; <catalog oid> <oid> <type> <schema> <name> <owner>`, the schema `-` for a schema
    itself, `COMMENT - SCHEMA <name>` for a comment on one; [] for comments of the listing."""
    if line.startswith(";") or ";" not in line:
        return []
    return line.split(";", 1)[1].split()


def _dumped_schemas(listing: str) -> set[str]:
    """The schemas of the tables in a dump."""
    entries = (_entry(line) for line in listing.splitlines())
    return {
        fields[3]
        for fields in entries
        if len(fields) >= 5 and fields[2] == "TABLE" and fields[3] != "DATA"
    }


def _about_a_schema(fields: list[str]) -> bool:
    return fields[2:3] == ["SCHEMA"] or (len(fields) > 4 and fields[4] == "SCHEMA")


def _pg_restore(url: URL, path: Path, listing: str) -> None:
    # The schema itself is kept (created beforehand if missing): its entries are left out, so
    # that restoring into an existing schema does not fail on CREATE SCHEMA.
    kept = [f";{line}" if _about_a_schema(_entry(line)) else line for line in listing.splitlines()]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as file:
        file.write("\n".join(kept) + "\n")
        use_list = file.name
    try:
        _run(
            "pg_restore",
            [
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--use-list={use_list}",
                f"--dbname={url.database}",
                str(path),
            ],
            url,
        )
    finally:
        os.unlink(use_list)


async def _schema_in_use(url: str, schema: str | None) -> str:
    if schema:
        return schema
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(text("select current_schema()"))
    finally:
        await engine.dispose()
    if not found:
        raise BackupError("the database has no current schema: set FACILITATOR_DATABASE_SCHEMA")
    return str(found)


async def _clear(url: str, schema: str | None, namespace: str) -> None:
    """Drop this version's tables and the migration record, so the backup's take their place."""
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as conn:
            quoted = namespace.replace('"', '""')
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{quoted}"'))
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


# -- both -----------------------------------------------------------------------------------


async def _holds_data(url: str, schema: str | None) -> bool:
    """Whether any of the bot's tables has a row (a migrated, empty database does not)."""
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            return bool(await conn.run_sync(_any_rows))
    finally:
        await engine.dispose()


def _any_rows(conn: Connection) -> bool:
    present = set(inspect(conn).get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name in present and conn.execute(table.select().limit(1)).first() is not None:
            return True
    return False


async def _revision(url: str, schema: str | None) -> Restored:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            revision = await conn.run_sync(_version)
    finally:
        await engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config(url, schema))
    head = scripts.get_current_head()
    assert head is not None
    known = revision is not None and revision in {s.revision for s in scripts.walk_revisions()}
    return Restored(revision, head, known)


def _version(conn: Connection) -> str | None:
    if VERSION_TABLE not in inspect(conn).get_table_names():
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)
