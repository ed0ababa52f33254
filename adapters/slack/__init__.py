"""Slack adapter: Events API over HTTP or Socket Mode in, Web API out (slack_bolt, slack_sdk)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.slack.adapter import SlackAdapter
    from adapters.slack.host import Host
    from adapters.slack.webapi import Monotonic, Sleep
    from facilitator.settings import Settings


def build(
    settings: Settings,
    app: Host,
    *,
    monotonic: Monotonic | None = None,
    sleep: Sleep | None = None,
    response_url_prefixes: tuple[str, ...] | None = None,
) -> SlackAdapter:
    """The adapter for the composition root; slack_bolt is imported only when Slack is used.

    Tests inject `monotonic` and `sleep` (pacing and retries) and `response_url_prefixes`
    (the hosts response URLs may point to; Slack's own by default)."""
    from adapters.slack.wiring import build_adapter

    return build_adapter(
        settings,
        app,
        monotonic=monotonic,
        sleep=sleep,
        response_url_prefixes=response_url_prefixes,
    )
