"""Polls ride the outbox: the post, the reminder to non-voters and the closing are rows due at
their time, so each happens once, across restarts and processes, without a polling job.

- `poll:<id>:post` (kind `poll`): the poll itself. Telegram draws a native poll (its id comes
  back from the messenger and is kept, so that votes naming only it find the poll); other
  platforms show the question with one button per option.
- `poll:<id>:remind` (kind `poll.remind`, optional): halfway to the deadline (at most a day
  before it), one group message mentioning the members seen lately who have not voted. Never
  for an anonymous poll: naming who has not voted would tell who has.
- `poll:<id>:close` (kind `poll.close`), at the deadline or at once after `/poll close`: closes
  the poll (stopping Telegram's), fixes the counts and posts the results, with a bar chart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from facilitator.commands.spec import parse_id
from facilitator.context import CommandContext, Services
from facilitator.delivery.dispatcher import Dispatcher, mention_message
from facilitator.domain.events import PollVoteCast
from facilitator.domain.model import Community, LedgerEntry, ParticipationKind, Platform
from facilitator.domain.outbox import OutboxEntry, OutboxRecord
from facilitator.features.nudges.ports import NudgeRepository
from facilitator.features.polls.chart import bar_chart
from facilitator.features.polls.domain import Poll, PollDraft
from facilitator.features.polls.ports import PollRepository
from facilitator.i18n import Catalogue, format_percent
from facilitator.localtime import show
from facilitator.markup import (
    Attachment,
    Button,
    Destination,
    NativePoll,
    OutboundMessage,
    RichText,
)
from facilitator.membership import in_community
from facilitator.ports import Clock, Messenger, NativePolls, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

VOTE_ACTION = "poll_vote"
POST, REMIND, CLOSE = "poll", "poll.remind", "poll.close"
# Members who wrote in this many days count as "seen lately" for the reminder.
RECENT = timedelta(days=30)
CHART_FROM_VOTERS = 2


def poll_key(poll_id: int, step: str) -> str:
    return f"poll:{poll_id}:{step}"


def poll_id_of(record: OutboxRecord) -> int | None:
    parts = record.dedup_key.split(":")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def tally(poll: Poll, votes: Mapping[int, tuple[int, ...]]) -> list[int]:
    counts = [0] * len(poll.options)
    for chosen in votes.values():
        for index in chosen:
            if 0 <= index < len(counts):
                counts[index] += 1
    return counts


class Polls:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        services: Services,
        messengers: Mapping[Platform, Messenger],
    ) -> None:
        self._uow_factory = uow_factory
        self._services = services
        self._messengers = messengers

    @property
    def _catalogue(self) -> Catalogue:
        return self._services.catalogue

    @property
    def _clock(self) -> Clock:
        return self._services.clock

    def attach(self, dispatcher: Dispatcher) -> None:
        dispatcher.composers[REMIND] = self.compose_reminder
        dispatcher.composers[CLOSE] = self.compose_results
        dispatcher.sent_hooks.append(self.on_sent)

    # -- creating ---------------------------------------------------------------------------

    async def create(self, ctx: CommandContext, draft: PollDraft) -> Poll:
        assert ctx.community is not None
        return await self.create_in(
            ctx.uow, ctx.community, draft, ctx.member.person_id, ctx.origin.thread_id
        )

    async def create_in(
        self,
        uow: UnitOfWork,
        community: Community,
        draft: PollDraft,
        created_by: int | None,
        thread_id: str | None,
    ) -> Poll:
        """A poll and its outbox rows, in the caller's transaction (a webinar's feedback poll
        is created by a job, not a command)."""
        now = self._clock.now()
        poll = await uow.repo(PollRepository).add(community.id, draft, created_by, thread_id, now)
        where = Destination(community.platform, community.chat_id, thread_id=poll.thread_id)
        await uow.outbox.add(
            OutboxEntry(
                dedup_key=poll_key(poll.id, "post"),
                kind=POST,
                destination=where,
                message=self.poll_message(poll, community),
                due_at=now,
                community_id=community.id,
            ),
            now,
        )
        if poll.closes_at is not None:
            await self._queue_close(uow, poll, community, poll.closes_at, now)
            if poll.remind and not poll.anonymous:
                halfway = poll.created_at + (poll.closes_at - poll.created_at) / 2
                await uow.outbox.add(
                    OutboxEntry(
                        dedup_key=poll_key(poll.id, "remind"),
                        kind=REMIND,
                        destination=where,
                        message=OutboundMessage(RichText()),
                        due_at=max(halfway, poll.closes_at - timedelta(days=1)),
                        community_id=community.id,
                    ),
                    now,
                )
        log.info("poll created", extra={"poll": poll.id, "community": community.key})
        return poll

    async def _queue_close(
        self, uow: UnitOfWork, poll: Poll, community: Community, due: datetime, now: datetime
    ) -> None:
        await uow.outbox.add(
            OutboxEntry(
                dedup_key=poll_key(poll.id, "close" if due != now else "close-now"),
                kind=CLOSE,
                destination=Destination(
                    community.platform, community.chat_id, thread_id=poll.thread_id
                ),
                message=OutboundMessage(RichText()),
                due_at=due,
                community_id=community.id,
            ),
            now,
        )

    async def close_now(self, uow: UnitOfWork, poll: Poll, community: Community) -> None:
        """`/poll close`: the closing row is due now; the one at the deadline is cancelled."""
        now = self._clock.now()
        await uow.outbox.cancel(poll_key(poll.id, "close"), now)
        await uow.outbox.cancel(poll_key(poll.id, "remind"), now)
        await self._queue_close(uow, poll, community, now, now)

    def poll_message(self, poll: Poll, community: Community) -> OutboundMessage:
        locale = community.language
        catalogue = self._catalogue
        parts = [catalogue.render(locale, "polls.post.question", question=poll.question)]
        parts += [
            catalogue.render(locale, "polls.post.option", number=n, option=option)
            for n, option in enumerate(poll.options, 1)
        ]
        how = "polls.post.how_multiple" if poll.multiple else "polls.post.how_single"
        parts.append(catalogue.render(locale, how))
        if poll.anonymous:
            parts.append(catalogue.render(locale, "polls.post.anonymous"))
        if poll.closes_at is not None:
            when = show(poll.closes_at, community.timezone)
            parts.append(
                catalogue.render(locale, "polls.post.closes", when=when, zone=community.timezone)
            )
        buttons = tuple(
            (Button(option, VOTE_ACTION, f"{poll.id}:{index}"),)
            for index, option in enumerate(poll.options)
        )
        return OutboundMessage(
            RichText.join(parts),
            buttons=buttons,
            poll=NativePoll(poll.question, poll.options, poll.multiple, poll.anonymous),
        )

    async def on_sent(self, uow: UnitOfWork, record: OutboxRecord, ref: str | None) -> None:
        """Keep where the poll was posted; Telegram's answer is `<message id>:<poll id>`."""
        if record.kind != POST or ref is None:
            return
        poll_id = poll_id_of(record)
        if poll_id is None:
            return
        message_ref, _, native_ref = ref.partition(":")
        await uow.repo(PollRepository).set_refs(poll_id, message_ref or None, native_ref or None)

    # -- voting -----------------------------------------------------------------------------

    async def vote_button(self, ctx: CommandContext, value: str) -> None:
        poll_part, _, option_part = value.partition(":")
        poll_id, index = parse_id(poll_part), parse_id(option_part)
        poll = await ctx.uow.repo(PollRepository).get(poll_id) if poll_id is not None else None
        if (
            poll is None
            or index is None
            or not index < len(poll.options)
            or not await ctx.belongs_to(poll.community_id)
        ):
            ctx.say("errors.stale_button", private=True)
            return
        if not poll.is_open:
            ctx.say("polls.vote.closed", question=poll.question, private=True)
            return
        current = (await ctx.uow.repo(PollRepository).votes(poll.id)).get(ctx.member.person_id, ())
        # Several choices: a press toggles one; a single choice: a press replaces it.
        chosen = tuple(sorted(set(current) ^ {index})) if poll.multiple else (index,)
        await self._record(ctx.uow, poll, ctx, chosen)
        if chosen:
            ctx.say(
                "polls.vote.recorded",
                question=poll.question,
                choices=", ".join(poll.options[i] for i in chosen),
                private=True,
            )
        else:
            ctx.say("polls.vote.withdrawn", question=poll.question, private=True)

    async def vote_native(self, ctx: CommandContext, event: PollVoteCast) -> bool:
        """A Telegram vote (from the voter's private chat): recorded in its poll's community."""
        poll = await ctx.uow.repo(PollRepository).by_native_ref(event.poll_ref)
        if poll is None:
            return False
        if not poll.is_open:
            return True
        # A vote never makes a membership: a forwarded copy of the poll can be answered by
        # anyone, so only a member's vote is counted.
        community = await ctx.uow.communities.get(poll.community_id)
        if community is None or not await in_community(ctx, community):
            log.info(
                "poll vote ignored: the voter is not a member of the poll's community",
                extra={"poll": poll.id},
            )
            return True
        valid = tuple(sorted({i for i in event.option_ids if 0 <= i < len(poll.options)}))
        await self._record(ctx.uow, poll, ctx, valid)
        return True

    async def _record(
        self, uow: UnitOfWork, poll: Poll, ctx: CommandContext, chosen: tuple[int, ...]
    ) -> None:
        await uow.repo(PollRepository).vote(
            poll.id, ctx.member.person_id, chosen, self._clock.now()
        )
        if chosen:
            # One entry per member and poll, however often they change their mind.
            await uow.ledger.record(
                LedgerEntry(
                    community_id=poll.community_id,
                    person_id=ctx.member.person_id,
                    identity_id=ctx.member.identity_id,
                    kind=ParticipationKind.POLL_VOTE,
                    occurred_at=ctx.origin.occurred_at,
                    source_event_id=f"poll:{poll.id}:voter:{ctx.member.person_id}",
                    ref=f"poll:{poll.id}",
                )
            )

    # -- the reminder and the results ---------------------------------------------------------

    async def compose_reminder(self, record: OutboxRecord) -> OutboundMessage | None:
        poll_id = poll_id_of(record)
        async with self._uow_factory() as uow:
            poll = await uow.repo(PollRepository).get(poll_id) if poll_id is not None else None
            if poll is None or not poll.is_open:
                return None
            if poll.anonymous:
                # Whoever is not named has voted: an anonymous poll's voters stay unknown.
                log.info("no reminder for an anonymous poll", extra={"poll": poll.id})
                return None
            community = await uow.communities.get(poll.community_id)
            if community is None:
                return None
            voted = set(await uow.repo(PollRepository).votes(poll.id))
            activity = await uow.repo(NudgeRepository).activity(community.id)
            since = self._clock.now() - RECENT
            people = [
                member
                for member, membership in await uow.members.members_of(community.id)
                if membership.left_at is None
                and member.person_id not in voted
                and not member.opted_out_nudges
                and member.platform is community.platform
                and (seen := activity.get(member.person_id)) is not None
                and seen.last_at is not None
                and seen.last_at >= since
            ]
        if not people:
            return None
        assert poll.closes_at is not None
        body = self._catalogue.render(
            community.language,
            "polls.remind",
            question=poll.question,
            when=show(poll.closes_at, community.timezone),
            zone=community.timezone,
        )
        return mention_message([(m.platform_user_id, m.display_name) for m in people], body)

    async def compose_results(self, record: OutboxRecord) -> OutboundMessage | None:
        """Close the poll (once) and say how it went. Run again after a failed send, it finds
        the poll closed and says the same."""
        poll_id = poll_id_of(record)
        async with self._uow_factory() as uow:
            poll = await uow.repo(PollRepository).get(poll_id) if poll_id is not None else None
            community = await uow.communities.get(poll.community_id) if poll else None
        if poll is None or community is None:
            return None
        if poll.is_open:
            native = await self._stop_native(poll, community)
            async with self._uow_factory() as uow:
                counts = tally(poll, await uow.repo(PollRepository).votes(poll.id))
                # Telegram tells who voted only in open polls: an anonymous one's counts are
                # Telegram's.
                if poll.anonymous and native is not None and len(native) == len(counts):
                    counts = list(native)
                await uow.repo(PollRepository).close(poll.id, counts, self._clock.now())
                await uow.outbox.cancel(poll_key(poll.id, "remind"), self._clock.now())
                await uow.commit()
                closed = await uow.repo(PollRepository).get(poll.id)
            assert closed is not None
            poll = closed
            log.info("poll closed", extra={"poll": poll.id, "votes": sum(counts)})
        return self.results_message(poll, community)

    async def _stop_native(self, poll: Poll, community: Community) -> list[int] | None:
        messenger = self._messengers.get(community.platform)
        if poll.message_ref is None or not isinstance(messenger, NativePolls):
            return None
        where = Destination(community.platform, community.chat_id)
        return await messenger.close_poll(where, poll.message_ref)

    def results_message(
        self, poll: Poll, community: Community, locale: str | None = None
    ) -> OutboundMessage:
        """The results as posted in the group (in the community's language), or as shown to
        one member (in `locale`)."""
        counts = list(poll.final_counts or [0] * len(poll.options))
        total = sum(counts)
        locale = locale or community.language
        catalogue = self._catalogue
        parts = [catalogue.render(locale, "polls.results.header", question=poll.question)]
        for option, count in zip(poll.options, counts, strict=True):
            share = format_percent(locale, count / total if total else 0)
            parts.append(
                catalogue.render(
                    locale, "polls.results.line", option=option, count=count, percent=share
                )
            )
        parts.append(catalogue.render(locale, "polls.results.total", count=total))
        attachment = None
        if total >= CHART_FROM_VOTERS:
            attachment = Attachment(
                filename=f"poll-{poll.id}.png",
                content=bar_chart(poll.question, poll.options, counts, locale),
                mime_type="image/png",
            )
        return OutboundMessage(RichText.join(parts), attachment=attachment)
