"""Replies leave in one lane per conversation: a slow one delays only itself, and a reply that
waited too long, or one too many, is dropped with a log line instead of queued for an hour."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from facilitator.context import Reply
from facilitator.delivery.replies import ReplyLanes
from facilitator.domain.model import Platform
from facilitator.markup import Destination, OutboundMessage, RichText
from tests.log_scan import LogScan


def reply(chat: str, text: str) -> Reply:
    return (Destination(Platform.TELEGRAM, chat), OutboundMessage(RichText.of(text)))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_slow_conversation_delays_only_its_own_replies() -> None:
    released = asyncio.Event()
    sent: list[str] = []

    async def send(replies: Sequence[Reply]) -> None:
        for destination, message in replies:
            if destination.chat_id == "slow":
                await released.wait()
            sent.append(message.body.plain())

    lanes = ReplyLanes(send)
    lanes.put([reply("slow", "slow 1"), reply("slow", "slow 2"), reply("fast", "fast 1")])
    lanes.put([reply("fast", "fast 2")])
    for _ in range(5):
        await asyncio.sleep(0)
    assert sent == ["fast 1", "fast 2"]
    assert lanes.waiting == 1  # "slow 2"; "slow 1" is being sent
    released.set()
    await lanes.drain()
    assert sent == ["fast 1", "fast 2", "slow 1", "slow 2"]  # each lane in its order
    assert lanes.waiting == 0 and lanes.dropped == 0


async def test_replies_that_waited_too_long_are_dropped_with_a_log_line(
    log_scan: LogScan,
) -> None:
    clock = Clock()
    gate = asyncio.Event()
    sent: list[str] = []

    async def send(replies: Sequence[Reply]) -> None:
        await gate.wait()
        sent.extend(m.body.plain() for _, m in replies)

    lanes = ReplyLanes(send, max_age=120.0, clock=clock)
    lanes.put([reply("-100", "first")])
    await asyncio.sleep(0)  # "first" is being sent
    clock.now += 100
    lanes.put([reply("-100", "second")])
    clock.now += 30  # "first" queued 130 s ago, "second" 30 s ago
    lanes.put([reply("-100", "third")])
    assert lanes.oldest_seconds() == pytest.approx(30.0)
    gate.set()
    await lanes.drain()
    assert sent == ["first", "second", "third"]

    gate.clear()
    lanes.put([reply("-100", "stale")])
    await asyncio.sleep(0)
    lanes.put([reply("-100", "also stale")])
    clock.now += 121
    gate.set()
    await lanes.drain()
    assert sent[-1] == "stale"  # already handed to the sender
    assert lanes.dropped == 1
    [line] = [s for s in log_scan.seen if s.logger == "facilitator.delivery.replies"]
    assert "waited too long" in line.text and "also stale" not in line.text


async def test_a_lane_past_its_bound_drops_its_oldest() -> None:
    gate = asyncio.Event()
    sent: list[str] = []

    async def send(replies: Sequence[Reply]) -> None:
        await gate.wait()
        sent.extend(m.body.plain() for _, m in replies)

    lanes = ReplyLanes(send, max_queued=3)
    lanes.put([reply("c", "0")])
    await asyncio.sleep(0)  # "0" is being sent
    lanes.put([reply("c", str(n)) for n in range(1, 6)])
    assert lanes.waiting == 3 and lanes.dropped == 2
    gate.set()
    await lanes.drain()
    assert sent == ["0", "3", "4", "5"]


@pytest.mark.expected_errors
async def test_a_sender_that_raises_does_not_end_the_lane() -> None:
    sent: list[str] = []

    async def send(replies: Sequence[Reply]) -> None:
        text = replies[0][1].body.plain()
        if text == "boom":
            raise RuntimeError("a messenger fault")
        sent.append(text)

    lanes = ReplyLanes(send)
    lanes.put([reply("c", "boom"), reply("c", "after")])
    await lanes.drain()
    assert sent == ["after"]


async def test_close_gives_up_what_cannot_be_sent_in_time(log_scan: LogScan) -> None:
    never = asyncio.Event()

    async def send(replies: Sequence[Reply]) -> None:
        await never.wait()

    lanes = ReplyLanes(send)
    lanes.put([reply("c", "a"), reply("c", "b")])
    await asyncio.sleep(0)
    await lanes.close(grace=0.01)
    assert lanes.waiting == 0
    assert any("replies not sent at shutdown" in s.text for s in log_scan.seen)
