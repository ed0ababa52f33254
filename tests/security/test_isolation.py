"""Two communities on one installation: a coordinator of A, who is also a plain member of B,
acting from A's chat sees nothing of B and changes nothing of B, whatever ids or names they
type or whichever buttons they press.

Driven by the command registry and the button registry, so later commands are covered too.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from facilitator.commands.spec import ArgKind, CommandSpec
from facilitator.domain.events import ButtonPressed, MessageReceived, Origin
from facilitator.domain.model import Community, Platform, PlatformUser, Role
from facilitator.domain.outbox import OutboxEntry, OutboxStatus
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.polls.ports import PollRepository
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.markup import Destination, OutboundMessage, RichText
from tests.conftest import Harness
from tests.security.support import changes, every_command, plausible_args, snapshot, words

ALPHA, QUAGGA = "-100111", "-100222"
# In every name and text of B, and never typed by anyone in A: nothing shown in A may hold it.
MARK = "quagga"
# Commands about the member themself, not about a community: their answers may name B.
PERSONAL = frozenset({"mydata", "forgetme", "optout", "optin", "start", "link", "lang"})


class Chats:
    """Members talking in A's and B's group chats (Telegram), and privately."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.seq = itertools.count(1)

    def origin(self, user: str, chat: str, *, direct: bool = False) -> Origin:
        n = next(self.seq)
        title = {ALPHA: "Alpha network", QUAGGA: "Quagga circle"}.get(chat, user)
        name = f"{user.title()} Quagga" if user.startswith("z") else user.title()
        return Origin(
            platform=Platform.TELEGRAM,
            event_id=f"e{n}",
            chat_id=chat,
            user=PlatformUser(Platform.TELEGRAM, user, name, "en"),
            occurred_at=self.harness.clock.now(),
            chat_title=title,
            is_direct=direct,
            message_id=str(n),
        )

    async def say(self, user: str, chat: str, text: str, *, direct: bool = False) -> list[str]:
        before = len(self.harness.messenger.sent)
        await self.harness.dispatch(MessageReceived(self.origin(user, chat, direct=direct), text))
        return self.shown(before)

    async def press(self, user: str, chat: str, action: str, value: str) -> list[str]:
        before = len(self.harness.messenger.sent)
        await self.harness.dispatch(ButtonPressed(self.origin(user, chat), action, value))
        return self.shown(before)

    def shown(self, before: int) -> list[str]:
        """What the bot said since `before`: bodies, files, polls and buttons."""
        texts = []
        for _, message in self.harness.messenger.sent[before:]:
            texts.append(message.body.plain())
            if message.attachment is not None:
                texts.append(message.attachment.content.decode("utf-8", "replace"))
            if message.poll is not None:
                texts.append(" ".join((message.poll.question, *message.poll.options)))
            texts.extend(b.label + b.value for row in message.buttons for b in row)
        return texts

    async def community(self, chat: str) -> Community:
        async with self.harness.app.uow_factory() as uow:
            found = await uow.communities.by_chat(Platform.TELEGRAM, chat)
        assert found is not None
        return found


async def two_communities(harness: Harness) -> tuple[Chats, dict[str, list[int]]]:
    """A (Alpha, coordinated by Ana) and B (Quagga, coordinated by Zora, where Ana is a
    member); B holds one of everything. Returns the ids of B's objects by kind."""
    chats = Chats(harness)
    await chats.say("ana", ALPHA, "hello alpha")
    await chats.say("zora", QUAGGA, "hello there")
    await chats.say("ana", QUAGGA, "hello from ana")
    alpha, quagga = await chats.community(ALPHA), await chats.community(QUAGGA)
    await harness.app.roles.grant(Platform.TELEGRAM, "ana", Role.COORDINATOR, alpha.key)
    await harness.app.roles.grant(Platform.TELEGRAM, "zora", Role.COORDINATOR, quagga.key)
    for text in (
        '/faq add "Quagga crossing rules?" "Quagga stripes answer" #stripes',
        "/share https://example.org/quagga-guide quagga field guide",
        '/poll "Quagga lunch or dinner?" "Quagga lunch" "Quagga dinner"',
        '/webinar add "Quagga water plans" 2026-11-03 15:00 https://meet.example.org/quagga',
        "/lesson quagga quantum sanitation",
        '/intro QuaggaOrg Chile "water, sanitation"',
    ):
        await chats.say("zora", QUAGGA, text)
    await chats.say("zeno", QUAGGA, "/intro QuaggaWorks Peru water")
    await chats.say("zeno", QUAGGA, "How do quagga teams test water quality?")
    now = harness.clock.now()
    async with harness.app.uow_factory() as uow:
        for key, held in (("held", True), ("failed", False)):
            await uow.outbox.add(
                OutboxEntry(
                    dedup_key=f"quagga:{key}",
                    kind="nudge.newcomer",
                    destination=Destination(Platform.TELEGRAM, QUAGGA),
                    message=OutboundMessage(RichText.of(f"quagga {key} nudge")),
                    due_at=now + timedelta(hours=1),
                    community_id=quagga.id,
                    is_nudge=True,
                    held=held,
                ),
                now,
            )
        rows = await uow.outbox.listing(quagga.id, list(OutboxStatus), 100)
        failed = next(r.id for r in rows if r.dedup_key == "quagga:failed")
        await uow.outbox.transition(failed, [OutboxStatus.PENDING], OutboxStatus.FAILED, now)
        items = await uow.repo(KnowledgeRepository).in_scope(quagga.id)
        poll = await uow.repo(PollRepository).latest_open(quagga.id)
        webinars = await uow.repo(WebinarRepository).upcoming(quagga.id, now)
        await uow.commit()
    assert poll is not None and len(webinars) == 1 and len(items) == 2
    ids = {
        "items": [i.id for i in items if i.id is not None],
        "outbox": [r.id for r in rows],
        "polls": [poll.id],
        "webinars": [w.id for w in webinars],
    }
    return chats, ids


