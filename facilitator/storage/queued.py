"""Rows written later, together: one INSERT for what a unit of work adds to a table.

A batch of inbound events adds a ledger entry or two per message, a membership per newcomer,
a question and its topic per question asked. Written one at a time, each is a statement, and a
statement costs far more in SQLAlchemy than in the database. A `QueuedRows` keeps the rows of
one table and writes them in one statement:

- before any statement of the same session that may read or write that table (so a read
  always sees every queued row; `write_before`, a listener of the session factory);
- before any DELETE or raw SQL, whatever its table: a delete may cascade to queued rows'
  parents, and raw SQL may do anything;
- when its owner needs what the database returns for them (`write_now`: a queued question's
  id);
- at commit (`SqlUnitOfWork.commit` calls `write_all`).

A rolled-back unit of work drops them (`discard_all`). The rows are inserted with ON CONFLICT
DO NOTHING, as the repositories that queue them did one at a time, or by a statement of the
queue's own (`insert`: an INSERT … SELECT that finds a row's parent when it is written).
Whoever queues a row keeps the unit of work's memo current for it, so writing the queue leaves
the memo as it is (`MEMO_KEPT`); a queue may ask for columns of the rows written (`returning`)
and be told them (`on_written`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Row, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.util import find_tables

from facilitator.storage.memo import MEMO_KEPT

_QUEUES = "queued_rows"
# The rows written, and what the database returned for those it inserted.
Written = Callable[[list[dict[str, Any]], Sequence[Row[Any]]], None]
# The statement that writes the rows (given as its parameters), for a session's dialect.
Insert = Callable[[str], Executable]


class QueuedRows:
    """The rows of one table that a unit of work will insert, in one statement."""

    def __init__(
        self,
        session: AsyncSession,
        table: Table,
        *,
        returning: Sequence[Column[Any]] = (),
        on_written: Written | None = None,
        insert: Insert | None = None,
    ) -> None:
        self.table = table
        self.rows: list[dict[str, Any]] = []
        self._returning = tuple(returning)
        self._on_written = on_written
        self._insert = insert
        session.info.setdefault(_QUEUES, []).append(self)

    def add(self, values: dict[str, Any]) -> None:
        self.rows.append(values)

    def _take(self) -> list[dict[str, Any]]:
        rows, self.rows = self.rows, []
        return rows

    def _statement(self, session: Session) -> Any:
        """INSERT … ON CONFLICT DO NOTHING into the table (or the queue's own statement),
        built once per dialect."""
        dialect = session.get_bind().dialect.name
        key = (dialect, self.table.name, self._returning, self._insert)
        statement = _INSERTS.get(key)
        if statement is None:
            if self._insert is not None:
                statement = self._insert(dialect)
            else:
                module = postgresql if dialect == "postgresql" else sqlite
                statement = module.insert(self.table).on_conflict_do_nothing()
                if self._returning:
                    statement = statement.returning(*self._returning)
            statement = _INSERTS[key] = statement.execution_options(**{MEMO_KEPT: True})
        return statement

    def _written(self, rows: list[dict[str, Any]], result: Any) -> None:
        if self._on_written is not None:
            self._on_written(rows, result.all() if self._returning else ())

    def write(self, session: Session) -> None:
        """Write the queue now, from inside the session (a listener)."""
        if self.rows:
            rows = self._take()
            self._written(rows, session.execute(self._statement(session), rows))

    async def write_now(self, session: AsyncSession) -> None:
        if self.rows:
            rows = self._take()
            statement = self._statement(session.sync_session)
            self._written(rows, await session.execute(statement, rows))


_INSERTS: dict[tuple[str, str, tuple[Column[Any], ...], Insert | None], Any] = {}


async def write_all(session: AsyncSession) -> None:
    for queue in session.info.get(_QUEUES, ()):
        await queue.write_now(session)


def discard_all(session: AsyncSession) -> None:
    for queue in session.info.get(_QUEUES, ()):
        queue.rows.clear()


def _tables(statement: Executable) -> set[Any] | None:
    """The tables a statement may touch; None: any table."""
    if isinstance(statement, TextClause) or getattr(statement, "is_delete", False):
        return None
    return set(find_tables(statement, include_joins=True, include_crud=True))  # type: ignore[arg-type]


def write_before(state: ORMExecuteState) -> None:
    """A listener of the session factory: the queued rows a statement may read or change are
    written first."""
    waiting = [q for q in state.session.info.get(_QUEUES, ()) if q.rows]
    if not waiting:
        return
    tables = _tables(state.statement)
    for queue in waiting:
        if tables is None or queue.table in tables:
            queue.write(state.session)
