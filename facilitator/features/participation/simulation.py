"""A scripted month in the demo community, with the figures it must produce.

Four weeks (ISO weeks 45 to 48 of 2026) of the demo network's members talking in the group:
questions answered and thanked, reactions, shared resources, polls, two webinars, newcomers
welcomed, a member who opts out and one who asks to be forgotten. Every step is an inbound
event for the core, except webinar sign-ups and attendance and unanswered lookups, which are
written the way those features write them.

While writing the script, the simulator keeps its own account of what each step means (who
answered what and when, who was active), so tests compare what the system computed from the
events with what the script says happened, by a separate and much simpler route.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from facilitator.domain.events import (
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    MemberJoined,
    MessageReceived,
    Origin,
    PollVoteCast,
    ReactionChanged,
    ReplyTarget,
)
from facilitator.domain.model import LedgerEntry, ParticipationKind, Platform, PlatformUser
from facilitator.features.knowledge.domain import ItemStatus, KnowledgeGap
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.participation.summary import ACTIVE_KINDS
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from facilitator.core import Facilitator

CHAT_ID = "demo"
TIMEZONE = "America/Santiago"
FIRST_MONDAY = date(2026, 11, 2)  # ISO week 2026-W45
WEEKS = 4
K = ParticipationKind

NEWCOMER_NAMES = {"marta": "Marta Quispe", "pablo": "Pablo Ibáñez", "sofia": "Sofía Medina"}
BOT = "calendar_bot"


@dataclass(frozen=True)
class WebinarStep:
    """A webinar sign-up, attendance or presentation, as the webinar feature records it."""

    who: str
    kind: ParticipationKind
    webinar: str


@dataclass(frozen=True)
class GapStep:
    """A lookup the repository could not answer, as the knowledge feature records it."""

    who: str
    query: str
    lang: str


@dataclass(frozen=True)
class ApproveAllStep:
    """A moderator approves every proposed resource (`/approve ID` for each)."""

    who: str


Action = InboundEvent | WebinarStep | GapStep | ApproveAllStep


@dataclass(frozen=True)
class Step:
    at: datetime
    action: Action


@dataclass
class TruthQuestion:
    asker: str
    message_id: str
    asked_at: datetime
    answered_at: datetime | None = None
    answerer: str | None = None


@dataclass(frozen=True)
class Posted:
    message_id: str
    author: str
    at: datetime
    question: TruthQuestion | None = None


@dataclass
class SimulatedMonth:
    """The script (steps in time order) and the simulator's own account of it."""

    members: tuple[str, ...]
    steps: list[Step] = field(default_factory=list)
    # (person, kind, when), as the ledger should hold it once the month has been played.
    log: list[tuple[str, ParticipationKind, datetime]] = field(default_factory=list)
    questions: list[TruthQuestion] = field(default_factory=list)
    joined: dict[str, datetime] = field(default_factory=dict)
    gaps: list[tuple[str, str, datetime]] = field(default_factory=list)
    opted_out: set[str] = field(default_factory=set)
    forgotten: set[str] = field(default_factory=set)

    @property
    def excluded(self) -> set[str]:
        return self.opted_out | self.forgotten

    def counts(self, who: str) -> Counter[ParticipationKind]:
        return Counter(kind for person, kind, _ in self.log if person == who)

    def expected_week(self, week: int) -> dict[str, object]:
        """The summary's figures for week `week` (0 is 2026-W45), from the script alone."""
        start, end = week_start(week), week_start(week + 1)
        entries = [
            (who, kind)
            for who, kind, at in self.log
            if start <= at < end and who not in self.excluded
        ]
        active = {who for who, kind in entries if kind in ACTIVE_KINDS}
        newcomers = {
            who
            for who, at in self.joined.items()
            if start <= at < end and who not in self.excluded
        }
        asked = [
            q for q in self.questions if start <= q.asked_at < end and q.asker not in self.excluded
        ]
        answered = [q for q in asked if q.answered_at is not None and q.answered_at < end]
        waits = [
            (q.answered_at - q.asked_at).total_seconds() / 60
            for q in answered
            if q.answered_at is not None
        ]
        kinds = Counter(kind for _, kind in entries)
        # The seeded members are there from the start; nobody leaves; whoever opted out or
        # was forgotten is in no figure.
        known = (set(self.members) | {who for who, at in self.joined.items() if at < end}) - (
            self.excluded
        )
        return {
            "known_members": len(known),
            "active_members": len(active),
            "newcomers": len(newcomers),
            "newcomers_active": len(newcomers & active),
            "messages": kinds[K.MESSAGE_POSTED],
            "questions_asked": len(asked),
            "questions_answered": len(answered),
            "questions_unanswered": len(asked) - len(answered),
            "median_answer_minutes": statistics.median(waits) if waits else None,
            "poll_votes": kinds[K.POLL_VOTE],
            "poll_voters": len({who for who, kind in entries if kind is K.POLL_VOTE}),
            "webinar_rsvps": kinds[K.WEBINAR_RSVP],
            "webinar_attended": kinds[K.WEBINAR_ATTENDED],
            "unanswered_lookups": sum(1 for _, _, at in self.gaps if start <= at < end),
            # The played month adds no item that answers its gaps.
            "gaps_closed": 0,
            "median_gap_close_hours": None,
            "lookups_closed": 0,
            "active_names": active,
        }

    def active_weeks(self, who: str) -> set[int]:
        return {
            (at - week_start(0)).days // 7
            for person, kind, at in self.log
            if person == who and kind in ACTIVE_KINDS
        }


