"""Every command above a member's role, tried by a member through the real core: refused in the
member's language, privately, and nothing in the database changes.

Driven by the command registry, so a command added later is covered without editing this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from facilitator.commands.spec import CommandSpec
from facilitator.domain.model import Platform, Role
from facilitator.domain.outbox import OutboxEntry, OutboxStatus
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.polls.ports import PollRepository
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.markup import Destination, OutboundMessage, RichText
from tests.conftest import Harness
from tests.security.support import changes, plausible_args, privileged, snapshot, words

# Arguments that name the seeded object a command acts on; every other argument is generic.
SEEDED_ARGS: dict[str, dict[str, str]] = {
    "role": {"member": "dora"},
    "approve": {"id": "proposed"},
    "reject": {"id": "proposed"},
    "faq.edit": {"id": "faq"},
    "faq.remove": {"id": "faq"},
    "outbox.retry": {"id": "failed"},
    "nudges.approve": {"nudge": "held"},
    "nudges.skip": {"nudge": "held"},
    "webinar.move": {"id": "webinar"},
    "webinar.cancel": {"id": "webinar"},
    "webinar.recording": {"id": "webinar"},
    "poll.close": {"id": "poll"},
}
EXPLICIT: dict[str, str] = {
    "webinar.add": '"Hygiene basics" 2026-12-10 15:00',
    "webinar.move": "{webinar} 2026-12-11 16:00",
    "faq.add": '"How do I reset my password?" "Ask a moderator."',
    "faq.edit": "{faq} answer A better answer.",
    "set": "title Another title",
    "nudges.set": "newcomer off",
    "participation": "recognition off",
    "summary": "2026-W44",
    "survey.new": "Check-in\nscale: How useful was it?",
}


async def seed(harness: Harness) -> dict[str, int]:
    """Something for every privileged command to act on, made by an admin."""
    await harness.grant("olga", Role.ADMIN)
    await harness.say("/whoami", user="dora")
    await harness.say('/faq add "How do I join?" "Ask a moderator."', user="olga")
    await harness.say("/share https://example.org/guide a field guide", user="olga")
    await harness.say('/poll "Lunch or dinner?" Lunch Dinner', user="olga")
    await harness.say('/webinar add "Water plans" 2026-12-03 15:00', user="olga")
    await harness.say("/lesson quantum gravity of sanitation", user="olga")
    community = await harness.community()
    now = harness.clock.now()
    async with harness.app.uow_factory() as uow:
        items = await uow.repo(KnowledgeRepository).in_scope(community.id)
        for key, status in (("held", True), ("failed", False)):
            await uow.outbox.add(
                OutboxEntry(
                    dedup_key=f"seed:{key}",
                    kind="nudge.newcomer",
                    destination=Destination(Platform.CONSOLE, "demo"),
                    message=OutboundMessage(RichText.of(f"a {key} nudge")),
                    due_at=now + timedelta(hours=1),
                    community_id=community.id,
                    is_nudge=True,
                    held=status,
                ),
                now,
            )
        rows = {
            r.dedup_key: r.id
            for r in await uow.outbox.listing(community.id, list(OutboxStatus), 50)
        }
        await uow.outbox.transition(
            rows["seed:failed"], [OutboxStatus.PENDING], OutboxStatus.FAILED, now
        )
        poll = await uow.repo(PollRepository).latest_open(community.id)
        webinars = await uow.repo(WebinarRepository).upcoming(community.id, now)
        await uow.commit()
    assert poll is not None and webinars, "the seed commands did not create their objects"
    return {
        "faq": next(i.id for i in items if i.key.startswith("faq:") and i.id is not None),
        "proposed": next(i.id for i in items if i.key.startswith("share:") and i.id is not None),
        "held": rows["seed:held"],
        "failed": rows["seed:failed"],
        "poll": poll.id,
        "webinar": webinars[0].id,
    }


def invocation(spec: CommandSpec, seeded: Mapping[str, int]) -> str:
    explicit = EXPLICIT.get(spec.path)
    if explicit is not None:
        args = explicit.format(**seeded)
    else:
        given = {
            name: str(seeded.get(ref, ref)) for name, ref in SEEDED_ARGS.get(spec.path, {}).items()
        }
        args = plausible_args(spec, given)
    return f"/{words(spec)} {args}".strip()


def refusal(harness: Harness, locale: str, spec: CommandSpec) -> str:
    catalogue = harness.app.services.catalogue
    role = catalogue.text(locale, f"core.roles.{spec.role.label}")
    yours = catalogue.text(locale, "core.roles.member")
    return catalogue.render(
        locale, "errors.not_allowed", command=words(spec), role=role, yours=yours
    ).plain()


def test_the_registry_has_privileged_commands_and_subcommands() -> None:
    paths = {spec.path for spec in privileged()}
    # A guard that the walk reaches subcommands: these exist today.
    assert {"members", "faq.add", "nudges.approve", "webinar.cancel"} <= paths
    assert "faq" not in paths and "poll.close" not in paths  # members may run these


async def test_every_privileged_command_is_refused_to_a_member_and_changes_nothing(
    harness: Harness,
) -> None:
    seeded = await seed(harness)
    await harness.say("/whoami", user="carla", locale="en")
    await harness.say("/whoami", user="ines", locale="es")
    wrong: list[str] = []
    for spec in privileged():
        typed = invocation(spec, seeded)
        name, _, rest = typed[1:].partition(" ")
        shouted = "/" + typed[1:].upper() if spec.parent is None else None
        addressed = f"/{name}@facilitator_bot {rest}".strip()
        for user, locale, text in (
            ("carla", "en", typed),
            ("ines", "es", typed),
            ("carla", "en", addressed),
            *((("carla", "en", shouted),) if shouted else ()),
        ):
            before = await snapshot(harness.app)
            replies = await harness.say(text, user=user, locale=locale)
            changed = changes(before, await snapshot(harness.app))
            expected = refusal(harness, locale, spec)
            destination = harness.messenger.sent[-1][0]
            if replies != [expected] or destination.user_id != user or changed:
                wrong.append(f"{text!r} by {user}: {replies} (changed: {changed})")
    assert not wrong, "\n".join(wrong)


async def test_the_same_invocations_are_accepted_from_the_required_role(harness: Harness) -> None:
    """The control: each invocation above is one its role may run, so its refusal is the
    role check and not a typo or a missing object."""
    seeded = await seed(harness)
    catalogue = harness.app.services.catalogue
    for spec in privileged():
        user = f"holder_{spec.role.label}"
        await harness.grant(user, spec.role)
        replies = await harness.say(invocation(spec, seeded), user=user)
        joined = "\n".join(replies)
        assert replies, spec.path
        assert "Sorry," not in joined, (spec.path, replies)
        usage = catalogue.text("en", spec.usage_key)
        assert f"Usage: {usage}" not in joined, (spec.path, replies)
