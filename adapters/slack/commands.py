"""How the core's commands appear on Slack: one umbrella slash command plus one per command.

`/facilitator <command> [arguments]` always works. Each command also gets its own slash
command in the manifest, unless its name is one of Slack's built-in slash commands (those are
reserved: Slack would run its own), in which case it is reached through the umbrella only;
`/help` is built in, so help is `/facilitator help`.
"""

from __future__ import annotations

from adapters.slack.render import unescape
from facilitator.commands.spec import CommandRegistry, CommandSpec
from facilitator.domain.model import Platform

UMBRELLA = "facilitator"

# Slack's built-in slash commands (Slack help centre, "Use built-in slash commands", plus
# long-standing aliases). A per-command slash command with one of these names is skipped.
SLACK_BUILTIN_COMMANDS = frozenset(
    {
        "active",
        "apps",
        "archive",
        "away",
        "call",
        "close",
        "collapse",
        "dm",
        "dnd",
        "expand",
        "feed",
        "feedback",
        "giphy",
        "help",
        "invite",
        "join",
        "keys",
        "kick",
        "leave",
        "me",
        "msg",
        "mute",
        "open",
        "part",
        "prefs",
        "remind",
        "remove",
        "rename",
        "search",
        "shortcuts",
        "shrug",
        "star",
        "status",
        "topic",
        "who",
    }
)


def own_slash_command(spec: CommandSpec) -> bool:
    """Whether a command gets its own `/name` in the manifest."""
    return (
        spec.available_on(Platform.SLACK)
        and not spec.hidden
        and spec.name not in SLACK_BUILTIN_COMMANDS
        and spec.name != UMBRELLA
    )


def slash_commands(registry: CommandRegistry) -> list[CommandSpec]:
    return [spec for spec in registry.all() if own_slash_command(spec)]


def parse_slash(command: str, text: str) -> tuple[str, str]:
    """(`/facilitator faq visa`) or (`/faq visa`) -> ("faq", "visa"). Empty umbrella: help."""
    name = command.strip().lstrip("/").lower()
    args = unescape(text).strip()  # Slack sends &, < and > as entities
    if name == UMBRELLA:
        head, _, rest = args.partition(" ")
        name = head.strip().lstrip("/").lower() or "help"
        args = rest.strip()
    return name[:64], args
