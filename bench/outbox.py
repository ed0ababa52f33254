"""Outbox delivery benchmark: DMs through the outbox to the fake Telegram Bot API, which
enforces Telegram's flood limits (30 messages per second overall, 1 per second per chat) and
answers 429 to anything over them. Reports the time against the ideal, and checks that no
message was lost or sent twice and that every 429 was waited out."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: `python bench/outbox.py`
    sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from adapters.telegram.adapter import make_bot  # noqa: E402
from adapters.telegram.limiter import FloodLimiter  # noqa: E402
from adapters.telegram.messenger import TelegramMessenger  # noqa: E402
from bench.benchmarks_doc import machine, write_section  # noqa: E402
from facilitator.bootstrap import build_app  # noqa: E402
from facilitator.domain.model import Platform  # noqa: E402
from facilitator.domain.outbox import OutboxEntry, OutboxStatus  # noqa: E402
from facilitator.markup import Destination, OutboundMessage, RichText  # noqa: E402
from facilitator.settings import Settings  # noqa: E402
from tests.adapters.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI  # noqa: E402

SECTION = "## Outbox delivery"
GLOBAL_PER_SECOND = 30
FIRST_USER_ID = 500_000_000


def honoured_429s(api: FakeTelegramAPI) -> tuple[int, int]:
    """(429 answers, how many of them were waited out before that chat was tried again)."""
    calls = [c for c in api.calls if c.method == "sendMessage"]
    answered = honoured = 0
    for index, call in enumerate(calls):
        if call.status != 429 or call.response is None:
            continue
        answered += 1
        retry_after = float(call.response.get("parameters", {}).get("retry_after", 0))
        chat = str(call.params["chat_id"])
        following = next((c for c in calls[index + 1 :] if str(c.params["chat_id"]) == chat), None)
        if following is not None and following.at >= call.at + retry_after:
            honoured += 1
    return answered, honoured


async def run(messages: int, people: int, inject_429: int, database_url: str | None) -> dict:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    async with FakeTelegramAPI() as api:
        api.enforce_limits(GLOBAL_PER_SECOND, 1, 20)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=database_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
                prompts_dir=ROOT / "prompts",
                telegram_bot_token=SecretStr(DEFAULT_TOKEN),
                telegram_api_base_url=api.base_url,
            )
            app = build_app(settings)
            await app.storage.create_all()
            bot, _ = make_bot(settings)
            await bot.initialize()
            app.sender.messengers[Platform.TELEGRAM] = TelegramMessenger(bot, FloodLimiter())
            now = app.clock.now()
            expected: set[tuple[str, str]] = set()
            async with app.uow_factory() as uow:
                for n in range(messages):
                    chat = str(FIRST_USER_ID + n % people)
                    text = f"message {n}"
                    expected.add((chat, text))
                    await uow.outbox.add(
                        OutboxEntry(
                            dedup_key=f"bench:{n}",
                            kind="bench",
                            destination=Destination(Platform.TELEGRAM, chat, is_direct=True),
                            message=OutboundMessage(RichText.of(text)),
                            due_at=now,
                        ),
                        now,
                    )
                await uow.commit()
            for n in range(inject_429):  # Telegram's own 429s, beyond our pacing
                chat = FIRST_USER_ID + (n * 97) % people
                api.fail_next("sendMessage", 429, retry_after=2, chat_id=chat)
            started = time.monotonic()
            task = asyncio.create_task(app.dispatcher.run_forever(idle_seconds=0.2))
            dispatcher = app.dispatcher
            while dispatcher.sent + dispatcher.failed < messages:
                await asyncio.sleep(0.05)
                if time.monotonic() - started > 20 * messages / GLOBAL_PER_SECOND:
                    break
            elapsed = time.monotonic() - started
            await dispatcher.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            async with app.uow_factory() as uow:
                statuses = await uow.outbox.counts(None)
            await bot.shutdown()
            await app.aclose()
    delivered = Counter(
        (str(c.params["chat_id"]), str(c.result["text"]))
        for c in api.calls
        if c.method == "sendMessage" and c.ok
    )
    answered, honoured = honoured_429s(api)
    ideal = messages / GLOBAL_PER_SECOND
    return {
        "messages": messages,
        "people": people,
        "elapsed_s": round(elapsed, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(elapsed / ideal, 4),
        "sent": statuses.get(OutboxStatus.SENT, 0),
        "lost": len(expected - set(delivered)),
        "sent_twice": sum(1 for n in delivered.values() if n > 1),
        "limit_violations": len(api.violations),
        "answered_429": answered,
        "honoured_429": honoured,
        "injected_429": inject_429,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def report(command: str, result: dict) -> str:
    met = result["ratio"] <= 1.15
    return "\n".join(
        [
            SECTION,
            "",
            f"- Machine: {machine()}",
            f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Command: `{command}`",
            f"- Setup: {result['messages']:,} private messages to {result['people']:,} people "
            "queued in the outbox (SQLite), one dispatcher, the real python-telegram-bot `Bot` "
            "and `TelegramMessenger` with its flood limiter, against the fake Bot API "
            "(`tests/adapters/fakes/telegram_api.py`) enforcing 30 messages per second overall, "
            "1 per second per chat and 20 per minute per group on the wall clock, answering 429 "
            f"with retry_after to anything over them. {result['injected_429']} extra 429 answers "
            "(retry_after 2 s) are injected to check they are waited out.",
            "",
            "| metric | value | target |",
            "|---|---:|---:|",
            f"| time | {result['elapsed_s']:.1f} s | |",
            f"| ideal ({result['messages']:,} / 30 per second) | {result['ideal_s']:.1f} s | |",
            f"| ratio to ideal | {result['ratio']:.3f} "
            f"| <= 1.15 ({'met' if met else 'NOT met'}) |",
            f"| messages sent (outbox rows `sent`) | {result['sent']:,} "
            f"| {result['messages']:,} |",
            f"| lost | {result['lost']} | 0 |",
            f"| sent twice | {result['sent_twice']} | 0 |",
            f"| sends over a limit (counted by the fake) | {result['limit_violations']} | 0 |",
            f"| 429 answers | {result['answered_429']} | |",
            f"| 429 answers waited out before the chat was tried again | "
            f"{result['honoured_429']} | all |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--people", type=int, default=1000, help="distinct private chats")
    parser.add_argument("--inject-429", type=int, default=10)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--write", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.messages, args.people, args.inject_429, args.database_url))
    print(json.dumps(result))
    if not args.no_write:
        command = "python bench/outbox.py" + (
            " " + " ".join(argv if argv is not None else sys.argv[1:])
            if (argv if argv is not None else sys.argv[1:])
            else ""
        )
        write_section(args.write, SECTION, report(command, result))


if __name__ == "__main__":
    main()
