"""`facilitator telegram …`: register or remove the webhook, publish the command menus."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from facilitator.commands.spec import CommandRegistry
from facilitator.observability import configure_logging
from facilitator.settings import Settings

T = TypeVar("T")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level)  # keeps httpx quiet: its URLs carry the token
    if settings.telegram_bot_token is None:
        typer.echo("TELEGRAM_BOT_TOKEN is not set (see docs/telegram.md).", err=True)
        raise typer.Exit(2)
    return settings


def _run(action: Callable[[], Awaitable[T]]) -> T:
    from telegram.error import TelegramError

    async def main() -> T:
        return await action()

    try:
        return asyncio.run(main())
    except TelegramError as error:
        typer.echo(f"Telegram refused: {error.message}", err=True)
        raise typer.Exit(1) from None


def webhook_url(public_url: str, path: str) -> str:
    """The public base URL of `serve` plus the webhook path (unless it already ends with it)."""
    base = public_url.rstrip("/")
    return base if base.endswith(path.rstrip("/")) else base + path


def set_webhook(
    public_url: Annotated[str, typer.Argument(help="Public HTTPS address of `serve`.")],
    drop_pending: Annotated[
        bool, typer.Option(help="Discard updates Telegram has queued so far.")
    ] = False,
    max_connections: Annotated[int, typer.Option(min=1, max=100)] = 40,
) -> None:
    """Tell Telegram to deliver updates to PUBLIC_URL + the webhook path, with the secret."""
    from adapters.telegram.adapter import make_bot
    from adapters.telegram.envelope import ALLOWED_UPDATES

    settings = _settings()
    secret = settings.telegram_webhook_secret
    if secret is None or not _SECRET.match(secret.get_secret_value()):
        typer.echo(
            "Set TELEGRAM_WEBHOOK_SECRET to 1-256 characters among A-Z, a-z, 0-9, _ and -.",
            err=True,
        )
        raise typer.Exit(2)
    url = webhook_url(public_url, settings.telegram_webhook_path)
    if not url.startswith("https://"):
        typer.echo("Telegram delivers webhooks to https:// addresses only.", err=True)
        raise typer.Exit(2)

    async def action() -> None:
        bot, _ = make_bot(settings)
        async with bot:
            await bot.set_webhook(
                url,
                secret_token=secret.get_secret_value(),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=drop_pending,
                max_connections=max_connections,
            )

    _run(action)
    typer.echo(f"webhook set: {url}")


def delete_webhook(
    drop_pending: Annotated[
        bool, typer.Option(help="Discard updates Telegram has queued so far.")
    ] = False,
) -> None:
    """Stop webhook delivery (needed before `facilitator run` can long-poll)."""
    from adapters.telegram.adapter import make_bot

    settings = _settings()

    async def action() -> None:
        bot, _ = make_bot(settings)
        async with bot:
            await bot.delete_webhook(drop_pending_updates=drop_pending)

    _run(action)
    typer.echo("webhook deleted")


def publish(registry: CommandRegistry, dry_run: bool) -> None:
    """Set the command menus: per language (en, es, pt, and a default) and per scope."""
    from adapters.telegram.adapter import make_bot
    from adapters.telegram.commands_menu import command_menus, publish_commands
    from facilitator.i18n import Catalogue

    settings = _settings()
    catalogue = Catalogue.load(settings.prompts_dir)
    menus = command_menus(registry, catalogue, settings.default_language)
    if dry_run:
        for menu in menus:
            names = " ".join(f"/{command.command}" for command in menu.commands)
            typer.echo(f"{menu.scope.type}\t{menu.language_code or '*'}\t{names}")
        return

    async def action() -> int:
        bot, _ = make_bot(settings)
        async with bot:
            return await publish_commands(bot, menus)

    count = _run(action)
    typer.echo(f"{count} command lists published")


def info() -> None:
    """Show the bot account and where Telegram delivers its updates."""
    from adapters.telegram.adapter import make_bot

    settings = _settings()

    async def action() -> tuple[str, str, bool, int]:
        bot, _ = make_bot(settings)
        async with bot:
            hook = await bot.get_webhook_info()
            me = bot.bot
            return (
                me.username or "",
                hook.url,
                bool(me.can_read_all_group_messages),
                hook.pending_update_count,
            )

    username, url, reads_all, pending = _run(action)
    typer.echo(f"bot: @{username}")
    typer.echo(f"privacy mode: {'off' if reads_all else 'on (the bot sees commands only)'}")
    typer.echo(f"webhook: {url or 'none (long polling with `facilitator run`)'}")
    typer.echo(f"pending updates: {pending}")


def telegram_cli(registry: Callable[[], CommandRegistry]) -> typer.Typer:
    """The `telegram` commands; the composition root hands in how to build the registry."""
    app = typer.Typer(
        help="Telegram: webhook registration and the command menu.", no_args_is_help=True
    )
    app.command("set-webhook")(set_webhook)
    app.command("delete-webhook")(delete_webhook)

    @app.command("publish-commands")
    def publish_commands(
        dry_run: Annotated[
            bool, typer.Option(help="Print the menus instead of setting them.")
        ] = False,
    ) -> None:
        """Set the command menus: per language (en, es, pt, and a default) and per scope."""
        publish(registry(), dry_run)

    app.command("info")(info)
    return app
