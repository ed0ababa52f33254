"""A unit of work tells an outage (`StorageUnavailable`) from a fault of the statement."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from facilitator.bootstrap import repositories
from facilitator.domain.errors import StorageUnavailable
from facilitator.storage.database import Storage
from tests.adapters.telegram_support import free_port
from tests.conftest import POSTGRES_URL, fresh_postgres_schema


async def test_a_refused_connection_is_storage_unavailable() -> None:
    url = POSTGRES_URL.replace("127.0.0.1:5432", f"127.0.0.1:{free_port()}")
    storage = Storage(url, repositories=repositories())
    try:
        with pytest.raises(StorageUnavailable) as raised:
            async with storage.uow_factory() as uow:
                await uow.inbox.counts()
    finally:
        await storage.dispose()

    assert raised.value.cause == "ConnectionRefusedError"


async def test_a_connection_the_server_ends_is_storage_unavailable() -> None:
    async with fresh_postgres_schema() as schema:
        storage = Storage(POSTGRES_URL, schema, repositories=repositories())
        admin = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
        try:
            with pytest.raises(StorageUnavailable):
                async with storage.uow_factory() as uow:
                    pid = (await uow.session.execute(text("select pg_backend_pid()"))).scalar()
                    await admin.execute("select pg_terminate_backend($1)", pid)
                    await uow.session.execute(text("select 1"))
        finally:
            await admin.close()
            await storage.dispose()


async def test_a_wrong_statement_is_not_an_outage() -> None:
    async with fresh_postgres_schema() as schema:
        storage = Storage(POSTGRES_URL, schema, repositories=repositories())
        try:
            with pytest.raises(DBAPIError):
                async with storage.uow_factory() as uow:
                    await uow.session.execute(text("select * from no_such_table"))
        finally:
            await storage.dispose()
