"""Member profiles: what members tell about themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MemberProfile:
    """What a member tells about themselves with `/intro`; `expertise` are short phrases.
    `network` (`/experts share on`, off by default): other communities' `/experts` may show
    their name, community and expertise."""

    person_id: int
    organisation: str | None = None
    country: str | None = None
    expertise: tuple[str, ...] = ()
    updated_at: datetime | None = None
    network: bool = False
