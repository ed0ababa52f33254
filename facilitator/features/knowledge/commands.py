"""Knowledge commands: lookups, contributions, moderation of proposals, gaps and reviews."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import PurePath

from facilitator.commands.arguments import IdArgs, Words
from facilitator.commands.forms import FieldSpec, FormInput, FormSpec
from facilitator.commands.spec import (
    Arg,
    ArgKind,
    ArgumentError,
    CommandSpec,
    Needs,
    NoArgs,
    Topic,
    convert,
    is_web_url,
    parse_id,
    sub,
)
from facilitator.context import CommandContext
from facilitator.domain.events import MessageReceived, ReplyTarget
from facilitator.domain.model import Community, LedgerEntry, ParticipationKind, Role
from facilitator.features.knowledge.domain import GapStatus, ItemStatus, ItemType, KnowledgeItem
from facilitator.features.knowledge.feedback import answer_buttons, score_text
from facilitator.features.knowledge.gaps import (
    ASSIGNED_KIND,
    GapGroup,
    close_with,
    group_gaps,
    group_of,
    locale_of,
    record_gap,
    tell,
)
from facilitator.features.knowledge.noise import is_noise
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip as _clip
from facilitator.features.knowledge.render import is_cut, readable, render_item
from facilitator.features.knowledge.review import owner_of
from facilitator.features.knowledge.saving import (
    SAVE_FORM,
    SaveArgs,
    WithdrawArgs,
    credit_contributor,
    save,
    tell_decision,
    withdraw,
)
from facilitator.features.knowledge.service import KnowledgeBase, Lookup, Outcome
from facilitator.features.knowledge.sharing import MAX_CHARS, read_shared_file
from facilitator.features.knowledge.text import guess_language
from facilitator.localtime import parse_date
from facilitator.markup import (
    Attachment,
    Button,
    FieldKind,
    OutboundMessage,
    RichText,
    from_markdown,
)
from facilitator.ports import LookupOutcome

log = logging.getLogger(__name__)

SHOW_ACTION = "kb_show"
MAX_QUERY = 1000
GAP_WINDOW_DAYS = 30
GAPS_SHOWN = 10
LESSON_TYPES = tuple(t.value for t in ItemType if t is not ItemType.FAQ)
_MENTION = re.compile(r"^(?:\s*(?:<@[A-Z0-9]+>|@\w{2,64})[,:]?)+\s*")
# How a member's lookup is counted (`Metrics.lookup`).
MEASURED: dict[Outcome, LookupOutcome] = {
    Outcome.ANSWER: "answered",
    Outcome.SUGGEST: "choices",
    Outcome.UNKNOWN: "gap",
}


@dataclass(frozen=True)
class FaqArgs:
    question: str


@dataclass(frozen=True)
class FaqAddArgs:
    question: str
    answer: str
    extras: tuple[str, ...]


@dataclass(frozen=True)
class FaqEditArgs:
    id: int
    field: str
    value: str


@dataclass(frozen=True)
class LessonArgs:
    topic: str


@dataclass(frozen=True)
class DocAddArgs:
    url: str
    title: str


@dataclass(frozen=True)
class ShareArgs:
    # A link then a note, or (replying to a document) only the note: read by `share`.
    note: str | None


@dataclass(frozen=True)
class ApproveArgs:
    id: int | None


@dataclass(frozen=True)
class RejectArgs:
    id: int
    reason: str | None


@dataclass(frozen=True)
class GapsArgs:
    days: int | None


def knowledge(ctx: CommandContext) -> KnowledgeBase:
    base = ctx.services.feature(KnowledgeBase)
    assert isinstance(base, KnowledgeBase)
    return base


def _community_id(ctx: CommandContext) -> int | None:
    return ctx.community.id if ctx.community else None


async def answer(ctx: CommandContext, query: str, result: Lookup) -> None:
    """Reply to a lookup: the answer, choices, or an honest "I don't know" (recorded)."""
    if result.outcome is Outcome.ANSWER and result.best is not None:
        lang = guess_language(query, default=ctx.locale)
        buttons = await answer_buttons(ctx, result.best, query, lang)
        buttons += _more_button(ctx, result.best)
        ctx.reply(OutboundMessage(render_item(ctx, result.best, result.see_also), buttons=buttons))
        return
    if result.outcome is Outcome.SUGGEST:
        buttons = tuple(
            (Button(_clip(item.title, 60), SHOW_ACTION, str(item.id)),)
            for item in result.suggestions
        )
        ctx.say("kb.suggest", buttons=buttons)
        return
    lang = guess_language(query, default=ctx.locale)
    if is_noise(query, lang):
        # "hola", "gracias!", "👍": nothing to add to the repository, nothing to record.
        log.info("lookup of a non-question not recorded")
        ctx.say("kb.not_a_question")
        return
    await record_gap(ctx, query, lang)
    log.info("lookup not answered", extra={"confidence": round(result.confidence, 3)})
    ctx.say("kb.unknown")


async def lookup_and_answer(
    ctx: CommandContext,
    query: str,
    *,
    types: tuple[str, ...] | None = None,
    theme: str | None = None,
) -> None:
    query = _clip(query.strip(), MAX_QUERY)
    base = knowledge(ctx)
    await base.sync(ctx.uow)
    # The query's own language decides its stemming: a member who reads English may still
    # ask in Spanish.
    lang = guess_language(query, default=ctx.locale)
    started = time.perf_counter()
    vector = await base.query_vector(query)
    result = base.lookup(
        _community_id(ctx),
        query,
        lang=lang,
        types=types,
        theme=theme,
        vector=vector,
        # The version to show: in the language the member chose with /lang, else in the one
        # they asked in.
        prefer=ctx.member.language or lang,
    )
    ctx.services.metrics.lookup(MEASURED[result.outcome], time.perf_counter() - started)
    await answer(ctx, query, result)


async def faq(ctx: CommandContext, args: FaqArgs) -> None:
    await lookup_and_answer(ctx, args.question, types=(ItemType.FAQ.value,))


def _split_filters(
    words: Words, text: str, *, type_prefix: bool = False
) -> tuple[str, str | None, str | None]:
    """`words #theme type` -> (the other words, theme, type). A search (`/lesson`) takes a bare
    type word; a title or note (`/share`) only `type:TYPE`, so that none of its own words ("a
    lesson learned in Peru") is taken for a type. With a prefix, any `type:` value is returned
    for the caller to check. Types and `type:` may be written in any of our languages
    (`tipo:herramienta`); a known type comes back as its canonical word."""
    kept, theme, kind = [], None, None
    for word in text.split():
        lowered = word.lower()
        prefix, colon, given = lowered.partition(":")
        if word.startswith("#") and len(word) > 1 and theme is None:
            theme = lowered[1:]
        elif kind is None and type_prefix and colon and words.canonical(("type",), prefix):
            kind = words.canonical(LESSON_TYPES, given) or given
        elif kind is None and not type_prefix and words.canonical(LESSON_TYPES, lowered):
            kind = words.canonical(LESSON_TYPES, lowered)
        else:
            kept.append(word)
    return " ".join(kept), theme, kind


LIST_SHOWN = 8


async def lesson(ctx: CommandContext, args: LessonArgs) -> None:
    topic, theme, kind = _split_filters(ctx.services.words, args.topic)
    types = (kind,) if kind else LESSON_TYPES
    if not topic and (theme or kind):
        await _list_items(ctx, types, theme)  # "/lesson #monitoring", "/lesson toolkit"
        return
    if not topic:
        ctx.say("errors.missing_argument", arg=ctx.t("core.args.topic"), private=True)
        return
    await lookup_and_answer(ctx, topic, types=types, theme=theme)


PAGE_ACTION = "kb_page"
ALL_TYPES = tuple(t.value for t in ItemType)
NEW_DAYS = 30
MAX_PAGE_VALUE = 48  # bytes: Telegram's callback data holds 64 with the action


async def _list_items(
    ctx: CommandContext, types: tuple[str, ...], theme: str | None, offset: int = 0
) -> None:
    """What the repository has of a type or theme, as buttons that open each item."""
    base = knowledge(ctx)
    await base.sync(ctx.uow)
    items = base.listing(
        _community_id(ctx), types=types, theme=theme, prefer=ctx.member.language or ctx.locale
    )
    kind = ",".join(types) if types != LESSON_TYPES else "*"
    _page(ctx, items, offset, "kb.list_header", f"l|{kind}|{theme or ''}")


async def new_items(ctx: CommandContext, args: GapsArgs) -> None:
    """`/new [days]`: what was added to the repository lately, newest first."""
    days = max(1, min(args.days or NEW_DAYS, 365))
    await _recent(ctx, days, 0)


async def _recent(ctx: CommandContext, days: int, offset: int) -> None:
    base = knowledge(ctx)
    await base.sync(ctx.uow)
    since = ctx.services.clock.now() - timedelta(days=days)
    listed = base.listing(
        _community_id(ctx), types=ALL_TYPES, prefer=ctx.member.language or ctx.locale
    )
    items = [i for i in listed if i.created_at is not None and i.created_at >= since]
    items.sort(key=lambda i: i.created_at or since, reverse=True)
    _page(ctx, items, offset, "kb.new_header", f"n|{days}", days=days)


def _page(
    ctx: CommandContext,
    items: list[KnowledgeItem],
    offset: int,
    header: str,
    what: str,
    days: int = 0,
) -> None:
    """One page of a listing: a button per item, and "more" while some are left."""
    if not items or offset >= len(items):
        ctx.say("kb.list_empty")
        return
    shown = items[offset : offset + LIST_SHOWN]
    rows = [(Button(_clip(item.title, 60), SHOW_ACTION, str(item.id)),) for item in shown]
    left = len(items) - offset - len(shown)
    value = f"{what}|{offset + len(shown)}"
    if left > 0 and len(value.encode()) <= MAX_PAGE_VALUE:
        rows.append((Button(ctx.t("kb.list_more", count=left), PAGE_ACTION, value),))
    ctx.say(
        header,
        count=len(items),
        shown=len(shown),
        first=offset + 1,
        last=offset + len(shown),
        buttons=tuple(rows),
        days=days,
    )


async def next_page(ctx: CommandContext, value: str) -> None:
    """The "more" button of a listing: `l|types|theme|offset` or `n|days|offset`."""
    parts = value.split("|")
    offset = parse_id(parts[-1]) if parts else None
    if offset is None or offset > 10_000:
        ctx.say("errors.stale_button", private=True)
        return
    if parts[0] == "l" and len(parts) == 4:
        types = LESSON_TYPES if parts[1] == "*" else tuple(parts[1].split(","))
        if not all(t in ALL_TYPES for t in types):
            ctx.say("errors.stale_button", private=True)
            return
        await _list_items(ctx, types, parts[2] or None, offset)
        return
    days = parse_id(parts[1]) if len(parts) == 3 and parts[0] == "n" else None
    if days is None or not 1 <= days <= 365:
        ctx.say("errors.stale_button", private=True)
        return
    await _recent(ctx, days, offset)


async def _pressed_item(ctx: CommandContext, value: str) -> KnowledgeItem | None:
    """The item a button names, if it is one this conversation may see; otherwise the member
    is told the button is stale (forged or outdated data included)."""
    base = knowledge(ctx)
    await base.sync(ctx.uow)
    item_id = parse_id(value)
    item = base.item(item_id) if item_id is not None else None
    if item is None or item.community_id not in (None, _community_id(ctx)):
        ctx.say("errors.stale_button", private=True)
        return None
    return item


async def show(ctx: CommandContext, value: str) -> None:
    item = await _pressed_item(ctx, value)
    if item is None:
        return
    buttons = await answer_buttons(ctx, item, item.title, item.lang)
    buttons += _more_button(ctx, item)
    ctx.reply(OutboundMessage(render_item(ctx, item), buttons=buttons))


MORE_ACTION = "kb_more"
CHUNK = 3500  # characters per message of a long text (Telegram's limit is 4,096)
MAX_CHUNKS = 4  # longer texts come as a file


def _more_button(ctx: CommandContext, item: KnowledgeItem) -> tuple[tuple[Button, ...], ...]:
    if not is_cut(item):
        return ()
    return ((Button(ctx.t("kb.read_more"), MORE_ACTION, str(item.id)),),)


async def read_more(ctx: CommandContext, value: str) -> None:
    """The whole text of a long item: in a few messages, or as a file when it is longer."""
    item = await _pressed_item(ctx, value)
    if item is None:
        return
    text = readable(item.body)
    chunks = _chunks(text)
    if len(chunks) > MAX_CHUNKS:
        name = f"item-{item.id}.md"
        content = f"# {item.title}\n\n{text}\n".encode()
        ctx.reply(
            OutboundMessage(
                ctx.rich("kb.read_more_file", title=_clip(item.title, 200)),
                attachment=Attachment(name, content, "text/markdown"),
            )
        )
        return
    for chunk in chunks:
        ctx.reply(OutboundMessage(from_markdown(chunk)))


def _chunks(text: str) -> list[str]:
    """`text` in pieces of at most CHUNK characters, cut between paragraphs or lines."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > CHUNK:  # one line longer than a message
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:CHUNK])
            line = line[CHUNK:]
        if current and len(current) + 1 + len(line) > CHUNK:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        pieces.append(current)
    return [p.strip("\n") for p in pieces if p.strip()]


