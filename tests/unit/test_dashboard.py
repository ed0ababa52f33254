"""The dashboard's sign-in from the chat and its security: one-time links, sessions, CSRF,
role checks on every request, escaping; and the overview's figures against the weekly
summary's own for the same week. Real HTTP through the ASGI app (httpx), real database."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from adapters.web import routes
from adapters.web.app import COOKIE
from facilitator.domain.model import Platform, Role
from facilitator.features.dashboard.overview import TRENDS
from facilitator.features.participation.summary import IsoWeek, figures_for
from tests.conftest import FrozenClock, Harness, harness_on, sqlite_with_tables

SECRET = "a-test-secret-for-the-dashboard"
HOST = "dash.test"


@dataclass
class Site:
    harness: Harness
    http: httpx.AsyncClient

    async def link(self, user: str = "ana") -> str:
        """What `/dashboard` sends `user` privately: the link's token."""
        [reply] = await self.harness.say("/dashboard", user=user)
        found = re.search(r"/dashboard/signin\?t=([\w-]+)", reply)
        assert found, reply
        destination, message = self.harness.messenger.sent[-1]
        assert message.preview is False  # no platform may fetch it
        # For that member only (the console shows a private reply to them in the chat).
        assert destination.user_id == user and message.ephemeral
        return found.group(1)

    async def sign_in(self, token: str, **headers: str) -> httpx.Response:
        return await self.http.post(
            "/dashboard/signin", data={"t": token}, headers=headers, follow_redirects=False
        )

    def csrf(self, page: str) -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert found, page
        return found.group(1)


@pytest_asyncio.fixture
async def site(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Site]:
    url = sqlite_with_tables(tmp_path / "dash.db")
    async with harness_on(
        url, clock, dashboard_secret=SECRET, public_url=f"https://{HOST}"
    ) as harness:
        await harness.community()
        await harness.grant("ana", Role.COORDINATOR)
        await harness.say("hello", user="ana")
        await harness.say("hi", user="bea")
        app = Starlette(routes=routes(harness.app.settings, harness.app))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{HOST}") as http:
            yield Site(harness, http)


async def test_a_coordinator_signs_in_with_a_link_used_once(site: Site) -> None:
    token = await site.link()
    confirm = await site.http.get(f"/dashboard/signin?t={token}")
    assert confirm.status_code == 200
    assert confirm.headers["referrer-policy"] == "no-referrer"
    assert f'value="{token}"' in confirm.text  # the GET only asks: the link is unused
    signed = await site.sign_in(token)
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard/"
    cookie = signed.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=lax", "Secure", "Path=/dashboard", "Max-Age="):
        assert attribute in cookie, cookie
    overview = await site.http.get("/dashboard/")
    assert overview.status_code == 200
    assert "Demo network: dashboard" in overview.text
    # Used once: the same link again, even from another browser, is refused.
    again = await site.sign_in(token)
    assert again.status_code == 403
    assert "used already or has expired" in again.text
    # The member is told in the chat that someone signed in.
    sent = await site.harness.app.dispatcher.dispatch_due()
    assert sent >= 1
    assert any(
        "signed in to the dashboard of Demo network" in m.body.plain()
        for d, m in site.harness.messenger.sent
        if d.chat_id == "ana"
    )


async def test_an_expired_or_unknown_link_is_refused(site: Site) -> None:
    token = await site.link()
    site.harness.clock.advance(minutes=16)
    assert (await site.sign_in(token)).status_code == 403
    assert (await site.sign_in("not-a-token")).status_code == 403
    assert (await site.sign_in("x" * 500)).status_code == 403
    assert (await site.http.get("/dashboard/signin")).status_code == 400


async def test_members_and_moderators_get_no_link(site: Site) -> None:
    [refused] = await site.harness.say("/dashboard", user="bea")
    assert "/dashboard/signin" not in refused
    await site.harness.grant("carl", Role.MODERATOR)
    said = await site.harness.say("/dashboard", user="carl")
    assert all("/dashboard/signin" not in line for line in said)


