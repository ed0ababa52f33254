"""The moment a message leaves for its platform, told by the messenger to whoever sends it.

A messenger paces its requests (Telegram's flood limiter, Slack's per-channel pacer), so a send
may wait a while before anything goes out. The outbox must know when that wait is over: a row
is `uncertain` after a crash only if a request for it may have reached the platform, and a row
still waiting for its turn is simply sent again. Messengers call `about_to_send()` after their
pacing lets a request go and right before each request that may deliver a message; the sender
that wants to know sets what it does then with `on_hand_over`, for the task that sends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

HandOver = Callable[[], Awaitable[None]]

# Per task: each outbox lane sends from its own task, so concurrent sends never see each
# other's hook; replies sent outside the outbox have none.
_current: ContextVar[HandOver | None] = ContextVar("facilitator_hand_over", default=None)


class HandOverRefused(Exception):
    """The sender no longer holds the message (another process took it over after its lease
    ended): it must not go out. Messengers let it pass through."""


async def about_to_send() -> None:
    """Called by a messenger right before a request that may deliver a message; a no-op unless
    the sender asked (`on_hand_over`). May raise `HandOverRefused`, or the sender's own error
    (its database is out of reach): the request is then not made."""
    hook = _current.get()
    if hook is not None:
        await hook()


@contextlib.contextmanager
def on_hand_over(hook: HandOver) -> Iterator[None]:
    """Run `hook` whenever the messenger called inside this block is about to send."""
    token = _current.set(hook)
    try:
        yield
    finally:
        _current.reset(token)