def week_start(week: int) -> datetime:
    """Monday 00:00 of week `week` in the demo community's zone, as UTC."""
    day = FIRST_MONDAY + timedelta(weeks=week)
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)


def local_time(week: int, weekday: int, hour: int, minute: int = 0) -> datetime:
    day = FIRST_MONDAY + timedelta(weeks=week, days=weekday)
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)


class _Script:
    """Writes steps and, alongside, what each step means for the ledger."""

    def __init__(self, month: SimulatedMonth) -> None:
        self.month = month
        self.seq = 0
        self.answers: dict[str, TruthQuestion] = {}  # answer message id -> its question
        self.thanked: set[str] = set()
        self.proposed: list[str] = []

    def _origin(self, who: str, at: datetime, *, bot: bool = False) -> Origin:
        self.seq += 1
        event_id = f"sim:{self.seq}"
        return Origin(
            platform=Platform.CONSOLE,
            event_id=event_id,
            chat_id=CHAT_ID,
            user=PlatformUser(Platform.CONSOLE, who, NEWCOMER_NAMES.get(who, ""), is_bot=bot),
            occurred_at=at,
            chat_title="demo",
            message_id=event_id,
        )

    def _log(self, who: str, kind: ParticipationKind, at: datetime) -> None:
        if who not in self.month.excluded:
            self.month.log.append((who, kind, at))

    def say(
        self,
        who: str,
        text: str,
        at: datetime,
        *,
        reply_to: Posted | None = None,
        question: bool = False,
        link: bool = False,
        thanks: bool = False,
        welcome: bool = False,
    ) -> Posted:
        origin = self._origin(who, at)
        target = ReplyTarget(reply_to.message_id, reply_to.author) if reply_to else None
        self.month.steps.append(
            Step(at, MessageReceived(origin, text, reply_to=target, has_link=link))
        )
        message_id = origin.event_id
        self._log(who, K.MESSAGE_POSTED, at)
        if link:
            self._log(who, K.RESOURCE_SHARED, at)
        if reply_to is not None and thanks:
            self._thanks(who, reply_to, at)
        elif reply_to is not None and reply_to.question is not None:
            asked = reply_to.question
            # Only the first reply by someone else answers a question.
            if asked.asker != who and asked.answered_at is None:
                asked.answered_at, asked.answerer = at, who
                self.answers[message_id] = asked
                self._log(who, K.ANSWER_GIVEN, at)
        if welcome:
            self._log(who, K.NEWCOMER_WELCOMED, at)
        truth = None
        if question:
            truth = TruthQuestion(who, message_id, at)
            if who not in self.month.excluded:
                self.month.questions.append(truth)
            self._log(who, K.QUESTION_ASKED, at)
        return Posted(message_id, who, at, truth)

    def _thanks(self, who: str, target: Posted, at: datetime) -> None:
        if target.author != who:
            self._log(target.author, K.THANKS_RECEIVED, at)
            if target.message_id in self.answers and target.message_id not in self.thanked:
                self.thanked.add(target.message_id)
                self._log(target.author, K.ANSWER_THANKED, at)

    def react(self, who: str, message: Posted, emoji: str, at: datetime) -> None:
        # As on Telegram: a reaction names the message, not its author.
        self.month.steps.append(
            Step(
                at,
                ReactionChanged(self._origin(who, at), emoji, message.message_id, None, True),
            )
        )
        self._log(who, K.REACTION_GIVEN, at)
        if message.author != who:
            self._log(message.author, K.REACTION_RECEIVED, at)

    def join(self, who: str, at: datetime) -> Posted:
        """A member joins (the group's "joined" notice is the message one can reply to)."""
        user = PlatformUser(Platform.CONSOLE, who, NEWCOMER_NAMES.get(who, who.title()))
        origin = self._origin(who, at)
        self.month.steps.append(Step(at, MemberJoined(origin, user)))
        self.month.joined[who] = at
        self._log(who, K.MEMBER_JOINED, at)
        return Posted(origin.event_id, who, at)

    def vote(self, who: str, poll: str, at: datetime) -> None:
        self.month.steps.append(Step(at, PollVoteCast(self._origin(who, at), poll, (1,))))
        self._log(who, K.POLL_VOTE, at)

    def command(self, who: str, name: str, args: str, at: datetime) -> None:
        self.month.steps.append(Step(at, CommandInvoked(self._origin(who, at), name, args)))

    def share(self, who: str, url: str, note: str, at: datetime) -> None:
        self.command(who, "share", f"{url} {note}", at)
        self._log(who, K.RESOURCE_SHARED, at)
        self.proposed.append(who)

    def approve_all(self, who: str, at: datetime) -> None:
        self.month.steps.append(Step(at, ApproveAllStep(who)))
        for proposer in self.proposed:
            self._log(who, K.KNOWLEDGE_APPROVED, at)
            self._log(proposer, K.KNOWLEDGE_CONTRIBUTED, at)
        self.proposed.clear()

    def press(self, who: str, action: str, value: str, at: datetime) -> None:
        self.month.steps.append(Step(at, ButtonPressed(self._origin(who, at), action, value)))

    def webinar(self, who: str, kind: ParticipationKind, webinar: str, at: datetime) -> None:
        self.month.steps.append(Step(at, WebinarStep(who, kind, webinar)))
        self._log(who, kind, at)

    def gap(self, who: str, query: str, lang: str, at: datetime) -> None:
        self.month.steps.append(Step(at, GapStep(who, query, lang)))
        self.month.gaps.append((who, query, at))

    def bot_message(self, text: str, at: datetime) -> None:
        origin = self._origin(BOT, at, bot=True)
        self.month.steps.append(Step(at, MessageReceived(origin, text)))

    def opt_out(self, who: str, at: datetime) -> None:
        self.command(who, "optout", "tracking", at)
        self.month.opted_out.add(who)

    def forget(self, who: str, at: datetime) -> None:
        self.command(who, "forgetme", "", at)
        self.press(who, "privacy_forget", "confirm", at + timedelta(minutes=1))
        self.month.forgotten.add(who)
        self.month.log = [entry for entry in self.month.log if entry[0] != who]
        self.month.questions = [q for q in self.month.questions if q.asker != who]
        self.month.gaps = [gap for gap in self.month.gaps if gap[0] != who]


