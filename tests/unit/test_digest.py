"""The private digest: who gets it, when, in which language, and what it never says; /follow
and /unfollow; through the real core, storage and outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facilitator.domain.events import MemberJoined, MemberLeft, Origin
from facilitator.domain.model import Community, Platform, PlatformUser, Role
from facilitator.features.digest.commands import FOLLOW_LIMIT
from facilitator.features.digest.domain import Frequency
from facilitator.features.digest.ports import DigestRepository
from facilitator.features.digest.service import JOB_ID
from facilitator.features.knowledge.domain import GapStatus, ItemType, KnowledgeGap, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.polls.domain import PollDraft
from facilitator.features.polls.ports import PollRepository
from facilitator.features.privacy.service import PersonalRecords
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.webinars.domain import WebinarDraft
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.markup import OutboundMessage, Style
from tests.conftest import Harness

# 09:00 in Santiago (UTC-3 in November): outside the default quiet hours (21-8).
MORNING = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def add_item(
    harness: Harness,
    community: Community,
    title: str,
    *,
    theme: str = "",
    url: str | None = None,
    lang: str = "en",
    kind: ItemType = ItemType.LESSON,
) -> int:
    item = KnowledgeItem(
        key=f"k-{title}", type=kind, title=title, body="Text.", lang=lang, theme=theme, url=url
    )
    async with harness.app.uow_factory() as uow:
        stored = await uow.repo(KnowledgeRepository).upsert(
            item, community.id, harness.clock.now()
        )
        await uow.commit()
    assert stored.id is not None
    return stored.id


async def answer_gap(
    harness: Harness,
    community: Community,
    query: str,
    item_id: int,
    answerer: str,
    *,
    private: bool = False,
) -> None:
    """A lookup the repository could not answer, asked in the group (or privately), replied
    to by `answerer` and closed by an item."""
    async with harness.app.uow_factory() as uow:
        who = await uow.members.identity(Platform.CONSOLE, answerer)
        assert who is not None
        repo = uow.repo(KnowledgeRepository)
        gap = await repo.add_gap(
            KnowledgeGap(
                community.id,
                query,
                "en",
                harness.clock.now(),
                None,
                platform="console",
                chat_id="zoe" if private else "demo",
                message_id=f"m-{query[:20]}",
                is_direct=private,
            )
        )
        await repo.note_answer(gap, f"a-{query[:20]}", "the answer", who.identity_id, None)
        await repo.settle_gaps([gap], GapStatus.CLOSED, harness.clock.now(), item_id)
        await uow.commit()


async def due_digests(harness: Harness) -> list[tuple[str, OutboundMessage]]:
    """Run the digest job now, then deliver what is due; (chat, message) of each sent."""
    await harness.job(JOB_ID)
    before = len(harness.messenger.sent)
    await harness.app.dispatcher.dispatch_due()
    return [(d.chat_id, m) for d, m in harness.messenger.sent[before:] if d.is_direct]


def texts(sent: list[tuple[str, OutboundMessage]]) -> dict[str, str]:
    return {chat: message.body.plain() for chat, message in sent}


async def member_event(harness: Harness, user: str, kind: type[MemberJoined | MemberLeft]) -> None:
    harness.seq += 1
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"member:{harness.seq}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), "en"),
        occurred_at=harness.clock.now(),
        chat_title="demo",
    )
    await harness.dispatch(kind(origin, PlatformUser(Platform.CONSOLE, user, user.title())))


async def test_digest_is_off_by_default_and_each_choice_is_confirmed_privately(
    harness: Harness,
) -> None:
    await harness.community()
    [shown] = await harness.say("/digest")
    status, naming = shown.splitlines()
    assert status.startswith("You get no digest from Demo network.")
    assert naming.startswith("The digest and the newsletter never name you")
    before = len(harness.messenger.sent)
    [chosen] = await harness.say("/digest weekly")
    [(destination, message)] = harness.messenger.sent[before:]
    assert destination.user_id == "carla" and message.ephemeral
    assert chosen.startswith("Done: you will get the digest of Demo network every week")
    [shown] = await harness.say("/digest")
    assert shown.startswith("You get the weekly digest of Demo network")
    [named] = await harness.say("/digest name on")
    assert named == "Done: when you answer a question, the digest and the newsletter may name you."
    [shown] = await harness.say("/digest")
    assert shown.splitlines()[1].startswith("When you answer a question, the digest and the")
    [wrong] = await harness.say("/digest daily")
    assert "weekly, monthly, off" in wrong
    [wrong_name] = await harness.say("/digest name maybe", locale="es")
    assert "sí, no" in wrong_name  # refused in the member's language, with its words
    # Any of our languages' words: Spanish "mensual".
    [monthly] = await harness.say("/digest mensual")
    assert "every month" in monthly


async def test_follow_lists_themes_in_the_order_followed_and_puts_them_first(
    harness: Harness,
) -> None:
    demo = await harness.community()
    [none] = await harness.say("/follow")
    assert none.startswith("You follow no theme here.")
    assert await harness.say("/follow #Monitoring") == [
        "Now following #monitoring: its new items come first in your digest."
    ]
    await harness.say("/follow #knowledge_management")
    [again] = await harness.say("/follow #monitoring")
    assert again == "You already follow #monitoring."
    [listing] = await harness.say("/follow")
    assert listing == (
        "You follow 2 themes here: #monitoring, #knowledge-management. "
        "/unfollow #theme stops following one."
    )
    await harness.say("/digest weekly")
    harness.clock.advance(days=1)
    await add_item(harness, demo, "Newest, unfollowed", theme="webinars")
    await add_item(harness, demo, "About KM", theme="knowledge-management")
    await add_item(harness, demo, "About monitoring", theme="monitoring")
    await add_item(harness, demo, "No theme", url="https://example.org/x")
    harness.clock.advance(days=6)
    [(chat, message)] = await due_digests(harness)
    assert chat == "carla"
    lines = message.body.plain().splitlines()
    start = lines.index("New in the repository") + 1
    titles = [line.split(" (#")[0].split(" · ")[0] for line in lines[start : start + 4]]
    # Followed themes first, in the order followed; then the newest first.
    assert titles == ["• About monitoring", "• About KM", "• No theme", "• Newest, unfollowed"]
    assert "• About monitoring (#" in lines[start] and "(you follow it)" in lines[start]
    [link] = [s for b in message.body.blocks for s in b.spans if s.style is Style.LINK]
    assert (link.text, link.url) == ("No theme", "https://example.org/x")
    [gone] = await harness.say("/unfollow #monitoring")
    assert gone == "You no longer follow #monitoring."
    [not_followed] = await harness.say("/unfollow #monitoring")
    assert not_followed.startswith("You do not follow #monitoring.")
    [one] = await harness.say("/follow")
    assert one.startswith("You follow one theme here: #knowledge-management.")


async def test_following_is_bounded(harness: Harness) -> None:
    await harness.community()
    for n in range(FOLLOW_LIMIT):
        await harness.say(f"/follow #t{n}")
    [full] = await harness.say("/follow #one-more")
    assert full.startswith(f"You follow {FOLLOW_LIMIT} themes here, the most there can be.")
    [bad] = await harness.say("/follow #")
    assert bad.startswith("Name a theme")
    async with harness.app.uow_factory() as uow:
        carla = await uow.members.identity(Platform.CONSOLE, "carla")
        assert carla is not None
        followed = await uow.repo(DigestRepository).followed(1, carla.person_id)
    assert len(followed) == FOLLOW_LIMIT and "one-more" not in followed


async def test_weekly_comes_after_seven_days_and_monthly_after_thirty(harness: Harness) -> None:
    demo = await harness.community()
    await harness.say("/digest weekly", user="wes")
    await harness.say("/digest monthly", user="mo")
    await harness.say("hello", user="offe")  # a member who never chose: nothing
    harness.clock.advance(hours=1)
    await add_item(harness, demo, "First week's lesson")
    harness.clock.advance(days=6, hours=22)
    assert await due_digests(harness) == []  # 6 days 23 hours: nobody yet
    harness.clock.advance(hours=1)
    sent = texts(await due_digests(harness))
    assert list(sent) == ["wes"]
    assert sent["wes"].startswith("Your weekly digest of Demo network")
    assert "First week's lesson" in sent["wes"]
    assert await due_digests(harness) == []  # once, not at every run
    # Nothing new in the second week: nothing sent, and the third week's covers it all.
    harness.clock.advance(days=7)
    assert await due_digests(harness) == []
    harness.clock.advance(days=1)
    await add_item(harness, demo, "Third week's toolkit")
    harness.clock.advance(days=6)
    sent = texts(await due_digests(harness))
    assert list(sent) == ["wes"]
    assert "Third week's toolkit" in sent["wes"] and "First week's lesson" not in sent["wes"]
    harness.clock.advance(days=9)  # 30 days after choosing
    sent = texts(await due_digests(harness))
    assert list(sent) == ["mo"]
    assert sent["mo"].startswith("Your monthly digest of Demo network")
    assert "First week's lesson" in sent["mo"] and "Third week's toolkit" in sent["mo"]


async def test_a_digest_due_at_night_waits_for_the_members_morning(harness: Harness) -> None:
    # 23:30 in Santiago.
    harness.clock.current = datetime(2026, 11, 3, 2, 30, tzinfo=UTC)
    demo = await harness.community()
    await harness.say("/digest weekly")
    harness.clock.advance(hours=1)
    await add_item(harness, demo, "Night lesson")
    harness.clock.advance(days=6, hours=23)
    assert await due_digests(harness) == []  # queued, for 08:00 their time
    harness.clock.current = datetime(2026, 11, 10, 10, 59, tzinfo=UTC)
    await harness.app.dispatcher.dispatch_due()
    assert not [m for d, m in harness.messenger.sent if "Night lesson" in m.body.plain()]
    harness.clock.current = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)
    await harness.app.dispatcher.dispatch_due()
    [digest] = [m for d, m in harness.messenger.sent if "Night lesson" in m.body.plain()]
    assert digest.body.plain().startswith("Your weekly digest of Demo network")


async def test_a_member_who_reads_spanish_gets_it_in_spanish(harness: Harness) -> None:
    demo = await harness.community()
    [chosen] = await harness.say("/digest semanal", user="sol", locale="es")
    assert chosen.startswith("Listo: recibirás el resumen de Demo network cada semana")
    await harness.say("/digest weekly", user="ed")
    harness.clock.advance(hours=1)
    await add_item(harness, demo, "Masa crítica", lang="es", kind=ItemType.FAQ)
    async with harness.app.uow_factory() as uow:
        await uow.repo(WebinarRepository).add(
            demo.id,
            WebinarDraft(
                "Taller de monitoreo",
                harness.clock.now() + timedelta(days=9),
                "America/Santiago",
                link="https://meet.example.org/secret-room",
            ),
            speaker_person_id=None,
            created_by=None,
            checkin_code="ABC",
            now=harness.clock.now(),
        )
        await uow.commit()
    harness.clock.advance(days=7)
    sent = texts(await due_digests(harness))
    lines = sent["sol"].splitlines()
    assert lines[0] == "Tu resumen semanal de Demo network"
    assert "Novedades en el repositorio" in lines
    assert any(
        line.startswith("• Masa crítica (#") and "/faq Masa crítica" in line for line in lines
    )
    assert "Próximos webinars" in lines
    assert "• Taller de monitoreo: 2026-11-11 10:00 (America/Santiago)" in lines
    assert "• Inscríbete y obtén el enlace con /webinars." in lines
    assert sent["ed"].startswith("Your weekly digest of Demo network")
    # Never the meeting link, in any language.
    assert all("meet.example.org" not in text for text in sent.values())


async def test_answered_questions_name_only_who_agreed_and_never_a_private_question(
    harness: Harness,
) -> None:
    demo = await harness.community()
    await harness.say("/digest weekly")
    for who in ("ana", "bea", "dan"):
        await harness.say("hello", user=who)
    await harness.say("/digest name on", user="ana")
    await harness.say("/digest name on", user="bea")
    await harness.say("/optout tracking", user="bea")  # agreed, then stopped being tracked
    harness.clock.advance(hours=1)
    item = await add_item(harness, demo, "Indicators toolkit", url="https://example.org/ind")
    plain = await add_item(harness, demo, "Reporting FAQ", kind=ItemType.FAQ)
    await answer_gap(harness, demo, "how do we measure impact?", item, "ana")
    await answer_gap(harness, demo, "which indicators for exchanges?", item, "bea")
    await answer_gap(harness, demo, "what goes in a report?", plain, "dan")
    await answer_gap(harness, demo, "can you look at my salary slip?", item, "ana", private=True)
    harness.clock.advance(days=7)
    [(_, message)] = await due_digests(harness)
    lines = message.body.plain().splitlines()
    start = lines.index("Questions answered") + 1
    assert lines[start:][:3] == [
        "• “how do we measure impact?”, answered by Ana: Indicators toolkit",
        "• “which indicators for exchanges?”: Indicators toolkit",
        f"• “what goes in a report?”: Reporting FAQ (#{plain}; in the chat: /faq Reporting FAQ)",
    ]
    text = message.body.plain()
    assert "salary" not in text and "Bea" not in text and "Dan" not in text
    # Recount from the rows: three closed questions asked in the group, one privately.
    async with harness.app.uow_factory() as uow:
        gaps = await uow.repo(KnowledgeRepository).gaps_since(demo.id, MORNING)
    closed = [g for g in gaps if g.status is GapStatus.CLOSED]
    assert len(closed) == 4 and sum(1 for g in closed if not g.is_direct) == 3
    assert sum(1 for line in lines[start:] if line.startswith("• “")) == 3


async def test_someone_who_left_gets_nothing_and_gets_it_again_on_coming_back(
    harness: Harness,
) -> None:
    demo = await harness.community()
    await harness.say("/digest weekly", user="lea")
    await harness.say("/digest weekly", user="stay")
    harness.clock.advance(hours=1)
    await add_item(harness, demo, "While away")
    await member_event(harness, "lea", MemberLeft)
    harness.clock.advance(days=7)
    assert list(texts(await due_digests(harness))) == ["stay"]
    await member_event(harness, "lea", MemberJoined)
    assert list(texts(await due_digests(harness))) == ["lea"]


async def test_opting_out_of_nudges_stops_the_digest(harness: Harness) -> None:
    demo = await harness.community()
    await harness.say("/digest weekly", user="nia")
    await harness.say("/optout nudges", user="nia")
    harness.clock.advance(hours=1)
    await add_item(harness, demo, "Quiet please")
    harness.clock.advance(days=7)
    assert await due_digests(harness) == []


async def test_markup_dollars_and_formulas_in_titles_stay_literal(harness: Harness) -> None:
    demo = await harness.community()
    await harness.say("/digest weekly")
    harness.clock.advance(hours=1)
    hostile = "=SUM(A1) $HOME **bold** <b>x</b> [a](http://evil) @here"
    await add_item(harness, demo, hostile, theme="$theme")
    harness.clock.advance(days=7)
    [(_, message)] = await due_digests(harness)
    [line] = [b for b in message.body.blocks if b.plain().startswith(hostile)]
    assert line.bullet
    # As typed, in plain spans: nothing became bold, a link or a mention.
    assert line.spans[0].style is Style.PLAIN and line.spans[0].text.startswith(hostile)
    assert not any(s.style in (Style.BOLD, Style.LINK, Style.MENTION) for s in line.spans)
    assert "#$theme" in line.plain()


async def test_mydata_and_forgetme_cover_the_digest(harness: Harness) -> None:
    await harness.community()
    await harness.say("/digest monthly")
    await harness.say("/follow #monitoring")
    async with harness.app.uow_factory() as uow:
        carla = await uow.members.identity(Platform.CONSOLE, "carla")
        assert carla is not None
        records = harness.app.services.feature(PersonalRecords)
        exported = await records.export(uow, carla.person_id)
        erased = await records.forget(uow, carla.person_id)
        await uow.commit()
    assert [row["frequency"] for row in exported["digest"]] == ["monthly"]
    assert [row["theme"] for row in exported["followed_themes"]] == ["monitoring"]
    assert (erased["digest"], erased["followed_themes"]) == (1, 1)


async def test_the_repository_on_sqlite_and_postgresql(any_harness: Harness) -> None:
    harness, user = any_harness, "carla"  # on SQLite, then on PostgreSQL
    demo = await harness.community()
    await harness.say("/digest name on", user="ana")
    await harness.say("/digest weekly", user=user)
    await harness.say("/follow #b", user=user)
    await harness.say("/follow #a", user=user)
    item = await add_item(harness, demo, "An item", url="https://example.org/i")
    harness.clock.advance(hours=1)
    await answer_gap(harness, demo, "group question", item, "ana")
    await answer_gap(harness, demo, "private question", item, "ana", private=True)
    async with harness.app.uow_factory() as uow:
        repo = uow.repo(DigestRepository)
        member = await uow.members.identity(Platform.CONSOLE, user)
        assert member is not None
        person = member.person_id
        assert await repo.followed(demo.id, person) == ["b", "a"]
        answered = await repo.answered_questions(
            demo.id, MORNING, harness.clock.now() + timedelta(seconds=1), 10
        )
        other = await repo.answered_questions(
            demo.id + 1000, MORNING, harness.clock.now() + timedelta(seconds=1), 10
        )
    assert [(a.query, a.answered_by) for a in answered] == [("group question", "Ana")]
    assert other == []
    async with harness.app.uow_factory() as uow:
        repo = uow.repo(DigestRepository)
        chosen = await repo.subscription(demo.id, person)
        assert chosen is not None and chosen.since == MORNING and chosen.since.tzinfo is not None
        sent_at = MORNING + timedelta(days=7)
        await repo.mark_sent(demo.id, person, sent_at)
        # Weekly to monthly keeps the last one sent; off and on again starts afresh.
        await repo.choose(demo.id, person, Frequency.MONTHLY, sent_at)
        monthly = await repo.subscription(demo.id, person)
        assert monthly is not None and monthly.due_at() == sent_at + timedelta(days=30)
        await repo.choose(demo.id, person, Frequency.OFF, sent_at)
        assert [s.person_id for s in await repo.subscribed()] == []
        restart = sent_at + timedelta(days=2)
        await repo.choose(demo.id, person, Frequency.WEEKLY, restart)
        [again] = await repo.subscribed()
        assert (again.since, again.last_sent_at) == (restart, None)
        assert await repo.subscription(demo.id + 1000, person) is None
        await uow.commit()


async def test_an_open_poll_already_told_is_no_reason_to_write_again(harness: Harness) -> None:
    demo = await harness.community()
    await harness.say("/digest weekly")
    await harness.say("/digest weekly", user="ana")
    harness.clock.advance(hours=1)
    async with harness.app.uow_factory() as uow:
        await uow.repo(PollRepository).add(
            demo.id,
            PollDraft("Which day suits you?", ("Mon", "Fri")),
            None,
            None,
            harness.clock.now(),
        )
        await uow.commit()
    harness.clock.advance(days=7)
    sent = texts(await due_digests(harness))
    assert sorted(sent) == ["ana", "carla"]
    assert "Open polls\n• Which day suits you?" in sent["carla"]
    # A week later the poll is still open, and nothing else happened: no digest.
    harness.clock.advance(days=7)
    assert await due_digests(harness) == []
    # Something new: the poll comes along again, for context.
    await add_item(harness, demo, "Fresh lesson")
    harness.clock.advance(hours=1)
    sent = texts(await due_digests(harness))
    assert "Fresh lesson" in sent["carla"] and "Which day suits you?" in sent["carla"]


async def test_open_surveys_sent_to_the_community_are_listed_and_drafts_are_not(
    harness: Harness,
) -> None:
    await harness.community()
    await harness.grant("olga", Role.MODERATOR)
    await harness.say("/digest weekly")
    harness.clock.advance(hours=1)
    await harness.say(
        "/survey new Needs check; scale: How useful is it?; deadline: 2026-11-20 18:00",
        user="olga",
    )
    await harness.say("/survey new Not sent yet; text: Anything?", user="olga")
    await harness.say("/survey send 1", user="olga")
    async with harness.app.uow_factory() as uow:
        listed = await uow.repo(SurveyRepository).in_community((await harness.community()).id, 10)
    assert {(s.title, s.is_open, s.sent_at is not None) for s in listed} == {
        ("Needs check", True, True),
        ("Not sent yet", False, False),
    }
    harness.clock.advance(days=7)
    sent = texts(await due_digests(harness))
    assert "Open surveys\n• Needs check (open until " in sent["carla"]
    assert "Not sent yet" not in sent["carla"]
