"""The security tests reuse the adapter tests' fake platform APIs."""

from tests.adapters.conftest import fake_slack, fake_telegram

__all__ = ["fake_slack", "fake_telegram"]
