"""Arguments in the member's language: choices, setting names and poll flags in en, es and pt."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from facilitator.bootstrap import build_registry
from facilitator.commands.arguments import fold
from facilitator.commands.spec import ArgKind, CommandSpec
from facilitator.domain.model import Role
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.polls.ports import PollRepository
from tests.conftest import Harness, prompt_catalogue, prompt_words

WORDS = prompt_words()
CATALOGUE = prompt_catalogue()


def _every_spec() -> list[CommandSpec]:
    return [s for spec in build_registry().all() for s in (spec, *spec.subcommands)]


def _choice_args() -> list[tuple[CommandSpec, tuple[str, ...]]]:
    return [
        (spec, arg.choices)
        for spec in _every_spec()
        for arg in spec.args
        if arg.kind is ArgKind.CHOICE
    ]


# -- the vocabulary ---------------------------------------------------------------------------


def test_every_choice_has_its_words_in_every_language() -> None:
    for _, choices in _choice_args():
        for choice in choices:
            for locale in ("en", "es", "pt"):
                assert f"words.{choice}" in CATALOGUE.messages[locale], (locale, choice)


@pytest.mark.parametrize(("spec", "choices"), _choice_args(), ids=lambda v: str(v)[:30])
def test_no_word_means_two_choices_of_one_argument(
    spec: CommandSpec, choices: tuple[str, ...]
) -> None:
    seen: dict[str, str] = {}
    for choice in choices:
        for word in WORDS.spellings(choice):
            assert seen.setdefault(word, choice) == choice, (spec.path, word)


@pytest.mark.parametrize("locale", ["en", "es", "pt"])
def test_the_usage_lists_the_choices_in_the_members_words(locale: str) -> None:
    """Where English usage spells out a choice argument (`[week|month|all]`), every language
    spells it with the words its members are shown in errors."""
    for spec, choices in _choice_args():
        english = CATALOGUE.text("en", spec.usage_key)
        if "|".join(choices) not in english:
            continue
        usage = CATALOGUE.text(locale, spec.usage_key)
        assert "|".join(WORDS.shown(locale, c) for c in choices) in usage, (locale, spec.path)


@pytest.mark.parametrize("locale", ["en", "es", "pt"])
def test_the_nudge_overview_names_every_setting_as_it_is_typed(locale: str) -> None:
    status = CATALOGUE.messages[locale]["nudges.status"]
    assert isinstance(status, str)
    for name in NudgeConfig.names():
        assert f"`{WORDS.shown(locale, name)}`" in status, (locale, name)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Anónima", "anonymous"),
        ("anonima", "anonymous"),
        ("ANÔNIMA", "anonymous"),
        ("múltipla", "multiple"),
        ("multi", "multiple"),
        ("fecha", "closes"),
    ],
)
def test_a_flag_is_read_whatever_its_case_and_accents(typed: str, meant: str) -> None:
    assert WORDS.canonical(("multiple", "anonymous", "remind", "closes"), typed) == meant


def test_folding_sets_aside_case_accents_and_dashes() -> None:
    assert fold("Días-Recién_Llegados") == fold("dias_recien_llegados")


# -- through the core -------------------------------------------------------------------------


async def test_a_spanish_member_asks_for_the_weeks_leaderboard_in_spanish(
    harness: Harness,
) -> None:
    await harness.community()
    await harness.say("¿Alguien tiene experiencia con bonos verdes?", user="ana", locale="es")
    [reply] = await harness.say("/leaderboard semana", user="ana", locale="es")
    assert reply.startswith("Los más activos de los últimos 7 días")


async def test_a_portuguese_member_asks_for_the_months_leaderboard_in_portuguese(
    harness: Harness,
) -> None:
    await harness.community()
    await harness.say("Alguém tem experiência com títulos verdes?", user="bia", locale="pt")
    [reply] = await harness.say("/leaderboard mês", user="bia", locale="pt")
    assert reply.startswith("Os mais ativos nos últimos 30 dias")


async def test_an_english_word_is_understood_from_a_spanish_member(harness: Harness) -> None:
    await harness.community()
    await harness.say("¿Alguien tiene experiencia con bonos verdes?", user="ana", locale="es")
    [reply] = await harness.say("/leaderboard month", user="ana", locale="es")
    assert reply.startswith("Los más activos de los últimos 30 días")


async def test_optout_all_in_spanish_and_portuguese(harness: Harness) -> None:
    await harness.community()
    [es] = await harness.say("/optout todo", user="ana", locale="es")
    [pt] = await harness.say("/optout tudo", user="bia", locale="pt")
    assert es.startswith("Listo: ya no registro tu participación ni te enviaré recordatorios.")
    assert pt.startswith("Pronto: não registro mais sua participação")


async def test_a_wrong_choice_is_explained_with_the_members_words_and_usage(
    harness: Harness,
) -> None:
    await harness.community()
    [reply] = await harness.say("/leaderboard año", user="ana", locale="es")
    assert reply.splitlines() == [
        "«año» no es una opción válida aquí (periodo). Elige una de estas: semana, mes, todo.",
        "Uso: /leaderboard [semana|mes|todo]",
    ]


async def _posted(harness: Harness, text: str, locale: str) -> str:
    await harness.community()
    [created] = await harness.say(text, user="ana", locale=locale)
    await harness.app.dispatcher.dispatch_due()
    return created


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("es", '/poll "¿Qué día?" "Lunes" "Martes" múltiple anónima cierra en 2d'),
        ("pt", '/poll "Qual dia?" "Segunda" "Terça" múltipla anônima fecha em 2d'),
        ("es", '/poll "¿Qué día?" "Lunes" "Martes" multiple anonymous closes in 2d'),
    ],
)
async def test_poll_flags_are_read_in_every_language(
    harness: Harness, locale: str, text: str
) -> None:
    created = await _posted(harness, text, locale)
    assert re.match(r"(La encuesta|A enquete) #1", created)
    async with harness.app.uow_factory() as uow:
        poll = await uow.repo(PollRepository).get(1)
    assert poll is not None
    assert len(poll.options) == 2
    assert (poll.multiple, poll.anonymous) == (True, True)
    assert poll.closes_at == harness.clock.now() + timedelta(days=2)


async def test_a_misspelt_flag_asks_before_the_poll_is_posted(harness: Harness) -> None:
    reply = await _posted(harness, '/poll "¿Qué día?" "Lunes" "Martes" anonimus', "es")
    assert reply.splitlines() == [
        "No publiqué la encuesta: «anonimus» parece «anónima» mal escrito.",
        'Si querías decir «anónima», envía: /poll "¿Qué día?" "Lunes" "Martes" anónima',
        'Si «anonimus» es una opción, ponla entre comillas: /poll "¿Qué día?" "Lunes" "Martes" '
        '"anonimus"',
    ]
    async with harness.app.uow_factory() as uow:
        assert await uow.repo(PollRepository).get(1) is None
    quoted = await _posted(harness, '/poll "¿Qué día?" "Lunes" "Martes" "anonimus"', "es")
    assert quoted.startswith("La encuesta #1")


async def test_plain_unquoted_options_are_not_doubted(harness: Harness) -> None:
    created = await _posted(harness, '/poll "¿Almuerzo o cena?" Almuerzo Cena', "es")
    assert created.startswith("La encuesta #1")


async def test_a_coordinator_changes_a_setting_with_its_portuguese_name(
    harness: Harness,
) -> None:
    await harness.grant("bia", Role.COORDINATOR)
    [done] = await harness.say("/nudges set aprovação sim", user="bia", locale="pt")
    [status] = await harness.say("/nudges", user="bia", locale="pt")
    assert "aprovação" in done
    assert "Aprovação da coordenação (aprovação): sim" in status


# -- grammar a native speaker notices ---------------------------------------------------------


async def test_roles_are_named_without_gender_and_in_the_members_words(harness: Harness) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    await harness.say("Hola", user="carla", locale="es")
    await harness.say("Olá", user="joao", locale="pt")
    [es] = await harness.say("/role carla moderación", user="ana", locale="es")
    [pt] = await harness.say("/role joao moderadora", user="ana", locale="pt")
    assert es == "Carla ahora tiene el rol de moderación."
    assert pt == "Joao agora tem o papel de moderação."


async def test_a_refused_moderator_is_told_to_ask_someone_with_the_role_it_needs(
    harness: Harness,
) -> None:
    await harness.grant("carla", Role.MODERATOR)
    [refused] = await harness.say("/role bruno miembro", user="carla", locale="es")
    assert refused == (
        "Lo siento, /role requiere el rol de coordinación o uno superior, y el tuyo es "
        "moderación. Si lo necesitas, pídeselo a alguien con el rol de coordinación o "
        "superior en esta comunidad."
    )


async def test_a_wrong_scope_names_what_it_is_for(harness: Harness) -> None:
    await harness.community()
    [es] = await harness.say("/optout nada", user="ana", locale="es")
    [en] = await harness.say("/optout nothing", user="bo", locale="en")
    assert es.splitlines()[0] == (
        "«nada» no es una opción válida aquí (qué detener o reanudar). "
        "Elige una de estas: todo, seguimiento, recordatorios."
    )
    assert en.splitlines()[0] == (
        '"nothing" is not a valid choice. Choose one of: all, tracking, nudges.'
    )
