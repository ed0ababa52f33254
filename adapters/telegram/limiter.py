"""Telegram's flood limits, kept on our side: overall, per chat and per group."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _Slot:
    """One send: it counts from the moment its request completed, or as "now" while in flight.

    Counting from completion, not from when we started, keeps us inside Telegram's window
    whatever the network latency: Telegram received the request at or before that moment."""

    done: asyncio.Event = field(default_factory=asyncio.Event)
    done_at: float | None = None


@dataclass
class _Window:
    span: float
    allowed: int
    slots: list[_Slot] = field(default_factory=list)

    def prune(self, now: float) -> None:
        self.slots = [s for s in self.slots if s.done_at is None or s.done_at > now - self.span]

    def blocker(self, now: float) -> float | asyncio.Event | None:
        """None if a send fits now; else seconds to wait, or an in-flight send to wait for."""
        self.prune(now)
        if len(self.slots) < self.allowed:
            return None
        finished = [s.done_at for s in self.slots if s.done_at is not None]
        if finished:
            return min(finished) + self.span - now
        return self.slots[0].done


class FloodLimiter:
    """Waits before each send so that Telegram never has to answer 429.

    Defaults are Telegram's documented limits: about 30 messages per second overall, one per
    second in a chat, 20 per minute in a group. Time and sleep are injectable for tests.

    Written here rather than with aiolimiter, which python-telegram-bot's own AIORateLimiter
    uses: its AsyncLimiter is a leaky bucket, and Telegram counts in sliding windows. A bucket
    of 20 per 60 s lets a burst of 20 through and then one more every 3 s (22 within 6 s),
    over the group limit; a bucket of 1 per 3 s keeps the limit but makes a group's burst of
    20 take a minute instead of going out at once. AsyncLimiter also counts a send when it
    starts, not when Telegram has it, and keeps time with the event loop's clock, so neither
    the windows' completion times nor the injected clock could be kept."""

    def __init__(
        self,
        *,
        per_second: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._per_chat = per_chat_per_second
        self._per_group = per_group_per_minute
        self._global = _Window(1.0, per_second)
        self._chats: dict[str, _Window] = {}
        self._groups: dict[str, _Window] = {}
        # Chats Telegram told to wait (429 with retry_after): until when, on `clock`.
        self._held: dict[str, float] = {}
        self.waited = 0.0

    def hold(self, chat_id: str, seconds: float) -> None:
        """Telegram answered 429 for this chat: nothing goes there for `seconds`."""
        until = self._clock() + seconds
        self._held[chat_id] = max(until, self._held.get(chat_id, until))

    def held(self, chat_id: str) -> float:
        """Seconds this chat must still wait for Telegram; 0 when it may be written to."""
        until = self._held.get(chat_id)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._held[chat_id]
            return 0.0
        return left

    def holds(self) -> dict[str, float]:
        """Every chat under a flood wait, with the seconds it has left."""
        return {chat: left for chat in list(self._held) if (left := self.held(chat)) > 0}

    def _windows(self, chat_id: str) -> list[_Window]:
        windows = [self._global, self._chats.setdefault(chat_id, _Window(1.0, self._per_chat))]
        if chat_id.startswith("-"):  # groups, supergroups and channels have negative ids
            windows.append(self._groups.setdefault(chat_id, _Window(60.0, self._per_group)))
        return windows

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: str) -> AsyncIterator[None]:
        """Hold a send slot for one request to `chat_id`, waiting first if the limits say so."""
        while True:
            windows = self._windows(chat_id)
            now = self._clock()
            blockers = [b for b in (w.blocker(now) for w in windows) if b is not None]
            if not blockers:
                break
            event = next((b for b in blockers if isinstance(b, asyncio.Event)), None)
            if event is not None:
                await event.wait()
                continue
            delay = max(b for b in blockers if isinstance(b, float))
            self.waited += delay
            await self._sleep(delay)
        slot = _Slot()
        for window in windows:
            window.slots.append(slot)
        try:
            yield
        finally:
            slot.done_at = self._clock()
            slot.done.set()
            self._forget_idle()

    def _forget_idle(self) -> None:
        if len(self._chats) + len(self._groups) < 1000:
            return
        now = self._clock()
        for table in (self._chats, self._groups):
            for chat_id, window in list(table.items()):
                window.prune(now)
                if not window.slots:
                    del table[chat_id]
