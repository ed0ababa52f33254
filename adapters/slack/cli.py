"""`facilitator slack …`: the app manifest to paste into Slack's app configuration."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer

from facilitator.commands.spec import CommandRegistry


class ManifestFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


def slack_cli(registry: Callable[[], CommandRegistry]) -> typer.Typer:
    """The `slack` commands; the composition root hands in how to build the registry."""
    app = typer.Typer(help="Slack: the app manifest.", no_args_is_help=True)

    @app.callback()
    def slack() -> None:
        """Slack: the app manifest to create or update the Slack app with."""

    @app.command("manifest")
    def manifest(
        request_url: Annotated[
            str | None,
            typer.Option(
                help="Public URL of /slack/events for an HTTP app (`facilitator serve`)."
            ),
        ] = None,
        socket_mode: Annotated[
            bool | None,
            typer.Option(
                "--socket-mode/--http",
                help="Socket Mode (`facilitator run`, no public URL) or HTTP. "
                "Default: HTTP when --request-url is given, else Socket Mode.",
            ),
        ] = None,
        output_format: Annotated[
            ManifestFormat, typer.Option("--format", help="YAML or JSON; Slack accepts both.")
        ] = ManifestFormat.YAML,
        language: Annotated[
            str, typer.Option(help="Language of the descriptions (en, es, pt).")
        ] = "en",
        umbrella_only: Annotated[
            bool,
            typer.Option(help="Only /facilitator, no slash command per command."),
        ] = False,
        name: Annotated[str, typer.Option(help="The app's name in Slack.")] = "Facilitator",
    ) -> None:
        """Print the Slack app manifest: scopes, events, slash commands, interactivity, Home."""
        from adapters.slack.manifest import build_manifest, render_manifest
        from facilitator.i18n import SUPPORTED_LOCALES, Catalogue
        from facilitator.settings import Settings

        if language not in SUPPORTED_LOCALES:
            typer.echo(f"unknown language {language!r}: use en, es or pt", err=True)
            raise typer.Exit(2)
        use_socket_mode = socket_mode if socket_mode is not None else request_url is None
        if not use_socket_mode and not request_url:
            typer.echo("--http needs --request-url https://<your host>/slack/events", err=True)
            raise typer.Exit(2)
        catalogue = Catalogue.load(Settings().prompts_dir)
        built = build_manifest(
            registry(),
            catalogue,
            socket_mode=use_socket_mode,
            request_url=request_url,
            language=language,
            umbrella_only=umbrella_only,
            name=name,
        )
        typer.echo(render_manifest(built, output_format.value), nl=False)

    return app
