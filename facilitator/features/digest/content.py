"""What a digest and the newsletter say: one builder, made of sections.

Each section comes from a `SectionSource` (new repository items, upcoming webinars, open polls,
questions answered); another feature's section (surveys, say) is one more source in the tuple
the builder is given. The same content goes to a member privately (`Audience.MEMBER`) and to
an email list (`Audience.PUBLIC`): neither carries a meeting link (the chat has it), names
appear only for people who opted in to being named, and a question asked privately is never
shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from facilitator.domain.model import Community
from facilitator.features.digest.domain import AnsweredQuestion, NewItem
from facilitator.features.digest.ports import DigestRepository
from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.polls.ports import PollRepository
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.i18n import Catalogue
from facilitator.localtime import show
from facilitator.markup import Block, RichText, Span, Style
from facilitator.ports import UnitOfWork

# At most this many lines a section; the rest are counted in one line.
SECTION_LIMIT = 10
# Webinars starting within this long after the period are "upcoming".
UPCOMING = timedelta(days=31)
_LINKABLE = ("http://", "https://")


class Audience(StrEnum):
    MEMBER = "member"  # a member's private digest
    PUBLIC = "public"  # the newsletter, for an email list


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime


@dataclass(frozen=True)
class Reader:
    locale: str
    audience: Audience
    follows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A heading (a prompt key) and its lines, already in the reader's language."""

    heading: str
    lines: tuple[RichText, ...]
    more: int = 0
    # Whether it holds anything that happened in the period: an open poll or an upcoming
    # webinar announced before it is repeated for context, but is no reason to write.
    fresh: bool = True


@dataclass(frozen=True)
class Digest:
    community: Community
    period: Period
    reader: Reader
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def has_news(self) -> bool:
        return any(section.fresh for section in self.sections)


class SectionSource(Protocol):
    async def collect(
        self,
        uow: UnitOfWork,
        catalogue: Catalogue,
        community: Community,
        period: Period,
        reader: Reader,
    ) -> Section | None: ...


def theme_key(text: str) -> str:
    """A theme as followed and as items carry it: `#Knowledge Management` is
    `knowledge-management`."""
    return "-".join(text.strip().lstrip("#").casefold().replace("_", "-").split())


def _link(text: str, url: str | None) -> Span:
    if url and url.lower().startswith(_LINKABLE):
        return Span(text, Style.LINK, url=url)
    return Span(text)


def _line(spans: Sequence[Span], rest: RichText) -> RichText:
    tail = tuple(span for block in rest.blocks for span in block.spans)
    return RichText((Block(tuple(spans) + tail, bullet=True),))


def _in_language(items: list[KnowledgeItem], locale: str) -> list[KnowledgeItem]:
    """One version of each item: the reader's language where there is one."""
    chosen: dict[str, KnowledgeItem] = {}
    for item in items:
        group = item.translation_of or item.key
        kept = chosen.get(group)
        if kept is None or (item.lang == locale and kept.lang != locale):
            chosen[group] = item
    return list(chosen.values())


class NewItems:
    async def collect(
        self,
        uow: UnitOfWork,
        catalogue: Catalogue,
        community: Community,
        period: Period,
        reader: Reader,
    ) -> Section | None:
        published = await uow.repo(KnowledgeRepository).in_scope(
            community.id, [ItemStatus.PUBLISHED]
        )
        fresh = [
            item
            for item in published
            if item.id is not None
            and item.created_at is not None
            and period.since <= item.created_at < period.until
        ]
        follows = set(reader.follows)
        found = [
            NewItem(
                item.id or 0,
                item.title,
                theme_key(item.theme),
                item.url,
                bool(item.theme) and theme_key(item.theme) in follows,
                "faq" if item.type is ItemType.FAQ else "lesson",
            )
            for item in _in_language(fresh, reader.locale)
        ]
        if not found:
            return None
        # Followed themes first, in the order followed; then the newest first.
        order = {theme: n for n, theme in enumerate(reader.follows)}
        found.sort(key=lambda i: (order.get(i.theme, len(order)), -i.id))
        lines = [self._line(catalogue, reader.locale, item) for item in found[:SECTION_LIMIT]]
        return Section("digest.items.heading", tuple(lines), max(0, len(found) - SECTION_LIMIT))

    @staticmethod
    def _line(catalogue: Catalogue, locale: str, item: NewItem) -> RichText:
        if item.url and item.url.lower().startswith(_LINKABLE):
            lead = [_link(item.title, item.url)]
        else:
            # No address of its own: members find it in the chat by its title.
            plain = catalogue.render(
                locale, "digest.items.plain", title=item.title, id=item.id, command=item.command
            )
            lead = [span for block in plain.blocks for span in block.spans]
        if not item.theme:
            return _line(lead, RichText())
        key = "digest.items.followed" if item.followed else "digest.items.theme"
        return _line(lead, catalogue.render(locale, key, theme=item.theme))


