"""Reports: a member replies /report to a message; the moderators (or, about a moderator, the
coordinators) hear of it privately, the reported member never learns who; moderators list
and resolve open reports, and the message's words are kept only while a report is open."""

from __future__ import annotations

from facilitator.domain.model import DataSubject, Platform, Role
from facilitator.domain.outbox import OutboxStatus
from facilitator.features.reports.commands import (
    PER_DAY,
    REPORT_KIND,
    REPORTER_KIND,
    RESOLVE_ACTION,
)
from facilitator.features.reports.domain import Report, ReportStatus
from facilitator.features.reports.feature import EXPIRY_JOB
from facilitator.features.reports.ports import ReportRepository
from facilitator.markup import Style
from tests.conftest import Harness

OFFENSIVE = "Anyone who disagrees with me is an idiot."


async def notices(harness: Harness, kind: str = REPORT_KIND) -> list[tuple[str, str]]:
    """(recipient, text) of the queued private messages of a kind, oldest first."""
    async with harness.app.uow_factory() as uow:
        rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
    found = [r for r in rows if r.kind == kind and r.destination.is_direct]
    return [
        (r.destination.chat_id, r.message.body.plain()) for r in sorted(found, key=lambda r: r.id)
    ]


async def report(harness: Harness, line: str, user: str, reply_to: str) -> str:
    """Report a message; what the reporter was told privately."""
    assert await harness.say(line, user=user, reply_to=reply_to) == []
    return (await notices(harness, REPORTER_KIND))[-1][1]


async def press(harness: Harness, user: str, action: str, value: str) -> list[str]:
    harness.seq += 1
    before = len(harness.messenger.sent)
    payload = (
        f'{{"kind": "button", "action": "{action}", "value": "{value}", "id": "b:{harness.seq}",'
        f' "user_id": "{user}", "locale": "en", "at": "{harness.clock.now().isoformat()}"}}'
    )
    await harness.app.inbox.accept(Platform.CONSOLE, f"b:{harness.seq}", payload, "demo")
    await harness.app.inbox.process_pending()
    return [m.body.plain() for _, m in harness.messenger.sent[before:]]


async def reports(harness: Harness) -> list[Report]:
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        repo = uow.repo(ReportRepository)
        found = await repo.open_reports(community.id, for_coordinators=True, limit=100)
        closed = [await repo.get(i) for i in range(1, 20)]
    known = {r.id: r for r in found}
    known.update({r.id: r for r in closed if r is not None})
    return [known[i] for i in sorted(i for i in known if i is not None)]


def recipients(harness: Harness) -> set[str]:
    return {d.chat_id for d, _ in harness.messenger.sent}


async def test_a_report_reaches_the_moderators_privately_and_not_the_reported_member(
    harness: Harness,
) -> None:
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(OFFENSIVE, user="carla")
    offensive = harness.last_id
    harness.messenger.clear()
    # Nothing is said in the group; Zoe is thanked in her private chat.
    assert await harness.say("/report insulting", user="zoe", reply_to=offensive) == []
    assert await notices(harness, REPORTER_KIND) == [
        (
            "zoe",
            "Thank you for telling us. The moderators will look at it; the person who wrote "
            "it does not learn who reported it.",
        )
    ]
    [(to, text)] = await notices(harness)
    assert to == "bruno"
    assert "A message was reported in Demo network" in text
    assert f"By Carla: “{OFFENSIVE}”" in text and "Reason: insulting" in text
    assert "Zoe" not in text and "zoe" not in text
    # Reporting it again files nothing new.
    again = await report(harness, "/report", "zoe", offensive)
    assert again == "You reported that message already: the moderators have it."
    assert len(await notices(harness)) == 1


async def test_report_without_a_replied_message_explains_how(harness: Harness) -> None:
    await harness.community()
    [how] = await harness.say("/report spam", user="zoe")
    assert how.startswith("Reply /report to the message you want the moderators to look at")
    assert await notices(harness) == []


async def test_a_report_about_a_moderator_goes_to_the_coordinators(harness: Harness) -> None:
    await harness.grant("bruno", Role.MODERATOR)
    await harness.grant("mona", Role.MODERATOR)
    await harness.grant("cora", Role.COORDINATOR)
    await harness.say(OFFENSIVE, user="bruno")
    await harness.say("/report abuse of the role", user="zoe", reply_to=harness.last_id)
    [(to, text)] = await notices(harness)
    assert to == "cora" and "A moderator's message was reported" in text
    # Another moderator does not see it; the coordinator does, and resolves it.
    [none] = await harness.say("/reports", user="mona")
    assert none == "No open reports here."
    [listed] = await harness.say("/reports", user="cora")
    assert "abuse of the role" in listed
    [refused] = await press(harness, "mona", RESOLVE_ACTION, "1")
    assert refused.startswith("Only the community's moderators judge reports")
    [done] = await press(harness, "cora", RESOLVE_ACTION, "1")
    assert done.startswith("Report #1 is resolved")


async def test_a_member_files_a_limited_number_of_reports_a_day(harness: Harness) -> None:
    await harness.grant("bruno", Role.MODERATOR)
    said = []
    for n in range(PER_DAY + 1):
        await harness.say(f"Spam number {n}", user="carla")
        said.append(harness.last_id)
    for line in said[:PER_DAY]:
        assert (await report(harness, "/report", "zoe", line)).startswith("Thank you")
    limited = await report(harness, "/report", "zoe", said[-1])
    assert limited.startswith(f"You have sent {PER_DAY} reports today")
    assert len(await notices(harness)) == PER_DAY
    harness.clock.advance(days=1, seconds=1)
    assert (await report(harness, "/report", "zoe", said[-1])).startswith("Thank you")


