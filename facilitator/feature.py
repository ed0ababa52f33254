"""A feature's one declaration: what it adds to the engine, listed once in `bootstrap.FEATURES`.

A feature is a folder under `facilitator/features/`. Its `feature.py` declares a `Feature`:
the commands (projected to /help, Telegram menus and the Slack manifest without building
anything), the repositories it stores through (its Protocol and SQL class, handed out by
`UnitOfWork.repo`), its prompt files, and a `setup` that the composition root runs once to
build its service and return what it plugs into the engine: button handlers, event hooks,
what the core asks of it (a question's language, whether a reply answers), jobs and
schedules. Its `personal_data` says what it stores about a person and how `/mydata` hands that
out and `/forgetme` erases it (the privacy feature runs every feature's hooks). The engine
never imports a feature; it knows one only by what its setup returned."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from facilitator.commands.spec import CommandSpec
from facilitator.context import (
    ButtonHandler,
    EventHook,
    LanguageGuesser,
    MessageClaim,
    MessageHook,
    NotAnAnswer,
    PollVoteHandler,
    Reply,
    Services,
)
from facilitator.delivery.dispatcher import Dispatcher
from facilitator.domain.model import DataSubject, Platform
from facilitator.ports import Messenger, UnitOfWork, UnitOfWorkFactory
from facilitator.scheduling import CronSource, IntervalJob
from facilitator.settings import Settings


@dataclass(frozen=True)
class Wiring:
    """What a feature's setup may use, built once by the composition root."""

    settings: Settings
    services: Services
    uow_factory: UnitOfWorkFactory
    # Sends replies after a job's commit (each to its platform's messenger).
    send: Callable[[Sequence[Reply]], Awaitable[None]]
    # The platforms' messengers, filled in as adapters attach.
    messengers: Mapping[Platform, Messenger]
    dispatcher: Dispatcher
    # Every feature, in bootstrap's order: for a feature that works across them (privacy).
    features: Sequence[Feature] = ()


@dataclass(frozen=True)
class Installed:
    """What a feature's setup plugs into the engine."""

    # The feature's service, for other features and the command line (`Services.feature`).
    service: object | None = None
    buttons: Mapping[str, ButtonHandler] = field(default_factory=dict)
    message_hooks: Sequence[MessageHook] = ()
    # Run before the message hooks; one that takes the message ends its handling.
    message_claims: Sequence[MessageClaim] = ()
    event_hooks: Sequence[EventHook] = ()
    poll_votes: PollVoteHandler | None = None
    # How the core tells the language of a question it stores (one feature provides it).
    guess_language: LanguageGuesser | None = None
    # Replies to a question that the core must not count as answers.
    not_answers: Sequence[NotAnAnswer] = ()
    jobs: Sequence[IntervalJob] = ()
    schedules: Sequence[CronSource] = ()


@dataclass(frozen=True)
class PersonalData:
    """A feature's part in `/mydata` and `/forgetme`.

    `tables` names every table of the feature with a column that refers to a person or holds
    what a member wrote (tests/unit/test_personal_data.py fails on such a table that no
    feature names). `export` returns that data as plain JSON-ready sections; `forget` erases
    it, or removes the person from rows the community keeps, and counts what it erased."""

    tables: tuple[str, ...]
    export: Callable[[UnitOfWork, DataSubject], Awaitable[Mapping[str, Any]]]
    forget: Callable[[UnitOfWork, DataSubject], Awaitable[Mapping[str, int]]]


def _nothing(wiring: Wiring) -> Installed:
    return Installed()


@dataclass(frozen=True)
class Feature:
    name: str
    commands: Sequence[CommandSpec] = ()
    # The feature's repository Protocol -> its SQL class (made with the unit's session).
    repositories: Mapping[type[Any], Callable[[Any], object]] = field(default_factory=dict)
    # Its files under prompts/<locale>/.
    prompts: Sequence[str] = ()
    setup: Callable[[Wiring], Installed] = _nothing
    personal_data: PersonalData | None = None
