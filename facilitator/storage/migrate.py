"""Alembic, driven from code: upgrade, downgrade, check and revision for the configured URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def _run(fn: object, *args: object) -> None:
    # Alembic's env.py runs its own event loop; keep it off any loop that is already running.
    assert callable(fn)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn(*args)
        return
    raise RuntimeError("call migrations through run_in_thread() from async code")


def upgrade(url: str, revision: str = "head", schema: str | None = None) -> None:
    _run(command.upgrade, alembic_config(url, schema), revision)


def downgrade(url: str, revision: str = "base", schema: str | None = None) -> None:
    _run(command.downgrade, alembic_config(url, schema), revision)


def check(url: str, schema: str | None = None) -> None:
    """Raise if the models differ from what the migrations create."""
    _run(command.check, alembic_config(url, schema))


def current(url: str, schema: str | None = None) -> None:
    _run(command.current, alembic_config(url, schema), True)


def revision(url: str, message: str) -> None:
    _run(command.revision, alembic_config(url), message, True)


async def upgrade_async(url: str, revision: str = "head", schema: str | None = None) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url, schema), revision)
