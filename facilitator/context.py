"""What a command handler works with: the command context, the services, replies and roles."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from facilitator.commands.arguments import Words
from facilitator.commands.spec import CommandRegistry, CommandSpec, Needs
from facilitator.domain.events import (
    FileRef,
    InboundEvent,
    MessageReceived,
    Origin,
    PollVoteCast,
    ReplyTarget,
)
from facilitator.domain.model import (
    Community,
    Member,
    Membership,
    Platform,
    PlatformUser,
    Role,
    RoleGrant,
)
from facilitator.i18n import Catalogue
from facilitator.markup import Button, Destination, OutboundMessage, RichText
from facilitator.ports import (
    Clock,
    FileFetcher,
    MembershipCheck,
    Metrics,
    NoMetrics,
    UnitOfWork,
)

log = logging.getLogger(__name__)

S = TypeVar("S")

Reply = tuple[Destination, OutboundMessage]
ButtonHandler = Callable[["CommandContext", str], Awaitable[None]]
StillMember = Callable[["CommandContext", Community, Role], Awaitable[bool]]
MessageHook = Callable[["CommandContext", MessageReceived], Awaitable[None]]
# Takes a plain message as the answer to something the bot asked (a survey's free-text
# question): True when it did, and then no message hook sees it.
MessageClaim = Callable[["CommandContext", MessageReceived], Awaitable[bool]]
# Runs after the core handled any event from a person (participation tracking, for one).
EventHook = Callable[["CommandContext", InboundEvent], Awaitable[None]]
# Records a vote in its poll; False when the poll is not one of ours.
PollVoteHandler = Callable[["CommandContext", PollVoteCast], Awaitable[bool]]
# The language of a text, given the one to assume when the text does not tell (a question is
# stored with its language, for the knowledge feature to look it up in).
LanguageGuesser = Callable[[str, str], str]
# Whether a reply to a question says something other than an answer (a "thanks!" thanks the
# asker; it does not answer the question).
NotAnAnswer = Callable[[str], bool]


@dataclass(frozen=True)
class CoreSettings:
    admins: frozenset[tuple[Platform, str]] = frozenset()
    platform_admins_are_moderators: bool = True
    default_language: str = "en"
    default_timezone: str = "UTC"
    default_community: str | None = None
    # Commands (and button presses) a member may give in a minute; 0: no limit.
    member_budget_per_minute: int = 10


@dataclass
class Services:
    """What command handlers may use; built once by the composition root."""

    catalogue: Catalogue
    registry: CommandRegistry
    clock: Clock
    settings: CoreSettings
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    message_hooks: list[MessageHook] = field(default_factory=list)
    message_claims: list[MessageClaim] = field(default_factory=list)
    event_hooks: list[EventHook] = field(default_factory=list)
    poll_votes: PollVoteHandler | None = None
    # Without a guesser, a question is taken to be in the member's language.
    guess_language: LanguageGuesser | None = None
    not_answers: list[NotAnAnswer] = field(default_factory=list)
    metrics: Metrics = field(default_factory=NoMetrics)
    # Each platform's file fetcher, attached with its adapter (`App.attach`).
    files: dict[Platform, FileFetcher] = field(default_factory=dict)
    # Each platform's live membership check, attached with its adapter (`App.attach`); a
    # platform without one (the console) is not asked.
    memberships: dict[Platform, MembershipCheck] = field(default_factory=dict)
    # Whether a privileged act from a private chat may go ahead in a community: the platform
    # still counts the member in (`membership.still_member`, set by the composition root).
    still_member: StillMember | None = None
    # Each feature's service, by its class (`Installed.service`): for other features and the
    # command line.
    provided: dict[type[Any], object] = field(default_factory=dict)
    # The words members may type for choices and flags, in every language (`words.*`).
    words: Words = field(init=False)

    def __post_init__(self) -> None:
        self.words = Words.from_catalogue(self.catalogue.messages)

    def provide(self, service: object) -> None:
        self.provided[type(service)] = service

    def feature(self, kind: type[S]) -> S:
        found = self.optional(kind)
        if found is None:
            raise LookupError(f"no feature provides {kind.__name__}")
        return found

    def optional(self, kind: type[S]) -> S | None:
        found = self.provided.get(kind)
        return found if isinstance(found, kind) else None


@dataclass
class CommandContext:
    """Everything one event's handler needs, and the replies it has decided on."""

    uow: UnitOfWork
    services: Services
    origin: Origin
    member: Member
    community: Community | None
    role: Role
    locale: str
    replies: list[Reply] = field(default_factory=list)
    # The message the member's command replied to (Telegram's reply, the demo's `^`).
    replied: ReplyTarget | None = None
    # A document sent with the command itself.
    attached: FileRef | None = None

    @property
    def catalogue(self) -> Catalogue:
        return self.services.catalogue

    def t(self, key: str, /, **values: object) -> str:
        return self.catalogue.text(self.locale, key, **values)

    def rich(self, key: str, /, **values: object) -> RichText:
        return self.catalogue.render(self.locale, key, **values)

    @property
    def here(self) -> Community:
        """The community a command acts on, for a command declared with `Needs.COMMUNITY` or
        `Needs.GROUP`: the engine has checked that there is one before the handler runs."""
        if self.community is None:
            raise LookupError("no community here: the command must declare what it needs")
        return self.community

    def destination(self, *, private: bool = False) -> Destination:
        """Where a reply goes: this conversation and thread, or privately to the member."""
        o = self.origin
        return Destination(
            platform=o.platform,
            chat_id=o.chat_id,
            thread_id=o.thread_id,
            reply_to_message_id=o.message_id,
            user_id=o.user.user_id if private else None,
            is_direct=o.is_direct,
        )

    def reply(self, message: OutboundMessage, *, private: bool = False) -> None:
        self.replies.append((self.destination(private=private or message.ephemeral), message))

    def say(
        self,
        key: str,
        /,
        *,
        buttons: tuple[tuple[Button, ...], ...] = (),
        private: bool = False,
        **values: object,
    ) -> None:
        body = self.rich(key, **values)
        self.reply(OutboundMessage(body, buttons=buttons, ephemeral=private), private=private)

    def role_label(self, role: Role) -> str:
        return self.t(f"core.roles.{role.label}")

    def word(self, canonical: str) -> str:
        """How the member's language writes a command's fixed word (`week`: `semana`)."""
        return self.services.words.shown(self.locale, canonical)

    def words(self, choices: Sequence[str], separator: str = ", ") -> str:
        """A command's choices as the member types them: `semana, mes, todo`."""
        return separator.join(self.word(c) for c in choices)

    def argument_values(self, values: Mapping[str, object]) -> dict[str, object]:
        """An argument error's values made readable: the argument's name and its choices in
        the member's language."""
        shown = dict(values)
        if isinstance(shown.get("arg"), str):
            shown["arg"] = self.t(f"core.args.{shown['arg']}")
        choices = shown.get("choices")
        if isinstance(choices, tuple):
            shown["choices"] = self.words(choices)
        return shown

    async def role_in(self, community: Community) -> Role:
        """The member's role in another community than the event's (the Home tab lists all)."""
        if self.community is not None and community.id == self.community.id:
            return self.role
        return await effective_role(
            self.uow, self.services.settings, self.member, community, self.origin.user
        )

    async def acting_role_in(self, community: Community) -> Role:
        """`role_in`, for an act that needs more than a member's role (approving, saving,
        reviewing from a button): from a private chat, a role the membership gives holds only
        while the platform still counts the member in the community; otherwise the member is
        told why (`Services.still_member`) and acts as a plain member."""
        role = await self.role_in(community)
        check = self.services.still_member
        if role <= Role.MEMBER or not self.origin.is_direct or check is None:
            return role
        return role if await check(self, community, role) else Role.MEMBER

    async def belongs_to(self, community_id: int) -> bool:
        """Whether the member may act on this community's polls and webinars from here: in
        the community itself, or from a direct conversation (the Home tab) as one of its
        members (the community a private chat defaults to counts only for its members)."""
        if not self.origin.is_direct:
            return self.community is not None and self.community.id == community_id
        membership = await self.uow.members.membership(self.member.person_id, community_id)
        return membership is not None and membership.left_at is None