async def answer_addressed_question(ctx: CommandContext, event: MessageReceived) -> None:
    """A plain question to the bot (mention, reply to the bot, or a direct message); a
    forwarded message is someone else's words, not a question."""
    if event.forwarded:
        return
    addressed = (
        event.mentions_bot
        or ctx.origin.is_direct
        or (event.reply_to is not None and event.reply_to.is_bot)
    )
    if not addressed:
        return
    query = _clip(_MENTION.sub("", event.text).strip(), MAX_QUERY)
    if not query:
        return
    if not ctx.origin.is_direct and is_noise(query, guess_language(query, default=ctx.locale)):
        return  # "thanks @bot!" in a group wants no reply
    await lookup_and_answer(ctx, query)


async def _credit(
    ctx: CommandContext,
    kind: ParticipationKind,
    ref: str,
    person_id: int | None = None,
    identity_id: int | None = None,
) -> None:
    if ctx.community is None:
        return
    await ctx.uow.ledger.record(
        LedgerEntry(
            community_id=ctx.community.id,
            person_id=person_id or ctx.member.person_id,
            identity_id=identity_id or ctx.member.identity_id,
            kind=kind,
            occurred_at=ctx.origin.occurred_at,
            source_event_id=ctx.origin.event_id,
            ref=ref,
        )
    )