def takes_ids(spec: CommandSpec) -> bool:
    """Commands whose arguments name stored objects: an integer id, or a nudge's id."""
    return any(a.kind is ArgKind.INT or a.name == "nudge" for a in spec.args)


def with_id(spec: CommandSpec, object_id: int) -> str:
    named = (a.name for a in spec.args if a.kind is ArgKind.INT or a.name == "nudge")
    given = dict.fromkeys(named, str(object_id))
    given |= {"when": "2026-12-20 10:00", "value": "a changed value"}
    if spec.path == "faq.edit":
        given["field"] = "answer"
    return f"/{words(spec)} {plausible_args(spec, given)}"


async def test_the_world_has_objects_of_b_for_every_id_taking_command(harness: Harness) -> None:
    _, ids = await two_communities(harness)
    assert all(ids.values()), ids
    id_takers = {s.path for s in every_command() if takes_ids(s)}
    assert {"faq.edit", "approve", "outbox.retry", "nudges.approve", "webinar.cancel"} <= id_takers


async def test_ids_of_b_typed_in_a_change_nothing_and_show_nothing(harness: Harness) -> None:
    chats, ids = await two_communities(harness)
    every_id = sorted({i for found in ids.values() for i in found})
    before = await snapshot(harness.app)
    leaks: list[str] = []
    for spec in (s for s in every_command() if takes_ids(s) and s.role <= Role.COORDINATOR):
        for object_id in every_id:
            text = with_id(spec, object_id)
            replies = await chats.say("ana", ALPHA, text)
            assert replies, text
            leaks.extend(f"{text}: {r!r}" for r in replies if MARK in r.lower())
    assert not leaks, "\n".join(leaks)
    assert changes(before, await snapshot(harness.app)) == {}


async def test_buttons_naming_objects_of_b_pressed_in_a_change_nothing(harness: Harness) -> None:
    chats, ids = await two_communities(harness)
    every_id = sorted({i for found in ids.values() for i in found})
    answers = ("", "0", "going")
    before = await snapshot(harness.app)
    leaks: list[str] = []
    for action in sorted(harness.app.services.buttons):
        for object_id, answer in itertools.product(every_id, answers):
            value = f"{object_id}:{answer}" if answer else str(object_id)
            replies = await chats.press("ana", ALPHA, action, value)
            leaks.extend(f"{action} {value}: {r!r}" for r in replies if MARK in r.lower())
    assert not leaks, "\n".join(leaks)
    # Pressing a button is recorded as participation in A; nothing else may change.
    changed = changes(before, await snapshot(harness.app))
    assert set(changed) <= {"ledger"}, changed
    alpha = await chats.community(ALPHA)
    async with harness.app.uow_factory() as uow:
        quagga = await chats.community(QUAGGA)
        assert await uow.ledger.count(quagga.id, "button_pressed") == 0
        assert await uow.ledger.count(alpha.id, "button_pressed") > 0


async def test_every_command_run_in_a_shows_nothing_of_b(harness: Harness) -> None:
    chats, _ = await two_communities(harness)
    probes = {
        "whois": ["zeno", "@zora", "Zeno"],
        "experts": ["water", "#stripes", "sanitation"],
        "faq": ["crossing rules", "stripes answer"],
        "lesson": ["field guide", "#stripes"],
        "summary": ["2026-W44", "2026-W45"],
        "leaderboard": ["week", "all"],
        "checkin": ["ABCDEFGH"],
    }
    leaks: list[str] = []
    for spec in every_command():
        if spec.path in PERSONAL or spec.role > Role.COORDINATOR:
            continue
        given = [{a.name: probe for a in spec.args[:1]} for probe in probes.get(spec.path, [])]
        for values in given or [{}]:
            text = f"/{words(spec)} {plausible_args(spec, values)}".strip()
            replies = await chats.say("ana", ALPHA, text)
            leaks.extend(f"{text}: {r!r}" for r in replies if MARK in r.lower())
    assert not leaks, "\n".join(leaks)


async def test_in_private_the_role_is_that_of_the_community_last_written_in(
    harness: Harness,
) -> None:
    """Ana coordinates A but last wrote in B, where she is a member: privately she is B's
    member, so B's moderator commands are refused to her."""
    chats, _ = await two_communities(harness)
    await chats.say("ana", QUAGGA, "back again")

    for command in ("/gaps", "/members", "/outbox", "/summary", "/aplayers"):
        [reply] = await chats.say("ana", "ana", command, direct=True)
        assert reply.startswith(f"Sorry, {command} is for the "), reply
