"""Rows written later, together: one INSERT for what a unit of work adds to a table.

A batch of inbound events adds a ledger entry or two per message and a topic per new
question. Written one at a time, each is a statement, and a statement costs far more in
SQLAlchemy than in the database. A `QueuedRows` keeps the rows of one table and writes them
in one statement:

- before any statement of the same session that may read or write that table (so a read
  always sees every queued row);
- before any DELETE or raw SQL, whatever its table: a delete may cascade to queued rows'
  parents, and raw SQL may do anything;
- at commit (`SqlUnitOfWork.commit` calls `write_all`).

A rolled-back unit of work drops them (`discard_all`). The rows are inserted with ON CONFLICT
DO NOTHING, as the repositories that queue them did one at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.util import find_tables

from facilitator.storage.engine import UnitSession

_QUEUES = "queued_rows"


class QueuedRows:
    """The rows of one table that a unit of work will insert, in one statement."""

    def __init__(self, session: AsyncSession, table: Table) -> None:
        self.table = table
        self.rows: list[dict[str, Any]] = []
        session.info.setdefault(_QUEUES, []).append(self)

    def add(self, values: dict[str, Any]) -> None:
        self.rows.append(values)

    def _take(self) -> list[dict[str, Any]]:
        rows, self.rows = self.rows, []
        return rows

    def write(self, session: Session) -> None:
        if self.rows:
            session.execute(_insert(session, self.table), self._take())


_INSERTS: dict[tuple[str, str], Any] = {}


def _insert(session: Session, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING into `table`, built once per dialect."""
    dialect = session.get_bind().dialect.name
    statement = _INSERTS.get((dialect, table.name))
    if statement is None:
        module = postgresql if dialect == "postgresql" else sqlite
        statement = _INSERTS[(dialect, table.name)] = module.insert(table).on_conflict_do_nothing()
    return statement


async def write_all(session: AsyncSession) -> None:
    for queue in session.info.get(_QUEUES, ()):
        if queue.rows:
            await session.execute(_insert(session.sync_session, queue.table), queue._take())


def discard_all(session: AsyncSession) -> None:
    for queue in session.info.get(_QUEUES, ()):
        queue.rows.clear()


def _tables(statement: Executable) -> set[Any] | None:
    """The tables a statement may touch; None: any table."""
    if isinstance(statement, TextClause) or getattr(statement, "is_delete", False):
        return None
    return set(find_tables(statement, include_joins=True, include_crud=True))  # type: ignore[arg-type]


@event.listens_for(UnitSession, "do_orm_execute")
def _write_before(state: ORMExecuteState) -> None:
    waiting = [q for q in state.session.info.get(_QUEUES, ()) if q.rows]
    if not waiting:
        return
    tables = _tables(state.statement)
    for queue in waiting:
        if tables is None or queue.table in tables:
            queue.write(state.session)
