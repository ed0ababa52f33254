"""The command menu (setMyCommands), generated from the registry per language and scope."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeDefault,
)

from facilitator.commands.spec import CommandRegistry, CommandSpec
from facilitator.domain.model import Platform, Role
from facilitator.i18n import SUPPORTED_LOCALES, Catalogue

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 256
MAX_COMMANDS = 100


@dataclass(frozen=True)
class Menu:
    """One setMyCommands call; `language_code` None is the list for every other language."""

    scope: BotCommandScope
    language_code: str | None
    commands: tuple[BotCommand, ...]


def _description(catalogue: Catalogue, locale: str, spec: CommandSpec) -> str:
    text = " ".join(catalogue.text(locale, spec.summary_key).split())
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 1].rstrip() + "…"
    return text or spec.name


def command_menus(
    registry: CommandRegistry, catalogue: Catalogue, default_language: str = "en"
) -> list[Menu]:
    """Members' commands everywhere; moderator commands and above for group administrators
    too (Telegram shows that scope to a group's admins, whom the core treats as moderators)."""
    member = registry.visible(Platform.TELEGRAM, Role.MEMBER)
    everyone = registry.visible(Platform.TELEGRAM, Role.ADMIN)
    scopes: list[tuple[BotCommandScope, Sequence[CommandSpec]]] = [
        (BotCommandScopeDefault(), member),
        (BotCommandScopeAllGroupChats(), member),
        (BotCommandScopeAllChatAdministrators(), everyone),
    ]
    if len(everyone) > MAX_COMMANDS:
        log.warning("more commands than Telegram's menu holds", extra={"count": len(everyone)})
    fallback = default_language if default_language in SUPPORTED_LOCALES else "en"
    menus: list[Menu] = []
    for language_code in (None, *SUPPORTED_LOCALES):
        locale = language_code or fallback
        for scope, specs in scopes:
            commands = tuple(
                BotCommand(spec.name, _description(catalogue, locale, spec))
                for spec in specs[:MAX_COMMANDS]
            )
            menus.append(Menu(scope, language_code, commands))
    return menus


async def publish_commands(bot: Bot, menus: Sequence[Menu]) -> int:
    """Set every menu; returns how many lists were set."""
    for menu in menus:
        await bot.set_my_commands(
            list(menu.commands), scope=menu.scope, language_code=menu.language_code
        )
    log.info("telegram command menus published", extra={"lists": len(menus)})
    return len(menus)
