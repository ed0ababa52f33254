"""What a command's handler receives as arguments, and the error that explains wrong ones.

Each command declares its arguments twice, on purpose: as `Arg`s (`commands.spec`), which the
parser, /help and the platforms' menus read, and as a frozen dataclass with one field per
`Arg`, which the parser builds and the handler receives, so that mypy checks every use of an
argument. `tests/unit/test_command_declarations.py` keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoArgs:
    """The arguments of a command that takes none."""


@dataclass(frozen=True)
class IdArgs:
    """The arguments of a command that takes one required number: what it acts on."""

    id: int


class ArgumentError(Exception):
    """A command's arguments are wrong; `key` names the prompt that explains it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