QUESTIONS = (
    "¿Alguien tiene una plantilla para sistematizar lecciones aprendidas?",
    "How do you keep members engaged between webinars?",
    "¿Cómo miden la participación en sus comunidades de práctica?",
    "Alguém tem um modelo de termo de referência para facilitadores?",
    "¿Qué herramienta usan para las encuestas rápidas?",
    "What is a good length for a webinar with Q&A?",
    "¿Dónde encuentro el informe del último intercambio sur-sur?",
    "Como vocês organizam o repositório de documentos?",
)
ANSWERS = (
    "Nosotros usamos la guía de sistematización de FOSIS, te la comparto por privado.",
    "A short weekly prompt works well for us, plus a monthly call.",
    "Contamos mensajes, respuestas y recursos compartidos cada semana.",
    "Temos um modelo no repositório, procure por termo de referência.",
    "Usamos las encuestas del propio grupo, son rápidas y anónimas.",
    "Forty-five minutes, with fifteen for questions, has worked best.",
    "Está en la carpeta de intercambios, sección 2025.",
    "Organizamos por temas, com um responsável por revisar cada tema.",
)
CHATTER = (
    "Buen día a todos, comparto la agenda del taller de la próxima semana.",
    "Great discussion yesterday, I took notes for the group.",
    "Estamos preparando el informe trimestral del programa.",
    "Bom dia, pessoal! Semana cheia por aqui.",
    "Recordatorio: el plazo para enviar casos vence el viernes.",
    "Interesting point about peer reviews in the last call.",
    "Les cuento que el piloto en Cusco avanza bien.",
)
THANKS = ("¡Gracias!", "Thanks, very helpful", "Obrigada, ajudou muito", "¡Muchas gracias!")

