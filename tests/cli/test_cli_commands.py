"""The command line: subcommands, configuration display and roles given outside the chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.support import invoke_cli, run_cli
from tests.fake_credentials import CLI_DATABASE_PASSWORD, CLI_TELEGRAM_TOKEN, secrets_in


def test_help_lists_the_subcommands_people_expect(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "--help").stdout
    for name in ["demo", "run", "serve", "seed", "db", "admin", "config", "kb"]:
        assert f" {name} " in out or f" {name}\n" in out, name
    db = run_cli(tmp_path, "db", "--help").stdout
    assert "upgrade" in db and "downgrade" in db
    admin = run_cli(tmp_path, "admin", "--help").stdout
    assert "grant" in admin and "revoke" in admin and "list" in admin


def test_config_show_masks_secrets_and_database_passwords(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "config",
        "show",
        TELEGRAM_BOT_TOKEN=CLI_TELEGRAM_TOKEN,
        FACILITATOR_DATABASE_URL=f"postgresql+asyncpg://bot:{CLI_DATABASE_PASSWORD}@db.internal:5432/fac",
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["telegram_bot_token"] == "********"
    assert shown["database_url"] == "postgresql+asyncpg://bot:********@db.internal:5432/fac"
    assert not secrets_in(result.stdout)


@pytest.mark.usefixtures("restored_logging")
def test_admin_grant_list_and_revoke(tmp_path: Path) -> None:
    assert invoke_cli(tmp_path, "seed").exit_code == 0
    granted = invoke_cli(tmp_path, "admin", "grant", "telegram:4242", "admin")
    assert granted.exit_code == 0, granted.output
    scoped = invoke_cli(
        tmp_path, "admin", "grant", "slack:U77", "moderator", "--community", "demo"
    )
    assert scoped.exit_code == 0, scoped.output
    listing = invoke_cli(tmp_path, "admin", "list", FACILITATOR_ADMINS="telegram:1").stdout
    assert "telegram:1\tadmin\t*\tconfiguration" in listing
    assert "telegram:4242\tadmin\t*\tgrant" in listing
    assert "slack:U77\tmoderator\tdemo\tmembership" in listing
    assert "console:ana\tcoordinator\tdemo\tmembership" in listing
    assert invoke_cli(tmp_path, "admin", "revoke", "telegram:4242").exit_code == 0
    again = invoke_cli(tmp_path, "admin", "revoke", "telegram:4242")
    assert again.exit_code == 1 and "had no such role" in again.stderr
    assert "telegram:4242" not in invoke_cli(tmp_path, "admin", "list").stdout


def test_admin_grant_rejects_malformed_identities_and_roles(tmp_path: Path) -> None:
    # A real process: the exit codes and messages a shell script sees.
    bad_identity = run_cli(tmp_path, "admin", "grant", "4242", "admin")
    assert bad_identity.returncode == 2 and "platform:user_id" in bad_identity.stderr


@pytest.mark.usefixtures("restored_logging")
def test_admin_grant_names_an_unknown_role_or_community(tmp_path: Path) -> None:
    bad_role = invoke_cli(tmp_path, "admin", "grant", "telegram:4242", "emperor")
    unknown_community = invoke_cli(
        tmp_path, "admin", "grant", "telegram:1", "moderator", "--community", "x"
    )
    assert bad_role.exit_code == 2 and "unknown role 'emperor'" in bad_role.stderr
    assert (
        unknown_community.exit_code == 2
        and "no community with key 'x'" in unknown_community.stderr
    )


def test_run_without_any_platform_says_how_to_configure_one(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run")
    assert result.returncode == 2
    assert "set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN" in result.stderr