class UpcomingWebinars:
    async def collect(
        self,
        uow: UnitOfWork,
        catalogue: Catalogue,
        community: Community,
        period: Period,
        reader: Reader,
    ) -> Section | None:
        upcoming = [
            webinar
            for webinar in await uow.repo(WebinarRepository).upcoming(community.id, period.until)
            if webinar.starts_at < period.until + UPCOMING
        ]
        if not upcoming:
            return None
        # No meeting link: members find it with /webinars, readers of the newsletter in the
        # chat.
        lines = [
            catalogue.render(
                reader.locale,
                "digest.webinars.line",
                title=webinar.title,
                when=show(webinar.starts_at, webinar.timezone or community.timezone),
                zone=webinar.timezone or community.timezone,
                id=webinar.id,
            )
            for webinar in upcoming[:SECTION_LIMIT]
        ]
        pointer = (
            "digest.webinars.member"
            if reader.audience is Audience.MEMBER
            else "digest.webinars.public"
        )
        lines.append(catalogue.render(reader.locale, pointer, community=community.title))
        return Section(
            "digest.webinars.heading",
            tuple(lines),
            max(0, len(upcoming) - SECTION_LIMIT),
            fresh=any(w.created_at >= period.since for w in upcoming),
        )


@dataclass(frozen=True)
class _Open:
    """A poll or a survey still open: when it began, when it ends (if it does), and what its
    line says."""

    began: datetime
    ends: datetime | None
    values: dict[str, object]


def _open_section(
    name: str,
    timed: str,
    found: Sequence[_Open],
    catalogue: Catalogue,
    community: Community,
    period: Period,
    reader: Reader,
) -> Section | None:
    """`digest.<name>.heading` over a line each (`<name>.line`, or `<name>.<timed>` with its
    end in the community's zone); fresh only if one of them began in the period."""
    shown = [thing for thing in found if thing.began < period.until]
    if not shown:
        return None
    zone = community.timezone
    lines = [
        catalogue.render(
            reader.locale,
            f"digest.{name}.{timed if thing.ends else 'line'}",
            when=show(thing.ends, zone) if thing.ends else "",
            zone=zone,
            **thing.values,
        )
        for thing in shown[:SECTION_LIMIT]
    ]
    return Section(
        f"digest.{name}.heading",
        tuple(lines),
        max(0, len(shown) - SECTION_LIMIT),
        fresh=any(thing.began >= period.since for thing in shown),
    )


class OpenPolls:
    async def collect(
        self,
        uow: UnitOfWork,
        catalogue: Catalogue,
        community: Community,
        period: Period,
        reader: Reader,
    ) -> Section | None:
        found = [
            _Open(poll.created_at, poll.closes_at, {"question": poll.question, "id": poll.id})
            for poll in await uow.repo(PollRepository).open_in(community.id, 100)
        ]
        return _open_section("polls", "closes", found, catalogue, community, period, reader)


class OpenSurveys:
    """Surveys sent to the community and still open: members answer them from the private
    invitation they received, and the newsletter points its readers to the chat."""

    async def collect(
        self,
        uow: UnitOfWork,
        catalogue: Catalogue,
        community: Community,
        period: Period,
        reader: Reader,
    ) -> Section | None:
        found = [
            _Open(survey.sent_at, survey.deadline, {"title": survey.title})
            for survey in await uow.repo(SurveyRepository).in_community(community.id, 100)
            if survey.is_open and survey.sent_at is not None
        ]
        return _open_section("surveys", "until", found, catalogue, community, period, reader)


class AnsweredQuestions:
    async def collect(
        self,
        uow: UnitOfWork,
        catalogue: Catalogue,
        community: Community,
        period: Period,
        reader: Reader,
    ) -> Section | None:
        answered = await uow.repo(DigestRepository).answered_questions(
            community.id, period.since, period.until, SECTION_LIMIT + 1
        )
        if not answered:
            return None
        lines = [self._line(catalogue, reader.locale, a) for a in answered[:SECTION_LIMIT]]
        return Section(
            "digest.answered.heading", tuple(lines), max(0, len(answered) - SECTION_LIMIT)
        )

    @staticmethod
    def _line(catalogue: Catalogue, locale: str, answered: AnsweredQuestion) -> RichText:
        by = "_by" if answered.answered_by else ""
        values = {
            "question": answered.query,
            "title": answered.item_title or "",
            "id": answered.item_id or 0,
            "name": answered.answered_by or "",
            "command": answered.command,
        }
        if answered.item_url and answered.item_url.lower().startswith(_LINKABLE):
            lead = catalogue.render(locale, f"digest.answered.linked{by}", **values)
            return _line(
                [span for block in lead.blocks for span in block.spans]
                + [_link(answered.item_title or "", answered.item_url)],
                RichText(),
            )
        return catalogue.render(locale, f"digest.answered.plain{by}", **values)


SOURCES: tuple[SectionSource, ...] = (
    NewItems(),
    UpcomingWebinars(),
    OpenPolls(),
    OpenSurveys(),
    AnsweredQuestions(),
)


async def build(
    uow: UnitOfWork,
    catalogue: Catalogue,
    community: Community,
    period: Period,
    reader: Reader,
    sources: Sequence[SectionSource] = SOURCES,
) -> Digest:
    sections = []
    for source in sources:
        section = await source.collect(uow, catalogue, community, period, reader)
        if section is not None:
            sections.append(section)
    return Digest(community, period, reader, tuple(sections))


def body(digest: Digest, catalogue: Catalogue, title_key: str, **values: object) -> RichText:
    """The digest as rich text: its title, then each section's heading and lines."""
    locale = digest.reader.locale
    parts = [catalogue.render(locale, title_key, community=digest.community.title, **values)]
    for section in digest.sections:
        parts.append(catalogue.render(locale, section.heading))
        parts.extend(section.lines)
        if section.more:
            parts.append(catalogue.render(locale, "digest.more", count=section.more))
    return RichText.join(parts)
