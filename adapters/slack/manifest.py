"""The Slack app manifest, generated from the command registry, ready to paste into Slack."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from adapters.slack.commands import UMBRELLA, slash_commands
from facilitator.commands.spec import CommandRegistry
from facilitator.i18n import Catalogue

# The message shortcut: `/save` replying to the message it was chosen on.
SAVE_SHORTCUT = "save_to_repository"
# The message shortcut on a file: `/share` replying to the message that carries it.
SHARE_SHORTCUT = "share_file_to_repository"
# The message shortcut that flags a message to the moderators: `/report` replying to it.
REPORT_SHORTCUT = "report_message"

# Every Web API method the adapter calls, and the bot scopes it needs. Where a method needs
# one scope per kind of conversation (public, private, group DM), all of them are listed and
# all are requested.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.open": ("im:write",),
    "conversations.info": ("channels:read", "groups:read", "mpim:read"),
    # Who is in a channel: asked before a moderator command sent privately.
    "conversations.members": ("channels:read", "groups:read", "mpim:read"),
    "users.info": ("users:read",),
    "views.publish": (),
    "views.open": (),  # no scope: the trigger of the member's own action is the permission
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    # `/share` on a posted file: its metadata, then its bytes from url_private.
    "files.info": ("files:read",),
    # Socket Mode: called with the app-level token, whose scope is connections:write.
    "apps.connections.open": (),
}

# Every bot event the manifest subscribes to, and the scopes Slack requires for it.
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_mention": ("app_mentions:read",),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "message.mpim": ("mpim:history",),
    "member_joined_channel": ("channels:read", "groups:read"),
    "member_left_channel": ("channels:read", "groups:read"),
    "channel_left": ("channels:read",),
    "group_left": ("groups:read",),
    "reaction_added": ("reactions:read",),
    "reaction_removed": ("reactions:read",),
    "app_uninstalled": (),
    "tokens_revoked": (),
}

SLASH_COMMAND_SCOPE = "commands"
DEFAULT_NAME = "Facilitator"
BACKGROUND = "#2c5f2d"


def bot_scopes() -> list[str]:
    scopes = {SLASH_COMMAND_SCOPE}
    for needed in (*METHOD_SCOPES.values(), *EVENT_SCOPES.values()):
        scopes.update(needed)
    return sorted(scopes)


def _usage_hint(usage: str, name: str) -> str:
    """`/lang [en|es|pt]` -> `[en|es|pt]`: Slack shows the command itself already."""
    return re.sub(rf"^/{re.escape(name)}\b\s*", "", usage.strip())


def _slash_commands(
    registry: CommandRegistry,
    catalogue: Catalogue,
    language: str,
    request_url: str | None,
    umbrella_only: bool,
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [
        {
            "command": f"/{UMBRELLA}",
            "description": catalogue.text(language, "slack.manifest.umbrella", umbrella=UMBRELLA),
            "usage_hint": catalogue.text(language, "slack.manifest.umbrella_usage"),
            "should_escape": False,
        }
    ]
    if not umbrella_only:
        for spec in slash_commands(registry):
            entry: dict[str, Any] = {
                "command": f"/{spec.name}",
                "description": catalogue.text(language, spec.summary_key),
                "should_escape": False,
            }
            hint = _usage_hint(catalogue.text(language, spec.usage_key), spec.name)
            if hint:
                entry["usage_hint"] = hint
            entries.append(entry)
    if request_url:
        for entry in entries:
            entry["url"] = request_url
    return entries


def build_manifest(
    registry: CommandRegistry,
    catalogue: Catalogue,
    *,
    socket_mode: bool,
    request_url: str | None = None,
    language: str = "en",
    umbrella_only: bool = False,
    name: str = DEFAULT_NAME,
) -> dict[str, Any]:
    """The manifest as a dict; HTTP mode needs the public URL of `/slack/events`."""
    if not socket_mode and not request_url:
        raise ValueError("an HTTP app needs the request URL (https://…/slack/events)")
    url = None if socket_mode else request_url
    event_subscriptions: dict[str, Any] = {"bot_events": list(EVENT_SCOPES)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if url:
        event_subscriptions = {"request_url": url, **event_subscriptions}
        interactivity["request_url"] = url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": catalogue.text(language, "slack.manifest.description"),
            "background_color": BACKGROUND,
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name.lower().replace(" ", "-"), "always_online": True},
            "slash_commands": _slash_commands(registry, catalogue, language, url, umbrella_only),
            # A message's "⋯" menu: save it as an answer (`/save`, with a form).
            "shortcuts": [
                {
                    "name": catalogue.text(language, "slack.manifest.save_shortcut")[:24],
                    "type": "message",
                    "callback_id": SAVE_SHORTCUT,
                    "description": catalogue.text(
                        language, "slack.manifest.save_shortcut_description"
                    )[:150],
                },
                # On a message with a PDF or DOCX: propose its text (`/share`).
                {
                    "name": catalogue.text(language, "slack.manifest.share_shortcut")[:24],
                    "type": "message",
                    "callback_id": SHARE_SHORTCUT,
                    "description": catalogue.text(
                        language, "slack.manifest.share_shortcut_description"
                    )[:150],
                },
                # On any message: flag it to the moderators privately (`/report`).
                {
                    "name": catalogue.text(language, "slack.manifest.report_shortcut")[:24],
                    "type": "message",
                    "callback_id": REPORT_SHORTCUT,
                    "description": catalogue.text(
                        language, "slack.manifest.report_shortcut_description"
                    )[:150],
                },
            ],
        },
        "oauth_config": {"scopes": {"bot": bot_scopes()}},
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def render_manifest(manifest: dict[str, Any], output_format: str = "yaml") -> str:
    if output_format == "json":
        return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=1000)
