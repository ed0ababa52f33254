"""Shared by the security tests: the command registry walked, database state compared, and the
hostile texts every free-text path is tried with."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from facilitator.bootstrap import App, command_specs
from facilitator.commands.spec import Arg, ArgKind, CommandSpec
from facilitator.domain.model import Role
from facilitator.storage.models import Base

# Rows every handled event writes whoever sends it (the stored delivery itself).
BOOKKEEPING = frozenset({"inbox"})

Snapshot = dict[str, list[tuple[Any, ...]]]


def every_command() -> Iterator[CommandSpec]:
    """Every command and subcommand of the installation, parents first."""
    for spec in command_specs():
        yield spec
        yield from spec.subcommands


def words(spec: CommandSpec) -> str:
    """How a member types the command: `faq add`, `members`."""
    return spec.path.replace(".", " ")


def privileged() -> list[CommandSpec]:
    """Every command or subcommand a plain member may not run."""
    return [spec for spec in every_command() if spec.role > Role.MEMBER]


def plausible_value(arg: Arg) -> str:
    """A value a well-meaning moderator could type for this argument."""
    match arg.kind:
        case ArgKind.INT:
            return "1"
        case ArgKind.CHOICE:
            return arg.choices[0]
        case ArgKind.LOCALE:
            return "es"
        case ArgKind.ROLE:
            return "moderator"
        case ArgKind.URL:
            return "https://example.org/resource"
        case ArgKind.DATE:
            return "2026-12-01"
        case ArgKind.TEXT:
            return "a plausible value"
        case _:
            return "value"


def plausible_args(spec: CommandSpec, given: Mapping[str, str] | None = None) -> str:
    """The required arguments of `spec`, from `given` (by argument name) or made up."""
    found = given or {}
    return " ".join(
        found.get(a.name) or plausible_value(a)
        for a in spec.args
        if a.required or a.repeat or a.name in found
    )


async def snapshot(app: App, skip: frozenset[str] = BOOKKEEPING) -> Snapshot:
    """Every row of every table (but `skip`), in a stable order."""
    state: Snapshot = {}
    async with app.storage.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = (await conn.execute(select(table))).all()
            state[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return state


def changes(before: Snapshot, after: Snapshot) -> dict[str, tuple[int, int]]:
    """Tables whose rows differ: (rows only before, rows only after)."""
    differing = {}
    for name in before.keys() | after.keys():
        old, new = set(map(repr, before.get(name, []))), set(map(repr, after.get(name, [])))
        if old != new:
            differing[name] = (len(old - new), len(new - old))
    return differing


@dataclass(frozen=True)
class Hostile:
    """A hostile text and what makes it hostile; `markup` texts attack renderers only, the
    others the parser and the database too."""

    name: str
    text: str
    markup: bool = False


HOSTILE_TEXTS: tuple[Hostile, ...] = (
    Hostile(
        "html",
        "<b>bold</b> <script>alert(1)</script> <a href='javascript:x'>x</a> &amp;",
        markup=True,
    ),
    Hostile(
        "markdown",
        "**bold** __it__ `code` [link](http://evil.example) # head *x* _y_",
        markup=True,
    ),
    Hostile(
        "slack mrkdwn", "*bold* _it_ ~strike~ `code` <http://evil.example|click> &lt;", markup=True
    ),
    Hostile(
        "broadcasts", "@all @here @channel @everyone <!channel> <!here> <!everyone>", markup=True
    ),
    Hostile("mentions", "<@U123> <@W0ADMIN|admin> <#C0GENERAL> <!subteam^S123>", markup=True),
    Hostile(
        "telegram entities", "<tg-spoiler>x</tg-spoiler> <pre>p</pre> <blockquote>q", markup=True
    ),
    Hostile("sql", "'; DROP TABLE members; --"),
    Hostile("sql quoted", '"); DELETE FROM identities WHERE 1=1; --'),
    Hostile("control chars", "nul\x00bell\x07esc\x1b[31mred\x1b[0m\rcr\x08back\x7fdel\x9bcsi"),
    Hostile("bidi", "abc\u202eexe.pdf\u200f rtl \u202d lro \u2066iso\u2069"),
    Hostile("zero width", "a\u200bb\u200cc\u200dd\ufeffe\u2060f"),
    Hostile("astral", "🙂🧪 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍👩‍👧 " * 3),
    Hostile("placeholders", "{name} {community} {count} %s %(x)s {{x}}"),
    Hostile("long", "long " + "x" * 100_000),
    Hostile("long unicode", "🙂" * 50_000),
)

# Texts a command accepts (the long ones are refused before anything else happens).
SHORT_HOSTILE = tuple(h for h in HOSTILE_TEXTS if len(h.text) < 1000)