async def effective_role(
    uow: UnitOfWork,
    settings: CoreSettings,
    member: Member,
    community: Community | None,
    user: PlatformUser,
    *,
    with_membership: bool = True,
) -> Role:
    """The member's role in a community, from what the database holds (`combine_role`);
    `with_membership=False` leaves out the role their membership gives (what they hold
    whether or not they are in the community: installation admin, grants)."""
    identities = await uow.members.by_person(member.person_id)
    grants = [
        grant
        for identity in identities
        for grant in await uow.grants.for_identity(identity.platform, identity.platform_user_id)
    ]
    membership = None
    if community is not None and with_membership:
        membership = await uow.members.membership(member.person_id, community.id)
    return combine_role(settings, identities, grants, membership, community, user)


def combine_role(
    settings: CoreSettings,
    identities: Sequence[Member],
    grants: Sequence[RoleGrant],
    membership: Membership | None,
    community: Community | None,
    user: PlatformUser,
) -> Role:
    """The highest of: installation admin, grants for this community or all, the role of a
    current membership (one they left gives none), and platform admin when that makes a
    moderator."""
    if any((i.platform, i.platform_user_id) in settings.admins for i in identities):
        return Role.ADMIN
    roles = [Role.MEMBER]
    roles.extend(
        grant.role
        for grant in grants
        if grant.community_id is None or (community and grant.community_id == community.id)
    )
    if community is not None:
        if membership is not None and membership.left_at is None:
            roles.append(membership.role)
        if user.is_platform_admin and settings.platform_admins_are_moderators:
            roles.append(Role.MODERATOR)
    return max(roles)


def permitted(ctx: CommandContext, spec: CommandSpec, role: Role | None = None) -> bool:
    """The one role check of a command (by default with the member's role where the event
    happened); a refusal is explained to the member privately."""
    role = ctx.role if role is None else role
    if role >= spec.role:
        return True
    log.warning(
        "command refused for lack of role",
        extra={"command": spec.path, "role": role.label, "needs": spec.role.label},
    )
    ctx.say(
        "errors.not_allowed",
        command=spec.path.replace(".", " "),
        role=ctx.role_label(spec.role),
        yours=ctx.role_label(role),
        private=True,
    )
    return False


def runs_here(ctx: CommandContext, spec: CommandSpec) -> bool:
    """The one check of where a command may run (`CommandSpec.needs`), made after its role
    check and its arguments and before its handler; a refusal is explained to the member
    privately."""
    if spec.needs is Needs.ANYWHERE:
        return True
    if ctx.community is not None and not (spec.needs is Needs.GROUP and ctx.origin.is_direct):
        return True
    log.info("command refused outside a community", extra={"command": spec.path})
    ctx.say("errors.needs_community", private=True)
    return False
