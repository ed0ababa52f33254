"""Replies to inbound events, sent in one lane per conversation so that none waits for another.

The inbox commits an event, then hands its replies here and goes on with the next events. Each
conversation has a queue and a task that sends it in order; a conversation that is slow (a
group at Telegram's 20 messages a minute, a chat the platform told to wait) only delays its
own replies. A reply that waited longer than `max_age` is dropped when its turn comes, with a
log line and a metric, instead of answering a command an hour late; and a queue never grows
without bound (past `max_queued` replies the oldest is dropped at once). The member budget
(`facilitator.budget`) keeps one person from filling a queue; these bounds are for a
conversation that is slow for everyone (a long flood wait, a backlog after an outage).

Replies are not durable: they live here between the commit and the send. A process that dies
loses the replies still queued (the events are done; the members may ask again), which is the
price of not holding every other conversation behind one. Proactive messages go through the
outbox, which is durable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from facilitator.context import Reply
from facilitator.ports import Metrics, NoMetrics

log = logging.getLogger(__name__)

Send = Callable[[Sequence[Reply]], Awaitable[None]]
Clock = Callable[[], float]

# A memory bound: a group takes 20 messages a minute on Telegram, so a reply this far back
# would be older than MAX_AGE_SECONDS anyway.
MAX_QUEUED = 500
MAX_AGE_SECONDS = 120.0


@dataclass(frozen=True)
class _Queued:
    reply: Reply
    at: float
    # Set once this reply was sent or dropped (only on the last reply of a `put`).
    gone: asyncio.Event | None = None


class ReplyLanes:
    """Queues replies per conversation and sends each queue in order, concurrently."""

    def __init__(
        self,
        send: Send,
        metrics: Metrics | None = None,
        *,
        max_queued: int = MAX_QUEUED,
        max_age: float = MAX_AGE_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._send = send
        self._metrics = metrics or NoMetrics()
        self._max_queued = max_queued
        self._max_age = max_age
        self._clock = clock
        self._lanes: dict[str, deque[_Queued]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.dropped = 0

    def put(self, replies: Sequence[Reply]) -> asyncio.Event:
        """Queue replies in their conversations' lanes; returns at once, with an event set when
        the last of them was sent or dropped (`settle`)."""
        now = self._clock()
        gone = asyncio.Event()
        if not replies:
            gone.set()
        for index, reply in enumerate(replies):
            destination = reply[0]
            key = f"{destination.platform.value}:{destination.chat_id}"
            lane = self._lanes.setdefault(key, deque())
            last = index == len(replies) - 1
            lane.append(_Queued(reply, now, gone if last else None))
            while len(lane) > self._max_queued:
                dropped = lane.popleft()
                self._drop(dropped, "too many waiting in the conversation")
                if dropped.gone is not None:
                    dropped.gone.set()
            task = self._tasks.get(key)
            loop = asyncio.get_running_loop()
            if task is None or task.done() or task.get_loop() is not loop:
                self._tasks[key] = loop.create_task(self._run(key))
        return gone

    @staticmethod
    async def settle(gone: asyncio.Event, grace: float) -> None:
        """Wait up to `grace` seconds for replies `put` to be gone. The inbox waits so briefly
        before its next event: a conversation at its usual speed has its replies out before
        the next event is handled (a crash then loses at most the replies being sent), and a
        slow one is left to its lane."""
        if gone.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gone.wait(), grace)

    async def _run(self, key: str) -> None:
        lane = self._lanes[key]
        try:
            while lane:
                queued = lane.popleft()
                try:
                    if self._clock() - queued.at > self._max_age:
                        self._drop(queued, "it waited too long: the conversation is over its pace")
                        continue
                    await self._send([queued.reply])
                except Exception:  # a sender that raises must not end the lane
                    log.exception("reply not sent")
                finally:
                    if queued.gone is not None:
                        queued.gone.set()
        finally:
            if not lane:
                self._lanes.pop(key, None)
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]

    def _drop(self, queued: _Queued, why: str) -> None:
        destination = queued.reply[0]
        self.dropped += 1
        self._metrics.reply(destination.platform, "dropped")
        log.warning(
            "reply dropped: %s",
            why,
            extra={"platform": destination.platform.value, "chat_id": destination.chat_id},
        )

    @property
    def waiting(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def oldest_seconds(self) -> float:
        """How long the oldest queued reply has waited; 0 when none is queued."""
        oldest = [lane[0].at for lane in self._lanes.values() if lane]
        return max(self._clock() - min(oldest), 0.0) if oldest else 0.0

    async def drain(self) -> None:
        """Wait until every queued reply was sent or dropped."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self, grace: float = 10.0) -> None:
        """Send what is queued, for at most `grace` seconds; then give up the rest."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), grace)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        left = self.waiting
        if left:
            log.warning("replies not sent at shutdown", extra={"replies": left})
        self._lanes.clear()
        self._tasks.clear()
