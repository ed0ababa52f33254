"""The real `facilitator serve` and `facilitator run` processes against the fake Bot API:
webhook secrets, and SIGKILL in the middle of a backlog, then a restart."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.fakes.telegram_api import (
    FakeTelegramAPI,
    private_chat,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import (
    WEBHOOK_SECRET,
    free_port,
    post_update,
    process_env,
    query,
    start_process,
    stop_process,
    successful_sends,
    update_json,
    wait_until,
)
from tests.fake_credentials import secrets_in

GROUP = supergroup_chat(-1007000, "Backlog group")
PEOPLE = 60  # each sends /help in a private chat: one reply each
NOTES = 30  # plain messages in the group: one ledger entry each, no reply
LANES = 8  # the inbox runs at most this many conversations at once
log = logging.getLogger(__name__)


def _backlog() -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = []
    for n in range(PEOPLE):
        person = user(50_000 + n, f"Person {n}")
        updates.append(text_update("/help", from_user=person, chat=private_chat(person)))
    for n in range(NOTES):
        author = user(60_000 + n % 5, f"Author {n % 5}")
        updates.append(text_update(f"note {n}", from_user=author, chat=GROUP))
    for n, update in enumerate(updates):
        update["update_id"] = 700_000 + n
        update["message"]["message_id"] = 1 + n
        update["message"]["date"] = 1_790_000_000 + n
    return updates


def _replies_per_chat(api: FakeTelegramAPI) -> dict[int, int]:
    counts: dict[int, int] = {}
    for params in successful_sends(api):
        chat = int(params["chat_id"])
        counts[chat] = counts.get(chat, 0) + 1
    return counts


def _inbox(database: Path) -> list[tuple[str, str, str, int]]:
    return [
        (str(d), str(k), str(s), int(a))
        for d, k, s, a in query(
            database, "select delivery_id, ordering_key, status, attempts from inbox"
        )
    ]


def _done_people(database: Path) -> set[int]:
    """Private chats whose /help is recorded as processed (committed) in the database."""
    return {int(k) for _, k, s, _ in _inbox(database) if s == "done" and not k.startswith("-")}


def _group_posts(database: Path) -> int:
    [(count,)] = query(database, "select count(*) from ledger where kind = 'message_posted'") or [
        (0,)
    ]
    return int(count)


def _backlog_done(database: Path, api: FakeTelegramAPI, done_at_kill: set[int]) -> bool:
    """Every row done, and every reply of the rows the restarted process handled sent."""
    rows = _inbox(database)
    everyone = set(range(50_000, 50_000 + PEOPLE))
    return (
        len(rows) == PEOPLE + NOTES
        and {s for *_, s, _ in rows} == {"done"}
        and set(_replies_per_chat(api)) >= everyone - done_at_kill
    )


def _check_exactly_once(database: Path, api: FakeTelegramAPI, done_at_kill: set[int]) -> None:
    rows = _inbox(database)
    assert len(rows) == PEOPLE + NOTES  # every update stored, none twice
    assert {s for _, _, s, _ in rows} == {"done"}
    replies = _replies_per_chat(api)
    assert max(replies.values()) == 1  # no reply twice: no update processed twice
    people = set(range(50_000, 50_000 + PEOPLE))
    assert set(replies) <= people
    # A missing reply can only be one the killed process had committed but not yet sent:
    # replies go out after the commit (at most once), and each lane holds at most one such.
    lost = people - set(replies)
    assert lost <= done_at_kill
    assert len(lost) <= LANES
    assert _group_posts(database) == NOTES
    retried = sum(1 for *_, attempts in rows if attempts > 1)
    log.info("replies lost in the commit-to-send window: %d", len(lost))
    log.info("rows claimed again after the kill: %d", retried)


def _logs_hold_no_secrets(*logs: Path) -> None:
    for log in logs:
        text = log.read_text("utf-8", errors="replace")
        assert not secrets_in(text)
        assert "note 1" not in text  # message bodies are not logged


async def test_serve_refuses_wrong_secrets_and_processes_a_valid_update(
    fake_telegram: FakeTelegramAPI, tmp_path: Path
) -> None:
    port, database, log = free_port(), tmp_path / "bot.db", tmp_path / "serve.log"
    process = await start_process("serve", process_env(fake_telegram, database, port), log)
    base, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/telegram/webhook"
    person = user(4242, "Ada")
    update = text_update(
        "/help", from_user=person, chat=private_chat(person), update_id=1, message_id=1
    )
    try:
        async with httpx.AsyncClient() as client:

            async def healthy() -> bool:
                try:
                    return (await client.get(base + "/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(healthy, 30, "serve to answer /healthz")
            wrong = await post_update(client, url, update_json(update), secret="not-it")
            missing = await post_update(client, url, update_json(update), secret=None)
            assert (wrong.status_code, missing.status_code) == (403, 403)
            assert _inbox(database) == []

            valid = await post_update(client, url, update_json(update))
            assert valid.status_code == 200
            [reply] = await fake_telegram.wait_for_calls("sendMessage", timeout=20)
            assert reply.params["chat_id"] == 4242
            assert str(reply.result["text"]).startswith("What you can do here")
            assert (await client.get(base + "/readyz")).status_code == 200
    finally:
        await stop_process(process)

    assert [s for _, _, s, _ in _inbox(database)] == ["done"]
    assert len(fake_telegram.calls_to("setMyCommands")) == 12  # menus published at start
    _logs_hold_no_secrets(log)


async def test_polling_killed_mid_backlog_then_restarted_processes_every_update_once(
    fake_telegram: FakeTelegramAPI, tmp_path: Path
) -> None:
    database = tmp_path / "bot.db"
    env = process_env(fake_telegram, database, free_port())
    fake_telegram.queue_updates(_backlog())
    logs = [tmp_path / "run-1.log", tmp_path / "run-2.log"]

    first = await start_process("run", env, logs[0], short_lease=True)
    try:
        await wait_until(
            lambda: len(successful_sends(fake_telegram)) >= 5, 30, "the first replies"
        )
    finally:
        first.kill()  # SIGKILL: no cleanup of any kind
        await first.wait()
    replies_at_kill = len(successful_sends(fake_telegram))
    done_at_kill = _done_people(database)
    assert replies_at_kill < PEOPLE, "the backlog was finished before the kill"

    second = await start_process("run", env, logs[1], short_lease=True)
    try:
        await wait_until(
            lambda: _backlog_done(database, fake_telegram, done_at_kill),
            60,
            "the backlog to be processed after the restart",
        )
    finally:
        await stop_process(second)

    log.info("replies before the kill: %d of %d", replies_at_kill, PEOPLE)
    _check_exactly_once(database, fake_telegram, done_at_kill)
    offsets = [o for o in fake_telegram.offsets_requested if o is not None]
    assert offsets == sorted(offsets)  # confirmed in order, never past an unstored update
    _logs_hold_no_secrets(*logs)


async def test_webhook_killed_mid_backlog_then_redelivered_processes_every_update_once(
    fake_telegram: FakeTelegramAPI, tmp_path: Path
) -> None:
    port, database = free_port(), tmp_path / "bot.db"
    env = process_env(fake_telegram, database, port)
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    backlog = _backlog()
    acknowledged: set[int] = set()
    logs = [tmp_path / "serve-1.log", tmp_path / "serve-2.log"]

    async def deliver(client: httpx.AsyncClient, updates: list[dict[str, Any]]) -> None:
        """Telegram's side: POST each update; only a 200 counts as delivered."""
        for update in updates:
            try:
                reply = await post_update(client, url, update_json(update))
            except httpx.TransportError:
                continue
            if reply.status_code == 200:
                acknowledged.add(update["update_id"])

    async def ready(client: httpx.AsyncClient) -> None:
        async def up() -> bool:
            try:
                return (await client.get(url.replace("/telegram/webhook", "/healthz"))).is_success
            except httpx.TransportError:
                return False

        await wait_until(up, 30, "serve to start")

    async with httpx.AsyncClient(timeout=10) as client:
        first = await start_process("serve", env, logs[0], short_lease=True)
        try:
            await ready(client)
            sender = asyncio.create_task(deliver(client, backlog))
            await wait_until(lambda: len(acknowledged) >= len(backlog) // 2, 30, "half acked")
        finally:
            first.kill()
            await first.wait()
        await sender
        acked_before_kill = len(acknowledged)
        done_at_kill = _done_people(database)
        assert acked_before_kill < len(backlog), "the backlog was delivered before the kill"

        second = await start_process("serve", env, logs[1], short_lease=True)
        try:
            await ready(client)
            await deliver(client, [u for u in backlog if u["update_id"] not in acknowledged])
            assert len(acknowledged) == len(backlog)
            await wait_until(
                lambda: _backlog_done(database, fake_telegram, done_at_kill),
                60,
                "the backlog to be processed after the restart",
            )
        finally:
            await stop_process(second)

    log.info("updates acknowledged before the kill: %d of %d", acked_before_kill, len(backlog))
    _check_exactly_once(database, fake_telegram, done_at_kill)
    _logs_hold_no_secrets(*logs)


@pytest.mark.parametrize("command", ["set-webhook", "delete-webhook", "publish-commands"])
async def test_the_telegram_cli_talks_to_the_configured_api(
    fake_telegram: FakeTelegramAPI, tmp_path: Path, command: str
) -> None:
    env = process_env(fake_telegram, tmp_path / "cli.db", free_port())
    args = {"set-webhook": ["https://bot.example.org/"]}.get(command, [])
    process = await asyncio.create_subprocess_exec(
        *_cli(), "telegram", command, *args, env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()

    assert process.returncode == 0, err.decode()
    if command == "set-webhook":
        [call] = fake_telegram.calls_to("setWebhook")
        assert call.params["url"] == "https://bot.example.org/telegram/webhook"
        assert call.params["secret_token"] == WEBHOOK_SECRET
        assert "chat_member" in call.params["allowed_updates"]
        assert fake_telegram.webhook["url"] == "https://bot.example.org/telegram/webhook"
    elif command == "delete-webhook":
        assert len(fake_telegram.calls_to("deleteWebhook")) == 1
    else:
        assert len(fake_telegram.calls_to("setMyCommands")) == 12
        assert b"12 command lists published" in out
    assert not secrets_in(out + err)


async def test_set_webhook_refuses_without_a_usable_secret(
    fake_telegram: FakeTelegramAPI, tmp_path: Path
) -> None:
    env = process_env(fake_telegram, tmp_path / "cli.db", free_port())
    env["TELEGRAM_WEBHOOK_SECRET"] = "has spaces!"
    process = await asyncio.create_subprocess_exec(
        *_cli(), "telegram", "set-webhook", "https://bot.example.org", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()

    assert process.returncode == 2
    assert b"TELEGRAM_WEBHOOK_SECRET" in err
    assert not secrets_in(err)
    assert fake_telegram.calls_to("setWebhook") == []


def _cli() -> list[str]:
    return [sys.executable, "-m", "facilitator.cli"]
