"""Hostile text (markup, SQL, broadcasts, control characters, bidi marks, huge strings) sent as
plain messages and as every free-text argument of every command, on SQLite and PostgreSQL:
every reply renders safely on Telegram, Slack and the console and fits one message, a text too
long for a command is refused in the member's language, nothing fails, the database is intact,
and no message body is logged at INFO or above.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from adapters.slack.render import compose
from adapters.telegram.render import render_chunks
from facilitator.commands.spec import MAX_COMMAND_TEXT, ArgKind, CommandSpec
from facilitator.domain.model import Platform, Role
from facilitator.storage.models import Base, IdentityRow
from tests.conftest import Harness
from tests.log_scan import LogScan
from tests.security.rendering import render_problems
from tests.security.support import (
    HOSTILE_TEXTS,
    SHORT_HOSTILE,
    Hostile,
    every_command,
    plausible_value,
    snapshot,
    words,
)

FREE_TEXT = (ArgKind.TEXT, ArgKind.WORD)


def free_text_commands() -> list[CommandSpec]:
    return [s for s in every_command() if any(a.kind in FREE_TEXT for a in s.args)]


def quoted(text: str) -> str:
    return f'"{text}"' if '"' not in text else text


def invocations(spec: CommandSpec, hostile: str) -> list[str]:
    """One invocation per free-text argument: that argument hostile, the others plausible."""
    found = []
    for target in (a for a in spec.args if a.kind in FREE_TEXT):
        values = []
        for arg in spec.args:
            if arg is target:
                values.append(hostile if arg.kind is ArgKind.TEXT else quoted(hostile))
            elif arg.required or spec.args.index(arg) < spec.args.index(target):
                values.append(plausible_value(arg) if arg.kind is not ArgKind.WORD else "word")
        found.append(f"/{words(spec)} {' '.join(values)}")
    return found


async def accept(harness: Harness, text: str, user: str, locale: str = "en") -> None:
    """Store one typed line in the inbox, as the console adapter does."""
    harness.seq += 1
    payload = {
        "kind": "text",
        "text": text,
        "id": f"h:{harness.seq}",
        "user_id": user,
        "name": user.title(),
        "locale": locale,
        "at": harness.clock.now().isoformat(),
    }
    await harness.app.inbox.accept(
        Platform.CONSOLE, f"h:{harness.seq}", json.dumps(payload), "demo"
    )


async def identities(harness: Harness) -> int:
    async with harness.app.storage.engine.connect() as conn:
        found = await conn.execute(select(func.count()).select_from(IdentityRow))
        return int(found.scalar_one())


def test_the_table_of_hostile_texts_reaches_commands_with_free_text() -> None:
    paths = {spec.path for spec in free_text_commands()}
    assert {"faq", "faq.add", "share", "intro", "poll", "webinar.add", "lesson", "set"} <= paths
    assert any(len(h.text) >= 100_000 for h in HOSTILE_TEXTS)


async def test_hostile_text_everywhere_renders_safely_and_breaks_nothing(
    any_harness: Harness, log_scan: LogScan
) -> None:
    harness = any_harness
    await harness.grant("olga", Role.ADMIN)
    await harness.say('/faq add "How do I join?" "Ask a moderator."', user="olga")
    await harness.say("/whoami", user="carla")
    people = await identities(harness)
    harness.messenger.clear()
    # Markup matters to renderers, not to the database: PostgreSQL gets the other texts.
    postgres = harness.app.storage.engine.dialect.name == "postgresql"
    texts = [h for h in SHORT_HOSTILE if not (postgres and h.markup)]
    sent = 0
    for number, hostile in enumerate(texts):
        # A canary at the front survives any clipping: a log line holding it holds a body.
        text = f"canary{number}q {hostile.text}"
        log_scan.forbid_at_info(f"canary{number}q")
        await accept(harness, text, "carla")
        for spec in free_text_commands():
            for line in invocations(spec, text):
                await accept(harness, line, "olga")
                sent += 1
    assert await harness.app.inbox.process_pending() == sent + len(texts)
    await harness.app.dispatcher.dispatch_due()

    async with harness.app.uow_factory() as uow:
        assert await uow.inbox.counts() == {"done": sent + len(texts) + 2}
    problems: list[str] = []
    for _, message in harness.messenger.sent:
        found = render_problems(message)
        if len(render_chunks(message.body)) > 1 or len(compose(message)) > 1:
            found.append("more than one message")
        problems.extend(f"{message.body.plain()[:60]!r}: {p}" for p in found)
    assert not problems, "\n".join(dict.fromkeys(problems))
    assert len(harness.messenger.sent) >= sent  # every line was answered
    state = await snapshot(harness.app, skip=frozenset())
    assert set(state) == set(Base.metadata.tables)  # no table dropped
    assert await identities(harness) == people


HUGE = [h for h in HOSTILE_TEXTS if len(h.text) > MAX_COMMAND_TEXT]


@pytest.mark.parametrize(("hostile", "locale"), list(zip(HUGE, ["en", "es"], strict=True)))
async def test_a_huge_command_is_refused_in_the_members_language(
    harness: Harness, hostile: Hostile, locale: str
) -> None:
    await harness.grant("olga", Role.ADMIN)
    catalogue = harness.app.services.catalogue
    refusal = catalogue.render(locale, "errors.too_long", limit=MAX_COMMAND_TEXT).plain()
    for spec in free_text_commands():
        for line in invocations(spec, hostile.text):
            replies = await harness.say(line, user="olga", locale=locale)
            assert replies and replies[0].startswith(refusal), (line[:40], replies)
            assert len(replies[0]) < 1000


async def test_every_hostile_plain_message_is_answered_in_one_safe_message(
    harness: Harness,
) -> None:
    await harness.community()
    for hostile in HOSTILE_TEXTS:
        before = len(harness.messenger.sent)
        await harness.say(hostile.text)
        for _, message in harness.messenger.sent[before:]:
            assert not render_problems(message), hostile.name
            assert len(render_chunks(message.body)) == 1 and len(compose(message)) == 1
