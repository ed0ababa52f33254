"""Fixtures of the command-line tests."""

from tests.cli.support import restored_logging

__all__ = ["restored_logging"]
