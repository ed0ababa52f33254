"""A number typed by a member or carried by a button is an id only if it is plain ASCII digits
within the database's range: `"²".isdigit()` is true but `int("²")` fails, and an id past a
64-bit integer fails the query. Either way the member hears that nothing matched."""

from __future__ import annotations

import pytest

from facilitator.commands.spec import parse_id
from facilitator.domain.events import ButtonPressed, Origin
from facilitator.domain.model import Platform, PlatformUser, Role
from tests.conftest import Harness

NOT_IDS = ["\u2070", "\u00b2", "\u0661", "9223372036854775808", "1" * 40, "-1", " 1", ""]


@pytest.mark.parametrize("text", NOT_IDS)
def test_only_plain_digits_within_range_are_ids(text: str) -> None:
    assert parse_id(text) is None


def test_plain_digits_are_ids() -> None:
    assert [parse_id(t) for t in ("0", "7", "042", "999999999")] == [0, 7, 42, 999_999_999]


@pytest.mark.parametrize("value", ["\u2070", "\u2070:0", "9223372036854775808:going", "1:\u00b2"])
async def test_a_button_naming_no_real_object_is_stale(harness: Harness, value: str) -> None:
    await harness.grant("olga", Role.ADMIN)
    await harness.say('/poll "Lunch?" Yes No', user="olga")
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"press:{value}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, "carla", "Carla", "en"),
        occurred_at=harness.clock.now(),
    )
    stale = harness.app.services.catalogue.render("en", "errors.stale_button").plain()

    for action in sorted(harness.app.services.buttons):
        assert await harness.dispatch(ButtonPressed(origin, action, value)) == [stale], action


async def test_a_nudge_number_that_is_not_an_id_is_unknown(harness: Harness) -> None:
    await harness.grant("olga", Role.ADMIN)

    [reply] = await harness.say("/nudges approve \u2070", user="olga")

    assert reply.startswith("There is no nudge #\u2070")
