"""`/announce [to:…] [at WHEN] [pin] text`, `/announce list|cancel ID` for moderators, and
`/announce subscribe|unsubscribe` for members who want private copies."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from facilitator.commands.arguments import IdArgs
from facilitator.commands.forms import Choice, FieldSpec, FormInput, FormSpec
from facilitator.commands.spec import (
    Arg,
    ArgKind,
    ArgumentError,
    CommandSpec,
    Needs,
    NoArgs,
    Topic,
    sub,
)
from facilitator.context import CommandContext
from facilitator.domain.model import Community, Platform, Role
from facilitator.features.announcements.domain import LANGUAGES, AnnouncementDraft
from facilitator.features.announcements.parsing import (
    MAX_VERSION,
    NETWORK,
    build_announcement,
    parse_announcement,
    parse_targets,
)
from facilitator.features.announcements.ports import AnnouncementRepository
from facilitator.features.announcements.service import Announcements
from facilitator.features.knowledge.render import clip
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.localtime import parse_clock, parse_date, show, wall_time
from facilitator.markup import FieldKind, OutboundMessage, RichText

log = logging.getLogger(__name__)

LISTED = 20
MAX_TEXT = 3900


@dataclass(frozen=True)
class AnnounceText:
    text: str


# `/announce`'s arguments: the text as typed, or the announcement its form built (and checked).
AnnounceArgs = AnnounceText | AnnouncementDraft


def announcements(ctx: CommandContext) -> Announcements:
    return ctx.services.feature(Announcements)


def _fail(ctx: CommandContext, error: ArgumentError) -> None:
    body = ctx.rich(error.key, **dict(error.values)) + ctx.rich(
        "errors.usage", usage=ctx.t("commands.announce.usage")
    )
    ctx.reply(OutboundMessage(body, ephemeral=True), private=True)


async def _targets(ctx: CommandContext, draft: AnnouncementDraft) -> list[Community] | None:
    """The communities to post in: this one, or those named (every one for `network`), each
    only if the member is a coordinator there; None after telling them why not."""
    here = ctx.here
    if not draft.targets:
        return [here]
    # A form's field is read without the vocabulary: `red` and `rede` are matched here.
    words = ctx.services.words
    if len(draft.targets) == 1 and words.canonical((NETWORK,), draft.targets[0]):
        found = sorted(await ctx.uow.communities.all(), key=lambda c: c.id)
    else:
        found = []
        for key in draft.targets:
            community = await ctx.uow.communities.by_key(key)
            if community is None:
                ctx.say("announcements.unknown_community", key=key, private=True)
                return None
            found.append(community)
    for community in found:
        # Checked in every community named: a coordinator of one is nobody in another.
        role = await ctx.acting_role_in(community)
        if role < Role.COORDINATOR:
            log.warning(
                "announcement refused for lack of role",
                extra={"community": community.key, "role": role.label},
            )
            ctx.say("announcements.not_allowed_in", community=community.title, private=True)
            return None
    return found


async def announce(ctx: CommandContext, args: AnnounceArgs) -> None:
    here = ctx.here
    now = ctx.services.clock.now()
    if isinstance(args, AnnouncementDraft):
        draft = args
    else:
        try:
            draft = parse_announcement(
                args.text, now, here.timezone, here.language, ctx.services.words
            )
        except ArgumentError as error:
            _fail(ctx, error)
            return
    targets = await _targets(ctx, draft)
    if targets is None:
        return
    repository = ctx.uow.repo(AnnouncementRepository)
    service = announcements(ctx)
    lines: list[RichText] = []
    for community in targets:
        stored = await repository.add(
            community.id,
            ctx.member.person_id,
            draft.versions,
            draft.when or now,
            draft.pin,
            now,
        )
        assert stored.id is not None
        if draft.when is None and await repository.claim(stored.id, now):
            await service.post(ctx.uow, community, stored, now)
            lines.append(ctx.rich("announcements.posted", id=stored.id, community=community.title))
        else:
            lines.append(
                ctx.rich(
                    "announcements.scheduled",
                    id=stored.id,
                    community=community.title,
                    when=show(stored.due_at, community.timezone),
                    zone=community.timezone,
                )
            )
    log.info(
        "announcement made",
        extra={"communities": len(targets), "later": draft.when is not None, "pin": draft.pin},
    )
    ctx.reply(OutboundMessage(RichText.join(lines), ephemeral=True), private=True)


async def listing(ctx: CommandContext, args: NoArgs) -> None:
    community = ctx.here
    repository = ctx.uow.repo(AnnouncementRepository)
    found = await repository.scheduled(community.id, LISTED)
    if not found:
        ctx.say("announcements.none", private=True)
        return
    total = await repository.count_scheduled(community.id)
    parts = [ctx.rich("announcements.header", count=total, zone=community.timezone)]
    for item in found:
        parts.append(
            ctx.rich(
                "announcements.line",
                id=item.id,
                when=show(item.due_at, community.timezone),
                text=clip(item.version_for(community.language).replace("\n", " "), 80),
                pin=ctx.t("announcements.pinned") if item.pin else "",
            )
        )
    if total > len(found):
        parts.append(ctx.rich("announcements.more", count=total - len(found)))
    ctx.reply(OutboundMessage(RichText.join(parts), ephemeral=True), private=True)


async def cancel(ctx: CommandContext, args: IdArgs) -> None:
    community = ctx.here
    if not await ctx.uow.repo(AnnouncementRepository).cancel(args.id, community.id):
        # Another community's, already posted or cancelled, or none: the same answer.
        log.info("announcement not cancelled", extra={"community": community.key})
        ctx.say("announcements.not_found", id=args.id, private=True)
        return
    log.info("announcement cancelled", extra={"announcement": args.id})
    ctx.say("announcements.cancelled", id=args.id, private=True)


async def subscribe(ctx: CommandContext, args: NoArgs) -> None:
    community = ctx.here
    repository = ctx.uow.repo(AnnouncementRepository)
    await repository.subscribe(community.id, ctx.member.person_id, ctx.services.clock.now())
    ctx.say("announcements.subscribed", community=community.title, private=True)
    member = ctx.member
    if member.platform is Platform.TELEGRAM and not ctx.origin.is_direct:
        # Telegram lets the bot write only to those who wrote to it privately first.
        opened = await ctx.uow.repo(ProfileRepository).open_private_chats([member.identity_id])
        if member.identity_id not in opened:
            ctx.say("announcements.start_private", private=True)


async def unsubscribe(ctx: CommandContext, args: NoArgs) -> None:
    community = ctx.here
    await ctx.uow.repo(AnnouncementRepository).unsubscribe(community.id, ctx.member.person_id)
    ctx.say("announcements.unsubscribed", community=community.title, private=True)


def from_form(form: FormInput) -> AnnouncementDraft:
    """The announcement form's fields -> the announcement, checked as the typed one is."""
    versions = {lang: form.text(lang) for lang in LANGUAGES if form.text(lang)}
    day, hour = form.text("date"), form.text("time")
    when = None
    if day or hour:
        on, at = parse_date(day), parse_clock(hour)
        if on is None or at is None:
            raise ArgumentError("announcements.errors.when", value=f"{day} {hour}".strip()[:20])
        when = wall_time(on, at, form.timezone).astimezone(form.now.tzinfo)
    targets = parse_targets(form.text("to")) if form.text("to") else ()
    return build_announcement(versions, when, "pin" in form.chosen("options"), targets, form.now)


