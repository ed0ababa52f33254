"""What a batch of inbound events will ask of the database, asked once for the batch.

Handling an event from a person asks: who is this (`members.ensure`), which community is
this chat (`communities.by_chat`), are they a member (`members.join`), what is their role
(their linked identities, grants and membership), and, for a reply or a reaction, was the
message a question, who posted it and who is that. Asked event by event, that is a dozen
queries per event. `prefetch` asks each of them once for a whole batch, with plain columns,
and leaves the answers in the unit of work's memo (`storage/memo.py`), where the
repositories' ordinary methods find them. The people are ensured, not only looked up: every
event from a person ensures them first, and new people are inserted together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from facilitator.domain.events import (
    ConversationMoved,
    InboundEvent,
    MessageReceived,
    ReactionChanged,
)
from facilitator.domain.model import Platform, PlatformUser
from facilitator.storage.memo import People, memo_of
from facilitator.storage.repositories import (
    SqlCommunityRepository,
    SqlGrantRepository,
    SqlLedgerRepository,
    SqlMemberRepository,
    SqlQuestionRepository,
)

Chat = tuple[Platform, str]


async def prefetch(
    events: Sequence[InboundEvent],
    now: datetime,
    *,
    communities: SqlCommunityRepository,
    members: SqlMemberRepository,
    grants: SqlGrantRepository,
    questions: SqlQuestionRepository,
    ledger: SqlLedgerRepository,
) -> None:
    # A conversation that moved is nobody's doing; what bots do is ignored.
    from_people = [
        event
        for event in events
        if not event.origin.user.is_bot and not isinstance(event, ConversationMoved)
    ]
    if not from_people:
        return
    users: dict[tuple[Platform, str], PlatformUser] = {}
    speakers: dict[Chat, set[tuple[Platform, str]]] = {}
    for event in from_people:
        user = event.origin.user
        users.setdefault((user.platform, user.user_id), user)  # as named by their first event
        if not event.origin.is_direct:
            chat = (event.origin.platform, event.origin.chat_id)
            speakers.setdefault(chat, set()).add((user.platform, user.user_id))
    await members.ensure_people(list(users.values()), now)
    await communities.prefetch(speakers)
    people = memo_of(members.session.info).part(People)
    for chat, keys in speakers.items():
        community = await communities.by_chat(*chat)
        if community is not None:
            person_ids = {people.members[key].person_id for key in keys if key in people.members}
            await members.prefetch_memberships(community.id, person_ids)
    # The grants of every identity of these people (a role follows the person).
    await grants.prefetch(
        (identity.platform, identity.platform_user_id)
        for key in users
        if key in people.members
        for identity in people.linked.get(people.members[key].person_id, ())
    )
    await _prefetch_targets(from_people, communities, members, questions, ledger)


async def _prefetch_targets(
    events: Sequence[InboundEvent],
    communities: SqlCommunityRepository,
    members: SqlMemberRepository,
    questions: SqlQuestionRepository,
    ledger: SqlLedgerRepository,
) -> None:
    """The messages the batch replies or reacts to (whether each asked a question, who posted
    it, and that person), and whether the batch's messages have stored their questions."""
    targets: dict[int, set[str]] = {}
    posted: dict[int, set[str]] = {}
    authors: dict[Platform, set[str]] = {}
    community_ids: dict[Chat, int | None] = {}
    for event in events:
        origin = event.origin
        if origin.is_direct:
            continue
        chat = (origin.platform, origin.chat_id)
        if chat not in community_ids:
            community = await communities.by_chat(*chat)
            community_ids[chat] = community.id if community is not None else None
        community_id = community_ids[chat]
        if community_id is None:
            continue
        if isinstance(event, MessageReceived):
            if event.is_edit:
                continue
            posted.setdefault(community_id, set()).add(origin.event_id)
            if event.reply_to is None or event.reply_to.is_bot:
                continue
            message_id, user_id = event.reply_to.message_id, event.reply_to.user_id
        elif isinstance(event, ReactionChanged):
            message_id, user_id = event.target_message_id, event.target_user_id
        else:
            continue
        targets.setdefault(community_id, set()).add(message_id)
        if user_id is not None:
            authors.setdefault(origin.platform, set()).add(user_id)
    for community_id in targets.keys() | posted.keys():
        replied = targets.get(community_id, set())
        await questions.prefetch(community_id, replied, posted.get(community_id, ()))
        if replied:
            await ledger.prefetch_authors(community_id, replied)
    for platform, user_ids in authors.items():
        await members.preload(platform, user_ids)
