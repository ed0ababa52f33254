"""/rules: moderators write the community's rules, everyone reads them, newcomers see them."""

from __future__ import annotations

from facilitator.domain.events import MemberJoined, Origin
from facilitator.domain.model import Platform, PlatformUser, Role
from tests.conftest import Harness

HOSTILE = "Be kind <b>always</b> & cite *sources* @here"


def joined(harness: Harness, user: str, locale: str | None) -> MemberJoined:
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"join-{user}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), locale),
        occurred_at=harness.clock.now(),
    )
    return MemberJoined(origin, PlatformUser(Platform.CONSOLE, user, user.title(), locale))


async def test_a_moderator_sets_the_rules_and_everyone_reads_them_literally(
    harness: Harness,
) -> None:
    await harness.grant("ana", Role.MODERATOR)
    [saved] = await harness.say(f"/rules set {HOSTILE}", user="ana", locale="es")
    [read] = await harness.say("/rules", user="bruno", locale="pt")
    assert saved.startswith("Quedaron guardadas las normas de Demo network.")
    assert read == f"Regras de Demo network\n{HOSTILE}"


async def test_a_plain_member_cannot_set_or_clear_the_rules(harness: Harness) -> None:
    await harness.grant("ana", Role.MODERATOR)
    await harness.say("/rules set Be kind.", user="ana")
    [refused] = await harness.say("/rules set Anything goes", user="bruno")
    [refused_clear] = await harness.say("/rules clear", user="bruno")
    [read] = await harness.say("/rules", user="bruno")
    assert "moderator" in refused and "moderator" in refused_clear
    assert read == "Rules of Demo network\nBe kind."


async def test_cleared_rules_are_no_longer_shown(harness: Harness) -> None:
    await harness.grant("ana", Role.MODERATOR)
    await harness.say("/rules set Be kind.", user="ana")
    [cleared] = await harness.say("/rules clear", user="ana")
    [read] = await harness.say("/rules", user="bruno")
    start = await harness.say("/start", user="bruno")
    assert cleared == "The rules of Demo network are cleared."
    assert read.startswith("Demo network has no rules written down yet.")
    assert not any("Rules of" in line for line in start)


async def test_rules_longer_than_the_limit_are_refused(harness: Harness) -> None:
    await harness.grant("ana", Role.MODERATOR)
    [refused] = await harness.say("/rules set " + "x" * 1501, user="ana")
    [read] = await harness.say("/rules", user="ana")
    assert refused.startswith("The text is too long: at most 1,500 characters.")
    assert read.startswith("Demo network has no rules written down yet.")


async def test_start_shows_the_rules_after_naming_the_community(harness: Harness) -> None:
    await harness.grant("ana", Role.MODERATOR)
    await harness.say("/rules set Sé amable.", user="ana")
    replies = await harness.say("/start", user="bruno", locale="es")
    text = "\n".join(replies)
    assert "Demo network" in replies[0]
    assert "Normas de Demo network\nSé amable." in text
    assert text.index("Aprendemos juntos.") < text.index("Normas de Demo network")


async def test_the_welcome_carries_the_rules_below_it_in_the_newcomers_language(
    harness: Harness,
) -> None:
    await harness.grant("ana", Role.MODERATOR)
    [plain] = await harness.dispatch(joined(harness, "lucia", "es"))
    await harness.say(f"/rules set {HOSTILE}", user="ana")
    [welcome] = await harness.dispatch(joined(harness, "joao", "pt"))
    assert "Regras" not in plain and "Normas" not in plain
    assert welcome.startswith("Boas-vindas a Demo network, Joao!")
    assert welcome.endswith(f"Regras de Demo network\n{HOSTILE}")
