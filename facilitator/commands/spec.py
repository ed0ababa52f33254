"""Command declarations and the argument parser shared by every platform."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from facilitator.commands.arguments import CANONICAL_ONLY, Words
from facilitator.commands.arguments import ArgumentError as ArgumentError
from facilitator.commands.arguments import NoArgs as NoArgs
from facilitator.commands.forms import FormSpec
from facilitator.domain.model import Platform, Role
from facilitator.i18n import SUPPORTED_LOCALES
from facilitator.localtime import parse_date

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_COMMAND_TEXT = 4000
_QUOTES = {'"': '"', "“": "”", "«": "»", "'": "'"}
_ID = re.compile(r"[0-9]{1,9}")


class ArgKind(StrEnum):
    WORD = "word"
    TEXT = "text"  # the rest of the line, as typed
    INT = "int"
    CHOICE = "choice"
    LOCALE = "locale"
    ROLE = "role"
    URL = "url"
    DATE = "date"


@dataclass(frozen=True)
class Arg:
    name: str
    kind: ArgKind = ArgKind.WORD
    required: bool = True
    choices: tuple[str, ...] = ()
    max_length: int = 200
    repeat: bool = False  # takes every remaining token


class Needs(StrEnum):
    """Where a command can run. The engine checks it once, after the role check and the
    arguments and before the handler (`context.runs_here`); elsewhere the member is told,
    privately and in their language, that the command works inside a community chat."""

    ANYWHERE = "anywhere"
    # A community: the one of the group it is sent in or, privately, the one the member last
    # wrote in. The handler finds it as `ctx.here`.
    COMMUNITY = "community"
    # Sent in the community's group itself, not privately (it posts there: a poll, a webinar).
    GROUP = "group"


class Topic(StrEnum):
    """What a command is for, as /help groups commands: `/help <topic>` lists a topic's
    commands, the short /help names a few of each. Topics are listed in this order."""

    ASK = "ask"  # asking and finding: FAQ, lessons, the repository, bookmarks
    PEOPLE = "people"  # who is who: introductions, experts
    TAKE_PART = "take_part"  # polls, webinars, one's participation
    DATA = "data"  # a member's own data: tracking, export, erasure
    BASICS = "basics"  # the bot itself: language, accounts, help
    MODERATION = "moderation"  # what moderators and coordinators run


# A command's arguments: the frozen dataclass its handler receives (`NoArgs` for none).
A = TypeVar("A")
# The first argument is the command context (`facilitator.context.CommandContext`). The context
# carries the registry built from these declarations, so the declarations name it loosely
# rather than import it back: each handler's own annotation is what mypy checks.
Handler = Callable[[Any, A], Awaitable[None]]


@dataclass(frozen=True, init=False)
class CommandSpec:
    """A command as declared once. Help texts live at `commands.<path>.summary|usage`.

    `args` are the arguments as the parser, /help and the platforms' menus read them;
    `parsed_as` is the dataclass the parser builds from them, one field per `Arg`, and what
    the handler (and the form's `convert`) gives and takes."""

    name: str
    handler: Handler[Any] | None
    parsed_as: Callable[..., object]
    args: tuple[Arg, ...]
    needs: Needs
    role: Role
    platforms: frozenset[Platform] | None
    subcommands: tuple[CommandSpec, ...]
    parent: str | None
    hidden: bool
    # The same command as a form (a Slack modal), offered when it is run without arguments.
    form: FormSpec[object] | None
    # Where /help lists it; a subcommand without one is listed with its parent.
    topic: Topic | None

    # Written out rather than generated so that its type variable belongs to each declaration:
    # mypy then checks that the handler, `parsed_as` and the form agree on one arguments type
    # wherever a command is declared, nested in a parent's subcommands too. (A generic class
    # would take `Any` for it from the registry's `CommandSpec[Any]`, and check nothing.)
    def __init__(
        self,
        name: str,
        handler: Handler[A] | None,
        parsed_as: Callable[..., A],
        args: tuple[Arg, ...] = (),
        *,
        needs: Needs = Needs.ANYWHERE,
        role: Role = Role.MEMBER,
        platforms: frozenset[Platform] | None = None,
        subcommands: tuple[CommandSpec, ...] = (),
        parent: str | None = None,
        hidden: bool = False,
        form: FormSpec[A] | None = None,
        topic: Topic | None = None,
    ) -> None:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"command name {name!r} does not fit both platforms")
        declared = {
            "name": name,
            "handler": handler,
            "parsed_as": parsed_as,
            "args": args,
            "needs": needs,
            "role": role,
            "platforms": platforms,
            "subcommands": subcommands,
            "parent": parent,
            "hidden": hidden,
            "form": form,
            "topic": topic,
        }
        for field_name, value in declared.items():
            object.__setattr__(self, field_name, value)

    @property
    def path(self) -> str:
        return f"{self.parent}.{self.name}" if self.parent else self.name

    @property
    def summary_key(self) -> str:
        return f"commands.{self.path}.summary"

    @property
    def usage_key(self) -> str:
        return f"commands.{self.path}.usage"

    def available_on(self, platform: Platform) -> bool:
        return self.platforms is None or platform in self.platforms

    def subcommand(self, name: str) -> CommandSpec | None:
        return next((s for s in self.subcommands if s.name == name), None)

    def topic_of(self, child: CommandSpec) -> Topic | None:
        """A subcommand's topic: its own, else this command's."""
        return child.topic or self.topic


