"""What the dashboard's pages show, as tables: each page is a list of them, drawn as HTML and
downloaded as CSV from the same rows (so the two never disagree)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowAction:
    """A button on each row (its first column is the id the action takes), with at most one
    field to fill in; the page sends it as the chat command of that name (adapters/web)."""

    name: str
    field: str | None = None

    @property
    def label_key(self) -> str:
        return f"dashboard.actions.{self.name}"


@dataclass(frozen=True)
class Table:
    """One table of a page: `name` names its CSV; `columns` are the suffixes of its column
    headings' prompts (`dashboard.columns.<column>`); every cell is already text."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    actions: tuple[RowAction, ...] = ()

    @property
    def title_key(self) -> str:
        return f"dashboard.tables.{self.name}"

    @property
    def empty_key(self) -> str:
        return f"dashboard.empty.{self.name}"