async def _own_item(ctx: CommandContext, item_id: int | None) -> KnowledgeItem | None:
    """The item, if it belongs to this community (or the shared library, for admins)."""
    item = await ctx.uow.repo(KnowledgeRepository).get(item_id) if item_id is not None else None
    if item is None or item.status is ItemStatus.REMOVED:
        ctx.say("kb.not_found", id=item_id, private=True)
        return None
    in_scope = item.community_id == _community_id(ctx) and item.community_id is not None
    if not in_scope and not (item.community_id is None and ctx.role >= Role.ADMIN):
        log.warning("knowledge item outside the community", extra={"item": item.id})
        ctx.say("kb.not_found", id=item_id, private=True)
        return None
    return item


async def faq_add(ctx: CommandContext, args: FaqAddArgs) -> None:
    community = ctx.here
    question = args.question.strip()
    body = args.answer.strip()
    theme = ""
    alternates: list[str] = []
    for extra in args.extras:
        if extra.startswith("#") and len(extra) > 1:
            theme = extra[1:].lower()[:64]
        elif extra.strip():
            alternates.append(extra.strip())
    now = ctx.services.clock.now()
    item = await ctx.uow.repo(KnowledgeRepository).upsert(
        KnowledgeItem(
            key=f"faq:{uuid.uuid4().hex[:12]}",
            type=ItemType.FAQ,
            title=question,
            body=body,
            lang=guess_language(f"{question} {body}", default=ctx.locale),
            theme=theme,
            alternates=tuple(alternates[:10]),
            owner=ctx.member.display_name,
            owner_id=ctx.member.identity_id,
        ),
        community.id,
        now,
        created_by=ctx.member.identity_id,
    )
    await _credit(ctx, ParticipationKind.KNOWLEDGE_CONTRIBUTED, f"faq:{item.id}")
    log.info("faq added", extra={"item": item.id, "community": community.key})
    ctx.say("kb.added", id=item.id, title=_clip(question, 200))