async def test_no_page_without_a_session(site: Site) -> None:
    for path in ("/dashboard/", "/dashboard/overview.csv"):
        response = await site.http.get(path)
        assert response.status_code == 401, path
        assert "Send /dashboard" in response.text
    # A cookie that is not ours, or ours but for no session, opens nothing.
    site.http.cookies.set(COOKIE, "forged.value.here", domain=HOST, path="/dashboard")
    assert (await site.http.get("/dashboard/")).status_code == 401
    from itsdangerous import URLSafeTimedSerializer

    made_up = URLSafeTimedSerializer(SECRET, salt="facilitator-dashboard").dumps("invented-id")
    site.http.cookies.set(COOKIE, made_up, domain=HOST, path="/dashboard")
    assert (await site.http.get("/dashboard/")).status_code == 401


async def test_a_session_fixed_before_sign_in_is_replaced(site: Site) -> None:
    """Session fixation: whatever cookie a browser carried before, signing in issues a new
    one, and the planted value never opens a page."""
    planted = "attacker-chosen"
    site.http.cookies.set(COOKIE, planted, domain=HOST, path="/dashboard")
    signed = await site.sign_in(await site.link())
    new = signed.cookies.get(COOKIE)
    assert new and new != planted
    async with httpx.AsyncClient(
        transport=site.http._transport, base_url=f"https://{HOST}"
    ) as attacker:
        attacker.cookies.set(COOKIE, planted, domain=HOST, path="/dashboard")
        assert (await attacker.get("/dashboard/")).status_code == 401


