"""Helpers for the features' `/mydata` and `/forgetme` hooks: rows as plain data, counted
erasures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession


def json_value(value: object) -> object:
    """A column's value as the exported JSON holds it: dates as ISO text, any other type that
    JSON lacks as its text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


async def rows_as_data(session: AsyncSession, statement: Executable) -> list[dict[str, Any]]:
    """Every row the statement selects, column by column."""
    result = await session.execute(statement)
    return [{name: json_value(value) for name, value in row._mapping.items()} for row in result]


async def erase(session: AsyncSession, statements: Mapping[str, Executable]) -> dict[str, int]:
    """Run each DELETE or UPDATE and count the rows it touched, under its name."""
    counts: dict[str, int] = {}
    for name, statement in statements.items():
        result = await session.execute(statement)
        counts[name] = int(getattr(result, "rowcount", 0) or 0)
    return counts