# Per week: (asker, answerer or None, minutes until the answer).
QUESTION_PLAN: tuple[tuple[tuple[str, str | None, int], ...], ...] = (
    (
        ("diego", "elena", 20),
        ("carla", "elena", 45),
        ("karen", "gabriela", 90),
        ("felipe", "bruno", 240),
        ("hugo", None, 0),
    ),
    (
        ("diego", "elena", 15),
        ("carla", "elena", 35),
        ("joao", "gabriela", 60),
        ("felipe", "elena", 120),
        ("lucas", None, 0),
        ("marta", "bruno", 30),
    ),
    (
        ("diego", "elena", 10),
        ("karen", "elena", 25),
        ("ines", "gabriela", 50),
        ("marta", "ines", 70),
        ("joao", "elena", 180),
        ("lucas", None, 0),
        ("sofia", "ines", 40),
    ),
    (
        ("diego", "elena", 30),
        ("ines", "gabriela", 20),
        ("karen", "elena", 60),
        ("marta", "ines", 90),
        ("hugo", None, 0),
    ),
)


def demo_month(members: Iterable[str]) -> SimulatedMonth:
    """The demo community's month; `members` are the seeded handles (data/demo)."""
    month = SimulatedMonth(members=tuple(members))
    s = _Script(month)
    for week in range(4):
        if week == 2:
            # Carla stops tracking; what she says afterwards is not recorded.
            s.opt_out("carla", local_time(week, 0, 8))
        if week == 3:
            s.forget("joao", local_time(week, 0, 8))
        _newcomers_and_events(s, week)
        s.say("ana", CHATTER[0], local_time(week, 0, 9))
        s.say("ana", CHATTER[4], local_time(week, 3, 9))
        _questions(s, week)
        # Diego talks a lot on Tuesdays: only twenty messages a day count.
        for n in range(45):
            s.say("diego", CHATTER[n % len(CHATTER)], local_time(week, 1, 15, n))
        # Hugo thanks himself and likes his own message: neither earns him anything.
        hugo = s.say("hugo", CHATTER[2], local_time(week, 2, 11))
        s.say("hugo", "Thanks!", local_time(week, 2, 11, 5), reply_to=hugo, thanks=True)
        s.react("hugo", hugo, "❤", local_time(week, 2, 11, 6))
        s.say(
            "elena",
            "Guía de facilitación actualizada: https://example.org/guia-facilitacion",
            local_time(week, 3, 16),
            link=True,
        )
        # Bots never count.
        s.bot_message("Reminder: weekly call at 17:00", local_time(week, 3, 12))
    month.steps.sort(key=lambda step: step.at)
    return month