FAQ_ADD_ARGS = (
    Arg("question", max_length=300),
    Arg("answer", max_length=3000),
    Arg("extras", required=False, repeat=True, max_length=300),
)
MAX_ALTERNATES = 10


def faq_from_form(form: FormInput) -> FaqAddArgs:
    """The FAQ form's fields -> `/faq add`'s arguments, checked by the same declarations."""
    question_arg, answer_arg, extras_arg = FAQ_ADD_ARGS
    question, answer = (_form_text(form, arg) for arg in (question_arg, answer_arg))
    # An alternate phrasing is never a theme, even if someone starts it with "#".
    extras = [line.lstrip("#").strip() for line in form.lines("alternates")]
    extras = [e for e in extras if e][:MAX_ALTERNATES]
    theme = form.text("theme").lstrip("#").strip()
    if theme:
        extras.append("#" + theme)
    return FaqAddArgs(
        question=question,
        answer=answer,
        extras=tuple(str(convert(extras_arg, e)) for e in extras),
    )


def _form_text(form: FormInput, arg: Arg) -> str:
    """A required text field, bounded as the argument it stands for."""
    text = form.text(arg.name)
    if not text:
        raise ArgumentError("errors.missing_argument", arg=arg.name)
    return str(convert(arg, text))


FAQ_FORM = FormSpec(
    title_key="forms.faq.title",
    submit_key="forms.faq.submit",
    fields=(
        FieldSpec("question", "forms.faq.question", max_length=300),
        FieldSpec("answer", "forms.faq.answer", FieldKind.LONG_TEXT, max_length=3000),
        FieldSpec("theme", "forms.faq.theme", required=False, max_length=64),
        FieldSpec(
            "alternates",
            "forms.faq.alternates",
            FieldKind.OPTIONS,
            required=False,
            max_length=MAX_ALTERNATES * 301,
            hint_key="forms.faq.alternates_hint",
        ),
    ),
    convert=faq_from_form,
)

EDITABLE = ("question", "answer", "theme", "alternate", "review", "owner")


