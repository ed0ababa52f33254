"""`facilitator` for a process a fault test is about to kill: shorter leases, no flood pacing.

The inbox leases claimed rows for 60 s and the outbox for 15 minutes, so that a slow worker
is never mistaken for a dead one. A test that kills a process does not wait that long: its
victim leases for a second or two, and whoever comes next reclaims the rows as it would in
production, only sooner. Processes that stay alive keep the real leases. Only a
single-process `serve` (or `run`) takes these overrides: uvicorn's worker processes are
spawned afresh and would not see them.

    python -m tests.faults.entry [--inbox-lease S] [--outbox-lease S] [--telegram-rate N]
        [--telegram-chat-rate N] -- <facilitator arguments>
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inbox-lease", type=float)
    parser.add_argument("--outbox-lease", type=float)
    # Messages per second of Telegram's flood limiter: pacing is not what these tests are about.
    parser.add_argument("--telegram-rate", type=int)
    parser.add_argument("--telegram-chat-rate", type=int)  # messages per second in one chat
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    if options.inbox_lease is not None:
        import facilitator.inbox

        facilitator.inbox.LEASE_SECONDS = options.inbox_lease
    if options.outbox_lease is not None:
        import facilitator.delivery.dispatcher as dispatcher

        dispatcher.CLAIM_LEASE_SECONDS = options.outbox_lease
        dispatcher.SEND_LEASE_SECONDS = options.outbox_lease
    if options.telegram_rate is not None or options.telegram_chat_rate is not None:
        from adapters.telegram.limiter import FloodLimiter

        defaults = FloodLimiter.__init__.__kwdefaults__
        assert defaults is not None
        if options.telegram_rate is not None:
            defaults["per_second"] = options.telegram_rate
        if options.telegram_chat_rate is not None:
            defaults["per_chat_per_second"] = options.telegram_chat_rate
    from facilitator.cli import main as facilitator

    arguments = [a for a in options.command if a != "--"]
    sys.argv = ["facilitator", *arguments]
    facilitator()


if __name__ == "__main__":
    main()
