"""A polled batch is handled in one transaction: the outcome equals one update at a time.

The inbox hands up to a hundred stored updates to one unit of work, which first looks up what
they will ask (`UnitOfWork.prefetch`: their people, communities, memberships, the messages
they reply to) and queues its writes. Whatever is in the batch (new and known people,
questions and their answers, thanks, links, a command that changes a member's language, a
member who opts out, a newcomer, a rename, a member who leaves and comes back, an edit), the
ledger, the questions and their topics, the people, the memberships and the replies must be
exactly those of handling each update alone, and those of the same batch without the
prefetch.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from sqlalchemy import select

from facilitator.features.profiles.storage import QuestionTopicRow
from facilitator.storage.models import IdentityRow, LedgerRow, MembershipRow, QuestionRow
from tests.adapters.fakes.telegram_api import (
    FakeTelegramAPI,
    supergroup_chat,
    text_update,
    user,
)
from tests.adapters.telegram_support import TelegramHarness, telegram_harness
from tests.conftest import FrozenClock

GROUP = supergroup_chat(-1005550001, "Batch group")
FIRST = 1_790_000_000
PEOPLE = [user(7_000_000 + n, f"Person {n}", language_code="en") for n in range(12)]
TEXTS = ("Les comparto el informe", "Great session today", "Bom dia a todos")
QUESTIONS = ("¿Alguien tiene una plantilla?", "How do you measure engagement?")


def conversation(count: int = 150, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    updates: list[dict[str, Any]] = []
    authors: dict[int, dict[str, Any]] = {}
    for n in range(1, count + 1):
        sender = PEOPLE[rng.randrange(len(PEOPLE))]
        roll = rng.random()
        if n == 40:
            body = "/lang es"
        elif n == 41:
            sender, body = PEOPLE[0], "/lang"
        elif roll < 0.15:
            body = rng.choice(QUESTIONS)
        elif roll < 0.22:
            body = f"Miren esto: https://example.org/recurso/{n}"
        elif roll < 0.32:
            body = "¡Gracias!"
        else:
            body = rng.choice(TEXTS)
        if n == 40:
            sender = PEOPLE[0]
        if n == 30:  # from here on, nothing of Person 5 is recorded
            sender, body = PEOPLE[5], "/optout"
        if sender is PEOPLE[3] and n >= 70:  # a new name (and language) from here on
            sender = user(PEOPLE[3]["id"], "Person 3 renamed", language_code="pt")
        scripted = {10: (1, QUESTIONS[1], None), 11: (2, "Count replies per week", 10)}
        scripted[12] = (1, "Thanks, that helps!", 11)  # a thanked answer, all in one batch
        if n in scripted:
            who, body, reply = scripted[n]
            sender = PEOPLE[who]
            roll = 1.0 if reply is None else 0.2
        update = text_update(
            body, from_user=sender, chat=GROUP, message_id=n, update_id=n, date=FIRST + n
        )
        if 0.15 <= roll < 0.45 and n > 1:
            target = scripted[n][2] if n in scripted else rng.randrange(max(1, n - 20), n)
            update["message"]["reply_to_message"] = {
                "message_id": target,
                "from": authors[target],
                "chat": GROUP,
                "date": FIRST + target,
                "text": "…",
            }
        if n == 90:  # a newcomer joins in the middle of the batch
            newcomer = user(7_100_000, "Newcomer")
            update = {
                "update_id": n,
                "message": {
                    "message_id": n,
                    "from": newcomer,
                    "chat": GROUP,
                    "date": FIRST + n,
                    "new_chat_members": [newcomer],
                },
            }
            sender = newcomer
        if n == 100:  # Person 6 leaves; their next message brings them back
            update = {
                "update_id": n,
                "message": {
                    "message_id": n,
                    "from": PEOPLE[6],
                    "chat": GROUP,
                    "date": FIRST + n,
                    "left_chat_member": PEOPLE[6],
                },
            }
            sender = PEOPLE[6]
        if n == 120:  # an edit never counts
            update = text_update(
                "Great session today (edited)",
                from_user=authors[119],
                chat=GROUP,
                message_id=119,
                update_id=n,
                date=FIRST + n,
                edited=True,
            )
        authors[n] = sender
        updates.append(update)
    return updates


async def outcome(tg: TelegramHarness) -> dict[str, Any]:
    async with tg.app.uow_factory() as uow:
        session = uow.session  # type: ignore[attr-defined]
        identities = list(await session.scalars(select(IdentityRow)))
        people = {row.person_id: row.platform_user_id for row in identities}
        names = sorted(
            (row.platform_user_id, row.display_name, row.locale_hint or "") for row in identities
        )
        memberships = sorted(
            (people[row.person_id], row.role, row.left_at is None)
            for row in await session.scalars(select(MembershipRow))
        )
        ledger = sorted(
            (row.kind, people[row.person_id], row.source_event_id, row.ref or "")
            for row in await session.scalars(select(LedgerRow))
        )
        questions = sorted(
            (
                row.message_id,
                people[row.person_id],
                people.get(row.answered_by or -1, ""),
                row.answered_at is not None,
            )
            for row in await session.scalars(select(QuestionRow))
        )
        topics = sorted(
            (message, theme, tuple(terms))
            for message, theme, terms in await session.execute(
                select(
                    QuestionRow.message_id, QuestionTopicRow.theme, QuestionTopicRow.terms
                ).join(QuestionTopicRow, QuestionTopicRow.question_id == QuestionRow.id)
            )
        )
        inbox = await uow.inbox.counts()
    return {
        "topics": topics,
        "ledger": ledger,
        "questions": questions,
        "names": names,
        "memberships": memberships,
        "inbox": inbox,
        "sent": tg.sent_texts(),
    }


async def test_a_batch_ends_as_one_update_at_a_time(tmp_path: Path, clock: FrozenClock) -> None:
    updates = conversation()
    results = []
    for way in ("batched", "single", "batched without prefetch"):
        batched = way != "single"
        folder = tmp_path / way.replace(" ", "-")
        folder.mkdir()
        async with (
            FakeTelegramAPI() as api,
            telegram_harness(api, folder, clock) as tg,
        ):
            tg.app.inbox.prefetch = way == "batched"
            if batched:
                api.queue_updates(updates)
                while await tg.adapter.poller.poll_once():
                    pass
                await tg.app.inbox.process_pending()
            else:
                for update in updates:
                    await tg.poll(update)
            results.append(await outcome(tg))
            assert not api.internal_errors
    batched_result, single_result, unprefetched_result = results
    assert batched_result["inbox"] == {"done": len(updates)}
    kinds = {entry[0] for entry in batched_result["ledger"]}
    # The conversation exercises what a batch must get right.
    assert {"message_posted", "question_asked", "answer_given", "thanks_received"} <= kinds
    assert {"resource_shared", "member_joined", "answer_thanked"} <= kinds
    assert any(answered for *_, answered in batched_result["questions"])
    assert any("español" in text for text in batched_result["sent"])
    opted_out = str(PEOPLE[5]["id"])
    spoke_later = [u for u in updates[30:] if u.get("message", {}).get("from") == PEOPLE[5]]
    assert spoke_later
    assert all(
        who != opted_out
        for _, who, source, _ in batched_result["ledger"]
        if int(source.split(":")[-1]) > 30
    )
    assert (str(PEOPLE[3]["id"]), "Person 3 renamed", "pt") in batched_result["names"]
    assert (str(PEOPLE[6]["id"]), "member", True) in batched_result["memberships"]
    assert "member_left" in kinds
    assert batched_result["topics"]
    assert batched_result == single_result
    assert unprefetched_result == single_result