async def faq_edit(ctx: CommandContext, args: FaqEditArgs) -> None:
    """Moderators edit any item here; an item's owner edits their own (not its owner)."""
    item = await _own_item(ctx, args.id)
    if item is None or ctx.community is None:
        return
    if ctx.role < Role.MODERATOR:
        owner = await owner_of(ctx.uow, ctx.community, item)
        if owner is None or owner.person_id != ctx.member.person_id or args.field == "owner":
            log.warning("edit refused: not the owner", extra={"item": item.id})
            ctx.say("kb.review_not_yours", id=item.id, private=True)
            return
    field = args.field
    value = args.value.strip()
    if field == "owner":
        who = value.lstrip("@")
        found = await ctx.uow.members.find_in_community(ctx.community.id, who)
        if len(found) != 1:
            key = "community.role.not_found" if not found else "community.role.ambiguous"
            ctx.say(key, member=_clip(value, 64), count=len(found), private=True)
            return
        item = replace(item, owner_id=found[0].identity_id, owner=found[0].display_name)
    elif field == "question":
        item = replace(item, title=value)
    elif field == "answer":
        item = replace(item, body=value)
    elif field == "theme":
        item = replace(item, theme=value.lstrip("#").lower()[:64])
    elif field == "alternate":
        item = replace(item, alternates=(*item.alternates, value)[-10:])
    else:
        review_by = parse_date(value)
        if review_by is None:
            ctx.say("errors.not_a_date", value=_clip(value, 40), private=True)
            return
        item = replace(item, review_by=review_by)
    await ctx.uow.repo(KnowledgeRepository).save(item, ctx.services.clock.now())
    await _credit(ctx, ParticipationKind.KNOWLEDGE_CONTRIBUTED, f"edit:{item.id}")
    ctx.say("kb.edited", id=item.id, field=field)


async def faq_remove(ctx: CommandContext, args: IdArgs) -> None:
    item = await _own_item(ctx, args.id)
    if item is None:
        return
    await ctx.uow.repo(KnowledgeRepository).save(
        replace(item, status=ItemStatus.REMOVED), ctx.services.clock.now()
    )
    log.info("knowledge item removed", extra={"item": item.id})
    ctx.say("kb.removed", id=item.id, title=_clip(item.title, 200))


async def doc_add(ctx: CommandContext, args: DocAddArgs) -> None:
    url = args.url
    title, theme, kind = _split_filters(ctx.services.words, args.title, type_prefix=True)
    item_type = _item_type(ctx, kind, ItemType.DOCUMENT)
    if item_type is None:
        return
    if not title:
        ctx.say("errors.missing_argument", arg=ctx.t("core.args.title"), private=True)
        return
    item = await ctx.uow.repo(KnowledgeRepository).upsert(
        KnowledgeItem(
            key=f"doc:{uuid.uuid4().hex[:12]}",
            type=item_type,
            title=_clip(title, 300),
            body="",
            lang=guess_language(title, default=ctx.locale),
            theme=theme or "",
            url=url,
            owner=ctx.member.display_name,
            owner_id=ctx.member.identity_id,
        ),
        ctx.here.id,
        ctx.services.clock.now(),
        created_by=ctx.member.identity_id,
    )
    await _credit(ctx, ParticipationKind.KNOWLEDGE_CONTRIBUTED, f"doc:{item.id}")
    ctx.say("kb.added", id=item.id, title=_clip(title, 200))


SHARE_TYPES = tuple(t.value for t in ItemType if t is not ItemType.FAQ)


def _item_type(ctx: CommandContext, given: str | None, default: ItemType) -> ItemType | None:
    """The `type:` a member gave, or the command's default; None (explained) when unknown."""
    if given is None:
        return default
    if given not in SHARE_TYPES:
        ctx.say(
            "errors.not_a_choice",
            arg=ctx.t("core.args.type"),
            value=_clip(given, 40),
            choices=ctx.words(SHARE_TYPES),
            private=True,
        )
        return None
    return ItemType(given)


async def share(ctx: CommandContext, args: ShareArgs) -> None:
    """`/share <url> [note]`, or `/share [note]` replying to a PDF or DOCX posted in chat or
    as the caption of one."""
    text = (args.note or "").strip()
    words = text.split(maxsplit=1)
    first = words[0] if words else ""
    rest = words[1] if len(words) > 1 else ""
    if first and is_web_url(first):
        await _share_link(ctx, first, rest.strip())
    elif ctx.attached is not None:
        # The document came with the command: the member is its poster.
        origin = ctx.origin
        own = ReplyTarget(origin.message_id or "", origin.user.user_id, file=ctx.attached)
        await _share_file(ctx, own, text)
    elif ctx.replied is not None:
        await _share_file(ctx, ctx.replied, text)
    elif not text:
        ctx.say("errors.missing_argument", arg=ctx.t("core.args.url"), private=True)
    else:
        ctx.say("errors.not_a_url", value=_clip(first, 40), private=True)


async def _share_link(ctx: CommandContext, url: str, note: str) -> None:
    for name, value, limit in (("url", url, 2000), ("note", note, 500)):
        if len(value) > limit:
            arg = ctx.t(f"core.args.{name}")
            ctx.say("errors.argument_too_long", arg=arg, limit=limit, private=True)
            return
    title, theme, kind = _split_filters(ctx.services.words, note, type_prefix=True)
    item_type = _item_type(ctx, kind, ItemType.LINK)
    if item_type is None:
        return
    item = await ctx.uow.repo(KnowledgeRepository).upsert(
        KnowledgeItem(
            key=f"share:{uuid.uuid4().hex[:12]}",
            type=item_type,
            title=_clip(title or url, 300),
            body=title,
            lang=guess_language(title, default=ctx.locale) if title else ctx.locale,
            theme=theme or "",
            url=url,
            owner=ctx.member.display_name,
            status=ItemStatus.PROPOSED,
        ),
        ctx.here.id,
        ctx.services.clock.now(),
        created_by=ctx.member.identity_id,
    )
    # Credited when a moderator approves it: a rejected proposal earns nothing.
    ctx.say("kb.shared", id=item.id)


