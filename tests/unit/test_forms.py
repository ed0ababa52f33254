"""Forms: declared next to their commands, converted into the same arguments as the text, with
the same errors, and run through the same role check and handler."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from facilitator.bootstrap import build_registry
from facilitator.commands.forms import FORM_PREFIX, FormInput
from facilitator.commands.spec import ArgumentError, parse_args
from facilitator.domain.events import ButtonPressed, CommandInvoked, Origin
from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.features.knowledge import commands as knowledge
from facilitator.features.polls import commands as polls
from facilitator.features.polls.parsing import parse_poll
from facilitator.features.polls.ports import PollRepository
from facilitator.features.webinars import commands as webinars
from facilitator.features.webinars.parsing import parse_webinar
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.i18n import Catalogue
from facilitator.markup import FieldKind, Form
from tests.conftest import REPO_ROOT, Harness, prompt_words

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
ZONE = "America/Santiago"
CATALOGUE = Catalogue.load(REPO_ROOT / "prompts")


def form_input(**values: object) -> FormInput:
    return FormInput(values, NOW, ZONE)


# -- declarations -----------------------------------------------------------------------------


def test_announce_poll_webinar_faq_item_and_save_have_forms_and_nothing_else_does() -> None:
    registry = build_registry()
    with_forms = sorted(
        spec.path
        for top in registry.all()
        for spec in (top, *top.subcommands)
        if spec.form is not None
    )
    assert with_forms == ["announce", "faq.add", "poll", "save", "webinar.add"]


@pytest.mark.parametrize("path", ["poll", "webinar.add", "faq.add"])
def test_a_form_is_declared_with_prompts_in_every_language(path: str) -> None:
    spec = build_registry().find(path)
    assert spec is not None and spec.form is not None
    form = spec.form
    names = [field.name for field in form.fields]
    assert len(names) == len(set(names))
    for field in form.fields:
        if field.kind is FieldKind.CHECKBOX:
            assert field.choices and not field.required
    for key in form.prompt_keys():
        for locale in ("en", "es", "pt"):
            assert key in CATALOGUE.messages[locale], (locale, key)


# -- fields -> arguments ----------------------------------------------------------------------


def test_the_poll_form_gives_the_poll_the_text_command_gives() -> None:
    args = polls.from_form(
        form_input(
            question=" Which day suits you? ",
            options="Monday\n\nWednesday afternoon\n Friday \n",
            closes_on="2026-11-05",
            closes_at="15:00",
            settings=["multiple", "remind", "something else"],
        )
    )
    typed = parse_poll(
        '"Which day suits you?" Monday "Wednesday afternoon" Friday multi remind '
        "closes 2026-11-05 15:00",
        NOW,
        ZONE,
        prompt_words(),
    )
    assert args == typed


@pytest.mark.parametrize(
    ("fields", "typed"),
    [
        ({"question": "  ", "options": "A\nB"}, '"" A B'),
        ({"question": "Only one?", "options": "Yes"}, '"Only one?" Yes'),
        (
            {"question": "Q?", "options": "A\nB", "closes_on": "2026-11-01"},
            '"Q?" A B closes 2026-11-01',
        ),
        ({"question": "Q?", "options": "Yes\nyes"}, '"Q?" Yes yes'),
        ({"question": "Q?", "options": "A\nB", "settings": ["remind"]}, '"Q?" A B remind'),
        ({"question": "x" * 301, "options": "A\nB"}, '"' + "x" * 301 + '" A B'),
    ],
)
def test_bad_poll_fields_raise_the_errors_of_the_text_command(
    fields: dict[str, object], typed: str
) -> None:
    with pytest.raises(ArgumentError) as from_text:
        parse_poll(typed, NOW, ZONE)
    with pytest.raises(ArgumentError) as from_form:
        polls.from_form(form_input(**fields))
    assert from_form.value.key == from_text.value.key
    assert from_form.value.values == from_text.value.values


def test_a_closing_time_without_a_day_is_refused() -> None:
    with pytest.raises(ArgumentError) as caught:
        polls.from_form(form_input(question="Q?", options="A\nB", closes_at="15:00"))
    assert caught.value.key == "polls.errors.bad_close"


def test_the_webinar_form_gives_the_webinar_the_text_command_gives() -> None:
    args = webinars.from_form(
        form_input(
            title="Agua segura",
            date="2026-12-03",
            time="15:00",
            timezone="America/Lima",
            link="https://meet.example.org/agua",
            speaker="Ana #1",
            theme="#Agua",
        )
    )
    typed = parse_webinar(
        '"Agua segura" 2026-12-03 15:00 America/Lima https://meet.example.org/agua "Ana #1" #agua',
        NOW,
        ZONE,
    )
    assert args == typed
    assert typed.speaker == "Ana #1" and typed.theme == "agua"


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"title": "", "date": "2026-12-03", "time": "15:00"}, "webinars.errors.title"),
        ({"title": "T", "date": "2026-10-03", "time": "15:00"}, "webinars.errors.past"),
        ({"title": "T", "date": "", "time": "15:00"}, "webinars.errors.when"),
        (
            {"title": "T", "date": "2026-12-03", "time": "15:00", "timezone": "Mars/Base"},
            "community.set.bad_timezone",
        ),
        (
            {"title": "T", "date": "2026-12-03", "time": "15:00", "link": "meet me there"},
            "errors.not_a_url",
        ),
        (
            {"title": "T" * 201, "date": "2026-12-03", "time": "15:00"},
            "webinars.errors.title_too_long",
        ),
    ],
)
def test_bad_webinar_fields_name_what_to_fix(fields: dict[str, object], key: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        webinars.from_form(form_input(**fields))
    assert caught.value.key == key


def test_the_faq_form_gives_the_arguments_of_faq_add() -> None:
    args = knowledge.faq_from_form(
        form_input(
            question="How do I renew my visa?",
            answer="At the consulate.",
            theme="#Visa",
            alternates="Visa renewal?\n#permit extension\n",
        )
    )
    spec = build_registry().find("faq.add")
    assert spec is not None
    typed = parse_args(
        spec,
        '"How do I renew my visa?" "At the consulate." "Visa renewal?" "permit extension" #Visa',
    )
    assert args == typed


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"question": "", "answer": "A"}, "errors.missing_argument"),
        ({"question": "Q?", "answer": " "}, "errors.missing_argument"),
        ({"question": "Q" * 301, "answer": "A"}, "errors.argument_too_long"),
    ],
)
def test_bad_faq_fields_name_what_to_fix(fields: dict[str, object], key: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        knowledge.faq_from_form(form_input(**fields))
    assert caught.value.key == key


def test_unexpected_values_are_read_as_empty() -> None:
    submitted = form_input(question=["not", "text"], options=None, settings="anonymous")
    assert submitted.text("question") == "" and submitted.lines("options") == []
    assert submitted.chosen("settings") == {"anonymous"} and submitted.chosen("nothing") == set()


# -- through the core -------------------------------------------------------------------------


def submit(harness: Harness, user: str, path: str, fields: dict[str, object]) -> ButtonPressed:
    harness.seq += 1
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"submit:{harness.seq}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), "es"),
        occurred_at=harness.clock.now(),
    )
    value = json.dumps({"fields": fields, "metadata": json.dumps({"channel": "demo"})})
    return ButtonPressed(origin, FORM_PREFIX + path, value)


async def test_a_command_without_arguments_offers_its_form_and_shows_the_usage(
    harness: Harness,
) -> None:
    await harness.community()
    [usage] = await harness.say("/poll", user="ana")
    destination, message = harness.messenger.sent[-1]
    assert usage.splitlines()[0] == "Something is missing: poll."
    assert usage.splitlines()[1].startswith('Usage: /poll "Question?"')
    assert isinstance(message.form, Form)
    assert (message.form.form_id, message.form.conversation) == ("form:poll", "demo")
    assert message.form.title == "New poll"
    assert [f.name for f in message.form.fields] == [
        "question",
        "options",
        "closes_on",
        "closes_at",
        "settings",
    ]
    assert destination.user_id == "ana" and message.ephemeral
    [typed] = await harness.say('/poll "Q?"', user="ana")
    assert harness.messenger.sent[-1][1].form is None  # arguments given: no form
    assert typed.startswith("A poll needs at least 2 options")


async def test_a_member_is_not_offered_a_moderators_form(harness: Harness) -> None:
    await harness.community()
    [refused] = await harness.say("/webinar add", user="bea")
    assert refused.startswith("Sorry, /webinar add is for the moderator role or above,")
    assert harness.messenger.sent[-1][1].form is None


async def test_a_submitted_poll_form_creates_the_poll(harness: Harness) -> None:
    await harness.community()
    fields = {"question": "Lunch or dinner?", "options": "Lunch\nDinner", "settings": []}
    [created] = await harness.dispatch(submit(harness, "ana", "poll", fields))
    assert created.startswith("La encuesta #1 está publicada.")
    await harness.app.dispatcher.dispatch_due()
    posted = harness.messenger.sent[-1][1]
    assert [[b.label for b in row] for row in posted.buttons] == [["Lunch"], ["Dinner"]]
    async with harness.app.uow_factory() as uow:
        community = await harness.community()
        poll = await uow.repo(PollRepository).latest_open(community.id)
    assert poll is not None and poll.question == "Lunch or dinner?"


async def test_a_bad_submission_gets_the_localized_error_of_the_text_command(
    harness: Harness,
) -> None:
    await harness.community()
    [from_form] = await harness.dispatch(
        submit(harness, "ana", "poll", {"question": "Only one?", "options": "Yes"})
    )
    [from_text] = await harness.say('/poll "Only one?" Yes', user="ana", locale="es")
    assert from_form == from_text
    assert from_form.startswith("Una encuesta necesita al menos 2 opciones")


async def test_a_submitted_form_goes_through_the_commands_role_check(harness: Harness) -> None:
    await harness.community()
    fields = {"title": "Agua", "date": "2026-12-03", "time": "15:00", "timezone": ZONE}
    [refused] = await harness.dispatch(submit(harness, "bea", "webinar.add", fields))
    await harness.grant("mod", Role.MODERATOR)
    [accepted] = await harness.dispatch(submit(harness, "mod", "webinar.add", fields))
    assert refused == CATALOGUE.text(
        "es",
        "errors.not_allowed",
        command="webinar add",
        role=CATALOGUE.text("es", "core.roles.moderator"),
        yours=CATALOGUE.text("es", "core.roles.member"),
    )
    assert accepted.startswith("El webinario #1 está anunciado.")
    async with harness.app.uow_factory() as uow:
        assert await uow.repo(WebinarRepository).get(2) is None  # only the moderator's


async def test_an_unknown_or_unreadable_form_is_a_stale_button(harness: Harness) -> None:
    await harness.community()
    [unknown] = await harness.dispatch(submit(harness, "ana", "lang", {"language": "es"}))
    stale = submit(harness, "ana", "poll", {})
    [unreadable] = await harness.dispatch(
        ButtonPressed(stale.origin, stale.action, "not json at all")
    )
    assert unknown == CATALOGUE.text("es", "errors.stale_button")
    assert unreadable.startswith(CATALOGUE.text("es", "polls.errors.no_question"))


async def test_a_group_only_form_is_neither_offered_nor_run_in_a_direct_chat(
    harness: Harness,
) -> None:
    await harness.community()
    await harness.say("hola", user="ana")  # privately, Ana's community is the demo one
    privately = submit(harness, "ana", "poll", {"question": "Q?", "options": "A\nB"})
    privately = ButtonPressed(
        replace(privately.origin, chat_id="ana", is_direct=True), privately.action, privately.value
    )
    [refused] = await harness.dispatch(privately)
    assert refused == CATALOGUE.text("es", "errors.needs_community")
    [usage] = await harness.dispatch(CommandInvoked(privately.origin, "poll", ""))
    assert usage.startswith("Falta algo")
    assert harness.messenger.sent[-1][1].form is None
    async with harness.app.uow_factory() as uow:
        community = await harness.community()
        assert await uow.repo(PollRepository).latest_open(community.id) is None