async def test_moderators_list_and_resolve_reports_and_the_words_are_cleared(
    harness: Harness,
) -> None:
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(OFFENSIVE, user="carla")
    await harness.say("/report rude", user="zoe", reply_to=harness.last_id)
    [refused] = await harness.say("/reports", user="zoe")
    assert refused.startswith("Sorry, /reports is for the moderator role")
    [listed] = await harness.say("/reports", user="bruno")
    assert listed.startswith("Open reports: 1")
    assert f"#1 by Carla: “{OFFENSIVE}” (reason: rude)" in listed
    [forged] = await press(harness, "bruno", RESOLVE_ACTION, "1; DROP TABLE reports")
    assert forged.startswith("That button no longer does anything.")
    [missing] = await press(harness, "bruno", RESOLVE_ACTION, "99")
    assert missing.startswith("That button no longer does anything.")
    [not_theirs] = await press(harness, "zoe", RESOLVE_ACTION, "1")
    assert not_theirs.startswith("Only the community's moderators judge reports")
    [done] = await press(harness, "bruno", RESOLVE_ACTION, "1")
    assert done == "Report #1 is resolved; the reported message's words are no longer kept."
    [report] = await reports(harness)
    assert report.status is ReportStatus.RESOLVED and report.text is None
    assert report.reason == "rude"
    [twice] = await press(harness, "bruno", RESOLVE_ACTION, "1")
    assert twice == "Report #1 is closed already."
    [none] = await harness.say("/reports", user="bruno")
    assert none == "No open reports here."


async def test_unresolved_reports_expire_after_thirty_days(harness: Harness) -> None:
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(OFFENSIVE, user="carla")
    await harness.say("/report", user="zoe", reply_to=harness.last_id)
    harness.clock.advance(days=29)
    assert await harness.job(EXPIRY_JOB) == 0
    harness.clock.advance(days=1, seconds=1)
    assert await harness.job(EXPIRY_JOB) == 1
    [report] = await reports(harness)
    assert report.status is ReportStatus.EXPIRED and report.text is None
    [none] = await harness.say("/reports", user="bruno")
    assert none == "No open reports here."


async def test_hostile_text_in_a_reason_is_shown_literally(harness: Harness) -> None:
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say("<b>**hi**</b> & @here", user="carla")
    hostile = "<script>*bold* _x_ [link](http://evil) @channel & `code`"
    await harness.say(f"/report {hostile}", user="zoe", reply_to=harness.last_id)
    [(_, text)] = await notices(harness)
    assert f"Reason: {hostile}" in text
    assert "By Carla: “<b>**hi**</b> & @here”" in text
    async with harness.app.uow_factory() as uow:
        [row] = [
            r
            for r in await uow.outbox.listing(None, list(OutboxStatus), 10)
            if r.kind == REPORT_KIND
        ]
    # The reason is one plain span of text, not markup.
    spans = [span for block in row.message.body.blocks for span in block.spans]
    assert any(hostile in s.text and s.style is Style.PLAIN for s in spans)


async def test_forgetting_either_person_removes_them_from_the_report(harness: Harness) -> None:
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(OFFENSIVE, user="carla")
    await harness.say("/report rude", user="zoe", reply_to=harness.last_id)
    async with harness.app.uow_factory() as uow:
        carla = await uow.members.identity(Platform.CONSOLE, "carla")
        zoe = await uow.members.identity(Platform.CONSOLE, "zoe")
        assert carla is not None and zoe is not None
        repo = uow.repo(ReportRepository)
        theirs = await repo.export_person(DataSubject(carla.person_id, (carla.identity_id,)))
        # The reported member's export holds their message, not who reported it or why.
        [about] = theirs["reports_about_you"]
        assert about["text"] == OFFENSIVE and "reason" not in about
        assert theirs["reports_filed"] == []
        await repo.forget_person(DataSubject(carla.person_id, (carla.identity_id,)))
        await repo.forget_person(DataSubject(zoe.person_id, (zoe.identity_id,)))
        await uow.commit()
    [report] = await reports(harness)
    assert report.reported_id is None and report.text is None
    assert report.reporter_id is None and report.reason is None


async def test_repeating_a_report_past_the_limit_is_answered_once_a_day(harness: Harness) -> None:
    """A member hammering /report past the limit (or on the same message) is told once a
    day, not once a try: each try would otherwise queue a private message."""
    await harness.grant("bruno", Role.MODERATOR)
    said = []
    for n in range(PER_DAY + 1):
        await harness.say(f"Spam number {n}", user="carla")
        said.append(harness.last_id)
    for line in said[:PER_DAY]:
        await report(harness, "/report", "zoe", line)
    told = len(await notices(harness, REPORTER_KIND))
    for _ in range(5):
        assert await harness.say("/report", user="zoe", reply_to=said[-1]) == []
        assert await harness.say("/report", user="zoe", reply_to=said[0]) == []
    assert len(await notices(harness, REPORTER_KIND)) == told + 2  # the limit, and "already"
    assert len(await notices(harness)) == PER_DAY