async def _share_file(ctx: CommandContext, target: ReplyTarget, note: str) -> None:
    """The document's text becomes a proposal; the file itself is not kept."""
    title, theme, kind = _split_filters(ctx.services.words, note, type_prefix=True)
    item_type = _item_type(ctx, kind, ItemType.DOCUMENT)
    if item_type is None:
        return
    shared = await read_shared_file(ctx, target)
    if shared is None:
        return
    poster = shared.poster
    others = poster is not None and poster.person_id != ctx.member.person_id
    heading = title or shared.title or PurePath(shared.name).stem or shared.name
    item = await ctx.uow.repo(KnowledgeRepository).upsert(
        KnowledgeItem(
            key=f"share:{uuid.uuid4().hex[:12]}",
            type=item_type,
            title=_clip(heading, 300),
            body=shared.text,
            lang=guess_language(shared.text[:5000], default=ctx.locale),
            theme=theme or "",
            source=_clip(shared.name, 300),
            owner=(poster or ctx.member).display_name,
            status=ItemStatus.PROPOSED,
            # A moderator proposing a member's file: the member is its author.
            author_id=poster.identity_id if others and poster is not None else None,
            source_link=target.link,
        ),
        ctx.here.id,
        ctx.services.clock.now(),
        created_by=ctx.member.identity_id,
    )
    log.info("file proposed for the repository", extra={"item": item.id, "cut": shared.cut})
    ctx.say("kb.shared_file", id=item.id, name=_clip(shared.name, 100), chars=len(shared.text))
    if shared.cut:
        ctx.say("kb.shared_file_cut", limit=MAX_CHARS)


async def approve(ctx: CommandContext, args: ApproveArgs) -> None:
    if args.id is None:
        await _list_proposals(ctx)
        return
    item = await _own_item(ctx, args.id)
    if item is None or ctx.community is None:
        return
    await _approve(ctx, ctx.community, item)


async def approve_button(ctx: CommandContext, value: str) -> None:
    """ "Approve" under a proposal in a moderator's private notice."""
    item_id = parse_id(value)
    repo = ctx.uow.repo(KnowledgeRepository)
    item = await repo.get(item_id) if item_id is not None else None
    community = None
    if item is not None and item.community_id is not None:
        community = await ctx.uow.communities.get(item.community_id)
    if item is None or community is None:
        ctx.say("errors.stale_button", private=True)
        return
    acting = await ctx.acting_role_in(community)
    if acting < Role.MODERATOR:
        log.warning("approve button refused for lack of role", extra={"role": ctx.role.label})
        ctx.say(
            "errors.not_allowed",
            command="approve",
            role=ctx.role_label(Role.MODERATOR),
            yours=ctx.role_label(acting),
        )
        return
    await _approve(ctx, community, item)


async def _approve(ctx: CommandContext, community: Community, item: KnowledgeItem) -> None:
    if item.status is not ItemStatus.PROPOSED:
        ctx.say("kb.not_pending", id=item.id, private=True)
        return
    await ctx.uow.repo(KnowledgeRepository).save(
        replace(item, status=ItemStatus.PUBLISHED), ctx.services.clock.now()
    )
    await _credit(ctx, ParticipationKind.KNOWLEDGE_APPROVED, f"approve:{item.id}")
    # Points go to whose words it is, now that it is accepted: a rejected proposal earns none.
    await credit_contributor(ctx, community, item)
    await tell_decision(ctx, community, item, approved=True, reason=None)
    ctx.say("kb.approved", id=item.id, title=_clip(item.title, 200))


async def reject(ctx: CommandContext, args: RejectArgs) -> None:
    item = await _own_item(ctx, args.id)
    if item is None or ctx.community is None:
        return
    if item.status is not ItemStatus.PROPOSED:
        ctx.say("kb.not_pending", id=item.id, private=True)
        return
    await ctx.uow.repo(KnowledgeRepository).save(
        replace(item, status=ItemStatus.REJECTED), ctx.services.clock.now()
    )
    await tell_decision(ctx, ctx.community, item, approved=False, reason=args.reason)
    ctx.say("kb.rejected", id=item.id, title=_clip(item.title, 200))


