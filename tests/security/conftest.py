"""The security tests reuse the adapter tests' fake platform APIs and Telegram harness."""

from tests.adapters.conftest import fake_slack, fake_telegram, ptb_timedelta, tg

__all__ = ["fake_slack", "fake_telegram", "ptb_timedelta", "tg"]
