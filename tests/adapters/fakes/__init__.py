"""Fakes of platform APIs for adapter tests, and where the shared recorded payloads live."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PAYLOADS_ENV", "payloads_dir"]

PAYLOADS_ENV = "FACILITATOR_PAYLOADS_DIR"

# This file is <repo>/tests/adapters/fakes/__init__.py.
_REPO_ROOT = Path(__file__).resolve().parents[3]


def payloads_dir() -> Path:
    """Return $FACILITATOR_PAYLOADS_DIR if set, else <repo>/../shared/payloads."""
    override = os.environ.get(PAYLOADS_ENV)
    if override:
        return Path(override)
    return _REPO_ROOT.parent / "shared" / "payloads"
