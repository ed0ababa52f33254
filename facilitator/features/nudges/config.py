"""Each community's nudge settings (`/nudges set NAME VALUE`), kept in its settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import time

from facilitator.domain.model import Community
from facilitator.localtime import parse_clock, parse_hours

SETTING = "nudges"
_SWITCH = {"on": True, "off": False, "yes": True, "no": False, "true": True, "false": False}
LIMITS = {
    "newcomer_days": (1, 90),
    "reengage_days": (3, 365),
    "reengage_min_messages": (1, 1000),
    "unanswered_hours": (1, 168),
    "experts": (1, 10),
    "moderators_hours": (1, 336),
    "cap_days": (0, 365),
}


@dataclass(frozen=True)
class NudgeConfig:
    welcome_dm: bool = True
    newcomer: bool = True
    newcomer_days: int = 7
    reengage: bool = True
    reengage_days: int = 30
    reengage_min_messages: int = 3
    unanswered: bool = True
    unanswered_hours: int = 24
    experts: int = 3
    moderators_hours: int = 24
    # The same kind of nudge reaches one member at most once in this many days.
    cap_days: int = 14
    # Local time of each member (a group message: the community's); "off" for none.
    quiet_hours: str = "21-8"
    # Nudges wait for a coordinator's `/nudges approve`.
    approval: bool = False
    # When the daily scan for newcomers and silent members runs, in the community's time zone.
    scan_at: str = "10:00"

    @classmethod
    def of(cls, community: Community) -> NudgeConfig:
        stored = community.setting(SETTING, {})
        config = cls()
        if not isinstance(stored, dict):
            return config
        for name, value in stored.items():
            try:
                config = config.with_value(name, str(value))
            except ValueError:
                continue  # a value from an older version: the default stands
        return config

    def stored(self) -> dict[str, object]:
        return asdict(self)

    @staticmethod
    def names() -> tuple[str, ...]:
        return tuple(f.name for f in fields(NudgeConfig))

    def with_value(self, name: str, raw: str) -> NudgeConfig:
        """A copy with one setting changed; ValueError (with the reason) if it does not fit."""
        current = getattr(self, name, None)
        if current is None or name not in self.names():
            raise ValueError(name)
        value = raw.strip().lower()
        if isinstance(current, bool):
            if value not in _SWITCH:
                raise ValueError("on, off")
            switched: dict[str, bool] = {name: _SWITCH[value]}
            return replace(self, **switched)  # type: ignore[arg-type]
        if isinstance(current, int):
            low, high = LIMITS[name]
            if not value.isdigit() or not low <= int(value) <= high:
                raise ValueError(f"{low}-{high}")
            number: dict[str, int] = {name: int(value)}
            return replace(self, **number)  # type: ignore[arg-type]
        if name == "quiet_hours":
            if value != "off" and parse_hours(value) is None:
                raise ValueError("21-8, 22:30-7, off")
            return replace(self, quiet_hours=value)
        if name == "scan_at":
            if parse_clock(value) is None:
                raise ValueError("10:00")
            return replace(self, scan_at=value)
        raise ValueError(name)

    @property
    def quiet(self) -> tuple[time, time] | None:
        return None if self.quiet_hours == "off" else parse_hours(self.quiet_hours)

    @property
    def scan_cron(self) -> str:
        at = parse_clock(self.scan_at) or time(10, 0)
        return f"{at.minute} {at.hour} * * *"
