"""The network as one: three communities, and what the admins' network summary says they
share (themes, unanswered questions, members active in several), each figure checked against
a recount from the stored rows (ledger, identities, persons, knowledge items and gaps) by
this file's own rules, which are the docstring of `participation/network.py` written again:

- A theme is a community's when a published item of its own repository has it, or an open
  gap of its names it (every word of the theme among the question's words); shared when two
  or more communities have it. Spellings "Water", "#water" are one theme.
- A shared unanswered question: open gaps asking the same thing in two or more communities.
- Active in several: did something in two or more communities that week; named unless
  opted out of tracking.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from facilitator.domain.events import MessageReceived, Origin
from facilitator.domain.model import Community, Platform, PlatformUser
from facilitator.features.knowledge.domain import GapStatus, ItemType, KnowledgeGap, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.participation.report import (
    Format,
    network_csv,
    network_text,
    render_network,
)
from facilitator.features.participation.summary import ACTIVE_KINDS, IsoWeek, network_summary
from facilitator.storage.engine import create_engine
from tests.conftest import Harness
from tests.unit.figures_recount import assert_figures_match, read_stored, recount

ANDES, PAMPA, COSTA = "-100401", "-100402", "-100403"
TITLES = {ANDES: "Andes water", PAMPA: "Pampa <b>climate</b>", COSTA: "Costa solar"}
HOSTILE = "=cmd|' /C calc'!A0"  # a name a spreadsheet would run
WATCHED_THEME = "$x^$ =SUM(1+1)"  # mathtext for matplotlib, a formula for a spreadsheet
ACTIVE = {kind.value for kind in ACTIVE_KINDS}


class Network:
    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.seq = itertools.count(1)

    async def say(self, user: str, name: str, chat: str, text: str) -> None:
        n = next(self.seq)
        origin = Origin(
            platform=Platform.TELEGRAM,
            event_id=f"n{n}",
            chat_id=chat,
            user=PlatformUser(Platform.TELEGRAM, user, name, "en"),
            occurred_at=self.harness.clock.now(),
            chat_title=TITLES[chat],
            message_id=str(n),
        )
        await self.harness.dispatch(MessageReceived(origin, text))

    async def private(self, user: str, name: str, text: str) -> None:
        n = next(self.seq)
        origin = Origin(
            platform=Platform.TELEGRAM,
            event_id=f"n{n}",
            chat_id=user,
            user=PlatformUser(Platform.TELEGRAM, user, name, "en"),
            occurred_at=self.harness.clock.now(),
            is_direct=True,
            message_id=str(n),
        )
        await self.harness.dispatch(MessageReceived(origin, text))

    async def communities(self) -> dict[str, Community]:
        async with self.harness.app.uow_factory() as uow:
            found = {
                chat: await uow.communities.by_chat(Platform.TELEGRAM, chat) for chat in TITLES
            }
        return {chat: c for chat, c in found.items() if c is not None}


async def _seed(harness: Harness) -> tuple[Network, dict[str, Community]]:
    net = Network(harness)
    # Ana: Andes only. Bea: Andes and Pampa. The hostile name: Pampa and Costa. Dora opted
    # out, then wrote in all three. Eli: a member of Costa who only wrote before this week
    # does not count (written at the harness's time, which is this week: so Eli writes once).
    await net.say("1", "Ana", ANDES, "hola")
    await net.say("2", "Bea", ANDES, "hi andes")
    await net.say("2", "Bea", PAMPA, "hi pampa")
    await net.say("3", HOSTILE, PAMPA, "hello")
    await net.say("3", HOSTILE, COSTA, "hello")
    await net.say("4", "Dora", ANDES, "hi")
    await net.private("4", "Dora", "/optout tracking")
    for chat in (ANDES, PAMPA, COSTA):
        await net.say("4", "Dora", chat, "still here")
    await net.say("5", "Eli", COSTA, "buenas")
    found = await net.communities()
    now = harness.clock.now()
    themes = {
        ANDES: ["Water", WATCHED_THEME, ""],
        PAMPA: ["#water", "Climate Finance"],
        COSTA: ["Solar", WATCHED_THEME],
    }
    gaps = {
        ANDES: ["Impact indicators for water?", "what do solar panels cost"],
        PAMPA: ["impact indicators for water", "How to read a balance sheet"],
        COSTA: ["How do we finance climate projects?", "Impact indicators for water?"],
    }
    async with harness.app.uow_factory() as uow:
        knowledge = uow.repo(KnowledgeRepository)
        for chat, listed in themes.items():
            for n, theme in enumerate(listed):
                await knowledge.upsert(
                    KnowledgeItem(
                        key=f"{chat}-{n}",
                        type=ItemType.FAQ,
                        title=f"Item {n}",
                        body="Answer.",
                        lang="en",
                        theme=theme,
                    ),
                    found[chat].id,
                    now,
                )
        for chat, questions in gaps.items():
            for question in questions:
                await knowledge.add_gap(KnowledgeGap(found[chat].id, question, "en", now))
        # Costa's question on indicators is answered already: closed, it is not shared.
        [closed] = [
            g for g in await knowledge.open_gaps(found[COSTA].id) if g.query.startswith("Impact")
        ]
        assert closed.id is not None
        await knowledge.settle_gaps([closed.id], GapStatus.CLOSED, now)
        await uow.commit()
    return net, found


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _key(theme: str) -> str:
    return "-".join(re.findall(r"\w+", theme.casefold()))


def _recount(database: Path, week: IsoWeek, ids: list[int]) -> dict[str, object]:
    start, end = week.bounds("UTC")
    with sqlite3.connect(database) as db:
        ledger = db.execute(
            "SELECT community_id, person_id, kind, occurred_at FROM ledger"
        ).fetchall()
        opted = {p for (p,) in db.execute("SELECT id FROM persons WHERE opted_out_tracking")}
        names = dict(db.execute("SELECT person_id, display_name FROM identities").fetchall())
        items = db.execute(
            "SELECT community_id, theme FROM knowledge_items WHERE status = 'published'"
        ).fetchall()
        gaps = db.execute(
            "SELECT community_id, query FROM knowledge_gaps WHERE status = 'open'"
        ).fetchall()
    active: dict[int, set[int]] = defaultdict(set)
    for community, person, kind, at in ledger:
        moment = datetime.fromisoformat(str(at))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        if kind in ACTIVE and start <= moment < end and community in ids:
            active[person].add(community)
    several = {p for p, where in active.items() if len(where) >= 2}
    holders: dict[str, set[int]] = defaultdict(set)
    for community, theme in items:
        if community in ids and _key(theme):
            holders[_key(theme)].add(community)
    asking: dict[str, set[int]] = defaultdict(set)
    for key in holders:
        for community, query in gaps:
            if community in ids and set(key.split("-")) <= _words(query):
                asking[key].add(community)
    themes = {
        key: (holders[key], asking[key]) for key in holders if len(holders[key] | asking[key]) >= 2
    }
    questions: dict[frozenset[str], list[int]] = defaultdict(list)
    for community, query in gaps:
        questions[frozenset(_words(query))].append(community)
    shared_questions = {w: c for w, c in questions.items() if len(set(c)) >= 2}
    return {
        "several": len(several),
        "names": sorted(names[p] for p in several if p not in opted),
        "themes": themes,
        "questions": shared_questions,
    }


async def test_the_network_summary_shares_themes_questions_and_members_as_the_rows_say(
    harness: Harness, tmp_path: Path
) -> None:
    _, found = await _seed(harness)
    communities = [found[ANDES], found[PAMPA], found[COSTA]]
    ids = [c.id for c in communities]
    week = IsoWeek.containing(harness.clock.now().date())
    async with harness.app.uow_factory() as uow:
        summary = await network_summary(uow, communities, week)
    expected = _recount(tmp_path / "core.db", week, ids)
    # Each community's own line, and the totals, by the weekly summary's recount.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'core.db'}")
    try:
        stored = await read_stored(engine)
    finally:
        await engine.dispose()
    for line in summary.lines:
        counted = recount(stored, line.community.id, "UTC", week.year, week.week)
        assert_figures_match(line.figures, counted, line.community.key)
        assert line.figures.active_members == 2  # Dora, who opted out, in none

    # Members active in several: Bea and the hostile name (Dora opted out: in no figure).
    assert summary.in_several == expected["several"] == 2
    assert list(summary.several_names) == expected["names"] == sorted(["Bea", HOSTILE])
    # Themes: water (two repositories and two open questions), the hostile one (two
    # repositories), climate finance (Pampa's repository, Costa's open question), solar
    # (Costa's repository, Andes's open question); not "".
    themes = expected["themes"]
    assert isinstance(themes, dict)
    got = {
        _key(t.theme): ({c.id for c in t.in_repository}, {c.id for c in t.unanswered})
        for t in summary.themes
    }
    assert got == themes
    assert set(got) == {"water", _key(WATCHED_THEME), "climate-finance", "solar"}
    by_key = {_key(t.theme): t for t in summary.themes}
    assert by_key["water"].theme == "Water"  # as the first community spells it
    assert [c.id for c in by_key["solar"].communities] == [found[ANDES].id, found[COSTA].id]
    # Unanswered questions: only the indicators, open in Andes and Pampa (Costa's closed).
    questions = expected["questions"]
    assert isinstance(questions, dict)
    [(words, where)] = questions.items()
    [shared] = summary.questions
    assert _words(shared.question) == words
    assert shared.asked == len(where) == 2
    assert [c.id for c in shared.communities] == sorted(set(where)) == ids[:2]

    text = network_text(summary, harness.app.services.catalogue, "en").plain()
    assert f"• Of them, by name: {HOSTILE}, Bea" in text
    assert "• Water: Andes water, Pampa <b>climate</b> (repository: 2, open questions: 2)" in text
    assert "• “Impact indicators for water?”: 2 open, in Andes water, Pampa <b>climate</b>" in text

    rows = list(csv.DictReader(io.StringIO(network_csv(summary))))
    [several] = [r for r in rows if r["key"] == "active_in_several"]
    assert several["value"] == str(expected["several"])
    named = [r["detail"] for r in rows if r["key"] == "active_in_several_name"]
    assert named == ["'" + HOSTILE, "Bea"]  # a spreadsheet shows it, never runs it
    totals = {
        r["detail"]: r["value"]
        for r in rows
        if r["key"] == "shared_theme" and r["community"] == "*"
    }
    assert totals == {
        ("'" + t.theme if t.theme.startswith("=") else t.theme): str(
            len(themes[_key(t.theme)][0] | themes[_key(t.theme)][1])
        )
        for t in summary.themes
    }
    keys = {c.id: c.key for c in communities}
    per_community = {
        (r["community"], r["detail"], r["value"])
        for r in rows
        if r["key"] == "shared_theme" and r["community"] != "*"
    }
    wanted = set()
    for t in summary.themes:
        holders, asking = themes[_key(t.theme)]
        for community in sorted(holders | asking):
            where = "+".join(
                part
                for part, ids_ in (("repository", holders), ("unanswered", asking))
                if community in ids_
            )
            wanted.add((keys[community], t.theme, where))
    assert per_community == wanted
    [asked] = [r for r in rows if r["key"] == "shared_question" and r["community"] == "*"]
    assert asked["value"] == "2"

    png = render_network(summary, Format.PNG, harness.app.services.catalogue, "es")
    assert png.startswith(b"\x89PNG") and len(png) > 5000


async def test_communities_that_share_nothing_say_so(harness: Harness) -> None:
    net = Network(harness)
    await net.say("1", "Ana", ANDES, "hola")
    await net.say("2", "Bea", PAMPA, "hola")
    found = await net.communities()
    week = IsoWeek.containing(harness.clock.now().date())
    now = harness.clock.now()
    async with harness.app.uow_factory() as uow:
        knowledge = uow.repo(KnowledgeRepository)
        # The installation-wide library is everyone's: its theme is no community's own, even
        # where open questions of two communities name it.
        await knowledge.upsert(
            KnowledgeItem(
                key="library", type=ItemType.FAQ, title="Lib", body="A.", lang="en", theme="Rivers"
            ),
            None,
            now,
        )
        await knowledge.add_gap(KnowledgeGap(found[ANDES].id, "clean rivers how", "en", now))
        await knowledge.add_gap(KnowledgeGap(found[PAMPA].id, "data on rivers", "en", now))
        await uow.commit()
    async with harness.app.uow_factory() as uow:
        summary = await network_summary(uow, [found[ANDES], found[PAMPA]], week)
    assert (summary.in_several, summary.several_names, summary.themes, summary.questions) == (
        0,
        (),
        (),
        (),
    )
    text = network_text(summary, harness.app.services.catalogue, "pt").plain()
    assert text.count("• nada por enquanto") == 2
    png = render_network(summary, Format.PNG, harness.app.services.catalogue, "pt")
    assert png.startswith(b"\x89PNG")
