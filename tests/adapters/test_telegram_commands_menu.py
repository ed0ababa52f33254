"""The command menu is generated from the registry, per language and per scope."""

from __future__ import annotations

from pathlib import Path

from facilitator.bootstrap import build_registry
from facilitator.domain.model import Platform, Role
from facilitator.i18n import SUPPORTED_LOCALES, Catalogue
from tests.adapters.fakes.telegram_api import FakeTelegramAPI
from tests.adapters.telegram_support import telegram_harness
from tests.conftest import REPO_ROOT, FrozenClock

CATALOGUE = Catalogue.load(REPO_ROOT / "prompts")
DEFAULT = {"type": "default"}
GROUPS = {"type": "all_group_chats"}
ADMINS = {"type": "all_chat_administrators"}


async def test_start_publishes_every_language_and_scope_from_the_registry(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    registry = build_registry()
    members = [s.name for s in registry.visible(Platform.TELEGRAM, Role.MEMBER)]
    everyone = [s.name for s in registry.visible(Platform.TELEGRAM, Role.ADMIN)]

    async with telegram_harness(
        fake_telegram,
        tmp_path,
        clock,
        telegram_publish_commands_on_start=True,
        default_language="es",
    ):
        pass

    assert len(fake_telegram.calls_to("setMyCommands")) == 3 * (1 + len(SUPPORTED_LOCALES))
    for language in ("", *SUPPORTED_LOCALES):
        locale = language or "es"  # the list for other languages speaks the default language
        for scope, names in ((DEFAULT, members), (GROUPS, members), (ADMINS, everyone)):
            published = fake_telegram.get_commands(scope, language)
            assert [c["command"] for c in published] == names, (scope, language)
            for command in published:
                summary = CATALOGUE.text(locale, f"commands.{command['command']}.summary")
                assert command["description"] == " ".join(summary.split())[:256]
    moderator_only = set(everyone) - set(members)
    assert {"members", "settings"} <= moderator_only
    assert "help" in members and "members" not in members


async def test_a_menu_telegram_refuses_does_not_stop_the_bot(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, clock: FrozenClock
) -> None:
    fake_telegram.fail_next("setMyCommands", 400, "Bad Request: BOT_COMMAND_INVALID")

    async with telegram_harness(
        fake_telegram, tmp_path, clock, telegram_publish_commands_on_start=True
    ) as tg:
        assert tg.adapter.ready()

    assert [c.status for c in fake_telegram.calls_to("setMyCommands")] == [400]
