"""Every credential the tests hand to the bot, in one place, so that logs can be searched for them.

None of these is real; a test that needs another fake credential adds it here and imports it.
"""

from __future__ import annotations

TELEGRAM_TOKEN = "123456789:AAH-fake-telegram-token"
TELEGRAM_WEBHOOK_SECRET = "test-secret_123"
SLACK_BOT_TOKEN = "xoxb-fake-bot-token"
SLACK_WRONG_BOT_TOKEN = "xoxb-not-a-real-token"
SLACK_APP_TOKEN = "xapp-1-A0FAKEAPP1-test"
SLACK_SIGNING_SECRET = "test-signing-secret"
SLACK_OTHER_SIGNING_SECRET = "fake-signing-secret"
CLI_TELEGRAM_TOKEN = "123456:SECRET-TOKEN-VALUE"
CLI_DATABASE_PASSWORD = "hunter2"

# What must never appear in a log line or a process's output. A Telegram token's part after
# the colon is the secret: it is searched for on its own too (a URL may split it from the id).
KNOWN_SECRETS: tuple[str, ...] = (
    TELEGRAM_TOKEN,
    TELEGRAM_TOKEN.split(":", 1)[1],
    TELEGRAM_WEBHOOK_SECRET,
    SLACK_BOT_TOKEN,
    SLACK_WRONG_BOT_TOKEN,
    SLACK_APP_TOKEN,
    SLACK_SIGNING_SECRET,
    SLACK_OTHER_SIGNING_SECRET,
    CLI_TELEGRAM_TOKEN.split(":", 1)[1],
    CLI_DATABASE_PASSWORD,
)


def secrets_in(text: str | bytes) -> list[str]:
    """The known secrets that occur in `text` (a log, a process's output)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [secret for secret in KNOWN_SECRETS if secret in text]
