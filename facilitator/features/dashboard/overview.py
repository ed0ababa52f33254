"""The overview page's figures: twelve ISO weeks of the weekly summary's own numbers.

They come from `participation.summary.figures_for`, the function the weekly summary and
`facilitator report` use, so a week on the page and in the chat can never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from facilitator.domain.model import Community
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.participation.summary import Figures, IsoWeek, figures_for
from facilitator.ports import UnitOfWork

WEEKS = 12
# The overview's rows, in order: a figure of `Figures`, each with its prompt.
TRENDS = (
    "active_members",
    "newcomers",
    "messages",
    "questions_asked",
    "questions_answered",
    "bot_answers",
    "median_answer_minutes",
    "unanswered_lookups",
    "gaps_closed",
)


@dataclass(frozen=True)
class WeekFigures:
    week: IsoWeek
    figures: Figures
    # Questions the bot answered outright from the repository (knowledge's answers).
    bot_answers: int = 0

    def value(self, name: str) -> float | None:
        found = self.bot_answers if name == "bot_answers" else getattr(self.figures, name)
        return None if found is None else float(found)


async def weekly_trend(
    uow: UnitOfWork, community: Community, now: datetime, weeks: int = WEEKS
) -> list[WeekFigures]:
    """The last `weeks` complete weeks in the community's zone, oldest first."""
    last = IsoWeek.last_complete(now, community.timezone)
    found = []
    for back in range(weeks - 1, -1, -1):
        week = last.previous(back)
        start, end = week.bounds(community.timezone)
        answers = await uow.repo(KnowledgeRepository).answer_counts(community.id, start, end)
        found.append(
            WeekFigures(week, await figures_for(uow, community, start, end), sum(answers.values()))
        )
    return found
