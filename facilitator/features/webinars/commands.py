"""Webinar commands: /webinar add|move|cancel|recording, /webinars, /checkin."""

from __future__ import annotations

from dataclasses import dataclass

from facilitator.commands.arguments import IdArgs
from facilitator.commands.forms import FieldSpec, FormInput, FormSpec
from facilitator.commands.spec import (
    Arg,
    ArgKind,
    ArgumentError,
    CommandSpec,
    Needs,
    NoArgs,
    Topic,
    sub,
    tokenize,
)
from facilitator.context import CommandContext
from facilitator.domain.model import Role
from facilitator.features.webinars.domain import Rsvp, Webinar, WebinarDraft, WebinarStatus
from facilitator.features.webinars.parsing import (
    MAX_SPEAKER,
    MAX_TITLE,
    build_webinar,
    local_moment,
    parse_webinar,
    parse_when,
)
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.features.webinars.service import (
    CHECKIN_ACTION,
    CHECKIN_EARLY,
    Webinars,
)
from facilitator.localtime import show
from facilitator.markup import Button, FieldKind, OutboundMessage, RichText

LISTED = 10


@dataclass(frozen=True)
class WebinarText:
    webinar: str


# `/webinar add`'s arguments: the text as typed, or the webinar its form built (and checked).
WebinarAddArgs = WebinarText | WebinarDraft


@dataclass(frozen=True)
class WebinarMoveArgs:
    id: int
    when: str


@dataclass(frozen=True)
class WebinarRecordingArgs:
    id: int
    url: str


@dataclass(frozen=True)
class CheckinArgs:
    code: str


def webinars(ctx: CommandContext) -> Webinars:
    found = ctx.services.feature(Webinars)
    assert isinstance(found, Webinars)
    return found


def _fail(ctx: CommandContext, error: ArgumentError, usage_key: str) -> None:
    values = dict(error.values)
    body = ctx.rich(error.key, **values) + ctx.rich("errors.usage", usage=ctx.t(usage_key))
    ctx.reply(OutboundMessage(body, ephemeral=True), private=True)


async def add(ctx: CommandContext, args: WebinarAddArgs) -> None:
    if isinstance(args, WebinarDraft):
        draft = args
    else:
        try:
            draft = parse_webinar(args.webinar, ctx.services.clock.now(), ctx.here.timezone)
        except ArgumentError as error:
            _fail(ctx, error, "commands.webinar.add.usage")
            return
    webinar = await webinars(ctx).create(ctx, draft)
    ctx.say("webinars.created", id=webinar.id, code=webinar.checkin_code, private=True)


async def _scheduled(ctx: CommandContext, webinar_id: int | None) -> Webinar | None:
    webinar = (
        await ctx.uow.repo(WebinarRepository).get(webinar_id) if webinar_id is not None else None
    )
    if (
        webinar is None
        or ctx.community is None
        or webinar.community_id != ctx.community.id
        or webinar.status is not WebinarStatus.SCHEDULED
    ):
        ctx.say("webinars.not_found", id=webinar_id or 0, private=True)
        return None
    return webinar


async def move(ctx: CommandContext, args: WebinarMoveArgs) -> None:
    webinar = await _scheduled(ctx, args.id)
    if webinar is None or ctx.community is None:
        return
    now = ctx.services.clock.now()
    try:
        starts_at, zone, _ = parse_when(tokenize(args.when), webinar.timezone)
        if starts_at <= now:
            raise ArgumentError("webinars.errors.past")
    except ArgumentError as error:
        _fail(ctx, error, "commands.webinar.move.usage")
        return
    moved = await webinars(ctx).reschedule(ctx, webinar, starts_at.astimezone(now.tzinfo), zone)
    ctx.say(
        "webinars.moved",
        id=moved.id,
        when=show(moved.starts_at, ctx.community.timezone),
        zone=ctx.community.timezone,
        private=True,
    )


async def cancel(ctx: CommandContext, args: IdArgs) -> None:
    webinar = await _scheduled(ctx, args.id)
    if webinar is None:
        return
    await webinars(ctx).cancel(ctx, webinar)
    ctx.say("webinars.cancelled", id=webinar.id, title=webinar.title, private=True)


async def recording(ctx: CommandContext, args: WebinarRecordingArgs) -> None:
    webinar = await ctx.uow.repo(WebinarRepository).get(args.id)
    if webinar is None or ctx.community is None or webinar.community_id != ctx.community.id:
        ctx.say("webinars.not_found", id=args.id, private=True)
        return
    item_id = await webinars(ctx).file_recording(ctx, webinar, args.url)
    ctx.say("webinars.recording.filed", id=item_id, title=webinar.title)