def _item_listing(
    ctx: CommandContext,
    items: list[KnowledgeItem],
    keys: tuple[str, str, str],
    limit: int,
    details: Callable[[KnowledgeItem], dict[str, object]],
) -> None:
    """A private list of items: `keys` are the prompts for none, the header and one line."""
    empty, header, line = keys
    if not items:
        ctx.say(empty, private=True)
        return
    parts = [ctx.rich(header, count=len(items))]
    parts.extend(
        ctx.rich(
            line,
            id=item.id,
            title=_clip(item.title, 120),
            owner=item.owner or "?",
            **details(item),
        )
        for item in items[:limit]
    )
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


async def _list_proposals(ctx: CommandContext) -> None:
    pending = await ctx.uow.repo(KnowledgeRepository).in_scope(
        _community_id(ctx), [ItemStatus.PROPOSED]
    )
    keys = ("kb.no_proposals", "kb.proposals", "kb.proposal_line")
    _item_listing(ctx, pending, keys, 20, lambda item: {"url": item.url or ""})


async def gaps(ctx: CommandContext, args: GapsArgs) -> None:
    """The open gaps of the last days, grouped by meaning, each with the id its
    subcommands take."""
    days = max(1, min(args.days or GAP_WINDOW_DAYS, 365))
    since = ctx.services.clock.now() - timedelta(days=days)
    found = await ctx.uow.repo(KnowledgeRepository).gaps_since(ctx.here.id, since, open_only=True)
    groups = await group_gaps(knowledge(ctx), found)
    if not groups:
        ctx.say("kb.no_gaps", count=days, private=True)
        return
    parts = [ctx.rich("kb.gaps_header", days=days, count=len(found))]
    for group in groups[:GAPS_SHOWN]:
        parts.append(
            ctx.rich(
                "kb.gap_line",
                id=group.first.id,
                query=_clip(group.representative, 160),
                count=len(group.gaps),
            )
        )
    parts.append(ctx.rich("kb.gaps_footer"))
    ctx.reply(OutboundMessage(RichText.join(parts)), private=True)


@dataclass(frozen=True)
class GapLinkArgs:
    id: int
    item: int


@dataclass(frozen=True)
class GapAssignArgs:
    id: int
    member: str


async def _gap_group(ctx: CommandContext, gap_id: int) -> GapGroup | None:
    base = knowledge(ctx)
    await base.sync(ctx.uow)
    group = await group_of(ctx, base, gap_id)
    if group is None:
        ctx.say("kb.gap_not_found", id=gap_id, private=True)
    return group


async def gap_dismiss(ctx: CommandContext, args: IdArgs) -> None:
    group = await _gap_group(ctx, args.id)
    if group is None:
        return
    now = ctx.services.clock.now()
    done = await ctx.uow.repo(KnowledgeRepository).settle_gaps(group.ids, GapStatus.DISMISSED, now)
    log.info("gaps dismissed", extra={"count": len(done)})
    ctx.say("kb.gap_dismissed", count=len(done), query=_clip(group.representative, 160))


async def gap_link(ctx: CommandContext, args: GapLinkArgs) -> None:
    """The answer exists already: close the group with it and tell every asker."""
    item = await _own_item(ctx, args.item)
    if item is None:
        return
    if item.status is not ItemStatus.PUBLISHED:
        ctx.say("kb.not_published", id=item.id, private=True)
        return
    group = await _gap_group(ctx, args.id)
    if group is None:
        return
    now = ctx.services.clock.now()
    closed = await close_with(ctx.uow, ctx.services, ctx.here, group.gaps, item, now)
    ctx.say("kb.gap_linked", count=len(closed), id=item.id, title=_clip(item.title, 120))


async def gap_assign(ctx: CommandContext, args: GapAssignArgs) -> None:
    """Ask an expert: they are told privately, with the question."""
    community = ctx.here
    who = _clip(args.member, 64)
    found = await ctx.uow.members.find_in_community(community.id, args.member.lstrip("@"))
    if not found:
        ctx.say("community.role.not_found", member=who, private=True)
        return
    if len(found) > 1:
        ctx.say("community.role.ambiguous", member=who, count=len(found), private=True)
        return
    [expert] = found
    group = await _gap_group(ctx, args.id)
    if group is None:
        return
    await ctx.uow.repo(KnowledgeRepository).assign_gaps(group.ids, expert.identity_id)
    locale = locale_of(expert, community)
    body = ctx.catalogue.render(
        locale,
        "kb.gap_assigned_to_you",
        name=ctx.member.display_name,
        question=_clip(group.representative, 300),
        count=len(group.gaps),
    )
    await tell(
        ctx.uow,
        community,
        expert,
        f"{ASSIGNED_KIND}:{group.first.id}:{expert.person_id}",
        ASSIGNED_KIND,
        OutboundMessage(body),
        ctx.services.clock.now(),
    )
    ctx.say("kb.gap_assigned", name=expert.display_name, query=_clip(group.representative, 160))