FORM: FormSpec[AnnounceArgs] = FormSpec(
    title_key="forms.announce.title",
    submit_key="forms.announce.submit",
    fields=(
        *(
            FieldSpec(
                lang,
                f"forms.announce.text_{lang}",
                FieldKind.LONG_TEXT,
                required=False,
                max_length=MAX_VERSION,
            )
            for lang in LANGUAGES
        ),
        FieldSpec("date", "forms.announce.date", FieldKind.DATE, required=False),
        FieldSpec("time", "forms.announce.time", FieldKind.TIME, required=False),
        FieldSpec(
            "options",
            "forms.announce.options",
            FieldKind.CHECKBOX,
            required=False,
            choices=(Choice("pin", "forms.announce.pin"),),
        ),
        FieldSpec(
            "to",
            "forms.announce.to",
            required=False,
            max_length=400,
            hint_key="forms.announce.to_hint",
        ),
    ),
    convert=from_form,
)

COMMANDS = (
    CommandSpec(
        "announce",
        announce,
        AnnounceText,
        args=(Arg("text", ArgKind.TEXT, max_length=MAX_TEXT),),
        needs=Needs.COMMUNITY,
        role=Role.MODERATOR,
        form=FORM,
        subcommands=(
            sub(
                "announce",
                CommandSpec("list", listing, NoArgs, needs=Needs.COMMUNITY, role=Role.MODERATOR),
            ),
            sub(
                "announce",
                CommandSpec(
                    "cancel",
                    cancel,
                    IdArgs,
                    args=(Arg("id", ArgKind.INT),),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "announce",
                CommandSpec(
                    "subscribe",
                    subscribe,
                    NoArgs,
                    needs=Needs.COMMUNITY,
                    topic=Topic.TAKE_PART,
                ),
            ),
            sub(
                "announce",
                CommandSpec(
                    "unsubscribe",
                    unsubscribe,
                    NoArgs,
                    needs=Needs.COMMUNITY,
                    topic=Topic.TAKE_PART,
                ),
            ),
        ),
        topic=Topic.MODERATION,
    ),
)
