"""SQLite on the event loop's own thread, one transaction at a time per process.

SQLAlchemy reaches SQLite through aiosqlite, which runs every sqlite3 call on a thread of the
connection's own and hands the result back to the event loop: four such calls a statement
(open a cursor, execute, fetch the rows, close the cursor). On one core each hand-off costs
far more than the statement: SQLite answers a keyed lookup or a small insert in tens of
microseconds, while the trip through a thread, the GIL and the loop's wake-up pipe took
about 250 µs per call when measured (`bench/ingest.py`). SQLite is a library, not a server:
nothing is gained by waiting for it on another thread.

`InlineConnection` stands in for aiosqlite's connection under SQLAlchemy's aiosqlite dialect
and runs each sqlite3 call directly. The one thing a thread did buy is that a connection
waiting for SQLite's write lock did not stop the others: here, a second transaction of the
same process waiting in SQLite's busy handler would hold up the event loop, and with it the
transaction it waits for. So transactions take turns before they reach SQLite: every
transaction here begins with BEGIN IMMEDIATE (`engine._configure_sqlite`), and the connection
first takes its engine's `asyncio.Lock`, giving it back at COMMIT, ROLLBACK or close. Another
process (a CLI command) holding the write lock is waited for by SQLite's busy timeout, as
before. A transaction that waits for the turn longer than that timeout fails as SQLite would,
with "database is locked".

`connect_hook` puts it under an engine through SQLAlchemy's `do_connect` event, so the URL's
arguments (path, `file:` URIs, timeout) still go through SQLAlchemy's own parsing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

Rows = list[Any]


class TransactionLock:
    """The lock that one engine's connections take in turn for their transactions, and how
    long a connection waits for it (`timeout`). One asyncio lock per event loop, since a lock
    belongs to the loop it is first used on."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def current(self) -> asyncio.Lock:
        """The lock of the running event loop."""
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


class InlineCursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapter uses."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Sequence[Any] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def _run(self, call: Callable[[sqlite3.Cursor], object]) -> InlineCursor:
        cursor = self._connection._conn.cursor()
        try:
            call(cursor)
            self.description = cursor.description
            self._rows = deque(cursor.fetchall() if cursor.description else ())
            self.rowcount = cursor.rowcount
            self.lastrowid = cursor.lastrowid
        finally:
            cursor.close()
        return self

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if sql.lstrip()[:5].upper() == "BEGIN":
            await self._connection._take_turn()
            try:
                return await self._run(lambda cursor: cursor.execute(sql, parameters or ()))
            except BaseException:
                self._connection._end_turn()
                raise
        return await self._run(lambda cursor: cursor.execute(sql, parameters or ()))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        return await self._run(lambda cursor: cursor.executemany(sql, parameters))

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Rows:
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def fetchall(self) -> Rows:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Opening:
    """What `connection.cursor()` returns: SQLAlchemy enters it with `__aenter__`."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._connection)

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __await__(self) -> Any:
        return self.__aenter__().__await__()


class _Immediately:
    """aiosqlite's queue to its thread, as SQLAlchemy's adapter uses it directly (to set
    `isolation_level`): the call is made at once and its future resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection:
    """An aiosqlite-shaped connection that calls sqlite3 on the calling thread."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], transaction_lock: TransactionLock
    ) -> None:
        self._connector = connector
        self._connection: sqlite3.Connection | None = None
        self._tx = _Immediately()
        self._transaction_lock = transaction_lock
        self._held: asyncio.Lock | None = None  # the transaction lock, while this holds it

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:
        return self._connect().__await__()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _take_turn(self) -> None:
        if self._held is not None:  # a BEGIN inside our own transaction: SQLite refuses it
            return
        lock = self._transaction_lock.current()
        try:
            # Not `wait_for`: on Python 3.11 a cancellation that lands as the lock is granted
            # loses the grant, and the lock stays taken for good. `acquire` itself passes the
            # grant on when it is cancelled.
            async with asyncio.timeout(self._transaction_lock.timeout):
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._held = lock

    def _end_turn(self) -> None:
        held, self._held = self._held, None
        if held is not None and held.locked():
            held.release()

    def cursor(self) -> _Opening:
        return _Opening(self)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self._end_turn()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._end_turn()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's `terminate`)."""
        connection, self._connection = self._connection, None
        try:
            if connection is not None:
                connection.close()
        finally:
            self._end_turn()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def connector(transaction_lock: TransactionLock) -> Callable[..., InlineConnection]:
    def connect(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> InlineConnection:
        # The pool may hand a connection to another thread's loop (tests do): SQLite's
        # serialized mode makes that safe, and the lock keeps one transaction at a time.
        kwargs["check_same_thread"] = False
        return InlineConnection(
            partial(sqlite3.connect, str(database), **kwargs), transaction_lock
        )

    return connect


def connect_hook(
    transaction_lock: TransactionLock,
) -> Callable[[Any, Any, list[Any], dict[str, Any]], None]:
    """A `do_connect` listener: SQLAlchemy's aiosqlite dialect then connects through us."""

    def hook(_dialect: Any, _record: Any, _cargs: list[Any], cparams: dict[str, Any]) -> None:
        cparams["async_creator_fn"] = connector(transaction_lock)

    return hook