async def review(ctx: CommandContext, args: NoArgs) -> None:
    today = ctx.services.clock.now().date()
    repo = ctx.uow.repo(KnowledgeRepository)
    due = await repo.due_for_review(_community_id(ctx), today)
    scores = await repo.scores([i.id for i in due if i.id is not None])
    keys = ("kb.nothing_to_review", "kb.review_header", "kb.review_line")
    _item_listing(
        ctx,
        due,
        keys,
        30,
        lambda item: {
            "date": item.review_by.isoformat() if item.review_by else "",
            "score": score_text(scores, item.id),
        },
    )


COMMANDS = (
    CommandSpec(
        "faq",
        faq,
        FaqArgs,
        args=(Arg("question", ArgKind.TEXT, max_length=MAX_QUERY),),
        subcommands=(
            sub(
                "faq",
                CommandSpec(
                    "add",
                    faq_add,
                    FaqAddArgs,
                    args=FAQ_ADD_ARGS,
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                    form=FAQ_FORM,
                    topic=Topic.MODERATION,
                ),
            ),
            sub(
                "faq",
                CommandSpec(
                    "edit",
                    faq_edit,
                    FaqEditArgs,
                    args=(
                        Arg("id", ArgKind.INT),
                        Arg("field", ArgKind.CHOICE, choices=EDITABLE),
                        Arg("value", ArgKind.TEXT, max_length=3000),
                    ),
                    # A member edits the items they own (checked in the handler).
                    needs=Needs.COMMUNITY,
                ),
            ),
            sub(
                "faq",
                CommandSpec(
                    "remove",
                    faq_remove,
                    IdArgs,
                    args=(Arg("id", ArgKind.INT),),
                    role=Role.MODERATOR,
                    topic=Topic.MODERATION,
                ),
            ),
        ),
        topic=Topic.ASK,
    ),
    CommandSpec(
        "lesson",
        lesson,
        LessonArgs,
        args=(Arg("topic", ArgKind.TEXT, max_length=MAX_QUERY),),
        topic=Topic.ASK,
    ),
    CommandSpec(
        "new",
        new_items,
        GapsArgs,
        args=(Arg("days", ArgKind.INT, required=False),),
        topic=Topic.ASK,
    ),
    CommandSpec(
        "doc",
        None,
        NoArgs,
        role=Role.MODERATOR,
        subcommands=(
            sub(
                "doc",
                CommandSpec(
                    "add",
                    doc_add,
                    DocAddArgs,
                    args=(
                        Arg("url", ArgKind.URL, max_length=2000),
                        Arg("title", ArgKind.TEXT, max_length=400),
                    ),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
        ),
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "share",
        share,
        ShareArgs,
        # A link then a note, or only a note when replying to a document: `share` tells
        # them apart, and checks the link as a URL argument would be.
        args=(Arg("note", ArgKind.TEXT, required=False, max_length=2500),),
        needs=Needs.COMMUNITY,
        topic=Topic.ASK,
    ),
    CommandSpec(
        "approve",
        approve,
        ApproveArgs,
        args=(Arg("id", ArgKind.INT, required=False),),
        role=Role.MODERATOR,
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "reject",
        reject,
        RejectArgs,
        args=(Arg("id", ArgKind.INT), Arg("reason", ArgKind.TEXT, required=False, max_length=300)),
        role=Role.MODERATOR,
        topic=Topic.MODERATION,
    ),
    CommandSpec(
        "gaps",
        gaps,
        GapsArgs,
        args=(Arg("days", ArgKind.INT, required=False),),
        needs=Needs.COMMUNITY,
        role=Role.MODERATOR,
        subcommands=(
            sub(
                "gaps",
                CommandSpec(
                    "dismiss",
                    gap_dismiss,
                    IdArgs,
                    args=(Arg("id", ArgKind.INT),),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "gaps",
                CommandSpec(
                    "link",
                    gap_link,
                    GapLinkArgs,
                    args=(Arg("id", ArgKind.INT), Arg("item", ArgKind.INT)),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
            sub(
                "gaps",
                CommandSpec(
                    "assign",
                    gap_assign,
                    GapAssignArgs,
                    args=(Arg("id", ArgKind.INT), Arg("member", max_length=100)),
                    needs=Needs.COMMUNITY,
                    role=Role.MODERATOR,
                ),
            ),
        ),
        topic=Topic.MODERATION,
    ),
    # A member may save their own answer; saving another's is for moderators (checked in
    # the handler, which knows whose message it replies to).
    CommandSpec(
        "save",
        save,
        SaveArgs,
        args=(Arg("question", ArgKind.TEXT, required=False, max_length=300),),
        needs=Needs.COMMUNITY,
        form=SAVE_FORM,
        topic=Topic.ASK,
    ),
    CommandSpec(
        "withdraw",
        withdraw,
        WithdrawArgs,
        args=(Arg("id", ArgKind.INT),),
        topic=Topic.ASK,
    ),
    CommandSpec("review", review, NoArgs, role=Role.MODERATOR, topic=Topic.MODERATION),
)