async def test_logout_needs_the_csrf_token_and_ends_the_session(site: Site) -> None:
    await site.sign_in(await site.link())
    page = (await site.http.get("/dashboard/")).text
    csrf = site.csrf(page)
    assert (await site.http.post("/dashboard/logout", data={})).status_code == 403
    assert (await site.http.post("/dashboard/logout", data={"csrf": "0" * 64})).status_code == 403
    foreign = await site.http.post(
        "/dashboard/logout", data={"csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert (await site.http.get("/dashboard/")).status_code == 200  # still signed in
    done = await site.http.post("/dashboard/logout", data={"csrf": csrf})
    assert done.status_code == 200 and "signed out" in done.text
    assert (await site.http.get("/dashboard/")).status_code == 401


async def test_a_sign_in_posted_from_another_site_is_refused(site: Site) -> None:
    token = await site.link()
    refused = await site.sign_in(token, origin="https://evil.example")
    assert refused.status_code == 403
    assert (await site.sign_in(token)).status_code == 303  # the link was not used up


async def test_the_role_is_checked_again_on_every_request(site: Site) -> None:
    await site.sign_in(await site.link())
    assert (await site.http.get("/dashboard/")).status_code == 200
    await site.harness.app.roles.revoke(Platform.CONSOLE, "ana", "demo")
    assert (await site.http.get("/dashboard/")).status_code == 401


async def test_every_value_is_escaped(site: Site) -> None:
    async with site.harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        await uow.communities.update(
            replace(community, title='<script>alert("x")</script> & $x=1')
        )
        await uow.commit()
    await site.sign_in(await site.link())
    page = (await site.http.get("/dashboard/")).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; $x=1" in page


async def test_the_link_is_never_logged(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        token = await site.link()
        await site.http.get(f"/dashboard/signin?t={token}")
        signed = await site.sign_in(token)
        await site.http.get("/dashboard/")
    cookie = signed.cookies.get(COOKIE) or ""
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert token not in logged
    assert cookie and cookie not in logged


async def test_the_overview_shows_the_weekly_summarys_figures(site: Site) -> None:
    harness = site.harness
    for n in range(3):
        await harness.say(f"Who has the agenda {n}?", user="bea")
        await harness.say("Here it is", user="ana", reply_to=harness.last_id)
    harness.clock.advance(days=7)
    await site.sign_in(await site.link())
    csv_text = (await site.http.get("/dashboard/overview.csv")).text
    lines = [line.split(",") for line in csv_text.strip().splitlines()]
    assert lines[0] == ["week", *TRENDS]
    assert len(lines) == 13  # twelve weeks
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_key("demo")
        assert community is not None
        week = IsoWeek.last_complete(harness.clock.now(), community.timezone)
        start, end = week.bounds(community.timezone)
        figures = await figures_for(uow, community, start, end)
    row = dict(zip(lines[0], next(line for line in lines if line[0] == str(week)), strict=True))
    assert int(row["messages"]) == figures.messages > 0
    assert int(row["questions_asked"]) == figures.questions_asked == 3
    assert int(row["questions_answered"]) == figures.questions_answered == 3
    assert int(row["active_members"]) == figures.active_members == 2
    page = (await site.http.get("/dashboard/")).text
    assert f'<tr data-week="{week}">' in page
    assert f"<title>{week}: 3</title>" in page  # the chart's point carries the value


async def test_the_dashboard_command_says_when_it_is_off(
    tmp_path: Path, clock: FrozenClock
) -> None:
    async with harness_on(sqlite_with_tables(tmp_path / "off.db"), clock) as harness:
        await harness.grant("ana", Role.COORDINATOR)
        [said] = await harness.say("/dashboard", user="ana")
    assert "FACILITATOR_DASHBOARD_SECRET" in said


async def test_a_post_the_browser_marks_as_cross_site_is_refused(site: Site) -> None:
    token = await site.link()
    refused = await site.sign_in(token, **{"sec-fetch-site": "cross-site"})
    assert refused.status_code == 403
    # What Chromium sends with a form of a no-referrer page: Origin "null", same-origin.
    accepted = await site.sign_in(token, **{"origin": "null", "sec-fetch-site": "same-origin"})
    assert accepted.status_code == 303


async def test_the_members_page_never_shows_members_who_opted_out(site: Site) -> None:
    harness = site.harness
    await harness.say("/optout tracking", user="olga")
    await harness.say("I joined a while ago", user="nina")
    await site.sign_in(await site.link())
    page = await site.http.get("/dashboard/members")
    assert page.status_code == 200
    assert "Newcomers of the last four weeks" in page.text
    assert "Nina" in page.text  # a newcomer who did not opt out
    assert "Olga" not in page.text
    csv_text = (await site.http.get("/dashboard/members.csv?table=newcomers")).text
    rows = csv_text.strip().splitlines()
    assert rows[0] == "name,joined,welcomed,introduced"
    assert not any(row.startswith("Olga") for row in rows)
    assert (await site.http.get("/dashboard/members.csv?table=nope")).status_code == 404


async def test_the_knowledge_page_lists_open_gaps_and_its_csv_is_neutralised(
    site: Site,
) -> None:
    harness = site.harness
    await harness.say('/faq =HYPERLINK("http://evil") zebra budget', user="bea")
    await site.sign_in(await site.link())
    page = await site.http.get("/dashboard/knowledge")
    assert page.status_code == 200
    assert "zebra budget" in page.text
    assert "=HYPERLINK(&#34;http://evil&#34;)" in page.text  # escaped, as text
    csv_text = (await site.http.get("/dashboard/knowledge.csv?table=gaps")).text
    [header, row] = csv_text.strip().splitlines()[:2]
    assert header == "id,question,asked,first_asked"
    assert "'=HYPERLINK" in row  # a formula is never a formula in a spreadsheet


async def test_table_pages_need_a_session_too(site: Site) -> None:
    for path in (
        "/dashboard/members",
        "/dashboard/knowledge",
        "/dashboard/knowledge.csv?table=gaps",
    ):
        assert (await site.http.get(path)).status_code == 401, path


async def _open_gap(site: Site) -> str:
    await site.harness.say("/faq zebra budget for the llama festival", user="bea")
    await site.sign_in(await site.link())
    page = (await site.http.get("/dashboard/knowledge")).text
    found = re.search(r'<tr data-id="(\d+)"><td data-column="id">', page)
    assert found, page
    return found.group(1)


async def test_dismissing_a_gap_on_the_page_runs_the_chat_command(site: Site) -> None:
    gap_id = await _open_gap(site)
    page = (await site.http.get("/dashboard/knowledge")).text
    csrf = site.csrf(page)
    [before] = await site.harness.say("/gaps", user="ana")
    assert "zebra budget" in before
    done = await site.http.post(
        "/dashboard/knowledge/act",
        data={"csrf": csrf, "action": "gap_dismiss", "id": gap_id},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/dashboard/knowledge?done=1"
    # The command's own answer went to the coordinator, as when typed in the chat.
    assert any(
        "ana" in (d.user_id, d.chat_id) and "dismissed" in m.body.plain().lower()
        for d, m in site.harness.messenger.sent[-3:]
    ), [m.body.plain() for _, m in site.harness.messenger.sent[-3:]]
    [after] = await site.harness.say("/gaps", user="ana")
    assert "zebra budget" not in after
    assert "zebra budget" not in (await site.http.get("/dashboard/knowledge")).text
    # It went through the inbox like a chat command: stored, and handled.
    async with site.harness.app.uow_factory() as uow:
        session = uow.session  # type: ignore[attr-defined]
        from sqlalchemy import text

        rows = (
            await session.execute(
                text("SELECT status FROM inbox WHERE delivery_id LIKE 'surface:web:%'")
            )
        ).all()
    assert [row[0] for row in rows] == ["done"]


async def test_an_action_without_its_csrf_token_or_with_bad_input_does_nothing(
    site: Site,
) -> None:
    gap_id = await _open_gap(site)
    csrf = site.csrf((await site.http.get("/dashboard/knowledge")).text)
    refused = [
        await site.http.post("/dashboard/knowledge/act", data=data)
        for data in (
            {"action": "gap_dismiss", "id": gap_id},
            {"csrf": "f" * 64, "action": "gap_dismiss", "id": gap_id},
        )
    ]
    assert [r.status_code for r in refused] == [403, 403]
    bad = [
        await site.http.post("/dashboard/knowledge/act", data=data)
        for data in (
            {"csrf": csrf, "action": "drop_tables", "id": gap_id},
            {"csrf": csrf, "action": "gap_dismiss", "id": "1; /role @bea admin"},
            {"csrf": csrf, "action": "gap_link", "id": gap_id, "value": "²"},
            {"csrf": csrf, "action": "gap_assign", "id": gap_id, "value": "@bea admin"},
        )
    ]
    assert [r.status_code for r in bad] == [400, 400, 400, 400]
    [still] = await site.harness.say("/gaps", user="ana")
    assert "zebra budget" in still


async def test_an_action_after_losing_the_role_is_refused(site: Site) -> None:
    gap_id = await _open_gap(site)
    csrf = site.csrf((await site.http.get("/dashboard/knowledge")).text)
    await site.harness.app.roles.revoke(Platform.CONSOLE, "ana", "demo")
    refused = await site.http.post(
        "/dashboard/knowledge/act", data={"csrf": csrf, "action": "gap_dismiss", "id": gap_id}
    )
    assert refused.status_code == 401
    await site.harness.grant("carl", Role.MODERATOR)
    [still] = await site.harness.say("/gaps", user="carl")
    assert "zebra budget" in still


async def test_the_events_page_shows_counts_never_voters(site: Site) -> None:
    harness = site.harness
    await harness.grant("olga", Role.MODERATOR)
    await harness.say('/poll "Lunch <b>or</b> =dinner?" Lunch Dinner', user="olga")
    from facilitator.domain.events import ButtonPressed, Origin
    from facilitator.domain.model import PlatformUser

    for n, (who, option) in enumerate((("bea", "0"), ("carl", "1"), ("dora", "1"))):
        await harness.dispatch(
            ButtonPressed(
                Origin(
                    platform=Platform.CONSOLE,
                    event_id=f"vote:{n}",
                    chat_id="demo",
                    user=PlatformUser(Platform.CONSOLE, who, who.title()),
                    occurred_at=harness.clock.now(),
                ),
                "poll_vote",
                f"1:{option}",
            )
        )
    await site.sign_in(await site.link())
    page = (await site.http.get("/dashboard/events")).text
    assert "Lunch &lt;b&gt;or&lt;/b&gt; =dinner?" in page
    assert "Lunch: 1 · Dinner: 2" in page
    for voter in ("Bea", "Carl", "Dora"):
        assert voter not in page
    csv_text = (await site.http.get("/dashboard/events.csv?table=polls")).text
    [header, row] = csv_text.strip().splitlines()
    assert header == "id,question,status,cast,results"
    assert row.startswith("1,Lunch <b>or</b> =dinner?,open,3,")


async def test_the_network_page_is_for_admins_only(site: Site) -> None:
    harness = site.harness
    await site.sign_in(await site.link())
    refused = await site.http.get("/dashboard/network")
    assert refused.status_code == 403 and "for the installation&#39;s admins" in refused.text
    assert "/dashboard/network" not in (await site.http.get("/dashboard/")).text
    assert (await site.http.get("/dashboard/network.csv?table=communities")).status_code == 403
    await harness.grant("root", Role.ADMIN)
    await harness.say("hello", user="root")
    async with httpx.AsyncClient(
        transport=site.http._transport, base_url=f"https://{HOST}"
    ) as admin:
        [reply] = await harness.say("/dashboard", user="root")
        token = re.search(r"t=([\w-]+)", reply)
        assert token
        await admin.post("/dashboard/signin", data={"t": token.group(1)})
        page = await admin.get("/dashboard/network")
        assert page.status_code == 200
        assert "Communities side by side" in page.text
        assert "Demo network" in page.text


async def test_answers_by_the_bot_are_counted_and_the_most_used_items_listed(
    site: Site,
) -> None:
    """A recount: the overview's answers by the bot and the Knowledge page's most used items
    against the stored answers."""
    from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
    from facilitator.features.knowledge.ports import KnowledgeRepository

    harness = site.harness
    demo = await harness.community()
    async with harness.app.uow_factory() as uow:
        await uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem(
                "engagement",
                ItemType.FAQ,
                "How do we measure member engagement?",
                "Count active members each week.",
                "en",
            ),
            demo.id,
            harness.clock.now(),
        )
        await uow.commit()
    for _ in range(2):
        await harness.say("/faq how do we measure member engagement?", user="bea")
    harness.clock.advance(days=7)
    await site.sign_in(await site.link())
    async with harness.app.uow_factory() as uow:
        week = IsoWeek.last_complete(harness.clock.now(), demo.timezone)
        start, end = week.bounds(demo.timezone)
        stored = await uow.repo(KnowledgeRepository).answer_counts(demo.id, start, end)
    assert sum(stored.values()) == 2
    lines = (await site.http.get("/dashboard/overview.csv")).text.strip().splitlines()
    header = lines[0].split(",")
    row = dict(
        zip(header, next(x for x in lines if x.startswith(str(week))).split(","), strict=True)
    )
    assert row["bot_answers"] == "2"
    page = (await site.http.get("/dashboard/knowledge")).text
    assert "How do we measure member engagement?" in page
    used = (await site.http.get("/dashboard/knowledge.csv?table=most_used")).text
    assert used.strip().splitlines()[1].endswith(",How do we measure member engagement?,2")


async def test_a_platform_delivery_can_never_pass_for_a_dashboard_action(site: Site) -> None:
    """Surface rows run as the member they name: the inbox refuses that id prefix from any
    platform delivery, one at a time or in a batch."""
    inbox = site.harness.app.inbox
    payload = '{"v": 1, "platform": "console", "user_id": "ana", "community": "demo"}'
    assert not await inbox.accept(Platform.CONSOLE, "surface:web:forged", payload, "x", "bea")
    stored = await inbox.accept_many(
        Platform.CONSOLE, [("surface:web:forged2", payload, "x", "bea")]
    )
    assert stored == 0


async def test_an_action_is_taken_only_on_the_page_that_draws_it(site: Site) -> None:
    await site.sign_in(await site.link())
    csrf = site.csrf((await site.http.get("/dashboard/members")).text)
    refused = await site.http.post(
        "/dashboard/members/act", data={"csrf": csrf, "action": "approve", "id": "1"}
    )
    assert refused.status_code == 400
    odd = await site.http.post(
        "/dashboard/knowledge/act",
        content=b"csrf=" + csrf.encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "content-length": "x"},
    )
    assert odd.status_code in (400, 403)  # never a 500
