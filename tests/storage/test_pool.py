"""Connections per process on PostgreSQL: what docs/deploy.md asks operators to size."""

from __future__ import annotations

import inspect

import pytest

from facilitator.inbox import Inbox
from facilitator.settings import INBOX_CONCURRENCY, pool_sizing
from tests.conftest import POSTGRES_URL, build_test_app, make_settings

POSTGRES_MAX_CONNECTIONS = 100  # PostgreSQL's default
DEFAULT_BUDGET = 80


async def test_each_process_opens_at_most_the_configured_postgresql_connections() -> None:
    settings = make_settings(POSTGRES_URL, database_pool_size=3, database_max_overflow=1)
    application = build_test_app(settings)
    try:
        pool = application.storage.engine.sync_engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 1  # type: ignore[attr-defined]
    finally:
        await application.aclose()


async def test_unset_the_pool_is_derived_from_the_processes_sharing_the_database() -> None:
    settings = make_settings(POSTGRES_URL, processes=2)
    application = build_test_app(settings)
    try:
        pool = application.storage.engine.sync_engine.pool
        assert pool.size() == INBOX_CONCURRENCY + 4  # type: ignore[attr-defined]
        assert pool._max_overflow == 8  # type: ignore[attr-defined]
    finally:
        await application.aclose()


def test_the_pool_holds_a_connection_for_each_concurrent_inbox_group() -> None:
    default = inspect.signature(Inbox).parameters["concurrency"].default
    assert default == INBOX_CONCURRENCY
    assert pool_sizing(1, DEFAULT_BUDGET).pool_size > INBOX_CONCURRENCY


@pytest.mark.parametrize("processes", [1, 2, 3, 4, 5, 6, 8, 12, 16, 40, 80])
def test_derived_pools_stay_within_the_budget(processes: int) -> None:
    sized = pool_sizing(processes, DEFAULT_BUDGET)
    assert sized.pool_size >= 1 and sized.max_overflow >= 0
    assert processes * sized.most <= DEFAULT_BUDGET
    # The default budget leaves room under PostgreSQL's default for the superuser reserve (3),
    # migrations, backups and psql.
    assert DEFAULT_BUDGET <= POSTGRES_MAX_CONNECTIONS - 3 - 10


def test_derived_pool_by_workers() -> None:
    assert [tuple(vars(pool_sizing(n, DEFAULT_BUDGET)).values()) for n in (1, 2, 4, 5, 8, 16)] == [
        (12, 8),
        (12, 8),
        (12, 8),
        (12, 4),
        (10, 0),
        (5, 0),
    ]


def test_beyond_the_budget_each_process_still_gets_one_connection() -> None:
    assert vars(pool_sizing(200, DEFAULT_BUDGET)) == {"pool_size": 1, "max_overflow": 0}


def test_a_setting_given_wins_and_the_other_stays_within_the_share() -> None:
    assert vars(pool_sizing(2, DEFAULT_BUDGET, pool_size=30, max_overflow=50)) == {
        "pool_size": 30,
        "max_overflow": 50,
    }
    # 40 per process: an explicit pool of 30 leaves room for 8 more, of 36 for 4.
    assert vars(pool_sizing(2, DEFAULT_BUDGET, pool_size=30)) == {
        "pool_size": 30,
        "max_overflow": 8,
    }
    assert vars(pool_sizing(2, DEFAULT_BUDGET, pool_size=36)).get("max_overflow") == 4
    assert vars(pool_sizing(4, DEFAULT_BUDGET, max_overflow=0)) == {
        "pool_size": 12,
        "max_overflow": 0,
    }


def test_settings_read_the_process_count_and_budget_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACILITATOR_PROCESSES", "4")
    monkeypatch.setenv("FACILITATOR_DATABASE_CONNECTION_BUDGET", "40")
    settings = make_settings(POSTGRES_URL)
    assert vars(settings.pool()) == {"pool_size": 10, "max_overflow": 0}
    monkeypatch.setenv("FACILITATOR_DATABASE_POOL_SIZE", "5")
    assert vars(make_settings(POSTGRES_URL).pool()) == {"pool_size": 5, "max_overflow": 5}
