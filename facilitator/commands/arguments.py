"""A command's parsed arguments, and the error that explains wrong ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParsedArgs:
    values: Mapping[str, object] = field(default_factory=dict)

    def get(self, name: str) -> object:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def number(self, name: str) -> int | None:
        value = self.values.get(name)
        return value if isinstance(value, int) else None

    def words(self, name: str) -> list[str]:
        value = self.values.get(name)
        return [str(v) for v in value] if isinstance(value, list | tuple) else []


class ArgumentError(Exception):
    """A command's arguments are wrong; `key` names the prompt that explains it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