def sub(parent: str, spec: CommandSpec) -> CommandSpec:
    """Attach a subcommand to its parent's help path (`commands.faq.add.usage`)."""
    return replace(spec, parent=parent)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split on white space, keeping quoted phrases together; an unclosed quote is an error."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        opener = text[i]
        if opener in _QUOTES:
            closer = _QUOTES[opener]
            j = text.find(closer, i + 1)
            if j < 0:
                raise ArgumentError("errors.unbalanced_quotes")
            tokens.append(Token(text[i + 1 : j], i, j + 1))
            i = j + 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        tokens.append(Token(text[i:j], i, j))
        i = j
    return tokens


def parse_args(spec: CommandSpec, raw: str, words: Words = CANONICAL_ONLY) -> object:
    """The command's text -> its `parsed_as` dataclass: every declared argument converted and
    bounded, an optional one left out as None (a repeated one as an empty tuple). A choice
    typed in any of our languages (`words`) arrives as its canonical word."""
    if len(raw) > MAX_COMMAND_TEXT:
        raise ArgumentError("errors.too_long", limit=MAX_COMMAND_TEXT)
    text_arg = next((a for a in spec.args if a.kind is ArgKind.TEXT), None)
    # Before a free-text argument, an unclosed quote is just part of the text.
    tokens = tokenize(raw) if text_arg is None else tokenize_loose(raw)
    values: dict[str, object] = {}
    position = 0
    for arg in spec.args:
        if arg.kind is ArgKind.TEXT:
            rest = raw[tokens[position].start :].strip() if position < len(tokens) else ""
            rest = _unquote(rest)
            if not rest:
                if arg.required:
                    raise ArgumentError("errors.missing_argument", arg=arg.name)
                values[arg.name] = None
                continue
            if len(rest) > arg.max_length:
                raise ArgumentError("errors.argument_too_long", arg=arg.name, limit=arg.max_length)
            values[arg.name] = rest
            position = len(tokens)
            continue
        if arg.repeat:
            items = tuple(convert(arg, t.text, words) for t in tokens[position:])
            if arg.required and not items:
                raise ArgumentError("errors.missing_argument", arg=arg.name)
            values[arg.name] = items
            position = len(tokens)
            continue
        if position >= len(tokens):
            if arg.required:
                raise ArgumentError("errors.missing_argument", arg=arg.name)
            values[arg.name] = None
            continue
        values[arg.name] = convert(arg, tokens[position].text, words)
        position += 1
    if position < len(tokens):
        raise ArgumentError("errors.unexpected_argument", value=_clip(tokens[position].text))
    return spec.parsed_as(**values)