async def upcoming(ctx: CommandContext, args: NoArgs) -> None:
    """The webinars to come and, first, those on now (from check-in's opening to their end),
    with their link and a check-in button: when a member most needs them."""
    community = ctx.here
    now = ctx.services.clock.now()
    repository = ctx.uow.repo(WebinarRepository)
    found = await repository.not_over(community.id, now)
    if not found:
        ctx.say("webinars.list.none", private=True)
        return
    zone = ctx.member.timezone or community.timezone
    live = [w for w in found if w.starts_at - CHECKIN_EARLY <= now][:LISTED]
    later = [w for w in found if w.starts_at - CHECKIN_EARLY > now][:LISTED]
    parts: list[RichText] = []
    buttons: list[tuple[Button, ...]] = []
    if live:
        parts.append(ctx.rich("webinars.list.live_header", zone=zone))
    for webinar in live:
        parts.append(
            ctx.rich(
                "webinars.list.live",
                id=webinar.id,
                title=webinar.title,
                start=show(webinar.starts_at, zone),
                end=show(webinar.ends_at, zone),
            )
        )
        if webinar.link:
            parts.append(ctx.rich("webinars.announce.link", link=webinar.link))
        label = ctx.t("webinars.list.checkin", id=webinar.id)
        buttons.append((Button(label, CHECKIN_ACTION, str(webinar.id)),))
    if later:
        parts.append(ctx.rich("webinars.list.header", zone=zone))
    for webinar in later:
        attendees = await repository.attendees(webinar.id)
        going = sum(1 for a in attendees if a.answer is Rsvp.GOING)
        parts.append(
            ctx.rich(
                "webinars.list.line",
                id=webinar.id,
                title=webinar.title,
                when=show(webinar.starts_at, zone),
                count=going,
            )
        )
    ctx.reply(OutboundMessage(RichText.join(parts), buttons=tuple(buttons)), private=True)


async def checkin(ctx: CommandContext, args: CheckinArgs) -> None:
    code = args.code.strip().upper()
    matches = await ctx.uow.repo(WebinarRepository).by_code(ctx.here.id, code)
    now = ctx.services.clock.now()
    current = [w for w in matches if w.starts_at - CHECKIN_EARLY <= now]
    if not current:
        ctx.say("webinars.checkin.unknown", code=code[:8], private=True)
        return
    await webinars(ctx).check_in(ctx, max(current, key=lambda w: w.starts_at))


def from_form(form: FormInput) -> WebinarDraft:
    """The webinar form's fields -> the webinar, checked as `/webinar add`'s text is."""
    title = form.text("title")
    if not title:
        raise ArgumentError("webinars.errors.title")
    zone_name = form.text("timezone") or form.timezone
    starts_at = local_moment(form.text("date"), form.text("time"), zone_name)
    return build_webinar(
        title,
        starts_at,
        zone_name,
        form.text("link") or None,
        form.text("speaker"),
        form.text("theme"),
        form.now,
    )


FORM: FormSpec[WebinarAddArgs] = FormSpec(
    title_key="forms.webinar.title",
    submit_key="forms.webinar.submit",
    fields=(
        FieldSpec("title", "forms.webinar.name", max_length=MAX_TITLE),
        FieldSpec("date", "forms.webinar.date", FieldKind.DATE),
        FieldSpec("time", "forms.webinar.time", FieldKind.TIME),
        FieldSpec("timezone", "forms.webinar.timezone", FieldKind.TIMEZONE),
        FieldSpec("link", "forms.webinar.link", required=False, max_length=2000),
        FieldSpec("speaker", "forms.webinar.speaker", required=False, max_length=MAX_SPEAKER),
        FieldSpec("theme", "forms.webinar.theme", required=False, max_length=64),
    ),
    convert=from_form,
)

_ID = Arg("id", ArgKind.INT)

COMMANDS = (
    CommandSpec(
        "webinar",
        None,
        NoArgs,
        role=Role.MODERATOR,
        subcommands=(
            sub(
                "webinar",
                CommandSpec(
                    "add",
                    add,
                    WebinarText,
                    args=(Arg("webinar", ArgKind.TEXT, max_length=1000),),
                    needs=Needs.GROUP,
                    role=Role.MODERATOR,
                    form=FORM,
                ),
            ),
            sub(
                "webinar",
                CommandSpec(
                    "move",
                    move,
                    WebinarMoveArgs,
                    args=(_ID, Arg("when", ArgKind.TEXT, max_length=80)),
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "webinar",
                CommandSpec("cancel", cancel, IdArgs, args=(_ID,), role=Role.MODERATOR),
            ),
            sub(
                "webinar",
                CommandSpec(
                    "recording",
                    recording,
                    WebinarRecordingArgs,
                    args=(_ID, Arg("url", ArgKind.URL, max_length=2000)),
                    role=Role.MODERATOR,
                ),
            ),
        ),
        topic=Topic.MODERATION,
    ),
    CommandSpec("webinars", upcoming, NoArgs, needs=Needs.COMMUNITY, topic=Topic.TAKE_PART),
    CommandSpec(
        "checkin",
        checkin,
        CheckinArgs,
        args=(Arg("code", max_length=8),),
        needs=Needs.COMMUNITY,
        topic=Topic.TAKE_PART,
    ),
)
