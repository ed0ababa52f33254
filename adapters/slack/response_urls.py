"""The response_url of each slash command or interaction, for replies bound to it.

Slack lets an app answer an interaction through its `response_url` up to five times within
thirty minutes, also in conversations the bot is not a member of. The decoder remembers the
URL under the interaction's reference (the origin's `message_id`, `interaction:<trigger_id>`);
the messenger uses it for the replies to that very interaction, never for anything else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.slack.webapi import Monotonic

log = logging.getLogger(__name__)

INTERACTION_PREFIX = "interaction:"
LIFETIME = 30 * 60.0  # seconds, as Slack documents for response_url
USES = 5
DEFAULT_PREFIXES = ("https://hooks.slack.com/", "https://hooks.slack-gov.com/")
MAX_ENTRIES = 5000


@dataclass
class _Hook:
    url: str
    expires_at: float
    uses_left: int


def trigger_of(reference: str | None) -> str | None:
    """The trigger_id in an interaction reference: what opens a modal for that interaction."""
    if not reference or not reference.startswith(INTERACTION_PREFIX):
        return None
    return reference[len(INTERACTION_PREFIX) :] or None


class ResponseUrls:
    def __init__(
        self,
        clock: Monotonic,
        allowed_prefixes: tuple[str, ...] = DEFAULT_PREFIXES,
        sdk_logger: logging.Logger | None = None,
    ) -> None:
        self._clock = clock
        self._allowed = allowed_prefixes
        self._hooks: dict[str, _Hook] = {}
        # A response_url lets anyone post into the conversation for half an hour: the SDK's
        # logger (held at WARNING) must not write it out.
        self.sdk_logger = sdk_logger or logging.getLogger("adapters.slack.bolt")

    def remember(self, reference: str, url: str | None) -> None:
        if not url:
            return
        if not url.startswith(self._allowed):
            # Only Slack's own hosts: a response_url is fetched by us, so it must not point
            # anywhere else even if a payload says so.
            log.warning("response_url on an unexpected host ignored")
            return
        now = self._clock()
        if len(self._hooks) >= MAX_ENTRIES:
            self._hooks = {k: h for k, h in self._hooks.items() if h.expires_at > now}
        self._hooks[reference] = _Hook(url, now + LIFETIME, USES)

    def take(self, reference: str | None) -> str | None:
        """The URL for one more reply to this interaction, while Slack still accepts it."""
        if not reference:
            return None
        hook = self._hooks.get(reference)
        if hook is None or hook.expires_at <= self._clock() or hook.uses_left <= 0:
            return None
        hook.uses_left -= 1
        return hook.url
