"""The core: turns one inbound event into state changes and replies, inside one unit of work."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from rapidfuzz import fuzz, process

from facilitator.budget import CommandBudget, Verdict
from facilitator.commands.forms import (
    FORM_PREFIX,
    FormInput,
    render_form,
    submitted_context,
    submitted_values,
)
from facilitator.commands.spec import (
    NAME_PATTERN,
    ArgumentError,
    CommandRegistry,
    CommandSpec,
    Needs,
    parse_args,
    split_command,
)
from facilitator.context import (
    CommandContext,
    Reply,
    Services,
    effective_role,
    permitted,
    runs_here,
)
from facilitator.domain.events import (
    BotAdded,
    BotRemoved,
    ButtonPressed,
    CommandInvoked,
    ConversationMoved,
    InboundEvent,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    Origin,
    PollVoteCast,
    ReactionChanged,
)
from facilitator.domain.model import (
    Community,
    LedgerEntry,
    Member,
    NewQuestion,
    ParticipationKind,
    PlatformUser,
    Role,
)
from facilitator.i18n import resolve_locale
from facilitator.markup import Form, OutboundMessage, RichText
from facilitator.membership import CachedMembershipCheck, pressed_by_member, still_member
from facilitator.ports import UnitOfWork
from facilitator.questions import is_question

log = logging.getLogger(__name__)


class Facilitator:
    """Handles inbound events; replies are returned so they are sent after the commit."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.budget = CommandBudget(services.settings.member_budget_per_minute)

    @property
    def registry(self) -> CommandRegistry:
        return self.services.registry

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> list[Reply]:
        """One event, in the caller's unit of work (which may hold others: the inbox hands a
        batch of plain events to one unit, prefetched, and each is handled here alike)."""
        origin = event.origin
        if origin.user.is_bot:
            return []
        if isinstance(event, ConversationMoved):
            await self._moved(uow, event)
            return []
        now = self.services.clock.now()
        member = await uow.members.ensure(origin.user, now)
        community = await self._community_for(uow, origin, member)
        if (
            community is not None
            and not origin.is_direct
            and await self._joins(uow, event, member, community)
        ):
            await uow.members.join(member.person_id, community.id, now)
        role = await self.role_of(uow, member, community, origin.user)
        locale = self._locale(member, origin, community)
        ctx = CommandContext(uow, self.services, origin, member, community, role, locale)
        if isinstance(event, CommandInvoked | ButtonPressed) and not self._within_budget(ctx):
            return ctx.replies
        match event:
            case CommandInvoked():
                ctx.replied = event.reply_to
                ctx.attached = event.attached
                await self._command(ctx, event.name, event.args)
            case MessageReceived():
                await self._message(ctx, event)
            case ButtonPressed():
                await self._button(ctx, event)
            case MemberJoined():
                await self._joined(ctx, event)
            case MemberLeft():
                await self._left(ctx, event)
            case ReactionChanged():
                if event.added:
                    await self._record(ctx, ParticipationKind.REACTION_GIVEN, ref=event.emoji)
            case PollVoteCast():
                # The polls feature knows which poll (and community) a vote belongs to; a
                # Telegram vote arrives from the voter's private chat.
                handler = self.services.poll_votes
                if handler is None or not await handler(ctx, event):
                    await self._record(ctx, ParticipationKind.POLL_VOTE, ref=event.poll_ref)
            case BotAdded():
                await self._bot_added(ctx, event)
            case BotRemoved():
                await self._bot_removed(ctx)
        for event_hook in self.services.event_hooks:
            await event_hook(ctx, event)
        return ctx.replies

    def silenced(self, events: Sequence[InboundEvent]) -> bool:
        """Whether these events are commands of a member over their budget and already told
        so: nothing would run and nothing be said, so the inbox only marks them done, in
        bulk, without handling them (a flood costs next to nothing)."""
        return bool(events) and all(
            isinstance(event, CommandInvoked | ButtonPressed)
            and not event.origin.user.is_bot
            and self.budget.silenced(
                (event.origin.user.platform.value, event.origin.user.user_id),
                event.origin.occurred_at,
            )
            for event in events
        )

    def _within_budget(self, ctx: CommandContext) -> bool:
        """Whether the member may give this command now (`CommandBudget`); if not, the event
        is done without running, and the member is told once a minute."""
        if ctx.role >= Role.MODERATOR:
            return True
        user = ctx.origin.user
        verdict = self.budget.charge((user.platform.value, user.user_id), ctx.origin.occurred_at)
        if verdict is Verdict.ALLOWED:
            return True
        if verdict is Verdict.NOTICE:
            log.info(
                "member over the command budget: their commands are skipped for a minute",
                extra={"platform": user.platform.value, "per_minute": self.budget.per_minute},
            )
            ctx.say("errors.slow_down", private=True, count=self.budget.per_minute)
        return False

    async def _joins(
        self, uow: UnitOfWork, event: InboundEvent, member: Member, community: Community
    ) -> bool:
        """Whether an event in a group makes its author a member of it. A poll vote never
        does (a forwarded copy can be answered by anyone), nor a leave (it says who is going,
        not who is there); a button press only when the platform says they are in the group
        (a public group shows its buttons to people outside it)."""
        if isinstance(event, PollVoteCast | MemberLeft):
            return False
        if not isinstance(event, ButtonPressed):
            return True
        held = await uow.members.membership(member.person_id, community.id)
        if held is not None and held.left_at is None:
            return False  # a member already
        return await pressed_by_member(self.services, community, member)

    def _locale(self, member: Member, origin: Origin, community: Community | None) -> str:
        return resolve_locale(
            member.language,
            member.locale_hint or origin.user.locale_hint,
            community.language if community else self.services.settings.default_language,
        )

    async def _moved(self, uow: UnitOfWork, event: ConversationMoved) -> None:
        origin = event.origin
        community = await uow.communities.by_chat(origin.platform, origin.chat_id)
        if community is None:
            return
        if await uow.communities.by_chat(origin.platform, event.new_chat_id) is not None:
            log.warning("conversation moved onto a known one", extra={"community": community.key})
            return
        await uow.communities.update(replace(community, chat_id=event.new_chat_id))
        log.info("community moved to a new chat id", extra={"community": community.key})

    async def _bot_added(self, ctx: CommandContext, event: BotAdded) -> None:
        if ctx.community is None:
            return
        if not ctx.community.active:
            await ctx.uow.communities.update(replace(ctx.community, active=True))
        # Who adds the bot becomes a moderator only if they administer the group on the
        # platform: in many groups any member may add a bot, and re-adding it must not make a
        # plain member (or a removed moderator) a moderator again.
        hello = "core.added.hello"
        if ctx.origin.user.is_platform_admin:
            held = await ctx.uow.members.membership(ctx.member.person_id, ctx.community.id)
            if held is None or held.left_at is not None or held.role < Role.MODERATOR:
                now = self.services.clock.now()
                await ctx.uow.members.set_role(
                    ctx.member.person_id, ctx.community.id, Role.MODERATOR, now
                )
        elif ctx.role < Role.MODERATOR:
            hello = "core.added.hello_no_role"
            log.info(
                "bot added by someone who does not administer the group: no role given",
                extra={"community": ctx.community.key},
            )
        ctx.say(hello, community=ctx.community.title, name=ctx.member.display_name)
        if event.can_read_all_messages is False:
            ctx.say("core.added.privacy_mode")

    async def _bot_removed(self, ctx: CommandContext) -> None:
        if ctx.community is not None and ctx.community.active:
            await ctx.uow.communities.update(replace(ctx.community, active=False))
            log.info("bot removed from community", extra={"community": ctx.community.key})
        ctx.replies.clear()

    async def role_of(
        self, uow: UnitOfWork, member: Member, community: Community | None, user: PlatformUser
    ) -> Role:
        return await effective_role(uow, self.services.settings, member, community, user)

    async def _community_for(
        self, uow: UnitOfWork, origin: Origin, member: Member
    ) -> Community | None:
        if origin.is_direct and origin.community_key is not None:
            return await uow.communities.by_key(origin.community_key)
        if origin.is_direct:
            last = await uow.members.last_community(member.person_id)
            if last is not None:
                return await uow.communities.get(last)
            key = self.services.settings.default_community
            return await uow.communities.by_key(key) if key else None
        community = await uow.communities.by_chat(origin.platform, origin.chat_id)
        if community is None:
            settings = self.services.settings
            community = await uow.communities.add(
                key=f"{origin.platform}:{origin.chat_id}",
                platform=origin.platform,
                chat_id=origin.chat_id,
                title=(origin.chat_title or origin.chat_id)[:200],
                timezone=settings.default_timezone,
                language=settings.default_language,
                now=self.services.clock.now(),
            )
            log.info("community registered", extra={"community": community.key})
        return community

    async def _command(self, ctx: CommandContext, name: str, raw: str) -> None:
        spec = self.registry.get(name)
        platform = ctx.origin.platform
        if spec is None or not spec.available_on(platform):
            self._unknown(ctx, name)
            return
        if spec.subcommands:
            # The subcommand's name may end its line (`/survey new` then the survey's lines).
            head, rest = [*raw.split(maxsplit=1), "", ""][:2]
            child = spec.subcommand(head.lower()) if head else None
            if child is not None:
                spec, raw = child, rest
        if not permitted(ctx, spec) or not await self._still_member(ctx, spec):
            return
        try:
            args = parse_args(spec, raw, self.services.words)
        except ArgumentError as error:
            log.info("malformed arguments", extra={"command": spec.path, "error": error.key})
            # Run without arguments, a command with a form offers it (platforms without forms
            # show the same usage as before).
            form = self._form_for(ctx, spec) if not raw.strip() else None
            self._argument_error(ctx, spec, error, form=form)
            return
        if spec.handler is None:
            self._unknown(ctx, name)
            return
        if runs_here(ctx, spec):
            await spec.handler(ctx, args)

    @staticmethod
    async def _still_member(ctx: CommandContext, spec: CommandSpec) -> bool:
        """A privileged command sent privately acts in a community the platform still counts
        the member in (`membership.still_member`)."""
        if ctx.community is None:
            return True
        return await still_member(ctx, ctx.community, spec.role)

    def _form_for(self, ctx: CommandContext, spec: CommandSpec) -> Form | None:
        if spec.form is None or spec.handler is None:
            return None
        if spec.needs is Needs.GROUP and ctx.origin.is_direct:
            return None
        zone = ctx.community.timezone if ctx.community else self.services.settings.default_timezone
        return render_form(ctx.t, spec.form, spec.path, ctx.origin.chat_id, zone)

    def _argument_error(
        self,
        ctx: CommandContext,
        spec: CommandSpec,
        error: ArgumentError,
        form: Form | None = None,
    ) -> None:
        body = ctx.rich(error.key, **ctx.argument_values(error.values)) + ctx.rich(
            "errors.usage", usage=ctx.t(spec.usage_key)
        )
        ctx.reply(OutboundMessage(body, ephemeral=True, form=form), private=True)

    async def _submitted(self, ctx: CommandContext, event: ButtonPressed) -> None:
        """A form came back: its fields become the command's arguments, and the command runs
        as if typed (same role check, same validation, same place check, same handler)."""
        spec = self.registry.find(event.action[len(FORM_PREFIX) :])
        if (
            spec is None
            or spec.form is None
            or spec.handler is None
            or not spec.available_on(ctx.origin.platform)
        ):
            log.info("unknown form", extra={"action": event.action[:64]})
            ctx.say("errors.stale_button", private=True)
            return
        if not permitted(ctx, spec) or not await self._still_member(ctx, spec):
            return
        zone = ctx.community.timezone if ctx.community else self.services.settings.default_timezone
        submitted = FormInput(
            submitted_values(event.value),
            self.services.clock.now(),
            zone,
            submitted_context(event.value),
        )
        try:
            args = spec.form.convert(submitted)
        except ArgumentError as error:
            # The form has closed by now (the platform was answered when the event was
            # stored), so the explanation goes to the member privately.
            log.info("form refused", extra={"command": spec.path, "error": error.key})
            self._argument_error(ctx, spec, error)
            return
        if runs_here(ctx, spec):
            await spec.handler(ctx, args)

    def _unknown(self, ctx: CommandContext, name: str) -> None:
        # The first word a member typed may be anything: only a name that could be a command
        # goes to the log.
        logged = name if NAME_PATTERN.fullmatch(name) else "(not a command name)"
        log.info("unknown command", extra={"command": logged})
        names = [s.name for s in self.registry.visible(ctx.origin.platform, ctx.role)]
        match = process.extractOne(name, names, scorer=fuzz.WRatio, score_cutoff=60)
        shown = name[:32]
        if match is not None:
            ctx.say(
                "errors.unknown_command_suggest", command=shown, suggestion=match[0], private=True
            )
        else:
            ctx.say("errors.unknown_command", command=shown, private=True)

    async def _message(self, ctx: CommandContext, event: MessageReceived) -> None:
        if event.is_edit:
            return
        command = split_command(event.text)
        if command is not None:
            ctx.replied = event.reply_to
            await self._command(ctx, *command)
            return
        # An answer to something the bot asked (a survey's free-text question) is no message
        # to the community: claimed first, it is neither counted nor kept as a question.
        for claim in self.services.message_claims:
            if await claim(ctx, event):
                return
        if not ctx.origin.is_direct:
            # The message id lets later replies and reactions find who posted it.
            await self._record(ctx, ParticipationKind.MESSAGE_POSTED, ref=ctx.origin.message_id)
            await self._track_question(ctx, event)
        for hook in self.services.message_hooks:
            await hook(ctx, event)

    async def _track_question(self, ctx: CommandContext, event: MessageReceived) -> None:
        """A reply by someone else answers an open question; a new question is remembered."""
        if ctx.community is None:
            return
        questions = ctx.uow.questions
        target = event.reply_to
        # Some replies say something else than an answer (a "thanks!" thanks the asker).
        if (
            target is not None
            and not target.is_bot
            and not any(says(event.text) for says in self.services.not_answers)
        ):
            asked = await questions.by_message(ctx.community.id, target.message_id)
            if asked is not None and asked.person_id != ctx.member.person_id:
                now = self.services.clock.now()
                if await questions.mark_answered(asked.id, ctx.member.person_id, now):
                    await self._record(ctx, ParticipationKind.ANSWER_GIVEN, ref=f"q:{asked.id}")
        question = self._question_asked(ctx, event)
        if question is not None and await questions.add(question):
            await self._record(ctx, ParticipationKind.QUESTION_ASKED)

    def _question_asked(self, ctx: CommandContext, event: MessageReceived) -> NewQuestion | None:
        """The question a message asks, to be stored; None if it asks none."""
        origin = event.origin
        if ctx.community is None or event.is_edit or event.forwarded or not origin.message_id:
            return None
        if not is_question(event.text):
            return None
        guess = self.services.guess_language
        return NewQuestion(
            community_id=ctx.community.id,
            member=ctx.member,
            source_event_id=origin.event_id,
            message_id=origin.message_id,
            thread_id=origin.thread_id,
            text=event.text,
            lang=guess(event.text, ctx.locale) if guess is not None else ctx.locale,
            asked_at=origin.occurred_at,
        )

    async def _button(self, ctx: CommandContext, event: ButtonPressed) -> None:
        if event.action.startswith(FORM_PREFIX):
            await self._submitted(ctx, event)
            return
        handler = self.services.buttons.get(event.action)
        if handler is None:
            # The data came from the member's client: only a name that could be an action is
            # logged, never what a forged button carried.
            shown = event.action if NAME_PATTERN.fullmatch(event.action) else "(not an action)"
            log.info("unknown button action", extra={"action": shown[:64]})
            ctx.say("errors.stale_button", private=True)
            return
        await self._record(ctx, ParticipationKind.BUTTON_PRESSED, ref=event.action)
        await handler(ctx, event.value)

    async def _joined(self, ctx: CommandContext, event: MemberJoined) -> None:
        if ctx.community is None or event.member.is_bot:
            return
        now = self.services.clock.now()
        self._forget_checked(ctx.community, event.member)
        newcomer = await ctx.uow.members.ensure(event.member, now)
        await ctx.uow.members.join(newcomer.person_id, ctx.community.id, now)
        fresh = await ctx.uow.ledger.record(
            LedgerEntry(
                community_id=ctx.community.id,
                person_id=newcomer.person_id,
                identity_id=newcomer.identity_id,
                kind=ParticipationKind.MEMBER_JOINED,
                occurred_at=ctx.origin.occurred_at,
                source_event_id=ctx.origin.event_id,
            )
        )
        if fresh and ctx.community.setting("welcome", True) is not False:
            locale = resolve_locale(
                newcomer.language, event.member.locale_hint, ctx.community.language
            )
            catalogue = self.services.catalogue
            parts = [
                catalogue.render(
                    locale,
                    "core.welcome",
                    name=newcomer.display_name,
                    community=ctx.community.title,
                )
            ]
            # The rules moderators set with /rules (the community feature), below the welcome.
            if ctx.community.rules:
                parts.append(
                    catalogue.render(
                        locale,
                        "core.rules",
                        community=ctx.community.title,
                        rules=ctx.community.rules,
                    )
                )
            ctx.reply(OutboundMessage(RichText.join(parts)))

    def _forget_checked(self, community: Community, user: PlatformUser) -> None:
        """The platform just said this person joined or left: a kept answer of the live
        membership check is out of date."""
        check = self.services.memberships.get(community.platform)
        if isinstance(check, CachedMembershipCheck):
            check.forget(community.chat_id, user.user_id)

    async def _left(self, ctx: CommandContext, event: MemberLeft) -> None:
        if ctx.community is None:
            return
        now = self.services.clock.now()
        self._forget_checked(ctx.community, event.member)
        leaver = await ctx.uow.members.ensure(event.member, now)
        await ctx.uow.members.leave(leaver.person_id, ctx.community.id, now)
        await ctx.uow.ledger.record(
            LedgerEntry(
                community_id=ctx.community.id,
                person_id=leaver.person_id,
                identity_id=leaver.identity_id,
                kind=ParticipationKind.MEMBER_LEFT,
                occurred_at=ctx.origin.occurred_at,
                source_event_id=ctx.origin.event_id,
            )
        )

    async def _record(
        self, ctx: CommandContext, kind: ParticipationKind, ref: str | None = None
    ) -> None:
        if ctx.community is None:
            return
        held = await ctx.uow.members.membership(ctx.member.person_id, ctx.community.id)
        if held is None or held.left_at is not None:
            # Someone outside the community (a vote on a forwarded poll, a private chat whose
            # community is only the default one): not a member's participation.
            return
        await ctx.uow.ledger.add(
            LedgerEntry(
                community_id=ctx.community.id,
                person_id=ctx.member.person_id,
                identity_id=ctx.member.identity_id,
                kind=kind,
                occurred_at=ctx.origin.occurred_at,
                source_event_id=ctx.origin.event_id,
                ref=ref[:200] if ref else None,
            )
        )
