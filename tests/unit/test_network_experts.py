"""`/experts` across the network: members of other communities appear only when they shared
their profile (`/experts share on`), with nothing but their name, community and expertise."""

from __future__ import annotations

import itertools

from facilitator.domain.events import MessageReceived, Origin
from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.profiles.ports import ProfileRepository
from tests.conftest import Harness

ANDES, PAMPA = "-100301", "-100302"
TITLES = {ANDES: "Andes water network", PAMPA: "Pampa climate circle"}


class Groups:
    """Members writing in two Telegram groups, and privately."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.seq = itertools.count(1)

    async def say(
        self, user: str, chat: str, text: str, *, locale: str = "en", direct: bool = False
    ) -> list[str]:
        n = next(self.seq)
        origin = Origin(
            platform=Platform.TELEGRAM,
            event_id=f"net{n}",
            chat_id=user if direct else chat,
            user=PlatformUser(Platform.TELEGRAM, user, user.title(), locale),
            occurred_at=self.harness.clock.now(),
            chat_title=None if direct else TITLES[chat],
            is_direct=direct,
            message_id=str(n),
        )
        return await self.harness.dispatch(MessageReceived(origin, text))


async def two_groups(harness: Harness) -> Groups:
    """Ana asks in Andes; in Pampa, Pia, Pedro and Paz know water; Pia and Paz share."""
    groups = Groups(harness)
    await groups.say("ana", ANDES, "hello andes")
    await groups.say("alba", ANDES, '/intro "Banco Andino" Peru "water utilities"')
    for user, org in (("pia", "Banco Pampa"), ("pedro", "Fondo Sur"), ("paz", "Caja Verde")):
        await groups.say(user, PAMPA, f'/intro "{org}" Argentina "water, climate finance"')
    await groups.say("pia", PAMPA, "/experts share on")
    await groups.say("paz", PAMPA, "/experts share on")
    return groups


async def test_network_experts_appear_with_their_community_only_when_they_shared(
    harness: Harness,
) -> None:
    groups = await two_groups(harness)

    [found] = await groups.say("ana", ANDES, "/experts water")

    assert found.splitlines() == [
        "Who knows about water (from profiles, contributions and answers):",
        "• Alba (Banco Andino, Peru)",
        "Who knows about water in other communities of the network (members who share their"
        " profile):",
        "• Pia, Pampa climate circle: water, climate finance",
        "• Paz, Pampa climate circle: water, climate finance",
    ]
    # Nothing but name, community and expertise crosses: no organisation, no handle.
    assert "Banco Pampa" not in found and "Pedro" not in found and "Fondo Sur" not in found


async def test_a_member_who_opted_out_of_tracking_never_appears_in_the_network(
    harness: Harness,
) -> None:
    groups = await two_groups(harness)
    await groups.say("paz", PAMPA, "/optout tracking")

    [found] = await groups.say("ana", ANDES, "/experts water")

    assert "Pia, Pampa climate circle" in found
    assert "Paz" not in found
    await groups.say("paz", PAMPA, "/optin tracking")
    [back] = await groups.say("ana", ANDES, "/experts water")
    assert "Paz, Pampa climate circle" in back


async def test_sharing_is_off_by_default_and_can_be_switched_off(harness: Harness) -> None:
    groups = await two_groups(harness)
    [state] = await groups.say("pedro", PAMPA, "/experts share")
    [stopped] = await groups.say("pia", PAMPA, "/experts share off")

    [found] = await groups.say("ana", ANDES, "/experts water")

    assert state.startswith("Your profile is seen only in your own communities.")
    assert stopped == "Done: only your own communities see your profile now."
    assert "Pia" not in found and "Paz, Pampa climate circle" in found


async def test_own_community_experts_show_without_sharing_and_other_themes_do_not_match(
    harness: Harness,
) -> None:
    groups = await two_groups(harness)

    [own] = await groups.say("pedro", PAMPA, "/experts water")
    [none] = await groups.say("ana", ANDES, "/experts astronomy")

    # In their own community everyone is listed as before, with organisation and country;
    # nobody of Pampa is listed twice under "other communities".
    assert "• Pedro (Fondo Sur, Argentina)" in own.splitlines()
    assert "other communities" not in own
    assert none.startswith("I do not know anyone for astronomy yet.")


async def test_a_member_of_both_communities_is_listed_only_as_the_askers_own(
    harness: Harness,
) -> None:
    groups = await two_groups(harness)
    await groups.say("pia", ANDES, "hello andes too")

    [found] = await groups.say("ana", ANDES, "/experts water")

    assert "• Pia (Banco Pampa, Argentina)" in found.splitlines()
    assert "Pia, Pampa climate circle" not in found


async def test_the_setting_takes_spanish_and_portuguese_words(harness: Harness) -> None:
    groups = await two_groups(harness)

    [si] = await groups.say("pedro", PAMPA, "/experts share sí", locale="es")
    [nao] = await groups.say("paz", PAMPA, "/experts share não", locale="pt-BR")
    [sim] = await groups.say("pia", PAMPA, "/experts share", locale="pt-BR")

    assert si.startswith("Listo: miembros de otras comunidades ya pueden encontrar tu nombre")
    assert nao == "Pronto: agora só as suas próprias comunidades veem seu perfil."
    assert sim.startswith("Seu perfil está compartilhado com a rede")
    [found] = await groups.say("ana", ANDES, "/experts water", locale="es")
    assert "Quién sabe de water en otras comunidades de la red" in found
    assert "Pedro, Pampa climate circle" in found and "Paz" not in found


async def test_the_setting_is_in_mydata_and_survives_a_new_intro(harness: Harness) -> None:
    groups = await two_groups(harness)
    await groups.say("pia", PAMPA, '/intro "Banco Pampa" Argentina "water, rivers"')

    async with harness.app.uow_factory() as uow:
        pia = await uow.members.identity(Platform.TELEGRAM, "pia")
        assert pia is not None
        profile = await uow.repo(ProfileRepository).get(pia.person_id)
    assert profile is not None and profile.network
    await groups.say("pia", PAMPA, "/mydata", direct=True)
    [(_, export)] = [(d, m) for d, m in harness.messenger.sent if m.attachment is not None][-1:]
    assert export.attachment is not None
    assert '"network": true' in export.attachment.content.decode()
