"""The App Home tab: the core's overview of the member, published with views.publish."""

from __future__ import annotations

from typing import Any

from adapters.slack import render
from adapters.slack.commands import UMBRELLA
from facilitator.i18n import Catalogue, resolve_locale
from facilitator.markup import OutboundMessage

# Opening the Home tab is decoded as the member running the core's hidden `home` command in a
# direct conversation whose chat id names the Home tab of that member; the messenger publishes
# the reply there.
HOME_PREFIX = "home:"
HOME_COMMAND = "home"
MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
FOOTER_BLOCKS = 2


def home_chat(user_id: str) -> str:
    return HOME_PREFIX + user_id


def home_user(chat_id: str) -> str | None:
    """The member whose Home tab a chat id names, or None for any other conversation."""
    if not chat_id.startswith(HOME_PREFIX):
        return None
    return chat_id[len(HOME_PREFIX) :] or None


def hint(catalogue: Catalogue, slack_locale: str | None) -> str:
    """How commands work on Slack, in the member's Slack language (the Home tab footer)."""
    locale = resolve_locale(None, slack_locale, None)
    return render.mrkdwn(catalogue.render(locale, "slack.home.hint", umbrella=UMBRELLA))


def home_view(message: OutboundMessage, footer: str | None) -> dict[str, Any]:
    """The view: the message's sections (each text with its own buttons), as many whole
    sections as Slack's 100 blocks allow, and the footer always last."""
    groups = render.section_blocks(message.sections)
    if not groups:
        body = render.rich_text(message.body)
        groups = [
            [body] if body is not None else [],
            *([b] for b in render.actions(message.buttons)),
        ]
    room = MAX_HOME_BLOCKS - (FOOTER_BLOCKS if footer else 0)
    blocks = render.fitting(groups, room)
    if footer:
        blocks.append({"type": "divider"})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {"type": "home", "blocks": blocks}
