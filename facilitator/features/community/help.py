"""/help: a short overview by topic, every command of one topic, or one command's usage."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from facilitator.commands.spec import CommandRegistry, CommandSpec, Topic
from facilitator.context import CommandContext
from facilitator.domain.model import Platform, Role
from facilitator.i18n import SUPPORTED_LOCALES
from facilitator.markup import Button, OutboundMessage, RichText
from facilitator.ports import Messenger, StartLinks

# `/start help` (or `help_<topic>`): Telegram's deep link from a group back to the help.
HELP_PAYLOAD = "help"
# How many commands of a topic the short /help names before an ellipsis.
SHORT_LIST = 5


@dataclass(frozen=True)
class HelpArgs:
    topic: str | None


class PrivateChats:
    """Links that open a private chat with the bot, where the platform has them (Telegram):
    there a reply meant for one member cannot be hidden from the group, so a long one is
    offered in the private chat instead."""

    def __init__(self, messengers: Mapping[Platform, Messenger]) -> None:
        self._messengers = messengers  # filled in as adapters attach

    def start_link(self, platform: Platform, payload: str) -> str | None:
        messenger = self._messengers.get(platform)
        return messenger.start_link(payload) if isinstance(messenger, StartLinks) else None


def entries(registry: CommandRegistry, platform: Platform, role: Role) -> Iterator[CommandLine]:
    """Every command `role` may run on `platform`, with its topic, in the registry's order: a
    command that runs by itself, then its subcommands. A parent that only groups subcommands
    (/doc, /webinar) is not a line of its own: its usage is its subcommands'."""
    for spec in registry.visible(platform, role):
        if spec.handler is not None:
            yield CommandLine(spec.topic or Topic.BASICS, spec, spec)
        for child in spec.subcommands:
            if child.role <= role and not child.hidden:
                yield CommandLine(spec.topic_of(child) or Topic.BASICS, spec, child)


@dataclass(frozen=True)
class CommandLine:
    topic: Topic
    root: CommandSpec  # the top-level command, whose name the short /help shows
    spec: CommandSpec  # the command or subcommand this line explains


async def help_command(ctx: CommandContext, args: HelpArgs) -> None:
    asked = " ".join((args.topic or "").split()).lstrip("/")
    lines = list(entries(ctx.services.registry, ctx.origin.platform, ctx.role))
    if not asked:
        ctx.reply(OutboundMessage(_overview(ctx, lines)))
        return
    topic = _topic_named(ctx, asked)
    if topic is not None and any(line.topic is topic for line in lines):
        _send_long(ctx, topic, _topic_list(ctx, topic, lines))
        return
    spec = _command_named(ctx.services.registry, asked)
    shown = [line for line in lines if spec is not None and spec in (line.spec, line.root)]
    if spec is not None and spec.parent is not None:  # `/help faq add`: that one only
        shown = [line for line in shown if line.spec is spec]
    if shown:
        ctx.reply(OutboundMessage(RichText.join(_line(ctx, line.spec) for line in shown)))
        return
    ctx.say(
        "core.help.unknown",
        asked=asked[:40],
        topics=_words(ctx, lines),
        private=True,
    )


def _overview(ctx: CommandContext, lines: list[CommandLine]) -> RichText:
    parts = [ctx.rich("core.help.header", role=ctx.role_label(ctx.role))]
    for topic in _topics(lines):
        names: list[str] = []
        for line in lines:
            if line.topic is topic and line.root.topic is topic:
                name = f"/{line.root.name}"
                if name not in names:
                    names.append(name)
        if not names:  # only subcommands of another topic's commands (/faq add)
            continue
        listed = ", ".join(names[:SHORT_LIST]) + ("…" if len(names) > SHORT_LIST else "")
        parts.append(ctx.rich("core.help.topic_line", topic=_title(ctx, topic), commands=listed))
    parts.append(ctx.rich("core.help.more", topics=_words(ctx, lines)))
    return RichText.join(parts)


def _topic_list(ctx: CommandContext, topic: Topic, lines: list[CommandLine]) -> RichText:
    parts = [
        ctx.rich("core.help.topic_header", topic=_title(ctx, topic), role=ctx.role_label(ctx.role))
    ]
    parts.extend(_line(ctx, line.spec) for line in lines if line.topic is topic)
    return RichText.join(parts)


def _line(ctx: CommandContext, spec: CommandSpec) -> RichText:
    return ctx.rich("core.help.line", usage=ctx.t(spec.usage_key), summary=ctx.t(spec.summary_key))


def _send_long(ctx: CommandContext, topic: Topic, body: RichText) -> None:
    """A topic's list goes to the member alone: in a group, privately (Slack: an ephemeral
    message) or, where the platform cannot hide a reply from the group (Telegram), as a link
    to the private chat, where `/start help_<topic>` shows it."""
    if ctx.origin.is_direct:
        ctx.reply(OutboundMessage(body))
        return
    chats = ctx.services.optional(PrivateChats)
    payload = f"{HELP_PAYLOAD}_{topic.value}"
    link = chats.start_link(ctx.origin.platform, payload) if chats is not None else None
    if link is None:
        ctx.reply(OutboundMessage(body, ephemeral=True), private=True)
        return
    button = Button(ctx.t("core.help.open_private"), "", url=link)
    ctx.say("core.help.in_private", topic=_title(ctx, topic), buttons=((button,),))


def help_from_start(payload: str) -> HelpArgs | None:
    """The help a `/start` deep link asks for (`help`, `help_moderation`), or None."""
    if payload == HELP_PAYLOAD:
        return HelpArgs(None)
    if payload.startswith(f"{HELP_PAYLOAD}_"):
        return HelpArgs(payload.removeprefix(f"{HELP_PAYLOAD}_"))
    return None


def _topics(lines: list[CommandLine]) -> list[Topic]:
    present = {line.topic for line in lines}
    return [topic for topic in Topic if topic in present]


def _title(ctx: CommandContext, topic: Topic) -> str:
    return ctx.t(f"core.help.topics.{topic.value}.title")


def _words(ctx: CommandContext, lines: list[CommandLine]) -> str:
    return ", ".join(ctx.t(f"core.help.topics.{t.value}.word") for t in _topics(lines))


def _folded(text: str) -> str:
    """Lower case without accents: `Moderación` and `moderacion` name the same topic."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def topic_words(ctx: CommandContext, topic: Topic) -> set[str]:
    """The words that name a topic: its id and its word in every language."""
    words = {_folded(topic.value)}
    for locale in SUPPORTED_LOCALES:
        words.add(_folded(ctx.catalogue.text(locale, f"core.help.topics.{topic.value}.word")))
    return words


def _topic_named(ctx: CommandContext, asked: str) -> Topic | None:
    folded = _folded(asked)
    return next((t for t in Topic if folded in topic_words(ctx, t)), None)


def _command_named(registry: CommandRegistry, asked: str) -> CommandSpec | None:
    words = asked.casefold().split()
    spec = registry.get(words[0].lstrip("/"))
    if spec is not None and len(words) > 1:
        return spec.subcommand(words[1]) or spec
    return spec