def tokenize_loose(text: str) -> list[Token]:
    try:
        return tokenize(text)
    except ArgumentError:
        return [Token(m.group(0), m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in _QUOTES and text.endswith(_QUOTES[text[0]]):
        inner = text[1:-1]
        if text[0] not in inner:
            return inner.strip()
    return text


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def convert(arg: Arg, text: str, words: Words = CANONICAL_ONLY) -> object:
    """One typed argument -> its value. A choice's error carries the canonical choices (a
    tuple), which whoever explains it shows in the member's words (`Words.shown`)."""
    if len(text) > arg.max_length:
        raise ArgumentError("errors.argument_too_long", arg=arg.name, limit=arg.max_length)
    if arg.kind is ArgKind.WORD:
        return text
    if arg.kind is ArgKind.INT:
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise ArgumentError("errors.not_a_number", arg=arg.name, value=_clip(text))
        return int(text)
    if arg.kind is ArgKind.CHOICE:
        chosen = words.canonical(arg.choices, text)
        if chosen is None:
            raise ArgumentError(
                "errors.not_a_choice", arg=arg.name, value=_clip(text), choices=arg.choices
            )
        return chosen
    if arg.kind is ArgKind.LOCALE:
        lowered = text.lower()
        if lowered not in SUPPORTED_LOCALES:
            raise ArgumentError(
                "errors.not_a_choice",
                arg=arg.name,
                value=_clip(text),
                choices=", ".join(SUPPORTED_LOCALES),
            )
        return lowered
    if arg.kind is ArgKind.ROLE:
        labels = tuple(r.label for r in Role)
        label = words.canonical(labels, text)
        if label is None:
            raise ArgumentError(
                "errors.not_a_choice", arg=arg.name, value=_clip(text), choices=labels
            )
        return Role.parse(label)
    if arg.kind is ArgKind.URL:
        if not is_web_url(text):
            raise ArgumentError("errors.not_a_url", value=_clip(text))
        return text
    if arg.kind is ArgKind.DATE:
        day = parse_date(text)
        if day is None:
            raise ArgumentError("errors.not_a_date", value=_clip(text))
        return day
    raise AssertionError(arg.kind)


def parse_id(text: str) -> int | None:
    """The number of a stored object as typed or carried by a button: ASCII digits within the
    range an INT argument accepts; None for anything else (`"²".isdigit()` is true, and an
    id beyond the database's integers would fail the query)."""
    return int(text) if _ID.fullmatch(text) else None


def is_web_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme in {"http", "https"}
        and "." in host
        and not any(c.isspace() for c in text)
        and len(text) <= 2000
    )


_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,64})(?:@[A-Za-z0-9_]{1,64})?(?=\s|$)(.*)$", re.S)


def split_command(text: str) -> tuple[str, str] | None:
    """`/name@bot args` -> (name, args); None when the text is not a command."""
    if not text.startswith("/"):  # nearly every message: asked several times for each
        return None
    match = _COMMAND.match(text)
    if not match:
        return None
    return match.group(1).lower(), match.group(2).strip()


class CommandRegistry:
    """Every command of the installation, looked up by name."""

    def __init__(self, specs: Sequence[CommandSpec]) -> None:
        self._specs: dict[str, CommandSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"command {spec.name} declared twice")
            if spec.topic is None:
                raise ValueError(f"command {spec.name} has no topic for /help")
            self._specs[spec.name] = spec

    def get(self, name: str) -> CommandSpec | None:
        return self._specs.get(name)

    def find(self, path: str) -> CommandSpec | None:
        """A command or subcommand by its path: `poll`, `webinar.add`."""
        name, _, child = path.partition(".")
        spec = self._specs.get(name)
        if spec is None or not child:
            return spec
        return spec.subcommand(child)

    def all(self) -> list[CommandSpec]:
        return list(self._specs.values())

    def visible(self, platform: Platform, role: Role) -> list[CommandSpec]:
        return [
            s
            for s in self._specs.values()
            if s.available_on(platform) and s.role <= role and not s.hidden
        ]