def _questions(s: _Script, week: int) -> None:
    for n, (asker, answerer, minutes) in enumerate(QUESTION_PLAN[week]):
        if asker in s.month.forgotten:
            continue
        # One a weekday from Monday; newcomers' questions wait for Friday.
        asked_at = local_time(week, min(n, 4), 10, n)
        text = QUESTIONS[(week + n) % len(QUESTIONS)]
        question = s.say(asker, text, asked_at, question=True)
        if answerer is None:
            continue
        answered_at = asked_at + timedelta(minutes=minutes)
        answer = s.say(
            answerer, ANSWERS[(week + n) % len(ANSWERS)], answered_at, reply_to=question
        )
        if answerer == "elena" or n % 2 == 0:
            s.say(
                asker,
                THANKS[n % len(THANKS)],
                answered_at + timedelta(minutes=5),
                reply_to=answer,
                thanks=True,
            )
        if n == 1:
            # A second reply to an answered question is not another answer.
            s.say("bruno", CHATTER[5], answered_at + timedelta(minutes=8), reply_to=question)
        reactor = "lucas" if asker != "lucas" else "karen"
        s.react(reactor, answer, "👍", answered_at + timedelta(minutes=10))


def _newcomers_and_events(s: _Script, week: int) -> None:
    if week in (0, 1):
        # Felipe, Carla and Joao are active in the first two weeks; Felipe then falls silent.
        s.say("felipe", CHATTER[3], local_time(week, 2, 14))
        s.say("carla", CHATTER[6], local_time(week, 4, 10))
        s.say("joao", CHATTER[3], local_time(week, 4, 11))
    if week == 0:
        s.webinar("bruno", K.WEBINAR_PRESENTED, "w45", local_time(week, 3, 17))
        for who in ("karen", "lucas", "diego"):
            s.webinar(who, K.WEBINAR_RSVP, "w45", local_time(week, 1, 12))
        for who in ("karen", "lucas"):
            s.webinar(who, K.WEBINAR_ATTENDED, "w45", local_time(week, 3, 17))
    if week == 1:
        # Gabriela proposes three lessons in a theme new to the repository; Bruno approves.
        for n in range(3):
            s.share(
                "gabriela",
                f"https://example.org/economia-circular-{n}",
                f"Lecciones del piloto de economía circular {n} #circular-economy",
                local_time(week, 1, 9, n),
            )
        s.approve_all("bruno", local_time(week, 1, 11))
        s.join("marta", local_time(week, 1, 8))
        intro = s.say("marta", "Hola a todos, soy Marta, de Arequipa.", local_time(week, 1, 8, 30))
        s.say("bruno", "¡Bienvenida, Marta!", local_time(week, 1, 9), reply_to=intro, welcome=True)
        s.say(
            "elena",
            "Bienvenida Marta, un gusto.",
            local_time(week, 1, 9, 10),
            reply_to=intro,
            welcome=True,
        )
        for who in ("diego", "karen", "lucas", "elena", "gabriela", "felipe"):
            s.vote(who, "poll-w46", local_time(week, 2, 18))
        s.gap(
            "joao", "indicadores de impacto de la cooperación sur-sur", "es", local_time(1, 3, 10)
        )
        s.gap("karen", "impact indicators for south-south cooperation", "en", local_time(1, 3, 11))
    if week == 2:
        s.join("sofia", local_time(week, 1, 8))
        # Pablo joins and stays silent: welcomed, but not active.
        pablo = s.join("pablo", local_time(week, 2, 8))
        s.say("bruno", "Welcome, Pablo!", local_time(week, 2, 9), reply_to=pablo, welcome=True)
        s.say("carla", CHATTER[6], local_time(week, 4, 10))  # opted out: not recorded
        s.webinar("gabriela", K.WEBINAR_PRESENTED, "w47", local_time(week, 3, 17))
        # Felipe, active the two weeks before, is silent from now on: a member at risk.
        for who in ("karen", "lucas", "elena", "diego", "ines", "marta"):
            s.webinar(who, K.WEBINAR_RSVP, "w47", local_time(week, 1, 12))
        for who in ("karen", "lucas", "elena", "diego"):
            s.webinar(who, K.WEBINAR_ATTENDED, "w47", local_time(week, 3, 17))
        for who in ("diego", "karen", "lucas", "elena", "gabriela", "ines", "marta", "bruno"):
            s.vote(who, "poll-w47", local_time(week, 2, 18))
        s.say("ines", CHATTER[1], local_time(week, 3, 15))
        s.say(
            "ines",
            "Acá va el informe: https://example.org/informe-sur-sur",
            local_time(week, 3, 15, 5),
            link=True,
        )
        for n, (who, query, lang) in enumerate(
            (
                ("diego", "cómo medir el impacto de la cooperación sur-sur", "es"),
                ("marta", "medir impacto cooperación sur sur", "es"),
                ("lucas", "how to measure the impact of south-south cooperation", "en"),
                ("karen", "plantilla de informe de webinar", "es"),
            )
        ):
            s.gap(who, query, lang, local_time(week, 4, 9, n))
    if week == 3:
        s.say("ines", CHATTER[1], local_time(week, 3, 15))
        for n in range(2):
            s.share(
                "gabriela",
                f"https://example.org/economia-circular-caso-{n}",
                f"Estudio de caso {n} #circular-economy",
                local_time(week, 2, 9, n),
            )
        s.approve_all("bruno", local_time(week, 2, 12))


