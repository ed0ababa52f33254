"""Telegram adapter: Bot API updates <-> core events, through python-telegram-bot."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from adapters.telegram.adapter import TelegramAdapter
    from facilitator.context import Services
    from facilitator.inbox import Inbox
    from facilitator.ports import Clock
    from facilitator.settings import Settings


class Wiring(Protocol):
    """What the adapter takes from the composition root's `App`."""

    @property
    def inbox(self) -> Inbox: ...

    @property
    def services(self) -> Services: ...

    @property
    def clock(self) -> Clock: ...


def build(settings: Settings, app: Wiring) -> TelegramAdapter:
    """The adapter for the composition root (PTB is imported only when Telegram is used)."""
    # Opt in to PTB's coming behaviour: time periods (RetryAfter.retry_after) are timedeltas.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from adapters.telegram.adapter import TelegramAdapter

    return TelegramAdapter(
        settings,
        app.inbox.accept,
        app.services.registry,
        app.services.catalogue,
        app.clock,
        accept_many=app.inbox.accept_many,
    )
