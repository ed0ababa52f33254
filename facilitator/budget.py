"""Each member's budget of commands: what one person sends never takes the bot from the others.

A member may give `per_minute` commands (button presses and form submissions count too) in any
sliding minute. Past that, the event is still stored and marked done, but the command does not
run and nothing is answered, except one notice per minute telling the member to slow down. The
minute is measured on the platform's own timestamps, so a backlog handled late is judged by
when it was sent.

The count lives in the process: with several workers, each counts what it handles, so a member
may get up to `per_minute` times the number of workers. That bounds a flood all the same."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

WINDOW = timedelta(minutes=1)
# Forget members idle for a window once this many are tracked.
_TIDY_AT = 5000


class Verdict(Enum):
    ALLOWED = "allowed"
    NOTICE = "notice"  # over the budget: tell the member once, run nothing
    SILENT = "silent"  # over the budget, already told: run nothing, say nothing


@dataclass
class _Spent:
    times: deque[datetime] = field(default_factory=deque)
    told_until: datetime | None = None


class CommandBudget:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._spent: dict[tuple[str, str], _Spent] = {}
        self.refused = 0

    def charge(self, who: tuple[str, str], at: datetime) -> Verdict:
        """Count one command of `who` (platform, user id) sent at `at`."""
        if self.per_minute <= 0:
            return Verdict.ALLOWED
        if len(self._spent) >= _TIDY_AT:
            self._tidy(at)
        spent = self._spent.setdefault(who, _Spent())
        times = spent.times
        while times and times[0] <= at - WINDOW:
            times.popleft()
        if len(times) < self.per_minute:
            times.append(at)
            return Verdict.ALLOWED
        self.refused += 1
        if spent.told_until is not None and at < spent.told_until:
            return Verdict.SILENT
        spent.told_until = at + WINDOW
        return Verdict.NOTICE

    def silenced(self, who: tuple[str, str], at: datetime) -> bool:
        """Whether a command of `who` at `at` would be refused without a word (over the
        budget, already told): then it need not be handled at all. Counts it as refused."""
        spent = self._spent.get(who)
        if self.per_minute <= 0 or spent is None or spent.told_until is None:
            return False
        if at >= spent.told_until:
            return False
        times = spent.times
        while times and times[0] <= at - WINDOW:
            times.popleft()
        if len(times) < self.per_minute:
            return False
        self.refused += 1
        return True

    def _tidy(self, now: datetime) -> None:
        for who, spent in list(self._spent.items()):
            if not spent.times or spent.times[-1] <= now - WINDOW:
                del self._spent[who]
