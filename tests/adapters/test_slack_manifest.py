"""The generated Slack app manifest: complete, within Slack's limits, scopes for everything."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from adapters.slack.commands import SLACK_BUILTIN_COMMANDS, UMBRELLA
from adapters.slack.manifest import (
    EVENT_SCOPES,
    METHOD_SCOPES,
    REPORT_SHORTCUT,
    SAVE_SHORTCUT,
    SHARE_SHORTCUT,
    build_manifest,
    render_manifest,
)
from facilitator.bootstrap import build_registry
from facilitator.cli import app as cli
from facilitator.domain.model import Platform
from facilitator.i18n import Catalogue
from tests.conftest import REPO_ROOT

CATALOGUE = Catalogue.load(REPO_ROOT / "prompts")
URL = "https://bot.example.org/slack/events"

# Slack's documented limits for manifest fields, as Slack states them in the app manifest
# reference (https://docs.slack.dev/reference/app-manifest) and, field by field, in the types of
# its official Node SDK, which quote that reference: packages/web-api/src/types/request/
# manifest.ts in https://github.com/slackapi/node-slack-sdk ("ManifestSlashCommand",
# "ManifestDisplayInformation", "ManifestBotUser", "ManifestFeatures"):
# - features.slash_commands: at most 50 commands.
# - features.slash_commands[].command: at most 32 characters, the leading "/" included;
#   Slack's own commands and the UI use lower case, so names are required to be lower case.
# - features.slash_commands[].description: at most 2,000 characters.
# - features.slash_commands[].usage_hint: at most 1,000 characters.
# - display_information.name: at most 35 characters; description: at most 140 characters.
# - features.bot_user.display_name: at most 80 characters (a-z, 0-9, "-", "_" and ".").
MAX_SLASH_COMMANDS = 50
MAX_COMMAND = 32
MAX_DESCRIPTION = 2000
MAX_USAGE_HINT = 1000
MAX_APP_NAME = 35
MAX_APP_DESCRIPTION = 140
MAX_BOT_NAME = 80


def manifest(**options: Any) -> dict[str, Any]:
    options.setdefault("socket_mode", True)
    return build_manifest(build_registry(), CATALOGUE, **options)


def slash_names(built: dict[str, Any]) -> list[str]:
    return [c["command"].lstrip("/") for c in built["features"]["slash_commands"]]


@pytest.mark.parametrize("language", ["en", "es", "pt"])
def test_slash_commands_fit_slacks_documented_limits(language: str) -> None:
    built = manifest(language=language, socket_mode=False, request_url=URL)

    assert len(built["features"]["slash_commands"]) <= MAX_SLASH_COMMANDS
    for entry in built["features"]["slash_commands"]:
        command = entry["command"]
        assert len(command) <= MAX_COMMAND, command
        assert re.fullmatch(r"/[a-z0-9_-]+", command), command
        assert 0 < len(entry["description"]) <= MAX_DESCRIPTION, command
        assert len(entry.get("usage_hint", "")) <= MAX_USAGE_HINT, command
        assert entry["url"] == URL
        assert entry["should_escape"] is False
    info = built["display_information"]
    assert len(info["name"]) <= MAX_APP_NAME
    assert 0 < len(info["description"]) <= MAX_APP_DESCRIPTION
    bot_name = built["features"]["bot_user"]["display_name"]
    assert len(bot_name) <= MAX_BOT_NAME and re.fullmatch(r"[a-z0-9._-]+", bot_name)


def test_every_command_of_the_registry_is_reachable_and_none_shadows_slack() -> None:
    built = manifest()
    names = slash_names(built)

    assert names[0] == UMBRELLA
    assert len(names) == len(set(names))
    assert not set(names) & SLACK_BUILTIN_COMMANDS
    registry = build_registry()
    own = {s.name for s in registry.all() if s.available_on(Platform.SLACK) and not s.hidden}
    assert own - set(names) == own & SLACK_BUILTIN_COMMANDS
    assert "help" not in names and "faq" in names  # help is Slack's: /facilitator help


def test_usage_hints_come_from_the_registry_without_the_command_itself() -> None:
    entries = {c["command"]: c for c in manifest()["features"]["slash_commands"]}

    assert entries["/lang"]["usage_hint"] == "[en|es|pt]"
    assert entries["/lang"]["description"] == CATALOGUE.text("en", "commands.lang.summary")
    assert "usage_hint" not in entries["/whoami"]
    assert entries["/facilitator"]["usage_hint"] == "<command> [arguments]"


def test_umbrella_only_keeps_just_the_umbrella() -> None:
    assert slash_names(manifest(umbrella_only=True)) == [UMBRELLA]


def test_every_subscribed_event_and_every_called_method_has_its_scopes() -> None:
    built = manifest()
    scopes = set(built["oauth_config"]["scopes"]["bot"])
    events = built["settings"]["event_subscriptions"]["bot_events"]

    for event in events:
        assert set(EVENT_SCOPES[event]) <= scopes, event
    for method, needed in METHOD_SCOPES.items():
        assert set(needed) <= scopes, method
    assert "commands" in scopes
    assert {
        "message.channels",
        "message.groups",
        "message.im",
        "app_mention",
        "member_joined_channel",
        "member_left_channel",
        "reaction_added",
        "reaction_removed",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    } <= set(events)


def test_every_web_api_method_in_the_adapters_source_is_in_the_scope_table() -> None:
    called: set[str] = set()
    for path in (REPO_ROOT / "adapters" / "slack").glob("*.py"):
        for name in re.findall(r"client\.([a-z]+_[A-Za-z0-9_]+)\(", path.read_text("utf-8")):
            if name == "files_upload_v2":
                called |= {"files.getUploadURLExternal", "files.completeUploadExternal"}
            else:
                called.add(name.replace("_", "."))

    assert called, "no Web API call found: the scan is broken"
    assert called <= set(METHOD_SCOPES), called - set(METHOD_SCOPES)


def test_socket_mode_and_http_manifests_differ_only_where_they_must() -> None:
    socket = manifest(socket_mode=True)
    http = manifest(socket_mode=False, request_url=URL)

    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert "request_url" not in socket["settings"]["interactivity"]
    assert all("url" not in c for c in socket["features"]["slash_commands"])
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["event_subscriptions"]["request_url"] == URL
    assert http["settings"]["interactivity"] == {"is_enabled": True, "request_url": URL}
    for built in (socket, http):
        assert built["features"]["app_home"]["home_tab_enabled"] is True
        assert built["settings"]["interactivity"]["is_enabled"] is True


def test_an_http_manifest_needs_the_request_url() -> None:
    with pytest.raises(ValueError, match="request URL"):
        manifest(socket_mode=False)


def test_yaml_and_json_renderings_read_back_the_same() -> None:
    built = manifest(language="es")

    assert yaml.safe_load(render_manifest(built, "yaml")) == built
    assert json.loads(render_manifest(built, "json")) == built
    assert built["display_information"]["description"].startswith("Facilita tu comunidad")


def test_the_cli_prints_a_manifest_ready_to_paste(tmp_path: Path) -> None:
    runner = CliRunner()

    socket = runner.invoke(cli, ["slack", "manifest"])
    http = runner.invoke(cli, ["slack", "manifest", "--request-url", URL, "--format", "json"])
    refused = runner.invoke(cli, ["slack", "manifest", "--http"])

    assert socket.exit_code == 0, socket.output
    assert yaml.safe_load(socket.output)["settings"]["socket_mode_enabled"] is True
    assert http.exit_code == 0, http.output
    assert json.loads(http.output)["settings"]["event_subscriptions"]["request_url"] == URL
    assert refused.exit_code == 2


def test_sharing_a_posted_file_has_its_shortcut_and_the_files_read_scope() -> None:
    built = manifest()
    assert "files:read" in built["oauth_config"]["scopes"]["bot"]
    shortcuts = {s["callback_id"]: s for s in built["features"]["shortcuts"]}
    assert set(shortcuts) == {SAVE_SHORTCUT, SHARE_SHORTCUT, REPORT_SHORTCUT}
    share = shortcuts[SHARE_SHORTCUT]
    assert share["type"] == "message" and share["name"] == "Share file to repository"
    assert len(share["name"]) <= 24 and len(share["description"]) <= 150


def test_reporting_a_message_is_a_message_shortcut_in_every_language() -> None:
    for language, name in (("en", "Report message"), ("es", "Reportar mensaje")):
        built = manifest(language=language)
        [report] = [
            s for s in built["features"]["shortcuts"] if s["callback_id"] == REPORT_SHORTCUT
        ]
        assert report["type"] == "message" and report["name"] == name
        assert len(report["name"]) <= 24 and len(report["description"]) <= 150
