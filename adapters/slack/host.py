"""What the Slack adapter needs from the application it is attached to."""

from __future__ import annotations

from typing import Protocol

from facilitator.context import Services
from facilitator.inbox import Inbox
from facilitator.ports import Clock


class Host(Protocol):
    """What the adapter needs from the application it is attached to (bootstrap's `App`)."""

    @property
    def inbox(self) -> Inbox: ...

    @property
    def services(self) -> Services: ...

    @property
    def clock(self) -> Clock: ...