class ScriptClock:
    """A clock the player moves to each step's time (the core stamps answers with `now`)."""

    def __init__(self, current: datetime) -> None:
        self.current = current

    def now(self) -> datetime:
        return self.current


async def play(
    core: Facilitator,
    uow_factory: UnitOfWorkFactory,
    month: SimulatedMonth,
    move_clock: Callable[[datetime], None],
    *,
    community_key: str = "demo",
    redeliver: bool = False,
) -> int:
    """Feed the month's steps to the core, each in its own unit of work; returns how many
    steps ran. With `redeliver`, every inbound event is handled twice, as a platform retry."""
    ran = 0
    for step in month.steps:
        move_clock(step.at)
        action = step.action
        async with uow_factory() as uow:
            community = await uow.communities.by_key(community_key)
            if community is None:
                raise LookupError(community_key)
            if isinstance(action, WebinarStep | GapStep):
                await _record_feature_step(uow, community.id, step.at, action)
            elif isinstance(action, ApproveAllStep):
                proposed = await uow.repo(KnowledgeRepository).in_scope(
                    community.id, [ItemStatus.PROPOSED]
                )
                for item in proposed:
                    origin = Origin(
                        platform=Platform.CONSOLE,
                        event_id=f"sim:approve:{item.id}",
                        chat_id=CHAT_ID,
                        user=PlatformUser(Platform.CONSOLE, action.who, ""),
                        occurred_at=step.at,
                        chat_title="demo",
                    )
                    await core.handle(CommandInvoked(origin, "approve", str(item.id)), uow)
            else:
                await core.handle(action, uow)
            await uow.commit()
        if redeliver and isinstance(action, MessageReceived | ReactionChanged | PollVoteCast):
            async with uow_factory() as uow:
                await core.handle(action, uow)
                await uow.commit()
        ran += 1
    return ran


async def _record_feature_step(
    uow: UnitOfWork, community_id: int, at: datetime, action: WebinarStep | GapStep
) -> None:
    member = await uow.members.ensure(PlatformUser(Platform.CONSOLE, action.who, ""), at)
    if isinstance(action, GapStep):
        await uow.repo(KnowledgeRepository).add_gap(
            KnowledgeGap(community_id, action.query, action.lang, at, member.person_id)
        )
        return
    await uow.ledger.record(
        LedgerEntry(
            community_id=community_id,
            person_id=member.person_id,
            identity_id=member.identity_id,
            kind=action.kind,
            occurred_at=at,
            source_event_id=f"webinar:{action.webinar}:{action.kind.value}:{member.person_id}",
        )
    )
